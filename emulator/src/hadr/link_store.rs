//! What the MI keeps of its links and trust certificates, and where: `links.json` in its data
//! directory, so `ferry-emulator serve` finds them again after a restart. Seeding progress is
//! not kept: seeding is not resumable ("Troubleshoot link": a restart of either side restarts
//! it), so a link found seeding starts again from zero.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::link_types::{LinkRole, LinkSpec, TrustCertificate};

/// Where a database of a link stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Waiting for the partner to answer and pass the checks.
    Init,
    /// Automatic seeding under way.
    Seeding,
    /// Seeded; the secondary redoes the primary's log.
    Synchronizing,
    /// Stopped by an error; the link must be dropped and created again.
    Failed,
}

/// One database of a link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DbRecord {
    pub name: String,
    pub phase: Phase,
    /// replicaState as ARM shows it.
    pub replica_state: String,
    /// (number, text) of the last failure.
    pub error: Option<(i32, String)>,
    pub seed_size: i64,
    pub seed_transferred: i64,
    pub seed_started: Option<SystemTime>,
    pub seed_attempts: i32,
    /// The newest LSN the secondary holds (hardened and redone: the emulator does both at once).
    pub secondary_lsn: i64,
    pub secondary_time: Option<SystemTime>,
    /// The newest LSN seen on the primary, and when.
    pub primary_lsn: i64,
    pub primary_time: Option<SystemTime>,
    /// LSNs seen on the primary and when they were seen, oldest first: the redo lag counts
    /// from there.
    pub pending: Vec<(i64, SystemTime)>,
    /// After a failover, when the MI took its automatic full backup.
    pub auto_backup: Option<SystemTime>,
}

impl DbRecord {
    pub fn new(name: &str) -> DbRecord {
        DbRecord {
            name: name.to_owned(),
            phase: Phase::Init,
            replica_state: "CreatingLink".into(),
            error: None,
            seed_size: 0,
            seed_transferred: 0,
            seed_started: None,
            seed_attempts: 0,
            secondary_lsn: 0,
            secondary_time: None,
            primary_lsn: 0,
            primary_time: None,
            pending: Vec::new(),
            auto_backup: None,
        }
    }

    pub fn fail(&mut self, state: &str, number: i32, text: String) {
        self.phase = Phase::Failed;
        self.replica_state = state.to_owned();
        self.error = Some((number, text));
    }
}

/// One link (a DAG the MI takes part in).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkRecord {
    pub spec: LinkSpec,
    pub id: String,
    pub instance_replica_id: String,
    pub partner_replica_id: String,
    /// The MI side's replicationMode: Sync (true) or Async.
    pub sync: bool,
    pub instance_role: LinkRole,
    /// The role the partner claims: after a forced failover both claim Primary.
    pub partner_role: LinkRole,
    pub created: SystemTime,
    /// Whether both sides reach each other now.
    #[serde(default)]
    pub connected: bool,
    /// The partner's endpoint certificate: name and expiry (partnerAuthCertValidity).
    #[serde(default)]
    pub partner_cert: Option<(String, SystemTime)>,
    /// The last failover (planned or forced), for the MI's automatic backup after it.
    pub failed_over: Option<SystemTime>,
    pub databases: Vec<DbRecord>,
}

/// Everything persisted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Store {
    pub trust: Vec<TrustCertificate>,
    pub links: Vec<LinkRecord>,
    /// The virtual redo lag.
    pub lag: Duration,
    /// Seeding speed, bytes per virtual second.
    pub seeding_rate: Option<i64>,
}

fn file(dir: &Path) -> PathBuf {
    dir.join("links.json")
}

impl Store {
    /// The store in `dir`, or an empty one (a file that cannot be read is logged and set
    /// aside, not fatal: the MI still starts).
    pub fn load(dir: Option<&Path>) -> Store {
        let Some(dir) = dir else {
            return Store::default();
        };
        let path = file(dir);
        let Ok(bytes) = std::fs::read(&path) else {
            return Store::default();
        };
        match serde_json::from_slice::<Store>(&bytes) {
            Ok(mut s) => {
                for l in &mut s.links {
                    for d in &mut l.databases {
                        if d.phase == Phase::Seeding {
                            d.phase = Phase::Init;
                            d.seed_transferred = 0;
                        }
                    }
                }
                s
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "links store unreadable, starting empty: {e}");
                Store::default()
            }
        }
    }

    pub fn save(&self, dir: Option<&Path>) {
        let Some(dir) = dir else {
            return;
        };
        let path = file(dir);
        let tmp = path.with_extension("json.tmp");
        let result = serde_json::to_vec_pretty(self)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), "cannot save the links: {e}");
        }
    }

    pub fn link(&self, dag: &str) -> Option<&LinkRecord> {
        self.links
            .iter()
            .find(|l| l.spec.dag.eq_ignore_ascii_case(dag))
    }

    pub fn link_mut(&mut self, dag: &str) -> Option<&mut LinkRecord> {
        self.links
            .iter_mut()
            .find(|l| l.spec.dag.eq_ignore_ascii_case(dag))
    }
}
