//! A scripted world for FakeHost tests: a source SQL Server, a Managed Instance over T-SQL,
//! the MI's ARM with DMS's databaseMigrations under it, and the sqlMigrationServices resource.
//! Each GET of a migration moves every file one status on (Arrived → … → Restored), so a whole
//! migration runs from preconditions to Succeeded.

#![allow(dead_code)]

mod arm;

use std::cell::RefCell;
use std::rc::Rc;

use dms::Dms;
use ferry_sdk::fake::FakeHost;
use ferry_sdk::{Column, Error, QueryResult, RowSet, SqlValue};
use serde_json::{Value, json};

pub const SRC_PW: &str = "Src-P@ss-1";
pub const SHARE_PW: &str = "Share-P@ss-2";
pub const KEY: &str = "c3RvcmFnZS1rZXktMw==";
pub const TARGET_KEY: &str = "dGFyZ2V0LWtleS00";
pub const SECRETS: [&str; 4] = [SRC_PW, SHARE_PW, KEY, TARGET_KEY];

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

/// One backup file as msdb and DMS see it.
#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    /// msdb's type: D, I, L.
    pub kind: char,
    pub position: i64,
    pub checksum: bool,
    /// Index into the status path; grows with each GET of the migration.
    pub stage: usize,
}

pub fn file(name: &str, kind: char) -> File {
    File {
        name: name.into(),
        kind,
        position: 1,
        checksum: true,
        stage: 0,
    }
}

pub struct World {
    pub sysadmin: bool,
    pub control_server: bool,
    pub files: Vec<File>,
    pub encrypted: bool,
    pub tde_thumbprint: String,
    pub mi_certs: Vec<String>,
    pub target_exists: bool,
    /// The service: None absent; its integrationRuntimeState.
    pub service: Option<String>,
    /// GETs of the service before its runtime turns Online.
    pub runtime_offline_gets: u32,
    pub migration: Option<Value>,
    /// Files appear one GET after each other (log backups arriving while running).
    pub arriving: Vec<File>,
    pub share: bool,
    pub offline: bool,
    /// The migration's PUT fails with this message.
    pub put_fails: Option<String>,
    /// After this many GETs of a running migration, it fails with (code, message).
    pub fail_after: Option<(u32, String, String)>,
    pub gets: u32,
    /// Status GETs answer `Retriable` this many times first.
    pub retriable_gets: u32,
    pub puts: u32,
    pub cutover_posts: u32,
    /// A cutover POST came while a file was not Restored or logs were pending.
    pub cutover_too_early: bool,
    /// The cutover POST fails with MigrationNotReadyForCutoverError this many times.
    pub not_ready_answers: u32,
    pub cancels: u32,
    pub deletes: u32,
    pub planning: bool,
    /// GETs while Completing before Succeeded.
    pub completing_gets: u32,
    /// The source database was left RESTORING by a tail-log backup of this name.
    pub tail_taken: Option<String>,
    pub version: String,
    /// msdb shows the backups written to another folder.
    pub elsewhere: bool,
    /// GETs leave out migrationStatusDetails.
    pub no_details: bool,
    /// validateIr answers these (code, message) errors.
    pub validate_errors: Vec<(String, String)>,
    /// msdb shows a backup already written to the tail-log backup's path.
    pub tail_path_used: bool,
    /// The service's region.
    pub service_location: String,
    /// Storage accounts ARM has (storage.json `StorageAccount` bodies, each with its `id`).
    pub accounts: Vec<Value>,
    /// The scope of the `storage` label: a resource group or a subscription.
    pub storage_scope: String,
    /// The `storage` label's GETs answer an account by its name alone (whatever the path's
    /// resource group), as if the label reached another account of that name.
    pub storage_by_name: bool,
}

