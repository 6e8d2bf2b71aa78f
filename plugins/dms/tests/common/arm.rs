//! The world's ARM: the MI, the sqlMigrationServices resource and the databaseMigrations.

use ferry_sdk::{ArmRequest, ArmResponse, Error};
use serde_json::{Value, json};

use super::{DMS_ID, MI_ID, World};

const SHARE_PATH: [&str; 6] = [
    "Arrived",
    "Queued",
    "Uploading",
    "Uploaded",
    "Restoring",
    "Restored",
];
const BLOB_PATH: [&str; 3] = ["Arrived", "Restoring", "Restored"];

const MIGRATION: &str = "providers/Microsoft.DataMigration/databaseMigrations/Sales";
const SERVICE: &str = "providers/Microsoft.DataMigration/sqlMigrationServices/dms1";

fn ok(v: Value) -> Result<ArmResponse, Error> {
    Ok(ArmResponse {
        status: 200,
        body: v.to_string(),
    })
}

fn not_found(path: &str) -> Result<ArmResponse, Error> {
    Err(Error::failed_with_code(
        format!("azure label `x`: ResourceNotFound: {path} not found"),
        404,
    ))
}

impl World {
    fn path(&self) -> &'static [&'static str] {
        if self.share { &SHARE_PATH } else { &BLOB_PATH }
    }

    fn status_of(&self, stage: usize) -> &'static str {
        let p = self.path();
        p[stage.min(p.len() - 1)]
    }

    pub fn all_restored(&self) -> bool {
        self.files
            .iter()
            .all(|f| self.status_of(f.stage) == "Restored")
    }

    fn pending_logs(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.kind == 'L' && self.status_of(f.stage) != "Restored")
            .count()
    }

    fn details(&self) -> Value {
        let set = |kind: char| -> Vec<Value> {
            self.files
                .iter()
                .filter(|f| f.kind == kind)
                .map(|f| json!({"fileName": f.name, "status": self.status_of(f.stage)}))
                .collect()
        };
        let last = self
            .files
            .iter()
            .rfind(|f| self.status_of(f.stage) == "Restored")
            .map(|f| f.name.clone());
        json!({
            "migrationState": "WaitForLogBackups",
            "isFullBackupRestored": self.files.first().is_some_and(|f| self.status_of(f.stage) == "Restored"),
            "pendingLogBackupsCount": self.pending_logs(),
            "lastRestoredFilename": last,
            "fullBackupSetInfo": {"backupType": "Database", "listOfBackupFiles": set('D')},
            "activeBackupSets": [{"backupType": "TransactionLog", "listOfBackupFiles": set('L')}],
        })
    }

    /// A GET of a running migration moves it on.
    fn advance(&mut self) {
        self.gets += 1;
        let m = self.migration.as_mut().expect("a migration");
        let status = m["properties"]["migrationStatus"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let next = match status.as_str() {
            "Completing" if self.completing_gets > 0 => {
                self.completing_gets -= 1;
                "Completing".to_owned()
            }
            "Completing" => "Succeeded".to_owned(),
            "Canceling" => "Canceled".to_owned(),
            "InProgress" | "ReadyForCutover" | "Retriable" => {
                if self.retriable_gets > 0 {
                    self.retriable_gets -= 1;
                    "Retriable".to_owned()
                } else if let Some((n, code, msg)) = self.fail_after.clone()
                    && self.gets >= n
                {
                    m["properties"]["migrationFailureError"] =
                        json!({"code": code, "message": msg});
                    "Failed".to_owned()
                } else {
                    // The first look shows every file as it arrived.
                    if self.gets > 1 {
                        for f in &mut self.files {
                            f.stage += 1;
                        }
                    }
                    if !self.arriving.is_empty() {
                        let f = self.arriving.remove(0);
                        self.files.push(f);
                    }
                    if !self.all_restored() {
                        "InProgress".to_owned()
                    } else if self.offline {
                        "Succeeded".to_owned()
                    } else {
                        "ReadyForCutover".to_owned()
                    }
                }
            }
            other => other.to_owned(),
        };
        let details = self.details();
        let m = self.migration.as_mut().expect("a migration");
        m["properties"]["migrationStatus"] = json!(next);
        if !self.no_details {
            m["properties"]["migrationStatusDetails"] = details;
        }
    }

    pub fn arm(&mut self, label: &str, req: &ArmRequest) -> Result<ArmResponse, Error> {
        if label == "storage" {
            return self.storage(req);
        }
        let body: Value = req
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        // DMS leaves the per-file details out unless the GET asks for them
        // (sqlmigration.json `DatabaseMigrationsSqlMi_Get`, `$expand`).
        let (path, query) = req.path.split_once('?').unwrap_or((req.path.as_str(), ""));
        let expand = query
            .split('&')
            .any(|q| q == "$expand=MigrationStatusDetails");
        match (req.method.as_str(), path) {
            ("GET", "") => ok(json!({"id": MI_ID, "name": "mi1", "location": "westeurope"})),
            ("GET", SERVICE) => match &self.service {
                None => not_found(path),
                Some(ir) => {
                    let ir = if self.runtime_offline_gets > 0 {
                        self.runtime_offline_gets -= 1;
                        "Offline".to_owned()
                    } else {
                        ir.clone()
                    };
                    ok(
                        json!({"id": DMS_ID, "name": "dms1", "location": self.service_location,
                        "properties": {"provisioningState": "Succeeded", "integrationRuntimeState": ir}}),
                    )
                }
            },
            ("PUT", SERVICE) => {
                assert_eq!(body["location"], "westeurope");
                if !self.planning {
                    self.service = Some("Online".into());
                }
                ok(json!({}))
            }
            ("POST", p) if p.ends_with("/listMonitoringData") => ok(json!({"name": "ir1",
                "nodes": [{"nodeName": "SHIR01", "availableMemoryInMB": 2048, "cpuUtilization": 12,
                    "concurrentJobsLimit": 10, "concurrentJobsRunning": 1, "maxConcurrentJobs": 10,
                    "sentBytes": 0.0, "receivedBytes": 0.0}]})),
            ("POST", p) if p.ends_with("/validateIr") => {
                assert_eq!(
                    body["sourceSqlConnection"]["password"],
                    "{{source_password}}"
                );
                let errors: Vec<Value> = self
                    .validate_errors
                    .iter()
                    .map(|(c, m)| json!({"code": c, "message": m}))
                    .collect();
                ok(json!({"succeeded": errors.is_empty(), "errors": errors}))
            }
            ("GET", MIGRATION) => {
                if self.migration.is_none() {
                    return not_found(path);
                }
                self.advance();
                let mut m = self.migration.clone().unwrap_or_default();
                if !expand && let Some(p) = m["properties"].as_object_mut() {
                    p.remove("migrationStatusDetails");
                }
                ok(m)
            }
            ("PUT", MIGRATION) => {
                self.puts += 1;
                if let Some(m) = &self.put_fails {
                    return Err(Error::failed(m.clone()));
                }
                let p = &body["properties"];
                assert_eq!(p["kind"], "SqlMi");
                assert_eq!(p["scope"], MI_ID);
                assert_eq!(p["sourceSqlConnection"]["password"], "{{source_password}}");
                if !self.planning {
                    let mut m = body.clone();
                    m["properties"]["migrationOperationId"] = json!("op-1");
                    m["properties"]["migrationStatus"] = json!("InProgress");
                    m["properties"]["provisioningState"] = json!("Succeeded");
                    self.migration = Some(m);
                }
                ok(json!({}))
            }
            ("POST", p) if p == format!("{MIGRATION}/cutover") && self.planning => {
                // Recorded, not sent: the operation id is still the placeholder.
                assert_eq!(body["migrationOperationId"], "{{operation_id}}");
                ok(json!({}))
            }
            ("POST", p) if p == format!("{MIGRATION}/cutover") => {
                self.cutover_posts += 1;
                if self.not_ready_answers > 0 {
                    self.not_ready_answers -= 1;
                    return Err(Error::failed(
                        "azure label `mi`: MigrationNotReadyForCutoverError: files still restoring",
                    ));
                }
                let m = self.migration.as_ref().expect("a migration");
                assert_eq!(
                    body["migrationOperationId"],
                    m["properties"]["migrationOperationId"]
                );
                if !self.all_restored() || self.pending_logs() > 0 || !self.arriving.is_empty() {
                    self.cutover_too_early = true;
                }
                let m = self.migration.as_mut().expect("a migration");
                m["properties"]["migrationStatus"] = json!("Completing");
                ok(json!({}))
            }
            ("POST", p) if p == format!("{MIGRATION}/cancel") => {
                self.cancels += 1;
                let m = self.migration.as_mut().expect("a migration");
                m["properties"]["migrationStatus"] = json!("Canceling");
                ok(json!({}))
            }
            ("DELETE", MIGRATION) => {
                self.deletes += 1;
                self.migration = None;
                ok(json!({}))
            }
            _ => not_found(path),
        }
    }

    /// The `storage` label's GETs: the path resolved under its scope, as the host does, and
    /// answered by the account with that id (ARM compares ids without regard to case).
    fn storage(&mut self, req: &ArmRequest) -> Result<ArmResponse, Error> {
        assert_eq!(req.method, "GET", "the storage label is only read");
        assert_eq!(req.api_version, "2026-09-01");
        let full = format!("{}/{}", self.storage_scope, req.path);
        let name = |p: &str| p.rsplit('/').next().map(str::to_ascii_lowercase);
        match self.accounts.iter().find(|a| {
            a["id"].as_str().is_some_and(|id| {
                id.eq_ignore_ascii_case(&full) || (self.storage_by_name && name(id) == name(&full))
            })
        }) {
            Some(a) => ok(a.clone()),
            None => not_found(&full),
        }
    }
}
