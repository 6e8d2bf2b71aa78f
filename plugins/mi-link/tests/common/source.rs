//! The source SQL Server of the scripted world: its catalog answered by view, and what it
//! learns from the plugin's statements.

use ferry_sdk::{Error, QueryResult, SqlValue};

use super::{Cert, World, bracketed, i, none, set, t};

impl World {
    pub(super) fn source(
        &mut self,
        sql: &str,
        params: &[ferry_sdk::Param],
    ) -> Result<QueryResult, Error> {
        let param = |n: &str| {
            params
                .iter()
                .find(|p| p.name == n)
                .and_then(|p| match &p.value {
                    ferry_sdk::ParamValue::Value(SqlValue::Text(t)) => Some(t.clone()),
                    ferry_sdk::ParamValue::Value(SqlValue::Int(v)) => Some(v.to_string()),
                    _ => None,
                })
        };
        let group = |name: &str| format!("00000000-0000-0000-0000-{:012}", name.len());
        let q = |s: &str| sql.contains(s);
        Ok(if q("IsHadrEnabled") {
            set(
                &["v", "e", "h", "s", "a"],
                vec![vec![
                    t(&self.version),
                    t(&self.edition),
                    i(self.hadr as i64),
                    t(&self.server),
                    i(self.sysadmin as i64),
                    t(&self.collation),
                ]],
            )
        } else if q("SERVERPROPERTY('ProductVersion') AS version") {
            set(&["v", "e"], vec![vec![t(&self.version), t(&self.edition)]])
        } else if q("SELECT state_desc, recovery_model_desc") {
            set(
                &["s"],
                vec![vec![
                    t(&self.db_state),
                    t(&self.recovery),
                    i(self.encrypted as i64),
                    i(5),
                    t(&self.collation),
                ]],
            )
        } else if q(".sys.database_files") {
            set(
                &["type", "size"],
                vec![vec![i(0), i(1024)], vec![i(1), i(128)]],
            )
        } else if q(".sys.filegroups") {
            set(&["type"], vec![vec![t("FG")]])
        } else if q("containment") || q("is_accelerated_database_recovery_on") {
            set(&["c"], vec![vec![i(0), i(5)]])
        } else if q("sys.dm_database_encryption_keys") {
            set(&["n", "t"], vec![vec![t("TdeCert"), t("AB12")]])
        } else if q("sys.symmetric_keys") {
            set(
                &["name"],
                if self.master_key {
                    vec![vec![t("##MS_DatabaseMasterKey##")]]
                } else {
                    vec![]
                },
            )
        } else if q("COUNT(*) AS fulls") {
            set(&["n"], vec![vec![i(self.fulls)]])
        } else if q("sys.availability_databases_cluster") {
            set(
                &["g"],
                self.in_ag.iter().map(|g| vec![t(&group(g))]).collect(),
            )
        } else if q("SELECT group_id, name FROM sys.availability_groups") {
            let mut names = self.ags.clone();
            names.extend(self.in_ag.clone());
            set(
                &["g", "n"],
                names.iter().map(|n| vec![t(&group(n)), t(n)]).collect(),
            )
        } else if q("FROM sys.availability_groups WHERE name = @name") {
            let n = param("name").unwrap_or_default();
            set(
                &["g"],
                self.ags
                    .iter()
                    .filter(|a| **a == n)
                    .map(|a| vec![t(&group(a))])
                    .collect(),
            )
        } else if q("sys.database_mirroring_endpoints") {
            set(
                &["n"],
                self.endpoint
                    .iter()
                    .map(|e| {
                        vec![
                            t(&e.0),
                            i(65536),
                            t(&e.1),
                            t("ALL"),
                            t(&e.2),
                            i(e.3),
                            i(e.4 as i64),
                            t(&e.5),
                        ]
                    })
                    .collect(),
            )
        } else if q("sys.tcp_endpoints") {
            set(
                &["port"],
                self.endpoint.iter().map(|e| vec![i(e.6)]).collect(),
            )
        } else if q(
            "SELECT name, certificate_id, thumbprint, expiry_date FROM master.sys.certificates",
        ) {
            set(
                &["n"],
                self.certs
                    .iter()
                    .map(|c| vec![t(&c.name), i(c.id), t(&c.thumbprint), t(&c.expiry)])
                    .collect(),
            )
        } else if q("CERTENCODED") {
            let n = param("name").unwrap_or_default();
            set(
                &["der"],
                self.certs
                    .iter()
                    .filter(|c| c.name == n)
                    .map(|c| vec![SqlValue::Binary(c.der.clone())])
                    .collect(),
            )
        } else if q("SELECT certificate_id FROM master.sys.certificates WHERE name = @name") {
            let n = param("name").unwrap_or_default();
            set(
                &["id"],
                self.certs
                    .iter()
                    .filter(|c| c.name == n)
                    .map(|c| vec![i(c.id)])
                    .collect(),
            )
        } else if q("sys.dm_hadr_physical_seeding_stats") {
            set(
                &["s"],
                vec![vec![
                    t("Transferring"),
                    i(100 << 20),
                    i(50 << 20),
                    i(1 << 20),
                    t(""),
                ]],
            )
        } else if q("sys.dm_hadr_database_replica_states") {
            self.replica_reads += 1;
            let caught = self.replica_reads > self.catchup_reads;
            let behind = if caught { self.lsn } else { self.lsn - 100 };
            let g = group(&format!("DAG_{}", "Sales"));
            set(
                &["g"],
                vec![
                    vec![
                        t(&g),
                        i(1),
                        t("SYNCHRONIZED"),
                        SqlValue::Decimal(self.lsn.to_string()),
                        i(0),
                        i(0),
                    ],
                    vec![
                        t(&g),
                        i(0),
                        t("SYNCHRONIZING"),
                        SqlValue::Decimal(behind.to_string()),
                        i(if caught { 0 } else { 12 }),
                        i(3),
                    ],
                ],
            )
        } else if q("sys.dm_hadr_availability_replica_states") {
            let g = group("DAG_Sales");
            set(
                &["g"],
                vec![
                    vec![
                        t(&g),
                        i(1),
                        t(&self.source_role),
                        t("CONNECTED"),
                        i(0),
                        t(""),
                    ],
                    vec![
                        t(&g),
                        i(0),
                        t(if self.mi_role == "Primary" {
                            "PRIMARY"
                        } else {
                            "SECONDARY"
                        }),
                        t("CONNECTED"),
                        i(0),
                        t(""),
                    ],
                ],
            )
        } else if q("sys.availability_replicas") {
            let g = group("DAG_Sales");
            let m = if self.mode_sync {
                "SYNCHRONOUS_COMMIT"
            } else {
                "ASYNCHRONOUS_COMMIT"
            };
            set(&["g", "m"], vec![vec![t(&g), t(m)], vec![t(&g), t(m)]])
        } else if q("log_reuse_wait_desc") {
            set(&["w"], vec![vec![t("AVAILABILITY_REPLICA")]])
        } else if q("DBCC SQLPERF") {
            set(
                &[
                    "Database Name",
                    "Log Size (MB)",
                    "Log Space Used (%)",
                    "Status",
                ],
                vec![vec![
                    t("Sales"),
                    SqlValue::Float(100.0),
                    SqlValue::Float(85.0),
                    i(0),
                ]],
            )
        } else if q("msdb.dbo.sysjobs WHERE") {
            let j = param("job").unwrap_or_default();
            set(
                &["id"],
                self.jobs
                    .iter()
                    .filter(|x| **x == j)
                    .map(|_| vec![SqlValue::Guid(format!("1111-{j}"))])
                    .collect(),
            )
        } else if q("msdb.dbo.sysjobhistory") {
            let m = format!(
                "TcpTestSucceeded : {}",
                if self.tnc_ok { "True" } else { "False" }
            );
            set(
                &["s", "r", "m"],
                vec![
                    vec![i(1), i(self.tnc_ok as i64), t(&m)],
                    vec![i(2), i(1), t(&m)],
                    vec![i(0), i(1), t("The job succeeded")],
                ],
            )
        } else {
            return self.source_change(sql, params);
        })
    }

