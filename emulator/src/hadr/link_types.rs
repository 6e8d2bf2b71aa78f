//! The link's types as ARM and the control API see them. Shapes and states follow
//! "Distributed Availability Groups - Get" (REST, Microsoft.Sql 2025-01-01), "Troubleshoot link"
//! and "Fail over link" (learn.microsoft.com).

use std::time::SystemTime;

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
