//! The server's TLS identity: its key and certificate, made on first start
//! or given by the department, and the rustls configuration built from them.
//!
//! It owns the files under `<data-dir>/tls/` and the checks made on any key
//! at start (it exists, it parses, it matches the certificate, nobody but
//! the owner can read it), so a misconfigured server refuses to start with a
//! message naming the file rather than failing on the first student. It does
//! no networking: [`crate::net::connection`] drives each connection's TLS.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jqueue_shared::Fingerprint;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The names the self-signed certificate carries. Students check it by
/// fingerprint, not by name, so these only make it readable in tools.
const SELF_SIGNED_NAMES: [&str; 2] = ["jqueue", "localhost"];

/// Why the server's TLS identity could not be loaded or made. Each message
/// names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("--tls-cert and --tls-key go together: give both, or neither to use {0}")]
    HalfGiven(PathBuf),
    #[error("{cert} and {key} do not go together: {message}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
}

/// Where the certificate and key come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFiles {
    /// `<data-dir>/tls/{cert,key}.pem`, made on first start and kept.
    Generated { dir: PathBuf },
    /// A certificate (chain) and key the department issued.
    Given { cert: PathBuf, key: PathBuf },
}

impl TlsFiles {
    /// The files the command line names: both flags, or neither.
    pub fn from_flags(
        data_dir: &Path,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    ) -> Result<Self, TlsError> {
        let generated = data_dir.join("tls");
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Self::Given { cert, key }),
            (None, None) => Ok(Self::Generated { dir: generated }),
            _ => Err(TlsError::HalfGiven(generated)),
        }
    }
}

/// What every connection's TLS session is made from.
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    pub(crate) config: Arc<ServerConfig>,
    pub fingerprint: Fingerprint,
}

impl TlsIdentity {
    /// Loads the identity, making a key and a self-signed certificate first
    /// if `files` is [`TlsFiles::Generated`] and there are none yet.
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let (cert_path, key_path) = match files {
            TlsFiles::Given { cert, key } => (cert.clone(), key.clone()),
            TlsFiles::Generated { dir } => {
                let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
                make_missing(dir, &cert, &key)?;
                (cert, key)
            }
        };
        check_private(&key_path)?;
        let chain = read_chain(&cert_path)?;
        let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::File {
            path: key_path.clone(),
            message: format!("not a PEM private key ({e})"),
        })?;
        let fingerprint = Fingerprint::of_certificate(&chain[0]).map_err(|e| TlsError::File {
            path: cert_path.clone(),
            message: e.to_string(),
        })?;
        let config = server_config(chain, key).map_err(|e| TlsError::Mismatch {
            cert: cert_path,
            key: key_path,
            message: e.to_string(),
        })?;
        Ok(Self {
            config: Arc::new(config),
            fingerprint,
        })
    }

    /// The rustls configuration every connection's session is made from,
    /// for a process that must speak exactly jqueue's TLS: the load
    /// generator's TLS floor.
    pub fn rustls_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// A fresh identity that lives in memory only, for tests of this crate.
    #[cfg(test)]
    pub(crate) fn ephemeral() -> (Self, CertificateDer<'static>) {
        let made = rcgen::generate_simple_self_signed(SELF_SIGNED_NAMES.map(String::from))
            .expect("rcgen makes a certificate");
        let cert = made.cert.der().clone();
        let key = PrivateKeyDer::try_from(made.signing_key.serialize_der()).unwrap();
        let identity = Self {
            config: Arc::new(server_config(vec![cert.clone()], key).unwrap()),
            fingerprint: Fingerprint::of_certificate(&cert).unwrap(),
        };
        (identity, cert)
    }
}

