//! PKCS#12 (PFX) files, as MI's `tdeCertificates` upload takes them ("privateBlob": "The
//! base64 encoded certificate private blob", ManagedInstanceTdeCertificates.json), read with
//! `p12-keystore`.

use p12_keystore::Pkcs12Archive;

/// Why a TDE certificate upload is refused, as the upload's error codes name it.
#[derive(Debug, PartialEq, Eq)]
pub enum TdeUploadError {
    /// Not a PFX, the password does not open it, or no certificate in it matches its key
    /// (`InvalidPrivateBlobOrPassword`).
    InvalidBlobOrPassword(String),
    /// Certificates only (`PrivateBlobWithoutPrivateKey`).
    WithoutPrivateKey,
    /// The instance holds this certificate already (`CertificateAlreadyExists`).
    AlreadyExists,
}

/// What a PFX holds: certificates (DER) and private keys (PKCS#8 DER).
pub(super) struct Contents {
    pub certs: Vec<Vec<u8>>,
    pub keys: Vec<Vec<u8>>,
}

/// The certificates and private keys a PFX holds.
pub(super) fn read(pfx: &[u8], password: &str) -> Result<Contents, TdeUploadError> {
    let archive = Pkcs12Archive::from_pkcs12(pfx, password)
        .map_err(|e| TdeUploadError::InvalidBlobOrPassword(e.to_string()))?;
    let certs: Vec<Vec<u8>> = archive
        .certs
        .iter()
        .map(|c| c.cert.as_der().to_vec())
        .collect();
    let keys: Vec<Vec<u8>> = archive
        .keys
        .iter()
        .map(|k| k.key.as_der().to_vec())
        .collect();
    match (certs.is_empty(), keys.is_empty()) {
        (true, _) => Err(TdeUploadError::InvalidBlobOrPassword(
            "it holds no certificate".into(),
        )),
        (false, true) => Err(TdeUploadError::WithoutPrivateKey),
        (false, false) => Ok(Contents { certs, keys }),
    }
}
