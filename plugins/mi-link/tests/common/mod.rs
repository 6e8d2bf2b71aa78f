//! A scripted world for FakeHost tests: a source SQL Server, a Managed Instance over T-SQL and
//! its ARM, one database, answering the plugin's queries by the view each names and learning
//! from its statements and ARM calls, so a whole link can be run from preconditions to the
//! dropped AG.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{ArmRequest, ArmResponse, Column, Error, QueryResult, RowSet, SqlValue};
use serde_json::{Value, json};

pub fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}
pub fn i(n: i64) -> SqlValue {
    SqlValue::Int(n)
}

pub fn set(columns: &[&str], rows: Vec<Vec<SqlValue>>) -> QueryResult {
    QueryResult {
        sets: vec![RowSet {
            columns: columns
                .iter()
                .map(|c| Column {
                    name: (*c).to_owned(),
                    sql_type: "nvarchar".into(),
                })
                .collect(),
            rows,
            truncated: false,
        }],
        messages: vec![],
    }
}

fn none() -> QueryResult {
    QueryResult {
        sets: vec![],
        messages: vec![],
    }
}

#[derive(Debug, Clone)]
pub struct Cert {
    pub name: String,
    pub id: i64,
    pub thumbprint: String,
    pub expiry: String,
    pub der: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct World {
    pub version: String,
    pub edition: String,
    pub hadr: bool,
    pub sysadmin: bool,
    pub server: String,
    pub db_state: String,
    pub recovery: String,
    pub collation: String,
    pub encrypted: bool,
    pub master_key: bool,
    pub fulls: i64,
    /// The AG (by name) the database is in.
    pub in_ag: Option<String>,
    pub certs: Vec<Cert>,
    /// (name, state, auth, certificate_id, encrypted, algorithm, port)
    pub endpoint: Option<(String, String, String, i64, bool, String, i64)>,
    pub ags: Vec<String>,
    pub mi_collation: String,
    pub mi_policy: String,
    pub mi_cert_thumbprints: Vec<String>,
    pub trust: Vec<(String, String)>,
    pub link: Option<Value>,
    /// GETs of the link before seeding ends.
    pub seeding_gets: u32,
    /// A state the link turns to instead of synchronizing, with its error text.
    pub link_fault: Option<(String, String)>,
    /// The link's PUT fails with this message.
    pub put_fails: Option<String>,
    pub source_role: String,
    pub mi_role: String,
    pub mode_sync: bool,
    /// LSNs: (source local, source remote, MI via ARM); reads of the replica DMV until the
    /// remote and MI catch up with the local.
    pub lsn: u128,
    pub catchup_reads: u32,
    pub replica_reads: u32,
    pub mi_backups: i64,
    pub failovers: u32,
    /// A forced failover leaves the source PRIMARY too (split brain).
    pub split_brain_on_force: bool,
    pub failover_group: bool,
    /// Connectivity: whether each tnc succeeds.
    pub tnc_ok: bool,
    pub jobs: Vec<String>,
    pub planning: bool,
}

impl Default for World {
    fn default() -> Self {
        World {
            version: "16.0.4125.3".into(),
            edition: "Enterprise Edition (64-bit)".into(),
            hadr: true,
            sysadmin: true,
            server: "SQL01".into(),
            db_state: "ONLINE".into(),
            recovery: "FULL".into(),
            collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            encrypted: false,
            master_key: true,
            fulls: 1,
            in_ag: None,
            certs: vec![],
            endpoint: None,
            ags: vec![],
            mi_collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            mi_policy: "SQLServer2022".into(),
            mi_cert_thumbprints: vec![],
            trust: vec![],
            link: None,
            seeding_gets: 2,
            link_fault: None,
            put_fails: None,
            source_role: "PRIMARY".into(),
            mi_role: "Secondary".into(),
            mode_sync: false,
            lsn: 71000009407900001,
            catchup_reads: 2,
            replica_reads: 0,
            mi_backups: 3,
            failovers: 0,
            split_brain_on_force: false,
            failover_group: false,
            tnc_ok: true,
            jobs: vec![],
            planning: false,
        }
    }
}

const MI_ID: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi1";

fn bracketed(sql: &str, after: &str) -> String {
    sql.split(after)
        .nth(1)
        .and_then(|r| r.trim_start().strip_prefix('['))
        .and_then(|r| r.split(']').next())
        .unwrap_or_default()
        .to_owned()
}

impl World {
    fn source(&mut self, sql: &str, params: &[ferry_sdk::Param]) -> Result<QueryResult, Error> {
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
    fn source_change(
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

    fn mi(&mut self, sql: &str, params: &[ferry_sdk::Param]) -> Result<QueryResult, Error> {
        let q = |s: &str| sql.contains(s);
        Ok(if q("SELECT thumbprint FROM master.sys.certificates") {
            set(
                &["t"],
                self.mi_cert_thumbprints
                    .iter()
                    .map(|x| vec![t(x)])
                    .collect(),
            )
        } else if q("MAX(backup_set_id)") {
            if self.mi_role == "Primary" || self.link.is_none() {
                self.mi_backups += 1;
            }
            set(&["m"], vec![vec![i(self.mi_backups)]])
        } else if q("sys.dm_hadr_fabric_config_parameters") {
            set(
                &["n", "v"],
                vec![
                    vec![t("DnsRecordName"), t("node1.mi1.zone.database.windows.net")],
                    vec![t("HadrPort"), t("11002")],
                ],
            )
        } else if q("msdb.dbo.sysjobs WHERE") || q("msdb.dbo.sysjobhistory") {
            return self.source(sql, params);
        } else if q("msdb.dbo.sysjobsteps WHERE") {
            set(&["u"], vec![vec![SqlValue::Guid("2222".into())]])
        } else if q("sysjobstepslogs") {
            set(
                &["log"],
                vec![vec![t(if self.tnc_ok { "True" } else { "False" })]],
            )
        } else {
            return self.source_change(sql, params);
        })
    }

    fn arm(&mut self, req: &ArmRequest) -> Result<ArmResponse, Error> {
        let ok = |v: Value| {
            Ok(ArmResponse {
                status: 200,
                body: v.to_string(),
            })
        };
        let not_found = || {
            Err(Error::failed_with_code(
                format!("azure label `mi`: ResourceNotFound: {} not found", req.path),
                404,
            ))
        };
        let body: Value = req
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("GET", "") => ok(json!({"id": MI_ID, "name": "mi1", "location": "westeurope",
                "sku": {"tier": "GeneralPurpose"},
                "properties": {"fullyQualifiedDomainName": "mi1.zone.database.windows.net",
                    "collation": self.mi_collation, "databaseFormat": self.mi_policy}})),
            ("GET", p) if p.contains("instanceFailoverGroups") => {
                ok(json!({"value": if self.failover_group {
                json!([{"name": "fog1", "properties": {"managedInstancePairs": [{"primaryManagedInstanceId": MI_ID, "partnerManagedInstanceId": "/x/other"}]}}])
            } else { json!([]) }}))
            }
            ("GET", "endpointCertificates/DATABASE_MIRRORING") => {
                ok(json!({"properties": {"publicBlob": "308201AB"}}))
            }
            ("GET", p) if p.starts_with("serverTrustCertificates/") => {
                let n = &p["serverTrustCertificates/".len()..];
                match self.trust.iter().find(|(name, _)| name == n) {
                    Some((_, thumb)) => {
                        ok(json!({"properties": {"certificateName": n, "thumbprint": thumb}}))
                    }
                    None => not_found(),
                }
            }
            ("PUT", p) if p.starts_with("serverTrustCertificates/") => {
                let n = p["serverTrustCertificates/".len()..].to_owned();
                let thumb = self
                    .certs
                    .iter()
                    .find(|c| c.name == n)
                    .map(|c| c.thumbprint.clone())
                    .unwrap_or_default();
                let blob = body["properties"]["publicBlob"].as_str().unwrap();
                assert!(
                    !blob.starts_with("0x"),
                    "hex without 0x, as the spec's example"
                );
                if !self.planning {
                    self.trust.push((n, thumb));
                }
                ok(json!({}))
            }
            ("GET", p) if p.starts_with("distributedAvailabilityGroups/") => {
                let Some(link) = self.link.as_mut() else {
                    return not_found();
                };
                let newer = link["properties"].get("databases").is_some();
                let (state_key, role_key) = if newer {
                    ("replicaState", "instanceLinkRole")
                } else {
                    ("linkState", "instanceRole")
                };
                let mut fields = serde_json::Map::new();
                if self.seeding_gets > 0 {
                    self.seeding_gets -= 1;
                } else if let Some((state, err)) = &self.link_fault {
                    fields.insert(state_key.into(), json!(state));
                    fields.insert("mostRecentLinkError".into(), json!(err));
                } else {
                    fields.insert(state_key.into(), json!("LinkSynchronizing"));
                }
                let caught = self.replica_reads > self.catchup_reads;
                fields.insert(
                    "lastHardenedLsn".into(),
                    json!((if caught { self.lsn } else { self.lsn - 100 }).to_string()),
                );
                let target = if newer {
                    &mut link["properties"]["databases"][0]
                } else {
                    &mut link["properties"]
                };
                for (k, v) in fields {
                    target[k] = v;
                }
                link["properties"][role_key] = json!(self.mi_role);
                link["properties"]["replicationMode"] =
                    json!(if self.mode_sync { "Sync" } else { "Async" });
                ok(link.clone())
            }
            ("PUT", p) if p.starts_with("distributedAvailabilityGroups/") => {
                if let Some(m) = &self.put_fails {
                    return Err(Error::failed(m.clone()));
                }
                if !self.planning {
                    let mut b = body.clone();
                    if b["properties"].get("databases").is_some() {
                        b["properties"]["databases"][0]["replicaState"] = json!("CreatingLink");
                    } else {
                        b["properties"]["linkState"] = json!("CreatingLink");
                    }
                    self.link = Some(b);
                }
                ok(json!({}))
            }
            ("PATCH", _) => {
                self.mode_sync = true;
                ok(json!({}))
            }
            ("POST", p) if p.ends_with("/failover") => {
                self.failovers += 1;
                if self.mi_role == "Primary" {
                    // Failing back: SQL Server is primary again.
                    self.mi_role = "Secondary".into();
                    self.source_role = "PRIMARY".into();
                    return ok(json!({}));
                }
                self.mi_role = "Primary".into();
                let forced = body["failoverType"] == "ForcedAllowDataLoss";
                self.source_role = if forced && self.split_brain_on_force {
                    "PRIMARY".into()
                } else {
                    "SECONDARY".into()
                };
                ok(json!({}))
            }
            ("DELETE", p) if p.starts_with("distributedAvailabilityGroups/") => {
                self.link = None;
                self.mi_role = "Primary".into();
                ok(json!({}))
            }
            _ => not_found(),
        }
    }
}

pub fn host(world: &Rc<RefCell<World>>) -> FakeHost {
    let w = world.clone();
    let a = world.clone();
    FakeHost::new()
        .on_query(move |label, sql, params| {
            let mut w = w.borrow_mut();
            if label == "target" {
                w.mi(sql, params)
            } else {
                w.source(sql, params)
            }
        })
        .on_azure(move |_label, req| a.borrow_mut().arm(req))
}

pub fn config() -> Value {
    json!({ "source_address": "10.0.0.4", "stable_seconds": 0, "poll_seconds": 1 })
}

pub fn world() -> Rc<RefCell<World>> {
    Rc::new(RefCell::new(World::default()))
}

/// The ARM calls that change something, as `METHOD path`.
pub fn arm_changes(host: &FakeHost) -> Vec<String> {
    host.arm
        .iter()
        .filter(|(_, r)| r.method != "GET")
        .map(|(_, r)| format!("{} {}", r.method, r.path))
        .collect()
}

pub fn statements(host: &FakeHost) -> Vec<String> {
    host.executed.iter().map(|(_, s)| s.clone()).collect()
}
