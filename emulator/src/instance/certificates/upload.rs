//! A TDE certificate uploaded to Managed Instance through ARM (`POST {MI}/tdeCertificates`,
//! ManagedInstanceTdeCertificates.json): the PFX's certificate and private key go into the
//! instance's certificate store, master's `sys.certificates`, where restores of TDE backups
//! look for the thumbprint.
//!
//! Guess: the name the certificate gets in `sys.certificates`; the documents do not say. The
//! emulator names it `TdeCertificate_<thumbprint in hex>`, unique per certificate, protected by
//! the master key (`MK`) as a service-managed key would be.

use super::keys::RsaParts;
use super::pfx::{self, TdeUploadError};
use super::store::KeyProtection;
use crate::instance::Instance;

impl Instance {
    /// Adds the certificate and key of a PFX opened with `password`.
    pub fn upload_tde_certificate(
        &mut self,
        pfx_bytes: &[u8],
        password: &str,
    ) -> Result<(), TdeUploadError> {
        let pfx::Contents { certs, keys } = pfx::read(pfx_bytes, password)?;
        let keys: Vec<(Vec<u8>, RsaParts)> = keys
            .into_iter()
            .filter_map(|k| RsaParts::from_pkcs8(&k).ok().map(|p| (k, p)))
            .collect();
        if keys.is_empty() {
            return Err(TdeUploadError::WithoutPrivateKey);
        }
        let pair = certs.iter().find_map(|der| {
            let facts = Self::read_certificate(der).ok()?;
            let (pkcs8, _) = keys.iter().find(|(_, p)| Self::key_matches(&facts, p))?;
            Some((der, facts, pkcs8))
        });
        let Some((der, facts, pkcs8)) = pair else {
            return Err(TdeUploadError::InvalidBlobOrPassword(
                "no certificate in it matches its private key".into(),
            ));
        };
        if self.has_certificate(&facts.thumbprint) {
            return Err(TdeUploadError::AlreadyExists);
        }
        let name = format!("TdeCertificate_{}", hex(&facts.thumbprint));
        self.insert_certificate(
            &name,
            der,
            &facts,
            Some(pkcs8),
            &KeyProtection::MasterKey,
            None,
        )
        .map_err(|e| TdeUploadError::InvalidBlobOrPassword(e.text))?;
        Ok(())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
