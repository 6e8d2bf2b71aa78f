//! What the rules judge: typed facts read from catalog views and DMVs on the source. Each
//! query is in `instance` or `database` with the documentation page it follows; module text is
//! scanned in `modules`. A view the server's version lacks leaves its fact unknown (None), and
//! the rules that need it say they could not check.

pub mod database;
pub mod instance;
pub mod modules;
pub mod target;

use ferry_sdk::mi_limits::Instance;
use serde::{Deserialize, Serialize};

use crate::config::{Policy, TargetTier};

pub use modules::ModuleScan;

/// A linked server (`sys.servers`, `is_linked = 1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedServer {
    pub name: String,
    pub product: String,
    pub provider: String,
    pub data_source: String,
}

/// A Windows login or group (`sys.server_principals`, type U or G).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowsLogin {
    pub name: String,
    /// True for a Windows group (type G).
    pub group: bool,
}

/// An Agent job step (`msdb.dbo.sysjobsteps`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStep {
    pub job: String,
    pub step: String,
    pub subsystem: String,
}

/// One database's size and files as `sys.master_files` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSize {
    pub name: String,
    pub size_bytes: u64,
    pub files: u64,
}

/// What the instance is and holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceFacts {
    /// `SERVERPROPERTY('ServerName')`: the server and instance name.
    pub server_name: String,
    /// `SERVERPROPERTY('ProductVersion')`, e.g. `15.0.4312.2`.
    pub product_version: String,
    /// `SERVERPROPERTY('Edition')`, e.g. `Enterprise Edition (64-bit)`.
    pub edition: String,
    /// `SERVERPROPERTY('Collation')`.
    pub collation: String,
    /// `SERVERPROPERTY('IsHadrEnabled')`: Always On availability groups enabled (None: the
    /// version has no such property).
    pub hadr_enabled: Option<bool>,
    /// `sys.dm_os_sys_info.cpu_count` (logical CPUs).
    pub cpu_count: Option<u64>,
    /// `sys.dm_os_sys_info.physical_memory_kb`.
    pub physical_memory_kb: Option<u64>,
    /// `sys.configurations.value_in_use` of `xp_cmdshell`.
    pub xp_cmdshell: bool,
    /// … of `Ole Automation Procedures`.
    pub ole_automation: bool,
    /// … of `SQL Mail XPs` (SQL Server 2008 R2 and older; None where the option is gone).
    pub sql_mail_xps: Option<bool>,
    /// … of `Database Mail XPs`.
    pub database_mail_xps: bool,
    /// Database Mail profiles in msdb (`msdb.dbo.sysmail_profile`).
    pub mail_profiles: Vec<String>,
    /// Globally enabled trace flags; None when they could not be read.
    pub trace_flags: Option<Vec<i64>>,
    /// Where `trace_flags` came from, for the report.
    pub trace_flags_source: String,
    pub linked_servers: Vec<LinkedServer>,
    pub windows_logins: Vec<WindowsLogin>,
    pub job_steps: Vec<JobStep>,
    /// User databases (database_id > 4) with their size and file count.
    pub databases: Vec<DatabaseSize>,
    /// The target Managed Instance, when a `target` label reaches it.
    pub target: Option<TargetFacts>,
}

/// The target Managed Instance, when it exists and a `target` label reaches it: what it says
/// about itself replaces the config's assumptions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetFacts {
    pub collation: String,
    pub policy: Option<Policy>,
    /// None when `sys.server_resource_stats` did not tell.
    pub tier: Option<TargetTier>,
    pub reserved_mb: Option<u64>,
    pub used_mb: Option<u64>,
    pub user_databases: Option<u64>,
    pub files: Option<u64>,
    pub certificates: Option<Vec<String>>,
    /// Every database name on the instance.
    pub databases: Vec<String>,
}

impl TargetFacts {
    /// The SDK's view of the instance, for its capacity checks.
    pub fn instance(&self) -> Instance {
        Instance {
            tier: self.tier.map(TargetTier::tier),
            reserved_mb: self.reserved_mb,
            used_mb: self.used_mb,
            user_databases: self.user_databases,
            files: self.files,
            certificates: self.certificates.clone(),
        }
    }
}

/// A CLR assembly (`sys.assemblies`, user-defined).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assembly {
    pub name: String,
    /// `permission_set_desc`: SAFE_ACCESS, EXTERNAL_ACCESS or UNSAFE_ACCESS.
    pub permission_set: String,
}

/// A Service Broker route (`sys.routes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub name: String,
    pub address: String,
}

/// What one database is and holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseFacts {
    pub name: String,
    /// `sys.databases.compatibility_level`.
    pub compatibility_level: i64,
    pub collation: String,
    /// `recovery_model_desc`: FULL, BULK_LOGGED or SIMPLE.
    pub recovery_model: String,
    pub state: String,
    /// `containment` = 1 (PARTIAL).
    pub partially_contained: bool,
    pub encrypted: bool,
    /// The certificate protecting the database encryption key: (name, thumbprint hex).
    pub tde_certificate: Option<(String, String)>,
    /// Allocated size of every file, bytes.
    pub size_bytes: u64,
    /// Data and log files (`sys.database_files`).
    pub files: u64,
    pub log_files: u64,
    /// Each file as (is it the log, allocated bytes), for the target's capacity checks.
    pub file_sizes: Vec<(bool, u64)>,
    /// A FILESTREAM filegroup (`sys.filegroups.type` FD) or FILESTREAM container (type 2 file
    /// outside an FX filegroup).
    pub filestream: bool,
    /// Tables with `is_filetable = 1` (None before SQL Server 2012).
    pub filetables: Option<Vec<String>>,
    /// A memory-optimized filegroup (FX).
    pub memory_optimized_filegroup: bool,
    /// Tables with `is_memory_optimized = 1` (None before SQL Server 2014).
    pub memory_optimized_tables: Option<Vec<String>>,
    pub assemblies: Vec<Assembly>,
    /// Routes other than `AutoCreatedLocal`.
    pub routes: Vec<Route>,
    pub modules: ModuleScan,
    /// Table columns of a deprecated type: (schema.table.column, text|ntext|image).
    pub deprecated_columns: Vec<(String, String)>,
    /// Why the database's own catalog was not read (not ONLINE, or refused); then only what
    /// `sys.databases` and `sys.master_files` say is known.
    pub not_read: Option<String>,
}
