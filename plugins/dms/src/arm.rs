//! The ARM calls: `Microsoft.DataMigration` (sqlmigration.json in azure-rest-api-specs;
//! methods.md §3.3) on the service's resource group and under the MI, and the MI's own GET.
//!
//! The migration's GET carries `$expand=MigrationStatusDetails` (a plain query the host passes
//! on, host/src/azure/scope.rs): without it DMS leaves out the per-file details.

use ferry_sdk::prelude::*;
use ferry_sdk::{ArmReference, ArmRequest};
use serde_json::{Value, json};

use crate::config::{Config, Mode};
use crate::state::Migration;

/// The monitor's query (sqlmigration.json `DatabaseMigrationsSqlMi_Get`).
pub const EXPAND: &str = "$expand=MigrationStatusDetails";

pub fn service_path(cfg: &Config) -> String {
    format!(
        "providers/Microsoft.DataMigration/sqlMigrationServices/{}",
        cfg.service_name
    )
}

pub fn migration_path(target: &str) -> String {
    format!("providers/Microsoft.DataMigration/databaseMigrations/{target}")
}

fn request(method: &str, path: &str, api_version: &str, body: Option<Value>) -> ArmRequest {
    ArmRequest {
        method: method.into(),
        path: path.into(),
        api_version: api_version.into(),
        body: body.map(|b| b.to_string()),
    }
}

pub fn dms(method: &str, path: &str, cfg: &Config, body: Option<Value>) -> ArmRequest {
    request(method, path, &cfg.api_version, body)
}

/// A GET on `label` that may answer 404: the body, or None.
pub fn get_on(
    cx: &mut Context<'_, Config>,
    label: &str,
    req: &ArmRequest,
) -> Result<Option<Value>> {
    match cx.azure(label, req) {
        Ok(r) => match serde_json::from_str::<Value>(&r.body) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            _ => Err(Error::transient(format!(
                "ARM answered GET {} with a body that is not a JSON object",
                if req.path.is_empty() {
                    "<the instance>"
                } else {
                    &req.path
                }
            ))),
        },
        Err(Error::Failed(f)) if f.code == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The MI's ARM id (the migration's `scope`) and region.
pub fn instance(cx: &mut Context<'_, Config>) -> Result<(String, String)> {
    let cfg = cx.config().clone();
    let req = request("GET", "", &cfg.sql_api_version, None);
    let Some(mi) = get_on(cx, &cfg.azure, &req)? else {
        return Err(Error::failed(
            "ARM has no Managed Instance at the `azure` label's scope (404): check the label",
        ));
    };
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok((s(&mi["id"]), s(&mi["location"])))
}

/// The service as ARM shows it, or None.
pub fn service(cx: &mut Context<'_, Config>) -> Result<Option<Value>> {
    let cfg = cx.config().clone();
    get_on(
        cx,
        &cfg.service_azure,
        &dms("GET", &service_path(&cfg), &cfg, None),
    )
}

/// The migration as ARM shows it, or None.
pub fn migration(cx: &mut Context<'_, Config>, target: &str) -> Result<Option<View>> {
    let cfg = cx.config().clone();
    let body = get_on(
        cx,
        &cfg.azure,
        &dms(
            "GET",
            &format!("{}?{EXPAND}", migration_path(target)),
            &cfg,
            None,
        ),
    )?;
    Ok(body.map(|b| View::from_body(&b)))
}

/// The PUT body of a migration (sqlmigration.json `DatabaseMigrationPropertiesSqlMi`; methods.md
/// §3.3 step 4). Every secret is a `{{name}}` placeholder the host fills in; the names are
/// those [`crate::start`] seals.
pub fn start_body(cfg: &Config, m: &Migration) -> Value {
    let mut props = json!({
        "kind": "SqlMi",
        "scope": m.mi_id,
        "migrationService": SERVICE_ID,
        "sourceDatabaseName": m.db,
        "sourceSqlConnection": {
            "dataSource": cfg.source_data_source,
            "authentication": cfg.authentication.as_str(),
            "userName": cfg.source_user,
            "password": "{{source_password}}",
            "encryptConnection": true,
            "trustServerCertificate": true,
        },
    });
    if let Some(c) = &cfg.target_collation {
        props["targetDatabaseCollation"] = json!(c);
    }
    let backup = match (&cfg.share, &cfg.blob, &cfg.target_storage) {
        (Some(s), _, t) => {
            let mut b = json!({ "sourceLocation": { "fileShare": {
                "path": cfg.share_path_for(&m.db).unwrap_or_default(),
                "username": s.user,
                "password": "{{share_password}}",
            }}});
            if let Some(t) = t {
                b["targetLocation"] = json!({
                    "storageAccountResourceId": t.storage_account_id,
                    "accountKey": "{{target_account_key}}",
                });
            }
            b
        }
        (None, Some(b), _) => json!({ "sourceLocation": { "azureBlob": {
            "storageAccountResourceId": b.storage_account_id,
            "accountKey": "{{account_key}}",
            "blobContainerName": b.container_for(&m.db),
        }}}),
        (None, None, _) => json!({}),
    };
    props["backupConfiguration"] = backup;
    let offline = cfg.mode == Mode::Offline;
    let mut off = json!({ "offline": offline });
    if offline && let Some(last) = &cfg.last_backup_name {
        let folder = cfg
            .blob
            .as_ref()
            .and_then(|b| b.folder.as_ref())
            .map(|f| f.replace("{db}", &m.db));
        off["lastBackupName"] = json!(match folder {
            Some(f) if !f.is_empty() => format!("{}/{last}", f.trim_end_matches('/')),
            _ => last.clone(),
        });
    }
    props["offlineConfiguration"] = off;
    json!({ "properties": props })
}

