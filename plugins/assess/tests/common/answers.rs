//! How the scripted source answers each query the plugin sends, by the view it reads.

use ferry_sdk::{CapabilityKind, Error, Param, ParamValue, QueryResult, SqlValue};

use super::source::{Db, Source};
use super::{i, set, t};

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
                &[
                    "product_version",
                    "edition",
                    "collation",
                    "is_hadr_enabled",
                    "server_name",
                ],
                vec![vec![
                    t(&self.version),
                    t(&self.edition),
                    t(&self.collation),
                    i(self.hadr_enabled as i64),
                    t("SQL01"),
                ]],
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
        if sql.contains("sys.columns") {
            let rows = d
                .deprecated_columns
                .iter()
                .map(|(tb, c, ty)| vec![t("dbo"), t(tb), t(c), t(ty)])
                .collect();
            return ok(&["schema", "table", "column", "type"], rows);
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