impl Default for World {
    fn default() -> Self {
        World {
            sysadmin: true,
            control_server: false,
            files: vec![file("Sales_full.bak", 'D'), file("Sales_log1.trn", 'L')],
            encrypted: false,
            tde_thumbprint: "0xAB12".into(),
            mi_certs: vec![],
            target_exists: false,
            service: Some("Online".into()),
            runtime_offline_gets: 0,
            migration: None,
            arriving: vec![file("Sales_log2.trn", 'L')],
            share: true,
            offline: false,
            put_fails: None,
            fail_after: None,
            gets: 0,
            retriable_gets: 0,
            puts: 0,
            cutover_posts: 0,
            cutover_too_early: false,
            not_ready_answers: 0,
            cancels: 0,
            deletes: 0,
            planning: false,
            completing_gets: 1,
            tail_taken: None,
            version: "16.0.4125.3".into(),
            elsewhere: false,
            no_details: false,
            validate_errors: vec![],
            tail_path_used: false,
            service_location: "westeurope".into(),
            accounts: vec![],
            storage_scope: "/subscriptions/s/resourceGroups/rg".into(),
            storage_by_name: false,
        }
    }
}

pub const MI_ID: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi1";
pub const DMS_ID: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms1";

impl World {
    fn source(&mut self, sql: &str) -> Result<QueryResult, Error> {
        let q = |s: &str| sql.contains(s);
        Ok(if q("IS_SRVROLEMEMBER") {
            set(
                &["sa", "me", "cs"],
                vec![vec![i(self.sysadmin.into()), t("ferry"), i(0)]],
            )
        } else if q("sys.server_permissions") {
            set(&["n"], vec![vec![i(self.control_server.into())]])
        } else if q("SELECT state_desc FROM sys.databases") {
            let state = if self.tail_taken.is_some() {
                "RESTORING"
            } else {
                "ONLINE"
            };
            set(&["s"], vec![vec![t(state)]])
        } else if q("TOP 1 m.physical_device_name") {
            let tail = self.tail_taken.clone().unwrap_or_default();
            set(
                &["d"],
                vec![vec![t(&format!("\\\\fs01\\backups\\Sales\\{tail}"))]],
            )
        } else if q("WHERE m.physical_device_name = @path") {
            // No earlier backup went to the tail's path unless a test says so.
            let rows = self
                .tail_path_used
                .then(|| vec![t("2026-11-01T10:00:00")])
                .into_iter()
                .collect();
            set(&["finished"], rows)
        } else if q("msdb.dbo.backupset") {
            let rows = self
                .files
                .iter()
                .enumerate()
                .map(|(n, f)| {
                    vec![
                        i(n as i64 + 1),
                        t(&f.kind.to_string()),
                        i(f.position),
                        i(f.checksum.into()),
                        t(&format!(
                            "\\\\fs01\\backups\\{}\\{}",
                            if self.elsewhere { "Other" } else { "Sales" },
                            f.name
                        )),
                    ]
                })
                .collect();
            set(&["id", "type", "position", "checksum", "device"], rows)
        } else if q("SERVERPROPERTY('ProductVersion')") {
            set(
                &["v", "e"],
                vec![vec![t(&self.version), t("Enterprise Edition")]],
            )
        } else if q("state_desc, recovery_model_desc") {
            set(
                &["s", "r", "e", "id", "c"],
                vec![vec![
                    t("ONLINE"),
                    t("FULL"),
                    i(self.encrypted.into()),
                    i(5),
                    t("SQL_Latin1_General_CP1_CI_AS"),
                ]],
            )
        } else if q("dm_database_encryption_keys") {
            set(
                &["name", "thumbprint"],
                vec![vec![t("TDECert"), t(&self.tde_thumbprint)]],
            )
        } else if q("BACKUP LOG") {
            let name = sql
                .rsplit('\\')
                .next()
                .unwrap_or_default()
                .split('\'')
                .next()
                .unwrap_or_default()
                .to_owned();
            self.arriving.insert(0, file(&name, 'L'));
            set(&[], vec![])
        } else {
            // database_files, filegroups, containment, ADR: nothing special.
            set(&["x"], vec![])
        })
    }

    fn target(&mut self, sql: &str) -> Result<QueryResult, Error> {
        Ok(if sql.contains("FROM sys.databases") {
            let rows = if self.target_exists {
                vec![vec![t("Sales")]]
            } else {
                vec![]
            };
            set(&["name"], rows)
        } else if sql.contains("master.sys.certificates") {
            set(
                &["thumbprint"],
                self.mi_certs.iter().map(|c| vec![t(c)]).collect(),
            )
        } else {
            set(&["x"], vec![])
        })
    }
}

