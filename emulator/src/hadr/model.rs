//! The Always On model every server keeps: its DATABASE_MIRRORING endpoint, its availability
//! groups (basic and distributed) with their replicas, and the runtime state the link engine
//! writes and the DMVs show. Names and values follow the catalog views they feed
//! ("sys.database_mirroring_endpoints", "sys.availability_groups", "sys.availability_replicas",
//! "sys.dm_hadr_availability_replica_states", "sys.dm_hadr_database_replica_states",
//! "sys.dm_hadr_physical_seeding_stats", learn.microsoft.com).

use std::time::SystemTime;

/// "sys.availability_replicas": availability_mode 0 ASYNCHRONOUS_COMMIT, 1 SYNCHRONOUS_COMMIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityMode {
    SynchronousCommit,
    AsynchronousCommit,
}

impl AvailabilityMode {
    pub fn code(self) -> i64 {
        match self {
            AvailabilityMode::AsynchronousCommit => 0,
            AvailabilityMode::SynchronousCommit => 1,
        }
    }

    pub fn desc(self) -> &'static str {
        match self {
            AvailabilityMode::AsynchronousCommit => "ASYNCHRONOUS_COMMIT",
            AvailabilityMode::SynchronousCommit => "SYNCHRONOUS_COMMIT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "SYNCHRONOUS_COMMIT" => Some(AvailabilityMode::SynchronousCommit),
            "ASYNCHRONOUS_COMMIT" => Some(AvailabilityMode::AsynchronousCommit),
            _ => None,
        }
    }
}

/// "sys.dm_hadr_availability_replica_states": role 0 RESOLVING, 1 PRIMARY, 2 SECONDARY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaRole {
    Primary,
    Secondary,
    Resolving,
}

impl ReplicaRole {
    pub fn code(self) -> i64 {
        match self {
            ReplicaRole::Resolving => 0,
            ReplicaRole::Primary => 1,
            ReplicaRole::Secondary => 2,
        }
    }

    pub fn desc(self) -> &'static str {
        match self {
            ReplicaRole::Resolving => "RESOLVING",
            ReplicaRole::Primary => "PRIMARY",
            ReplicaRole::Secondary => "SECONDARY",
        }
    }

    pub fn from_code(c: i64) -> Self {
        match c {
            1 => ReplicaRole::Primary,
            2 => ReplicaRole::Secondary,
            _ => ReplicaRole::Resolving,
        }
    }
}

/// A DATABASE_MIRRORING endpoint ("CREATE ENDPOINT (Transact-SQL)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub endpoint_id: i64,
    pub port: u16,
    pub started: bool,
    /// ALL | PARTNER | WITNESS.
    pub role: String,
    /// The certificate AUTHENTICATION names, if any.
    pub certificate: Option<String>,
    /// AUTHENTICATION = WINDOWS [NTLM|KERBEROS|NEGOTIATE] (alone or with a certificate).
    pub windows_auth: bool,
    pub encryption_required: bool,
    /// "AES", "RC4", "AES RC4" or "RC4 AES"; "NONE" when encryption is disabled.
    pub algorithm: String,
}

/// A replica of an availability group. For a distributed availability group each "replica"
/// is a member availability group: `server_name` is the AG's name, `endpoint_url` its
/// LISTENER_URL ("CREATE AVAILABILITY GROUP … DISTRIBUTED").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub server_name: String,
    pub endpoint_url: String,
    pub mode: AvailabilityMode,
    /// FAILOVER_MODE = MANUAL (true) | AUTOMATIC (false).
    pub failover_manual: bool,
    /// SEEDING_MODE = AUTOMATIC (true) | MANUAL (false).
    pub seeding_automatic: bool,
    /// A GUID, upper case with dashes as SQL Server shows uniqueidentifiers.
    pub replica_id: String,
}

