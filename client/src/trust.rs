//! Which servers this client trusts, and the TLS connection it makes to them.
//!
//! Like ssh: a server's key is named by its fingerprint
//! ([`jqueue_shared::Fingerprint`]). The first time a server is met, its
//! fingerprint is shown and the student says yes or no (unless
//! `--fingerprint` / `JQUEUE_FINGERPRINT` pinned it); yes is remembered in
//! `<data dir>/known_servers`, one `HOST:PORT SHA256:…` line per server. A
//! server whose key differs from the remembered (or pinned) one is refused
//! during the TLS handshake, so nothing — no password, no token, no text —
//! is ever sent to it. A certificate that chains to the system's trust roots
//! and names the host is accepted without asking.
//!
//! That is for TCP. On `unix:` and `ssh://` the channel is already
//! authenticated and [`ChannelTls`] neither asks nor pins (see there why).
//!
//! This module decides trust and makes the connection; it draws nothing and
//! never asks the student itself: the network task reports what it found and
//! the screen asks ([`crate::screens`]).

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use jqueue_shared::Fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::cli::ServerAddr;

/// The file of remembered servers: `HOST:PORT SHA256:…` lines; blank lines
/// and `#` comments are allowed, so a student or an admin can edit it.
#[derive(Debug, Clone)]
pub struct KnownServers {
    /// `None`: remember nothing (tools and tests that always pin).
    path: Option<PathBuf>,
}

impl KnownServers {
    /// `<data dir>/known_servers`.
    pub fn in_dir(data_dir: &Path) -> Self {
        Self {
            path: Some(data_dir.join("known_servers")),
        }
    }

    /// No file: nothing is known and nothing remembered, for a caller that
    /// always pins the fingerprint (the load generator, the test kit).
    pub fn nowhere() -> Self {
        Self { path: None }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The fingerprint remembered for `server`, if any. A missing file is an
    /// empty one; an unreadable one is an error (trusting nothing is safer
    /// than asking again about a server that may be known).
    pub fn lookup(&self, server: &str) -> io::Result<Option<Fingerprint>> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once(char::is_whitespace))
            .find(|(name, _)| *name == server)
            .and_then(|(_, fingerprint)| fingerprint.parse().ok()))
    }

    /// Appends `server`'s fingerprint. The file is made readable by its
    /// owner only: it lists where the student goes.
    pub fn remember(&self, server: &str, fingerprint: &Fingerprint) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut options = fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        writeln!(file, "{server} {fingerprint}")?;
        file.sync_all()
    }
}

/// A key that differs from the one this client expected for a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// `HOST:PORT`, as written in the known-servers file.
    pub server: String,
    pub expected: Fingerprint,
    pub presented: Fingerprint,
    /// Where the expectation came from: the known-servers file (to edit if
    /// the change is real), or `None` for a `--fingerprint` pin.
    pub known_servers: Option<PathBuf>,
}

impl KeyChange {
    /// The key-changed screen's first line, and the farewell's.
    pub fn headline(&self) -> String {
        format!("WARNING: the key of {} has changed", self.server)
    }

    /// What was (not) done, on the screen and in the farewell.
    pub const REFUSED: &'static str =
        "jqueue refused to connect and sent nothing: no password, no token.";

    /// What to do, on the screen (over several lines) and in the farewell.
    pub fn advice(&self) -> String {
        match &self.known_servers {
            Some(path) => format!(
                "Ask the staff. If they changed the key, delete the line for {} in {} \
                 and run jqueue again.",
                self.server,
                path.display()
            ),
            None => "The expected key came from --fingerprint or JQUEUE_FINGERPRINT: \
                     ask the staff for the right one."
                .to_owned(),
        }
    }
}

/// Why a TLS connection was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A server met for the first time: ask the student.
    Unknown(Fingerprint),
    /// Not the key this client knows for the server: refuse.
    Changed(KeyChange),
    /// The handshake failed for another reason (a network error, a server
    /// that does not speak TLS 1.3, a file that cannot be read).
    Failed(String),
}

/// How one server is trusted, and the TLS configuration that enforces it.
/// Cheap to clone; made once per run, so reconnecting resumes the TLS
/// session instead of doing a full handshake.
#[derive(Clone)]
pub struct Trust {
    verifier: Arc<Verifier>,
    connector: TlsConnector,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("server", &self.verifier.server)
            .field("pinned", &self.verifier.pinned)
            .field("known", &self.verifier.known.path())
            .finish_non_exhaustive()
    }
}

