//! A SQL Server certificate, as T-SQL hands it out, turned into the PKCS#12 (PFX) file that
//! Azure SQL Managed Instance's `tdeCertificates` API takes (`properties.privateBlob`, base64).
//!
//! SQL Server gives the certificate as DER (`CERTENCODED(cert_id)`) and its private key as a
//! password-protected PVK (`CERTPRIVATEKEY(cert_id, 'password')`); Azure wants both in one PFX.
//! [`pfx_from_sql_server`] reads the PVK, checks the key is a sound RSA key that belongs to the
//! certificate, and writes the PFX; [`to_base64`] gives the text the API's JSON carries.
//!
//! Secrets (the decrypted key blob, RC4 keys, the PKCS#8 encoding, RustCrypto's key) are wiped
//! from memory when dropped, except the copy the PKCS#12 writer keeps internally, which that
//! crate does not wipe. No error or `Debug` output carries key bytes or passwords.

mod cert;
mod error;
mod pkcs12;
mod pvk;

use base64::Engine;

pub use error::PfxError;

/// The PFX (PKCS#12, DER) holding the certificate `certificate_der` and its private key.
///
/// - `certificate_der`: what `CERTENCODED(cert_id)` returns, one DER X.509 certificate with an
///   RSA public key.
/// - `private_key_pvk`: what `CERTPRIVATEKEY(cert_id, pvk_password)` returns, a PVK file
///   holding the RSA private key (RC4-encrypted with 128-bit or 40-bit keys, or unencrypted
///   when SQL Server was given an empty password).
/// - `pvk_password`: the password given to `CERTPRIVATEKEY`, hashed as its UTF-8 bytes (the
///   same as Windows' ANSI bytes for ASCII; choose ASCII passwords).
/// - `pfx_password`: the password that protects the PFX, the `certPassword` to send with it.
///   Choose a long random ASCII one; an empty password is ambiguous between PKCS#12 readers.
///
/// The PFX's certificate and key bags are encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC and
/// the file is MACed with HMAC-SHA-1 (2048 iterations each), the PFX every Windows release
/// imports; the key bag and certificate bag share a localKeyId (the thumbprint), and the key
/// bag's friendlyName is the thumbprint in hex.
///
/// # Errors
/// [`PfxError::NotCertificate`] or a non-RSA [`PfxError::NotRsa`] for the certificate;
/// [`PfxError::NotPvk`], [`PfxError::WrongPassword`], [`PfxError::InconsistentKey`] or
/// [`PfxError::NotRsa`] for the key; [`PfxError::KeyMismatch`] when the key is another
/// certificate's; [`PfxError::Pkcs12`] if writing fails.
pub fn pfx_from_sql_server(
    certificate_der: &[u8],
    private_key_pvk: &[u8],
    pvk_password: &str,
    pfx_password: &str,
) -> Result<Vec<u8>, PfxError> {
    let modulus = cert::rsa_modulus(certificate_der)?;
    let key = pvk::decode(private_key_pvk, pvk_password)?;
    let key_modulus = rsa::traits::PublicKeyParts::n(&key).to_be_bytes();
    if cert::trim(&key_modulus) != modulus.as_slice() {
        return Err(PfxError::KeyMismatch);
    }
    pkcs12::write(
        certificate_der,
        &key,
        cert::thumbprint(certificate_der),
        pfx_password,
    )
}

/// The certificate's thumbprint: SHA-1 of its DER bytes, the value SQL Server shows in
/// `sys.certificates.thumbprint` (and Azure in a TDE certificate's thumbprint).
///
/// # Errors
/// [`PfxError::NotCertificate`] when `certificate_der` is not one DER X.509 certificate (of
/// any key type).
pub fn thumbprint(certificate_der: &[u8]) -> Result<[u8; 20], PfxError> {
    cert::parse(certificate_der)?;
    Ok(cert::thumbprint(certificate_der))
}

/// `pfx` in standard base64 with padding: the `privateBlob` text of a tdeCertificates request.
pub fn to_base64(pfx: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(pfx)
}
