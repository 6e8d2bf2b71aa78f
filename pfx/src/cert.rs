//! The certificate side: `CERTENCODED`'s DER bytes, parsed only as far as the checks need.

use sha1::{Digest, Sha1};
use x509_parser::certificate::X509Certificate;
use x509_parser::public_key::PublicKey;

use crate::error::PfxError;

/// `der` parsed as one DER X.509 certificate, nothing after it.
pub(crate) fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PfxError> {
    let (rest, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| PfxError::NotCertificate {
            reason: e.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(PfxError::NotCertificate {
            reason: format!("{} bytes follow the certificate", rest.len()),
        });
    }
    Ok(cert)
}

/// The RSA modulus of the DER X.509 certificate `der`, big-endian without leading zeros.
pub(crate) fn rsa_modulus(der: &[u8]) -> Result<Vec<u8>, PfxError> {
    let cert = parse(der)?;
    let found = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => return Ok(trim(rsa.modulus).to_vec()),
        Ok(PublicKey::EC(_)) => "EC",
        Ok(PublicKey::DSA(_)) => "DSA",
        Ok(PublicKey::GostR3410(_) | PublicKey::GostR3410_2012(_)) => "GOST",
        Ok(PublicKey::Unknown(_)) | Err(_) => "an unknown key type",
    };
    Err(PfxError::NotRsa {
        what: "the certificate's public key",
        found: found.into(),
    })
}

/// SHA-1 of the certificate's DER: what `sys.certificates.thumbprint` shows.
pub(crate) fn thumbprint(der: &[u8]) -> [u8; 20] {
    Sha1::digest(der).into()
}

pub(crate) fn trim(be: &[u8]) -> &[u8] {
    let zeros = be.iter().take_while(|&&b| b == 0).count();
    &be[zeros..]
}