impl Trust {
    /// Trust for `server`: `roots` (normally [`system_roots`]) accept a
    /// department certificate, `pinned` overrides the known-servers file.
    pub fn new(
        server: &ServerAddr,
        known: KnownServers,
        pinned: Option<Fingerprint>,
        roots: RootCertStore,
    ) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // An empty store (a system with no CA bundle) cannot verify anything:
        // then every server goes through the fingerprint check.
        let webpki = if roots.is_empty() {
            None
        } else {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .ok()
        };
        let verifier = Arc::new(Verifier {
            server: server.to_string(),
            known,
            pinned,
            webpki,
            algorithms: provider.signature_verification_algorithms,
            accepted: Mutex::new(None),
            refusal: Mutex::new(None),
        });
        let connector = connector(verifier.clone(), Resumption::default());
        Self {
            verifier,
            connector,
        }
    }

    /// Trust in exactly `fingerprint` for `server`, remembering nothing.
    pub fn pinned(server: &ServerAddr, fingerprint: Fingerprint) -> Self {
        Self::new(
            server,
            KnownServers::nowhere(),
            Some(fingerprint),
            RootCertStore::empty(),
        )
    }

    /// The same trust, resuming TLS sessions as `resumption` says (by
    /// default: rustls's small in-memory cache, plenty for one client; the
    /// load generator needs one ticket per simulated student, or none).
    #[must_use]
    pub fn with_resumption(self, resumption: Resumption) -> Self {
        Self {
            connector: connector(self.verifier.clone(), resumption),
            verifier: self.verifier,
        }
    }

    /// The server as it is named in the known-servers file.
    pub fn server(&self) -> &str {
        &self.verifier.server
    }

    pub fn known_servers(&self) -> &KnownServers {
        &self.verifier.known
    }

    /// Runs the TLS handshake on `stream` to `host`. Nothing but the
    /// handshake has crossed the connection when this returns an error.
    pub async fn connect<S>(&self, host: &str, stream: S) -> Result<TlsStream<S>, Refusal>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| Refusal::Failed(format!("{host:?} is not a host name: {e}")))?;
        self.verifier.take_refusal();
        match self.connector.connect(name, stream).await {
            Ok(stream) => Ok(stream),
            Err(e) => Err(self
                .verifier
                .take_refusal()
                .unwrap_or_else(|| Refusal::Failed(format!("TLS: {e}")))),
        }
    }

    /// Trusts `fingerprint` for this server, for this run and (written to
    /// the known-servers file) the next: the student said yes. An error
    /// means only the file could not be written.
    pub fn remember(&self, fingerprint: &Fingerprint) -> io::Result<()> {
        *self
            .verifier
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(fingerprint.clone());
        self.verifier.known.remember(self.server(), fingerprint)
    }
}

fn connector(verifier: Arc<dyn ServerCertVerifier>, resumption: Resumption) -> TlsConnector {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("ring supports TLS 1.3")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
    let mut config = config;
    config.resumption = resumption;
    TlsConnector::from(Arc::new(config))
}

/// TLS on a channel that is authenticated already: the server's Unix socket
/// (`unix:PATH`), directly or through `jqueue bridge` over ssh (`ssh://`).
///
/// The server speaks TLS on every connection (one code path), so the client
/// does too, but here the certificate proves nothing the channel has not: a
/// socket in a directory only the service can write can only be the
/// service's, and ssh has checked the host's key before the bridge runs.
/// Asking the student about a fingerprint (or refusing a changed one) would
/// only add a question with no better answer, and a server whose key was
/// regenerated would lock out every ssh:// student for nothing. So any
/// certificate is accepted and nothing is pinned or remembered; the
/// handshake's signatures are still checked, so the session is a sound TLS
/// session with whoever holds that key.
#[derive(Clone)]
pub struct ChannelTls {
    connector: TlsConnector,
}

impl fmt::Debug for ChannelTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelTls").finish_non_exhaustive()
    }
}

impl Default for ChannelTls {
    fn default() -> Self {
        Self::new()
    }
}

impl ChannelTls {
    /// Made once per run, so reconnecting resumes the TLS session.
    pub fn new() -> Self {
        let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let verifier = Arc::new(AnyCertificate { algorithms });
        Self {
            connector: connector(verifier, Resumption::default()),
        }
    }

    /// Runs the TLS handshake on `stream`.
    pub async fn connect<S>(&self, stream: S) -> Result<TlsStream<S>, Refusal>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        // The name goes out in the handshake (SNI) and keys the resumption
        // cache; the server does not look at it and the certificate is not
        // checked against it.
        let name = ServerName::try_from("localhost").expect("a valid name");
        self.connector
            .connect(name, stream)
            .await
            .map_err(|e| Refusal::Failed(format!("TLS: {e}")))
    }
}