pub fn host(world: &Rc<RefCell<World>>) -> FakeHost {
    let w = world.clone();
    let a = world.clone();
    FakeHost::new()
        .secret("src-pw", SRC_PW, false)
        .secret("share-pw", SHARE_PW, false)
        .secret("blob-key", KEY, false)
        .secret("target-key", TARGET_KEY, false)
        .on_query(move |label, sql, _params| {
            let mut w = w.borrow_mut();
            if label == "target" {
                w.target(sql)
            } else {
                w.source(sql)
            }
        })
        .on_azure(move |label, req| a.borrow_mut().arm(label, req))
}

pub fn share_config() -> Value {
    json!({
        "service_name": "dms1",
        "source_data_source": "SQL01",
        "source_user": "dms_login",
        "source_password_secret": "src-pw",
        "share": { "path": "\\\\fs01\\backups", "folder": "{db}", "user": "CORP\\svc",
                   "password_secret": "share-pw", "source_path": "\\\\fs01\\backups" },
        "target_storage": { "storage_account_id": "/s/sa", "account_key_secret": "target-key" },
        "poll_seconds": 1,
    })
}

pub fn blob_config() -> Value {
    json!({
        "service_name": "dms1",
        "source_data_source": "SQL01",
        "source_user": "dms_login",
        "source_password_secret": "src-pw",
        "blob": { "storage_account_id": "/s/sa", "container": "migrations",
                  "account_key_secret": "blob-key" },
        "poll_seconds": 1,
    })
}

pub fn world() -> Rc<RefCell<World>> {
    Rc::new(RefCell::new(World::default()))
}

pub fn run(
    world: &Rc<RefCell<World>>,
    config: Value,
    signals: &[&str],
) -> (FakeHost, ferry_sdk::Result<Value>) {
    let mut h = host(world);
    h.signals = signals.iter().map(|s| (*s).to_owned()).collect();
    h.planning = world.borrow().planning;
    let out = h.run_item::<Dms>(config, "Sales");
    (h, out)
}

/// The ARM calls that change something, as `METHOD path`. `listMonitoringData` is a POST that
/// only reads (the runtime's node telemetry): not a change.
pub fn arm_changes(host: &FakeHost) -> Vec<String> {
    host.arm
        .iter()
        .filter(|(_, r)| r.method != "GET" && !r.path.ends_with("/listMonitoringData"))
        .map(|(_, r)| format!("{} {}", r.method, r.path))
        .collect()
}

/// Every text the host recorded: logs, progress, rows, waits, statements, ARM requests.
pub fn recorded_text(host: &FakeHost) -> String {
    let mut all = String::new();
    for (_, l) in &host.logs {
        all.push_str(l);
    }
    for p in &host.progress {
        all.push_str(&format!("{p:?}"));
    }
    for r in &host.rows {
        all.push_str(&format!("{r:?}"));
    }
    for w in &host.waits {
        all.push_str(&format!("{w:?}"));
    }
    for (_, s) in &host.executed {
        all.push_str(s);
    }
    for (_, r) in &host.arm {
        all.push_str(&format!("{r:?}"));
    }
    all
}

pub fn failure(out: ferry_sdk::Result<Value>) -> (i32, String) {
    match out {
        Err(Error::Failed(f)) => (f.code.unwrap_or(0), f.message),
        other => panic!("expected a failure, got {other:?}"),
    }
}

pub const SA_ID: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1";

/// A storage account as Storage Accounts - Get Properties answers it.
pub fn storage_account(id: &str, location: &str, kind: &str, tier: &str) -> Value {
    json!({"id": id, "name": id.rsplit('/').next(), "type": "Microsoft.Storage/storageAccounts",
        "location": location, "kind": kind, "sku": {"name": format!("{tier}_LRS"), "tier": tier},
        "properties": {"provisioningState": "Succeeded",
            "primaryEndpoints": {"blob": "https://sa1.blob.core.windows.net/"}}})
}

/// `config` with the `storage` label and `SA_ID` as the account it uses.
pub fn with_storage_label(mut config: Value) -> Value {
    config["storage_azure"] = json!("storage");
    for key in ["blob", "target_storage"] {
        if config[key].is_object() {
            config[key]["storage_account_id"] = json!(SA_ID);
        }
    }
    config
}