/// A client configuration that trusts exactly `cert`, for tests of this
/// crate (the real client's trust rules are in `jqueue_client::trust`).
#[cfg(test)]
pub(crate) fn client_config_trusting(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// TLS 1.3 only, with the ring provider; sessions resume with stateless
/// tickets, so a lab's worth of reconnecting students costs no server memory
/// for resumption state.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    // One ticket per connection is all a client that reconnects once needs;
    // the default two double the bytes each sign-in sends for nothing.
    config.send_tls13_tickets = 1;
    Ok(config)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |message: String| TlsError::File {
        path: path.to_path_buf(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(format!("cannot read the certificate ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate ({e})")))?;
    if chain.is_empty() {
        return Err(bad("no PEM certificate in this file".into()));
    }
    Ok(chain)
}

/// Refuses a key that anyone but its owner may read or change, as ssh does:
/// a key others can read lets them pose as this server.
fn check_private(key: &Path) -> Result<(), TlsError> {
    let meta = fs::metadata(key).map_err(|e| TlsError::File {
        path: key.to_path_buf(),
        message: format!("cannot read the private key ({e})"),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TlsError::File {
                path: key.to_path_buf(),
                message: format!(
                    "the private key is open to other users (mode {mode:04o}); \
                     run `chmod 600 {}`",
                    key.display()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// Makes what is missing in `dir`: a key and certificate on first start, or
/// a new certificate for a kept key (its fingerprint, which names the key,
/// is unchanged). A certificate without its key is an error: making a new
/// key would silently change the fingerprint every student has stored.
fn make_missing(dir: &Path, cert: &Path, key: &Path) -> Result<(), TlsError> {
    let file_error = |path: &Path| {
        let path = path.to_path_buf();
        move |e: io::Error| TlsError::File {
            path,
            message: e.to_string(),
        }
    };
    match (cert.exists(), key.exists()) {
        (true, true) => return Ok(()),
        (true, false) => {
            return Err(TlsError::File {
                path: key.to_path_buf(),
                message: format!(
                    "the private key for {} is missing: restore it from a backup, \
                     or delete {} to make a new identity (students will be told \
                     the server's key changed)",
                    cert.display(),
                    dir.display()
                ),
            });
        }
        _ => {}
    }
    // Inside the private data directory: 0700, like every directory there.
    crate::store::private::create_dir(dir).map_err(file_error(dir))?;
    let key_pair = if key.exists() {
        check_private(key)?;
        let pem = fs::read_to_string(key).map_err(file_error(key))?;
        rcgen::KeyPair::from_pem(&pem).map_err(|e| TlsError::File {
            path: key.to_path_buf(),
            message: format!("not a private key jqueue can use ({e})"),
        })?
    } else {
        let key_pair = rcgen::KeyPair::generate().map_err(|e| TlsError::File {
            path: key.to_path_buf(),
            message: format!("cannot make a key ({e})"),
        })?;
        write_new(key, key_pair.serialize_pem().as_bytes(), 0o600).map_err(file_error(key))?;
        tracing::info!(path = %key.display(), "made a new TLS key");
        key_pair
    };
    let certificate = rcgen::CertificateParams::new(SELF_SIGNED_NAMES.map(String::from).to_vec())
        .and_then(|params| params.self_signed(&key_pair))
        .map_err(|e| TlsError::File {
            path: cert.to_path_buf(),
            message: format!("cannot make a certificate ({e})"),
        })?;
    // Public, but in the private data directory every file is 0600.
    write_new(cert, certificate.pem().as_bytes(), 0o600).map_err(file_error(cert))?;
    Ok(())
}

/// Writes a file that must not exist yet, created with `mode` (never
/// briefly readable by others, whatever the umask).
fn write_new(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn generated(dir: &Path) -> TlsFiles {
        TlsFiles::Generated {
            dir: dir.join("tls"),
        }
    }

    #[test]
    fn the_first_start_makes_a_private_key_and_later_starts_keep_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = TlsIdentity::load(&generated(dir.path())).unwrap();
        let key = dir.path().join("tls/key.pem");
        let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = TlsIdentity::load(&generated(dir.path())).unwrap();
        assert_eq!(first.fingerprint, again.fingerprint);
        // A lost certificate is made again for the same key: same fingerprint.
        fs::remove_file(dir.path().join("tls/cert.pem")).unwrap();
        let remade = TlsIdentity::load(&generated(dir.path())).unwrap();
        assert_eq!(first.fingerprint, remade.fingerprint);
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        TlsIdentity::load(&generated(dir.path())).unwrap();
        let key = dir.path().join("tls/key.pem");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = TlsIdentity::load(&generated(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("key.pem") && text.contains("chmod 600"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_key_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        TlsIdentity::load(&generated(dir.path())).unwrap();
        fs::remove_file(dir.path().join("tls/key.pem")).unwrap();
        let text = TlsIdentity::load(&generated(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("private key") && text.contains("missing"),
            "{text}"
        );
        assert!(!dir.path().join("tls/key.pem").exists());
    }

    #[test]
    fn given_files_must_be_a_certificate_and_its_key() {
        let dir = tempfile::tempdir().unwrap();
        TlsIdentity::load(&generated(dir.path())).unwrap();
        let key = dir.path().join("tls/key.pem");
        let garbage = dir.path().join("garbage.pem");
        fs::write(&garbage, "not a certificate").unwrap();
        let err = TlsIdentity::load(&TlsFiles::Given {
            cert: garbage,
            key: key.clone(),
        })
        .unwrap_err();
        assert!(err.to_string().contains("garbage.pem"), "{err}");

        // Another key's certificate.
        let other = tempfile::tempdir().unwrap();
        TlsIdentity::load(&generated(other.path())).unwrap();
        let err = TlsIdentity::load(&TlsFiles::Given {
            cert: other.path().join("tls/cert.pem"),
            key,
        })
        .unwrap_err();
        assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
    }

    #[test]
    fn the_flags_go_together() {
        let dir = Path::new("/data");
        assert!(TlsFiles::from_flags(dir, Some("c".into()), None).is_err());
        assert_eq!(
            TlsFiles::from_flags(dir, None, None).unwrap(),
            TlsFiles::Generated {
                dir: dir.join("tls")
            }
        );
    }
}