/// Accepts any certificate, but checks that the server holds its key (see
/// [`ChannelTls`] for why that is enough on these channels).
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The client config allows TLS 1.3 only; this is never reached.
        Err(rustls::Error::General("jqueue speaks TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The system's trust roots; none (and a warning in the log) if they
/// cannot be read, which leaves fingerprints as the only way to trust.
pub fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!("reading the system's trust roots: {e}");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "system trust roots");
    roots
}

/// Checks the server's certificate during the handshake: a CA-signed one
/// for this host, or the fingerprint pinned or remembered for it.
struct Verifier {
    server: String,
    known: KnownServers,
    pinned: Option<Fingerprint>,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    /// The key the student accepted in this run, trusted even if it could
    /// not be written down.
    accepted: Mutex<Option<Fingerprint>>,
    /// Why the last handshake was refused, for [`Trust::connect`] to report
    /// (rustls only carries an error string back).
    refusal: Mutex<Option<Refusal>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn known_path(&self) -> String {
        self.known
            .path()
            .map_or_else(|| "(none)".into(), |p| p.display().to_string())
    }

    fn take_refusal(&self) -> Option<Refusal> {
        self.refusal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn refuse(&self, refusal: Refusal) -> rustls::Error {
        let message = format!("{refusal:?}");
        *self.refusal.lock().unwrap_or_else(PoisonError::into_inner) = Some(refusal);
        rustls::Error::General(message)
    }

    /// The decision, from the certificate alone (the handshake signature is
    /// checked separately, proving the server holds the key).
    fn decide(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let presented =
            Fingerprint::of_certificate(end_entity).map_err(|e| Refusal::Failed(e.to_string()))?;
        if let Some(expected) = &self.pinned {
            return if *expected == presented {
                self.remember_if_new(&presented);
                Ok(())
            } else {
                Err(Refusal::Changed(KeyChange {
                    server: self.server.clone(),
                    expected: expected.clone(),
                    presented,
                    known_servers: None,
                }))
            };
        }
        if let Some(webpki) = &self.webpki {
            let verified =
                webpki.verify_server_cert(end_entity, intermediates, server_name, &[], now);
            if verified.is_ok() {
                return Ok(());
            }
        }
        let accepted = self.accepted.lock().unwrap_or_else(PoisonError::into_inner);
        if accepted.as_ref() == Some(&presented) {
            return Ok(());
        }
        drop(accepted);
        let known = self
            .known
            .lookup(&self.server)
            .map_err(|e| Refusal::Failed(format!("cannot read {}: {e}", self.known_path())))?;
        match known {
            Some(expected) if expected == presented => Ok(()),
            Some(expected) => Err(Refusal::Changed(KeyChange {
                server: self.server.clone(),
                expected,
                presented,
                known_servers: self.known.path.clone(),
            })),
            None => Err(Refusal::Unknown(presented)),
        }
    }

    /// A pinned key is remembered as if the student had said yes, so a later
    /// run without the pin still knows it.
    fn remember_if_new(&self, fingerprint: &Fingerprint) {
        if matches!(self.known.lookup(&self.server), Ok(None)) {
            if let Err(e) = self.known.remember(&self.server, fingerprint) {
                tracing::warn!(path = %self.known_path(), "cannot remember the server: {e}");
            }
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.decide(end_entity, intermediates, server_name, now)
            .map(|()| ServerCertVerified::assertion())
            .map_err(|refusal| self.refuse(refusal))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The client config allows TLS 1.3 only; this is never reached.
        Err(rustls::Error::General("jqueue speaks TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(seed: &[u8]) -> Fingerprint {
        Fingerprint::of_public_key(seed)
    }

    #[test]
    fn known_servers_are_remembered_one_line_each_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let known = KnownServers::in_dir(&dir.path().join("new"));
        assert_eq!(known.lookup("lab:7420").unwrap(), None);
        known.remember("lab:7420", &fp(b"a")).unwrap();
        known.remember("lab:7421", &fp(b"b")).unwrap();
        assert_eq!(known.lookup("lab:7420").unwrap(), Some(fp(b"a")));
        assert_eq!(known.lookup("lab:7421").unwrap(), Some(fp(b"b")));
        assert_eq!(known.lookup("lab").unwrap(), None);
        let text = fs::read_to_string(known.path().unwrap()).unwrap();
        assert_eq!(
            text,
            format!("lab:7420 {}\nlab:7421 {}\n", fp(b"a"), fp(b"b"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(known.path().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn comments_and_junk_lines_match_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let known = KnownServers::in_dir(dir.path());
        fs::write(
            known.path().unwrap(),
            format!("# lab:7420 {}\nlab:7420 not-a-fingerprint\n\n", fp(b"a")),
        )
        .unwrap();
        assert_eq!(known.lookup("lab:7420").unwrap(), None);
    }
}
