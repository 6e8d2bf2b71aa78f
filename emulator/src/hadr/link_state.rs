//! The state of one MI's links: the store (persisted) and what lives in memory only (faults,
//! the seedings under way), with the operations that need nothing of the engine: trust
//! certificates (PUT/GET/DELETE serverTrustCertificates), lag, seeding rate and faults.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use super::link_store::Store;
use super::link_types::{LinkError, LinkFault, TrustCertificate};
use super::network::Network;
use crate::instance::SeedingImage;
use crate::server::Server;

/// A seeding under way (kept in memory only: a restart begins it again).
pub(crate) struct SeedRun {
    pub(super) image: SeedingImage,
    /// Each side's start count when it began.
    pub(super) launches: (u64, u64),
    /// The newest log backup of the database on the primary when it began.
    pub(super) log_mark: i64,
    pub(super) last_tick: SystemTime,
    /// Lost the connection: starts again once it is back.
    pub(super) interrupted: bool,
}

/// Faults in force on the MI's links (not persisted: a restart clears them).
#[derive(Debug, Default)]
pub(super) struct FaultState {
    pub stalled: bool,
    /// A truncation the next engine pass applies to every seeding link.
    pub truncate: bool,
    pub partitioned: bool,
}

/// The links of one Managed Instance. One per MI, shared (ARM and the control API hold it);
/// persisted in its data directory, so links survive a restart of `ferry-emulator serve`.
pub struct Links {
    pub(super) mi: Arc<Server>,
    pub(super) network: Arc<Network>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) store: Mutex<Store>,
    pub(super) faults: Mutex<FaultState>,
    /// The seedings under way, per (dag, database) in lower case.
    pub(super) seeds: Mutex<HashMap<(String, String), SeedRun>>,
    pub(super) engine: Mutex<Option<tokio::task::AbortHandle>>,
    /// Held by an engine pass and by every request that changes a link, so a request never
    /// lands in the middle of a pass (a delete while a seeding pass recreates the copy).
    pub(super) turn: Mutex<()>,
}

impl Drop for Links {
    fn drop(&mut self) {
        if let Some(h) = self.engine.lock().take() {
            h.abort();
        }
    }
}

impl Links {
    pub(super) fn save(&self, store: &Store) {
        store.save(self.data_dir.as_deref());
    }

    /// Changes the store and saves it.
    pub(super) fn update<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut s = self.store.lock();
        let r = f(&mut s);
        self.save(&s);
        r
    }

    /// PUT serverTrustCertificates/{name}: `der` is SQL Server's endpoint certificate (the
    /// bytes CERTENCODED returns). Replaces a certificate of the same name.
    pub fn put_trust_certificate(
        &self,
        name: &str,
        der: &[u8],
    ) -> Result<TrustCertificate, LinkError> {
        if name.trim().is_empty() {
            return Err(LinkError::refused("the certificate name is empty"));
        }
        if let Err(e) = x509_parser::parse_x509_certificate(der) {
            return Err(LinkError::refused(format!(
                "publicBlob of certificate '{name}' is not a DER X.509 certificate: {e}"
            )));
        }
        let cert = TrustCertificate {
            name: name.to_owned(),
            public_blob: der.to_vec(),
            thumbprint: thumbprint(der),
        };
        self.update(|s| {
            s.trust.retain(|c| !c.name.eq_ignore_ascii_case(name));
            s.trust.push(cert.clone());
        });
        Ok(cert)
    }

    pub fn trust_certificate(&self, name: &str) -> Option<TrustCertificate> {
        let s = self.store.lock();
        s.trust
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .cloned()
    }

    pub fn trust_certificates(&self) -> Vec<TrustCertificate> {
        self.store.lock().trust.clone()
    }

    pub fn delete_trust_certificate(&self, name: &str) -> Result<(), LinkError> {
        self.update(|s| {
            let before = s.trust.len();
            s.trust.retain(|c| !c.name.eq_ignore_ascii_case(name));
            if s.trust.len() == before {
                Err(LinkError::refused(format!(
                    "the server trust certificate '{name}' does not exist"
                )))
            } else {
                Ok(())
            }
        })
    }

    /// The virtual time between a commit on the primary and its redo on the secondary
    /// (asynchronous mode; synchronous commit waits for the secondary).
    pub fn set_lag(&self, d: Duration) {
        self.update(|s| s.lag = d);
    }

    /// How fast seeding streams, bytes per virtual second.
    pub fn set_seeding_rate(&self, bytes_per_second: i64) {
        self.update(|s| s.seeding_rate = Some(bytes_per_second.max(1)));
    }

    pub fn inject(&self, fault: LinkFault) {
        let mut f = self.faults.lock();
        match fault {
            LinkFault::StallSeeding { stalled } => f.stalled = stalled,
            LinkFault::TruncateLog => f.truncate = true,
            LinkFault::Partition { partitioned } => f.partitioned = partitioned,
        }
    }

    /// The MI as the network knows it: its FQDN (the server name the emulated MI answers to).
    pub fn mi_fqdn(&self) -> String {
        self.mi.personality().server_name().to_owned()
    }
}

/// SHA-1 of the DER, as `0x` and upper-case hex (sys.certificates.thumbprint's form).
pub(super) fn thumbprint(der: &[u8]) -> String {
    use sha1::Digest as _;
    let d = sha1::Sha1::digest(der);
    let hex: String = d.iter().map(|b| format!("{b:02X}")).collect();
    format!("0x{hex}")
}
