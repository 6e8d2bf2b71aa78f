//! The Managed Instance side of the link: the trust certificates ARM uploads
//! (serverTrustCertificates) and the links (distributedAvailabilityGroups) that seed and then
//! replicate a SQL Server database into the MI. ARM (crate::arm) and the control API drive it;
//! the engine (hadr::engine*) does the work in the background on the MI's virtual clock.
//!
//! Shapes and states follow "Distributed Availability Groups - Get" (REST, Microsoft.Sql
//! 2025-01-01), "Troubleshoot link" and "Fail over link" (learn.microsoft.com).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use super::engine_seed::SeedRun;
use super::link_store::Store;
use super::network::Network;
use crate::server::Server;

/// `instanceLinkRole` / `partnerLinkRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinkRole {
    Primary,
    Secondary,
}

impl LinkRole {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkRole::Primary => "Primary",
            LinkRole::Secondary => "Secondary",
        }
    }

    pub fn other(self) -> LinkRole {
        match self {
            LinkRole::Primary => LinkRole::Secondary,
            LinkRole::Secondary => LinkRole::Primary,
        }
    }
}

/// What ARM's PUT distributedAvailabilityGroups/{dag} asks for (either body shape).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkSpec {
    /// The DAG's name (the resource name).
    pub dag: String,
    /// partnerAvailabilityGroupName: the AG on SQL Server.
    pub partner_ag: String,
    /// partnerEndpoint: `TCP://host:port` of SQL Server's DATABASE_MIRRORING endpoint.
    pub partner_endpoint: String,
    /// instanceAvailabilityGroupName: the AG the MI creates for the link.
    pub instance_ag: String,
    pub databases: Vec<String>,
    /// failoverMode Manual (two-way, SQL Server 2022/2025) or None (one-way).
    pub failover_manual: bool,
    /// seedingMode Automatic or Manual.
    pub seeding_automatic: bool,
    /// instanceLinkRole: Secondary (SQL Server is the initial primary) or Primary.
    pub instance_role: LinkRole,
}

/// A refusal: SQL Server's error number and text, and the link state it belongs to
/// (`LinkInitError`, `LinkCreationError`, … as "Troubleshoot link" names them; empty when the
/// request itself is refused and no link state changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    pub number: i32,
    pub state: &'static str,
    pub message: String,
}

impl LinkError {
    pub fn new(number: i32, state: &'static str, message: impl Into<String>) -> LinkError {
        LinkError {
            number,
            state,
            message: message.into(),
        }
    }

    /// A request the emulator refuses where no SQL Server error number is documented (50000,
    /// as `RAISERROR` without a number).
    pub fn refused(message: impl Into<String>) -> LinkError {
        LinkError::new(50000, "", message)
    }
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Msg {}: {}", self.number, self.message)
    }
}

/// One database of a link, as `properties.databases[]` of the DAG resource shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDatabaseStatus {
    pub database: String,
    pub instance_replica_id: String,
    pub partner_replica_id: String,
    /// CreatingLink | LinkSynchronizing | LinkFailoverInProgress | Catchup | LinkInitError |
    /// LinkCreationError | …
    pub replica_state: String,
    /// e.g. "45.0%" while seeding, "100%" after it.
    pub seeding_progress: String,
    /// NOT_HEALTHY | PARTIALLY_HEALTHY | HEALTHY.
    pub synchronization_health: String,
    /// DISCONNECTED | CONNECTED.
    pub connected_state: String,
    pub last_received_lsn: Option<String>,
    pub last_received_time: Option<SystemTime>,
    pub last_sent_lsn: Option<String>,
    pub last_sent_time: Option<SystemTime>,
    pub last_commit_lsn: Option<String>,
    pub last_commit_time: Option<SystemTime>,
    pub last_hardened_lsn: Option<String>,
    pub last_hardened_time: Option<SystemTime>,
    pub last_backup_lsn: Option<String>,
    pub last_backup_time: Option<SystemTime>,
    /// "Msg N: text" of the last failure.
    pub most_recent_link_error: Option<String>,
    /// partnerAuthCertValidity: the partner's endpoint certificate name and expiry.
    pub partner_cert: Option<(String, SystemTime)>,
    pub send_lag_seconds: Option<i64>,
    pub redo_lag_seconds: Option<i64>,
}

