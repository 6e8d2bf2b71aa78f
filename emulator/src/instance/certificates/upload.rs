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
use super::x509::Facts;
use crate::instance::Instance;

/// A certificate and its private key, read from a PFX and checked to belong together.
#[derive(Debug, Clone)]
pub struct TdeCertificate {
    der: Vec<u8>,
    facts: Facts,
    pkcs8: Vec<u8>,
}

impl TdeCertificate {
    /// The certificate in a PFX opened with `password` whose private key the PFX also holds.
    pub fn from_pfx(pfx_bytes: &[u8], password: &str) -> Result<TdeCertificate, TdeUploadError> {
        let pfx::Contents { certs, keys } = pfx::read(pfx_bytes, password)?;
        let keys: Vec<(Vec<u8>, RsaParts)> = keys
            .into_iter()
            .filter_map(|k| RsaParts::from_pkcs8(&k).ok().map(|p| (k, p)))
            .collect();
        if keys.is_empty() {
            return Err(TdeUploadError::WithoutPrivateKey);
        }
        certs
            .into_iter()
            .find_map(|der| {
                let facts = Instance::read_certificate(&der).ok()?;
                let (pkcs8, _) = keys
                    .iter()
                    .find(|(_, p)| Instance::key_matches(&facts, p))?;
                Some(TdeCertificate {
                    pkcs8: pkcs8.clone(),
                    der,
                    facts,
                })
            })
            .ok_or_else(|| {
                TdeUploadError::InvalidBlobOrPassword(
                    "no certificate in it matches its private key".into(),
                )
            })
    }

    /// SHA-1 of the certificate's DER.
    pub fn thumbprint(&self) -> &[u8] {
        &self.facts.thumbprint
    }
}

impl Instance {
    /// Adds an uploaded TDE certificate; [`TdeUploadError::AlreadyExists`] when the instance
    /// holds it already.
    pub fn add_tde_certificate(&mut self, cert: &TdeCertificate) -> Result<(), TdeUploadError> {
        if self.holds_certificate(cert.thumbprint()) {
            return Err(TdeUploadError::AlreadyExists);
        }
        let name = format!("TdeCertificate_{}", hex(cert.thumbprint()));
        self.insert_certificate(
            &name,
            &cert.der,
            &cert.facts,
            Some(&cert.pkcs8),
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