/// The service's ARM id in a start body: read by the host when it sends the PUT (the service
/// may not exist yet while planning).
pub const SERVICE_ID: &str = "{{service_id}}";

/// Where the host reads the service's id (`/id` of its GET, on `service_azure`).
pub fn service_id_reference(cfg: &Config) -> ArmReference {
    ArmReference {
        name: "service_id".into(),
        label: cfg.service_azure.clone(),
        path: service_path(cfg),
        api_version: cfg.api_version.clone(),
        pointer: "/id".into(),
    }
}

/// Where the host reads a migration's current operation id when it sends its cutover: the
/// id a plan cannot know, DMS's GET gives at once.
pub fn operation_id_reference(cfg: &Config, target: &str) -> ArmReference {
    ArmReference {
        name: "operation_id".into(),
        label: cfg.azure.clone(),
        path: migration_path(target),
        api_version: cfg.api_version.clone(),
        pointer: "/properties/migrationOperationId".into(),
    }
}

/// The body of POST cutover and cancel (sqlmigration.json `MigrationOperationInput`).
pub fn operation_body(operation_id: &str) -> Value {
    json!({ "migrationOperationId": operation_id })
}

/// A migration as GET shows it (methods.md §3.4).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub source_database: String,
    pub provisioning_state: String,
    pub migration_status: String,
    pub operation_id: Option<String>,
    /// `migrationFailureError` or `provisioningError`: (code, message).
    pub error: Option<(Option<String>, String)>,
    pub details: crate::details::Details,
}

impl View {
    pub fn from_body(body: &Value) -> View {
        let p = &body["properties"];
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let err = &p["migrationFailureError"];
        let error = if err.is_object() && (err["code"].is_string() || err["message"].is_string()) {
            let code = match &err["code"] {
                Value::String(c) => Some(c.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            Some((code, s(&err["message"])))
        } else {
            p["provisioningError"]
                .as_str()
                .filter(|e| !e.is_empty())
                .map(|e| (None, e.to_owned()))
        };
        View {
            source_database: s(&p["sourceDatabaseName"]),
            provisioning_state: s(&p["provisioningState"]),
            migration_status: s(&p["migrationStatus"]),
            operation_id: p["migrationOperationId"]
                .as_str()
                .filter(|o| !o.is_empty())
                .map(str::to_owned),
            error,
            details: crate::details::Details::from_value(&p["migrationStatusDetails"]),
        }
    }

    /// A migration that ended and can be started over (DMS keeps its record).
    pub fn finished_badly(&self) -> bool {
        matches!(
            self.migration_status.as_str(),
            "Failed" | "Canceled" | "Cancelled"
        ) || self.provisioning_state == "Failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Blob, Share, TargetStorage};

    fn m() -> Migration {
        Migration {
            db: "Sales".into(),
            target: "Sales".into(),
            mi_id: "/s/mi1".into(),
            service_id: "/s/dms1".into(),
            ..Migration::default()
        }
    }

    #[test]
    fn a_share_body_has_sealed_passwords_and_the_target_storage() {
        let cfg = Config {
            share: Some(Share {
                path: "\\\\fs01\\b".into(),
                folder: "{db}".into(),
                user: "CORP\\svc".into(),
                password_secret: "p".into(),
                source_path: None,
            }),
            target_storage: Some(TargetStorage {
                storage_account_id: "/s/sa".into(),
                account_key_secret: "k".into(),
            }),
            source_data_source: "SQL01".into(),
            source_user: "dms".into(),
            ..Config::default()
        };
        let b = start_body(&cfg, &m());
        let p = &b["properties"];
        assert_eq!(p["kind"], "SqlMi");
        assert_eq!(p["scope"], "/s/mi1");
        assert_eq!(p["sourceSqlConnection"]["password"], "{{source_password}}");
        let fs = &p["backupConfiguration"]["sourceLocation"]["fileShare"];
        assert_eq!(fs["path"], "\\\\fs01\\b\\Sales");
        assert_eq!(fs["password"], "{{share_password}}");
        assert_eq!(
            p["backupConfiguration"]["targetLocation"]["accountKey"],
            "{{target_account_key}}"
        );
        assert_eq!(p["offlineConfiguration"]["offline"], false);
    }

    #[test]
    fn an_offline_blob_body_names_the_last_backup_in_its_folder() {
        let cfg = Config {
            mode: Mode::Offline,
            blob: Some(Blob {
                storage_account_id: "/s/sa".into(),
                container: "mig".into(),
                account_key_secret: "k".into(),
                folder: Some("{db}".into()),
            }),
            last_backup_name: Some("log3.trn".into()),
            ..Config::default()
        };
        let b = start_body(&cfg, &m());
        let p = &b["properties"];
        assert_eq!(
            p["backupConfiguration"]["sourceLocation"]["azureBlob"]["accountKey"],
            "{{account_key}}"
        );
        assert_eq!(
            p["offlineConfiguration"]["lastBackupName"],
            "Sales/log3.trn"
        );
        assert!(p["backupConfiguration"].get("targetLocation").is_none());
    }

    #[test]
    fn the_view_reads_status_operation_and_error() {
        let v = View::from_body(&json!({"properties": {"sourceDatabaseName": "Sales",
            "migrationStatus": "Failed", "migrationOperationId": "op1",
            "migrationFailureError": {"code": "2009", "message": "checksum"}}}));
        assert!(v.finished_badly());
        assert_eq!(v.operation_id.as_deref(), Some("op1"));
        assert_eq!(v.error, Some((Some("2009".into()), "checksum".into())));
    }
}