    /// What the source learns from a statement (nothing while planning).
    pub(super) fn source_change(
        &mut self,
        sql: &str,
        params: &[ferry_sdk::Param],
    ) -> Result<QueryResult, Error> {
        if self.planning {
            return Ok(none());
        }
        let job = params
            .iter()
            .find(|p| p.name == "job")
            .and_then(|p| match &p.value {
                ferry_sdk::ParamValue::Value(SqlValue::Text(t)) => Some(t.clone()),
                _ => None,
            });
        if sql.starts_with("CREATE MASTER KEY") {
            self.master_key = true;
        } else if sql.starts_with("CREATE CERTIFICATE") {
            let name = bracketed(sql, "CREATE CERTIFICATE");
            let id = 256 + self.certs.len() as i64;
            self.certs.push(Cert {
                name: name.clone(),
                id,
                thumbprint: format!("{:X}", 0xF00 + id),
                expiry: "2099-01-01 00:00:00".into(),
                der: vec![0x30, id as u8],
            });
        } else if sql.starts_with("DROP CERTIFICATE") {
            let name = bracketed(sql, "DROP CERTIFICATE");
            self.certs.retain(|c| c.name != name);
        } else if sql.starts_with("CREATE ENDPOINT") || sql.starts_with("ALTER ENDPOINT") {
            let cert = sql
                .rsplit("CERTIFICATE [")
                .next()
                .and_then(|r| r.split(']').next())
                .unwrap_or_default();
            let id = self
                .certs
                .iter()
                .find(|c| c.name == cert)
                .map_or(0, |c| c.id);
            let name = if sql.starts_with("CREATE") {
                bracketed(sql, "CREATE ENDPOINT")
            } else {
                bracketed(sql, "ALTER ENDPOINT")
            };
            let auth = if sql.contains("WINDOWS") {
                "WINDOWS_NEGOTIATE_CERTIFICATE"
            } else {
                "CERTIFICATE"
            };
            self.endpoint = Some((
                name,
                "STARTED".into(),
                auth.into(),
                id,
                true,
                "AES".into(),
                5022,
            ));
        } else if sql.starts_with("CREATE AVAILABILITY GROUP") {
            self.ags.push(bracketed(sql, "CREATE AVAILABILITY GROUP"));
        } else if sql.starts_with("DROP AVAILABILITY GROUP") {
            let n = bracketed(sql, "DROP AVAILABILITY GROUP");
            self.ags.retain(|a| *a != n);
        } else if sql.contains("MODIFY AVAILABILITY GROUP ON") {
            self.mode_sync = true;
        } else if sql.ends_with(" FAILOVER") {
            self.failovers += 1;
            self.source_role = "SECONDARY".into();
            self.mi_role = "Primary".into();
        } else if sql.contains("sp_add_job ") || sql.contains("sp_add_job @") {
            self.jobs.extend(job);
        } else if sql.contains("sp_delete_job") {
            self.jobs.retain(|j| Some(j) != job.as_ref());
        }
        Ok(none())
    }
}
