//! The scripted source SQL Server: plain data the query handler answers from.

use super::target::Target;

/// One database of the source.
#[derive(Clone, Debug)]
pub struct Db {
    pub name: String,
    pub id: i64,
    pub compatibility_level: i64,
    pub collation: String,
    pub recovery: String,
    pub containment: i64,
    pub encrypted: bool,
    /// (type, size in pages) of each file: 0 rows, 1 log, 2 container.
    pub files: Vec<(i64, i64)>,
    /// Filegroup types: FG, FD, FX.
    pub filegroups: Vec<String>,
    pub filetables: Vec<String>,
    pub memory_optimized_tables: Vec<String>,
    /// (name, permission_set_desc).
    pub assemblies: Vec<(String, String)>,
    /// (name, address), AutoCreatedLocal included.
    pub routes: Vec<(String, String)>,
    /// (schema, name, definition).
    pub modules: Vec<(String, String, String)>,
    /// The module text answer is cut to the query's limits.
    pub modules_truncated: bool,
    /// (schema.table, column, type) of text/ntext/image columns.
    pub deprecated_columns: Vec<(String, String, String)>,
    /// `state_desc` (ONLINE, OFFLINE, …).
    pub state: String,
    /// Its catalog refuses the login (error 916).
    pub refuses: bool,
}

impl Db {
    pub fn new(name: &str, id: i64, gb: i64) -> Db {
        Db {
            name: name.into(),
            id,
            compatibility_level: 150,
            collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            recovery: "FULL".into(),
            containment: 0,
            encrypted: false,
            // gb GiB of data in 8 KiB pages, and a 1 GiB log.
            files: vec![(0, gb * 131_072), (1, 131_072)],
            filegroups: vec!["FG".into()],
            filetables: vec![],
            memory_optimized_tables: vec![],
            assemblies: vec![],
            routes: vec![("AutoCreatedLocal".into(), "LOCAL".into())],
            modules: vec![(
                "dbo".into(),
                "GetOrders".into(),
                "CREATE PROCEDURE dbo.GetOrders AS SELECT * FROM dbo.Orders".into(),
            )],
            modules_truncated: false,
            deprecated_columns: vec![],
            state: "ONLINE".into(),
            refuses: false,
        }
    }
}

/// The source SQL Server.
#[derive(Clone, Debug)]
pub struct Source {
    pub version: String,
    pub edition: String,
    pub collation: String,
    /// SERVERPROPERTY('IsHadrEnabled').
    pub hadr_enabled: bool,
    pub cpu_count: i64,
    pub memory_kb: i64,
    /// (name, value_in_use) of sys.configurations.
    pub configurations: Vec<(String, i64)>,
    /// (name, product, provider, data_source).
    pub linked_servers: Vec<(String, String, String, String)>,
    /// (name, type U/G).
    pub principals: Vec<(String, String)>,
    /// (job, step, subsystem).
    pub job_steps: Vec<(String, String, String)>,
    pub mail_profiles: Vec<String>,
    /// Global trace flags DBCC TRACESTATUS(-1) lists; `dbcc_denied` refuses DBCC as a read
    /// grant does, and the startup parameters answer instead.
    pub trace_flags: Vec<i64>,
    pub dbcc_denied: bool,
    pub startup_args: Vec<String>,
    /// False: `sys.dm_server_registry` answers "Invalid object name" (error 208).
    pub registry_readable: bool,
    /// SQL Server 2008's `sys.dm_os_sys_info`, without `physical_memory_kb` (error 207).
    pub sys_info_2008: bool,
    /// The target Managed Instance the `target` label reaches.
    pub target: Option<Target>,
    pub databases: Vec<Db>,
    /// Clock and counters, advanced on each clock read.
    pub ms_ticks: i64,
    pub tick_ms: i64,
    pub io_ops: i64,
    pub io_ops_per_tick: i64,
    pub log_bytes: i64,
    pub log_bytes_per_tick: i64,
    pub cpu_percent: i64,
}

impl Default for Source {
    fn default() -> Self {
        Source {
            version: "16.0.4135.4".into(),
            edition: "Enterprise Edition: Core-based Licensing (64-bit)".into(),
            collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            hadr_enabled: true,
            cpu_count: 8,
            memory_kb: 16 << 20,
            configurations: vec![
                ("xp_cmdshell".into(), 0),
                ("Ole Automation Procedures".into(), 0),
                ("Database Mail XPs".into(), 0),
            ],
            linked_servers: vec![],
            principals: vec![],
            job_steps: vec![("Nightly".into(), "purge".into(), "TSQL".into())],
            mail_profiles: vec![],
            trace_flags: vec![],
            dbcc_denied: false,
            startup_args: vec!["-dC:\\data\\master.mdf".into()],
            registry_readable: true,
            sys_info_2008: false,
            target: None,
            databases: vec![Db::new("Sales", 5, 10), Db::new("Hr", 6, 200)],
            ms_ticks: 1_000_000,
            tick_ms: 30_000,
            io_ops: 1_000,
            io_ops_per_tick: 30_000,
            log_bytes: 0,
            log_bytes_per_tick: 60_000_000,
            cpu_percent: 35,
        }
    }
}
