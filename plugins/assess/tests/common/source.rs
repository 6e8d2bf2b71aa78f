//! The scripted source SQL Server: plain data the query handler answers from.

use ferry_sdk::{CapabilityKind, Error, Param, ParamValue, QueryResult, SqlValue};

use super::target::Target;
use super::{i, set, t};

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

impl Source {
    pub fn db_mut(&mut self, name: &str) -> &mut Db {
        self.databases
            .iter_mut()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("no database {name}"))
    }

    fn db_named(&self, p: &[Param]) -> Option<&Db> {
        let name = p
            .iter()
            .find(|p| p.name == "db")
            .and_then(|p| match &p.value {
                ParamValue::Value(SqlValue::Text(t)) => Some(t.clone()),
                _ => None,
            })?;
        self.databases
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(&name))
    }

    /// The database a `[db].sys.…` query reads.
    fn db_in(&self, sql: &str) -> Option<&Db> {
        self.databases
            .iter()
            .find(|d| sql.contains(&format!("[{}].sys.", d.name)))
    }

    pub fn answer(&mut self, sql: &str, p: &[Param]) -> Result<QueryResult, Error> {
        let ok = |cols: &[&str], rows: Vec<Vec<SqlValue>>| Ok(set(cols, rows));
        if sql.starts_with("DBCC TRACESTATUS") {
            if self.dbcc_denied {
                return Err(Error::denied(
                    CapabilityKind::Sql,
                    "source",
                    "a read grant refuses DBCC",
                ));
            }
            let rows = self
                .trace_flags
                .iter()
                .map(|f| vec![i(*f), i(1), i(1), i(0)])
                .collect();
            return ok(&["TraceFlag", "Status", "Global", "Session"], rows);
        }
        if sql.contains("sys.dm_server_registry") {
            if !self.registry_readable {
                return Err(Error::failed_with_code(
                    "Invalid object name 'sys.dm_server_registry'.",
                    208,
                ));
            }
            let rows = self.startup_args.iter().map(|a| vec![t(a)]).collect();
            return ok(&["value_data"], rows);
        }
        if sql.contains("CAST(SERVERPROPERTY('ProductVersion')") {
            return ok(
                &["product_version", "edition", "collation"],
                vec![vec![t(&self.version), t(&self.edition), t(&self.collation)]],
            );
        }
        if sql.contains("SERVERPROPERTY('ProductVersion')") {
            return ok(
                &["version", "edition"],
                vec![vec![t(&self.version), t(&self.edition)]],
            );
        }
        if sql.contains("SELECT ms_ticks FROM sys.dm_os_sys_info") {
            self.ms_ticks += self.tick_ms;
            self.io_ops += self.io_ops_per_tick;
            self.log_bytes += self.log_bytes_per_tick;
            return ok(&["ms_ticks"], vec![vec![i(self.ms_ticks)]]);
        }
        if sql.contains("sys.dm_os_sys_info") {
            if self.sys_info_2008 {
                if sql.contains("physical_memory_kb") {
                    return Err(Error::failed_with_code(
                        "Invalid column name 'physical_memory_kb'.",
                        207,
                    ));
                }
                return ok(&["cpu_count"], vec![vec![i(self.cpu_count)]]);
            }
            return ok(
                &["cpu_count", "physical_memory_kb"],
                vec![vec![i(self.cpu_count), i(self.memory_kb)]],
            );
        }
        if sql.contains("sys.dm_os_performance_counters") {
            let c = |o: &str, n: &str, inst: &str, v: i64| vec![t(o), t(n), t(inst), i(v)];
            return ok(
                &["object_name", "counter_name", "instance_name", "cntr_value"],
                vec![
                    c(
                        "SQLServer:Resource Pool Stats",
                        "CPU usage %",
                        "default",
                        self.cpu_percent,
                    ),
                    c(
                        "SQLServer:Resource Pool Stats",
                        "CPU usage % base",
                        "default",
                        100,
                    ),
                    c(
                        "SQLServer:Resource Pool Stats",
                        "CPU usage %",
                        "internal",
                        0,
                    ),
                    c(
                        "SQLServer:Resource Pool Stats",
                        "CPU usage % base",
                        "internal",
                        100,
                    ),
                    c(
                        "SQLServer:Memory Manager",
                        "Total Server Memory (KB)",
                        "",
                        self.memory_kb / 2,
                    ),
                ],
            );
        }
        if sql.contains("sys.dm_io_virtual_file_stats") {
            let half = self.io_ops / 2;
            return ok(
                &[
                    "reads",
                    "writes",
                    "bytes_read",
                    "bytes_written",
                    "log_bytes_written",
                ],
                vec![vec![
                    i(half),
                    i(half),
                    i(half * 8192),
                    i(half * 8192 + self.log_bytes),
                    i(self.log_bytes),
                ]],
            );
        }
        if sql.contains("FROM sys.configurations") {
            let rows = self
                .configurations
                .iter()
                .map(|(n, v)| vec![t(n), i(*v)])
                .collect();
            return ok(&["name", "value_in_use"], rows);
        }
        if sql.contains("FROM sys.servers") {
            let rows = self
                .linked_servers
                .iter()
                .map(|(n, p, v, d)| vec![t(n), t(p), t(v), t(d)])
                .collect();
            return ok(&["name", "product", "provider", "data_source"], rows);
        }
        if sql.contains("FROM sys.server_principals") {
            let rows = self
                .principals
                .iter()
                .map(|(n, k)| vec![t(n), t(k)])
                .collect();
            return ok(&["name", "type"], rows);
        }
        if sql.contains("msdb.dbo.sysjobsteps") {
            let rows = self
                .job_steps
                .iter()
                .map(|(j, s, k)| vec![t(j), t(s), t(k)])
                .collect();
            return ok(&["name", "step_name", "subsystem"], rows);
        }
        if sql.contains("msdb.dbo.sysmail_profile") {
            let rows = self.mail_profiles.iter().map(|n| vec![t(n)]).collect();
            return ok(&["name"], rows);
        }
        if sql.contains("FROM sys.master_files f JOIN sys.databases") {
            let rows = self
                .databases
                .iter()
                .map(|d| {
                    let pages: i64 = d.files.iter().map(|f| f.1).sum();
                    vec![t(&d.name), i(pages), i(d.files.len() as i64)]
                })
                .collect();
            return ok(&["name", "pages", "files"], rows);
        }
        if sql.contains("FROM sys.databases WHERE name = @db")
            || sql.contains("FROM sys.databases d")
        {
            let Some(d) = self.db_named(p).cloned() else {
                return ok(&["x"], vec![]);
            };
            if sql.contains("compatibility_level FROM sys.databases") {
                return ok(
                    &[
                        "state_desc",
                        "recovery_model_desc",
                        "collation_name",
                        "compatibility_level",
                    ],
                    vec![vec![
                        t(&d.state),
                        t(&d.recovery),
                        t(&d.collation),
                        i(d.compatibility_level),
                    ]],
                );
            }
            if sql.starts_with("SELECT state_desc") {
                return ok(
                    &[
                        "state_desc",
                        "recovery_model_desc",
                        "is_encrypted",
                        "database_id",
                        "collation_name",
                    ],
                    vec![vec![
                        t("ONLINE"),
                        t(&d.recovery),
                        i(d.encrypted as i64),
                        i(d.id),
                        t(&d.collation),
                    ]],
                );
            }
            if sql.starts_with("SELECT containment") {
                return ok(&["containment"], vec![vec![i(d.containment)]]);
            }
            // ADR off.
            return ok(&["adr", "database_id"], vec![vec![i(0), i(d.id)]]);
        }
        if sql.contains("FROM sys.master_files WHERE database_id = DB_ID(@db)") {
            let Some(d) = self.db_named(p) else {
                return ok(&["type", "size"], vec![]);
            };
            let rows = d.files.iter().map(|(k, s)| vec![i(*k), i(*s)]).collect();
            return ok(&["type", "size"], rows);
        }
        if sql.contains("sys.dm_database_encryption_keys") {
            return ok(&["name", "thumbprint"], vec![vec![t("TdeCert"), t("AB12")]]);
        }
        let Some(d) = self.db_in(sql).cloned() else {
            return Err(Error::failed(format!(
                "the scripted source does not know: {sql}"
            )));
        };
        if d.refuses || d.state != "ONLINE" {
            return Err(Error::failed_with_code(
                format!(
                    "The server principal is not able to access the database \"{}\" under the current security context.",
                    d.name
                ),
                916,
            ));
        }
        if sql.contains("sys.database_files") {
            return ok(
                &["type", "size"],
                d.files.iter().map(|(k, s)| vec![i(*k), i(*s)]).collect(),
            );
        }
        if sql.contains("sys.filegroups") {
            return ok(&["type"], d.filegroups.iter().map(|g| vec![t(g)]).collect());
        }
        if sql.contains("is_filetable") || sql.contains("is_memory_optimized") {
            let list = if sql.contains("is_filetable") {
                &d.filetables
            } else {
                &d.memory_optimized_tables
            };
            return ok(
                &["schema", "name"],
                list.iter().map(|n| vec![t("dbo"), t(n)]).collect(),
            );
        }
        if sql.contains("sys.assemblies") {
            return ok(
                &["name", "permission_set_desc"],
                d.assemblies.iter().map(|(n, p)| vec![t(n), t(p)]).collect(),
            );
        }
        if sql.contains("sys.routes") {
            let rows = d
                .routes
                .iter()
                .filter(|(n, _)| n != "AutoCreatedLocal")
                .map(|(n, a)| vec![t(n), t(a)])
                .collect();
            return ok(&["name", "address"], rows);
        }
        if sql.contains("sys.sql_modules") {
            let rows = d
                .modules
                .iter()
                .map(|(s, n, def)| vec![t(s), t(n), t(def)])
                .collect();
            let mut r = set(&["schema", "name", "definition"], rows);
            r.sets[0].truncated = d.modules_truncated;
            return Ok(r);
        }
        Err(Error::failed(format!(
            "the scripted source does not know: {sql}"
        )))
    }
}