/// A link as the DAG resource shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    pub spec: LinkSpec,
    /// distributedAvailabilityGroupId (a GUID).
    pub id: String,
    /// replicationMode Sync (true) or Async.
    pub replication_mode_sync: bool,
    pub instance_role: LinkRole,
    pub partner_role: LinkRole,
    pub databases: Vec<LinkDatabaseStatus>,
}

/// A serverTrustCertificates resource: SQL Server's endpoint certificate (public part).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrustCertificate {
    pub name: String,
    pub public_blob: Vec<u8>,
    /// SHA-1 of the DER, upper-case hex with `0x`, as sys.certificates shows thumbprints.
    pub thumbprint: String,
}

/// Faults the control API injects into a link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkFault {
    /// Seeding stops moving (true) or moves again (false).
    StallSeeding { stalled: bool },
    /// The source's log is truncated under a seeding link, as a log backup would.
    TruncateLog,
    /// The network between SQL Server and the MI drops everything (true) or heals (false).
    Partition { partitioned: bool },
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
    engine: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Links {
    fn drop(&mut self) {
        if let Some(h) = self.engine.lock().take() {
            h.abort();
        }
    }
}

impl Links {
    /// The MI's links, loaded from `data_dir`; the engine runs while the returned value lives
    /// (it needs a Tokio runtime; without one nothing runs in the background).
    pub fn new(mi: Arc<Server>, network: Arc<Network>, data_dir: Option<PathBuf>) -> Arc<Links> {
        let store = Store::load(data_dir.as_deref());
        let links = Arc::new(Links {
            mi,
            network,
            data_dir,
            store: Mutex::new(store),
            faults: Mutex::default(),
            seeds: Mutex::default(),
            engine: Mutex::new(None),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let task = rt.spawn(super::engine::run(Arc::downgrade(&links)));
            *links.engine.lock() = Some(task.abort_handle());
        }
        links
    }

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

    /// PUT distributedAvailabilityGroups/{dag}: checks the request, then establishes the link
    /// in the background (its state shows in [`Links::status`]).
    pub fn create(&self, spec: LinkSpec) -> Result<(), LinkError> {
        super::link_create::create(self, spec)
    }

    pub fn status(&self, dag: &str) -> Option<LinkStatus> {
        let s = self.store.lock();
        s.link(dag).map(|l| super::link_status::status(l, &s))
    }

    pub fn list(&self) -> Vec<LinkStatus> {
        let s = self.store.lock();
        s.links
            .iter()
            .map(|l| super::link_status::status(l, &s))
            .collect()
    }

    /// PATCH replicationMode: the MI side's availability mode.
    pub fn set_replication_mode(&self, dag: &str, sync: bool) -> Result<(), LinkError> {
        super::link_roles::set_replication_mode(self, dag, sync)
    }

    /// POST …/failover: failoverType Planned (false) or ForcedAllowDataLoss (true).
    pub fn failover(&self, dag: &str, forced: bool) -> Result<(), LinkError> {
        super::link_roles::failover(self, dag, forced)
    }

    /// POST …/setRole: instanceRole Primary (true) or Secondary, roleChangeType Forced (true)
    /// or Planned.
    pub fn set_role(&self, dag: &str, primary: bool, forced: bool) -> Result<(), LinkError> {
        super::link_roles::set_role(self, dag, primary, forced)
    }

    /// DELETE distributedAvailabilityGroups/{dag}: breaks the link; both databases become
    /// independent.
    pub fn delete(&self, dag: &str) -> Result<(), LinkError> {
        super::link_roles::delete(self, dag)
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