/// An availability group as its catalog views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityGroup {
    pub name: String,
    pub group_id: String,
    pub distributed: bool,
    pub databases: Vec<String>,
    pub replicas: Vec<Replica>,
    /// This server's role in the group (for a DAG: the role of the local AG in the DAG).
    pub local_role: ReplicaRole,
    /// ALTER AVAILABILITY GROUP … GRANT CREATE ANY DATABASE was run (a secondary may seed).
    pub create_any_database: bool,
}

/// Runtime state of one replica, which the engine (hadr::link) writes and
/// `sys.dm_hadr_availability_replica_states` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaRuntime {
    pub connected: bool,
    pub role: ReplicaRole,
    pub healthy: bool,
    /// last_connect_error_number / _description.
    pub last_connect_error: Option<(i32, String)>,
}

/// Runtime state of one database in a group, as `sys.dm_hadr_database_replica_states` shows it
/// for the local replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseRuntime {
    /// NOT SYNCHRONIZING | SYNCHRONIZING | SYNCHRONIZED | REVERTING | INITIALIZING.
    pub synchronization_state: String,
    pub healthy: bool,
    pub end_of_log_lsn: i64,
    pub last_hardened_lsn: i64,
    pub last_commit_lsn: i64,
    pub log_send_queue_kb: i64,
    pub redo_queue_kb: i64,
    pub is_local: bool,
    pub is_primary: bool,
}

/// Automatic seeding of one database ("sys.dm_hadr_physical_seeding_stats",
/// "sys.dm_hadr_automatic_seeding").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedingRuntime {
    pub database: String,
    /// transfer_state_desc / current_state, e.g. "READING_DATABASE_FILES", "COMPLETED", "FAILED".
    pub state: String,
    pub size_bytes: i64,
    pub transferred_bytes: i64,
    pub rate_bytes_per_second: i64,
    pub start_utc: SystemTime,
    pub estimate_complete_utc: Option<SystemTime>,
    pub attempts: i32,
    /// failure_code / failure_message.
    pub failed: Option<(i32, String)>,
}

/// What T-SQL asked for that the engine must carry out; drained by
/// [`crate::server::Server::take_hadr_requests`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HadrRequest {
    /// ALTER AVAILABILITY GROUP [dag] FAILOVER (planned; SQL Server 2022 CU13 and later).
    Failover { ag: String },
    /// ALTER AVAILABILITY GROUP [dag] FORCE_FAILOVER_ALLOW_DATA_LOSS.
    ForceFailover { ag: String },
    /// ALTER AVAILABILITY GROUP [dag] SET (ROLE = SECONDARY).
    SetRoleSecondary { ag: String },
    /// ALTER AVAILABILITY GROUP [dag] MODIFY AVAILABILITY GROUP ON …: the model holds the
    /// new modes already; the engine re-reads them.
    ModeChanged { ag: String },
    /// DROP AVAILABILITY GROUP: the model no longer holds the group.
    Dropped { ag: String },
}

impl HadrRequest {
    pub(crate) fn encode(&self) -> (&'static str, &str) {
        match self {
            HadrRequest::Failover { ag } => ("FAILOVER", ag),
            HadrRequest::ForceFailover { ag } => ("FORCE_FAILOVER", ag),
            HadrRequest::SetRoleSecondary { ag } => ("SET_ROLE_SECONDARY", ag),
            HadrRequest::ModeChanged { ag } => ("MODE_CHANGED", ag),
            HadrRequest::Dropped { ag } => ("DROPPED", ag),
        }
    }

    pub(crate) fn decode(kind: &str, ag: String) -> Option<Self> {
        Some(match kind {
            "FAILOVER" => HadrRequest::Failover { ag },
            "FORCE_FAILOVER" => HadrRequest::ForceFailover { ag },
            "SET_ROLE_SECONDARY" => HadrRequest::SetRoleSecondary { ag },
            "MODE_CHANGED" => HadrRequest::ModeChanged { ag },
            "DROPPED" => HadrRequest::Dropped { ag },
            _ => return None,
        })
    }
}
