//! Writing the key and certificate as a PKCS#12 (PFX) file.
//!
//! Algorithms: both bags (certificate and key) are encrypted with
//! pbeWithSHAAnd3-KeyTripleDES-CBC (PKCS#12 PBES1, RFC 7292 appendix C) and the file's MAC is
//! HMAC-SHA-1, 2048 iterations each (OpenSSL's default count). This is the "classic" PFX,
//! Windows' certificate export option TripleDES-SHA1, which every Windows and .NET release
//! imports. PBES2 with AES-256 and an HMAC-SHA-256 MAC is stronger, but Windows Server 2016 and
//! older cannot import it (they fail as if the password were wrong), and Azure does not say
//! which importer its tdeCertificates API runs. The PFX lives only as long as one API call over
//! TLS, and its strength rests on its password, which ferry draws at random; so
//! compatibility wins.

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};
use rsa::PrivateKey as RsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;

use crate::error::PfxError;

const ITERATIONS: u32 = 2048;

/// The PFX holding `key` and its certificate `certificate_der`, both bags tied together by
/// `local_key_id` (the thumbprint) and protected by `password`.
pub(crate) fn write(
    certificate_der: &[u8],
    key: &RsaPrivateKey,
    local_key_id: [u8; 20],
    password: &str,
) -> Result<Vec<u8>, PfxError> {
    // p12-keystore's messages concern structure only; none quote key bytes or the password.
    let failed = |e: p12_keystore::error::Error| PfxError::Pkcs12 {
        reason: e.to_string(),
    };
    // A SecretDocument: wiped when dropped. p12-keystore's own copy of the key is not (it
    // keeps a plain Vec), which is as far as zeroizing can go with it.
    let pkcs8 = key.to_pkcs8_der().map_err(|e| PfxError::Pkcs12 {
        reason: format!("encoding the key as PKCS#8: {e}"),
    })?;
    let key = PrivateKey::from_der(pkcs8.as_bytes()).map_err(failed)?;
    let cert = Certificate::from_der(certificate_der).map_err(failed)?;
    let chain = PrivateKeyChain::new(local_key_id.to_vec(), key, [cert]);

    let mut store = KeyStore::new();
    // The key bag's friendly name, which Windows shows; the thumbprint names it uniquely.
    let alias = hex_upper(&local_key_id);
    store.add_entry(&alias, KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(failed)
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
