//! Certificates as X.509 DER: the self-signed ones CREATE CERTIFICATE … WITH SUBJECT makes
//! (rcgen, RSA keys from aws-lc-rs), and what the catalog shows of any certificate, read from
//! its DER (x509-parser).

use sha1::{Digest, Sha1};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// What `sys.certificates` shows of a certificate, and the public key its private key must
/// match.
#[derive(Debug, Clone)]
pub(super) struct Facts {
    pub subject: String,
    pub issuer: String,
    /// Space-separated hex pairs, at most 16 bytes ("CREATE CERTIFICATE": "only the first 16
    /// bytes appear in the sys.certificates catalog view").
    pub serial: String,
    pub start: OffsetDateTime,
    pub expiry: OffsetDateTime,
    /// SHA-1 of the DER ("sys.certificates": "SHA-1 hash of the certificate").
    pub thumbprint: Vec<u8>,
    /// The RSA modulus and public exponent, big-endian without leading zeros.
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    pub key_bits: usize,
}

/// Why bytes are not a certificate SQL Server can load.
#[derive(Debug)]
pub(super) enum BadCertificate {
    NotDer,
    NotRsa,
}

fn trim(b: &[u8]) -> Vec<u8> {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b[start..].to_vec()
}

/// A name as the catalog shows it: the common name when there is one (SQL Server's own
/// certificates are `CN=<subject>` and the catalog shows `<subject>`), else the whole name.
fn shown_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| name.to_string())
}

/// Reads what the catalog needs from a DER certificate.
pub(super) fn facts(der: &[u8]) -> Result<Facts, BadCertificate> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|_| BadCertificate::NotDer)?;
    if !rest.is_empty() {
        return Err(BadCertificate::NotDer);
    }
    let Ok(PublicKey::RSA(rsa)) = cert.public_key().parsed() else {
        return Err(BadCertificate::NotRsa);
    };
    let modulus = trim(rsa.modulus);
    let serial = cert.raw_serial();
    Ok(Facts {
        subject: shown_name(cert.subject()),
        issuer: shown_name(cert.issuer()),
        serial: serial
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
        start: cert.validity().not_before.to_datetime(),
        expiry: cert.validity().not_after.to_datetime(),
        thumbprint: Sha1::digest(der).to_vec(),
        key_bits: modulus.len() * 8 - modulus.first().map_or(0, |b| b.leading_zeros() as usize),
        modulus,
        exponent: trim(rsa.exponent),
    })
}

/// A new RSA-2048 key and a self-signed certificate `CN=<subject>` valid from `start` to
/// `expiry`, as (certificate DER, PKCS#8 private key DER).
///
/// SQL Server 2016 and later generate 2048-bit keys ("CREATE CERTIFICATE": 1024 bits through
/// 2014) and 2017 and later sign with SHA2_256 (SHA1 before). The emulator always makes
/// 2048-bit SHA-256 certificates: rcgen signs RSA with SHA-2 only, and nothing a migration
/// reads depends on the older sizes.
pub(super) fn generate(
    subject: &str,
    start: OffsetDateTime,
    expiry: OffsetDateTime,
) -> Result<(Vec<u8>, Vec<u8>), rcgen::Error> {
    let key = new_key()?;
    Ok((issue(&key, subject, start, expiry)?, key.serialize_der()))
}

/// A new RSA-2048 key.
pub(super) fn new_key() -> Result<rcgen::KeyPair, rcgen::Error> {
    rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
}

/// A certificate `CN=<subject>` for `key`, signed by it.
pub(super) fn issue(
    key: &rcgen::KeyPair,
    subject: &str,
    start: OffsetDateTime,
    expiry: OffsetDateTime,
) -> Result<Vec<u8>, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    params.not_before = start;
    params.not_after = expiry;
    // SQL Server's own certificates carry a 16-byte serial number.
    let mut serial = [0u8; 16];
    super::random::fill(&mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    Ok(params.self_signed(key)?.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_reads_back() {
        let start = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let expiry = start + time::Duration::days(365);
        let (der, pkcs8) = generate("TDE for Sales", start, expiry).unwrap();
        let f = facts(&der).unwrap();
        assert_eq!(f.subject, "TDE for Sales");
        assert_eq!(f.issuer, "TDE for Sales");
        assert_eq!(f.key_bits, 2048);
        assert_eq!(f.start, start);
        assert_eq!(f.expiry, expiry);
        assert_eq!(f.thumbprint.len(), 20);
        assert_eq!(f.serial.split(' ').count(), 16);
        assert!(!pkcs8.is_empty());
        assert!(matches!(facts(&der[..40]), Err(BadCertificate::NotDer)));
    }
}

#[cfg(test)]
mod key_tests {
    use super::super::keys::RsaParts;
    use super::super::pvk;
    use super::*;

    #[test]
    fn a_generated_key_survives_pvk_and_pkcs8() {
        let t0 = std::time::Instant::now();
        let now = OffsetDateTime::now_utc();
        let (der, pkcs8) = generate("k", now, now + time::Duration::days(1)).unwrap();
        eprintln!("generated in {:?}", t0.elapsed());
        let parts = RsaParts::from_pkcs8(&pkcs8).unwrap();
        let f = facts(&der).unwrap();
        assert_eq!(parts.n, f.modulus);
        assert_eq!(parts.e, f.exponent);
        let back = pvk::read(&pvk::write(&parts, "pw", &[1; 16]), Some("pw")).unwrap();
        assert_eq!(back, parts);
        assert_eq!(
            RsaParts::from_pkcs8(&back.to_pkcs8().unwrap()).unwrap(),
            parts
        );
        let mut broken = parts.clone();
        broken.d[5] ^= 1;
        assert!(broken.to_pkcs8().is_err(), "an inconsistent key is refused");
        eprintln!("all in {:?}", t0.elapsed());
    }
}
