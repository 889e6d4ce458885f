//! A server's identity as people read it: `SHA256:` and the unpadded base64 of
//! the SHA-256 of its certificate's SubjectPublicKeyInfo, as OpenSSH writes key
//! fingerprints.
//!
//! Both sides compute it here, the server to show it and the client to compare
//! it, so the two can never disagree on the format. This module only names
//! keys; it decides nothing about trusting them (that is the client's
//! `trust` module) and does no I/O.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
#[cfg(feature = "net")]
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

const PREFIX: &str = "SHA256:";
/// 32 bytes in unpadded base64.
const ENCODED_LEN: usize = 43;

/// A key fingerprint, `SHA256:…`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

/// A certificate whose public key could not be read.
#[cfg(feature = "net")]
#[derive(Debug, thiserror::Error)]
#[error("not a certificate jqueue can read: {0}")]
pub struct BadCertificate(String);

/// A string that is not `SHA256:` followed by 43 base64 characters.
#[derive(Debug, thiserror::Error)]
#[error("a fingerprint looks like SHA256: followed by 43 base64 characters")]
pub struct BadFingerprint;

impl Fingerprint {
    /// The fingerprint of a DER SubjectPublicKeyInfo.
    pub fn of_public_key(spki_der: &[u8]) -> Self {
        let digest = Sha256::digest(spki_der);
        Self(format!("{PREFIX}{}", STANDARD_NO_PAD.encode(digest)))
    }

    /// The fingerprint of a certificate's public key: a certificate renewed
    /// for the same key keeps its fingerprint, as an ssh host key does.
    #[cfg(feature = "net")]
    pub fn of_certificate(cert: &CertificateDer<'_>) -> Result<Self, BadCertificate> {
        let parsed =
            webpki::EndEntityCert::try_from(cert).map_err(|e| BadCertificate(e.to_string()))?;
        Ok(Self::of_public_key(&parsed.subject_public_key_info()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = BadFingerprint;

    /// Accepts exactly what [`fmt::Display`] writes (surrounding blanks
    /// aside), so a pasted fingerprint either matches or is refused.
    fn from_str(s: &str) -> Result<Self, BadFingerprint> {
        let s = s.trim();
        let encoded = s.strip_prefix(PREFIX).ok_or(BadFingerprint)?;
        let valid = encoded.len() == ENCODED_LEN
            && STANDARD_NO_PAD
                .decode(encoded)
                .is_ok_and(|bytes| bytes.len() == 32);
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(BadFingerprint)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_sha256_and_unpadded_base64() {
        // `echo -n abc | sha256sum`, in base64 without the trailing `=`.
        let fp = Fingerprint::of_public_key(b"abc");
        assert_eq!(
            fp.as_str(),
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0"
        );
        assert_eq!(fp.as_str().parse::<Fingerprint>().unwrap(), fp);
    }

    #[test]
    fn only_well_formed_fingerprints_parse() {
        for bad in [
            "",
            "SHA256:",
            "MD5:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa",
            "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAF!0",
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
        }
    }
}
