//! `{MI}/providers/Microsoft.DataMigration/databaseMigrations/{targetDb}`
//! (sqlmigration.json 2025-06-30: DatabaseMigrationsSqlMi_CreateOrUpdate, _Get, _Delete,
//! _cutover, _cancel): the synchronous refusals of a start, and the steps a client takes.
//! The migration itself runs in `dms_engine`; cutover, cancel and delete are `dms_steps`.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::Value as J;

use super::databases::find_database;
use super::dms_shape::migration_json;
use super::dms_state::{DmsOp, Migration, Run, Source, StorageAccount, new_guid};
use super::reply::{error, instance_down, with_headers};
use super::state::{Arm, database_names};

pub(super) fn bad(code: &str, message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, code, message)
}

/// The spec's `InvalidParameterValue`: "An invalid value was provided for parameter '{0}'."
pub(super) fn invalid(parameter: &str) -> Response {
    bad(
        "InvalidParameterValue",
        &format!("An invalid value was provided for parameter '{parameter}'."),
    )
}

pub(super) fn not_found(db: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!("The Resource 'Microsoft.DataMigration/databaseMigrations/{db}' was not found."),
    )
}

/// The spec's `OperationIdNotFound` ("Operation ID '{0}' not found."): an operation id
/// that is not the migration's current one (an old or cleaned-up id).
pub(super) fn operation_not_found(id: &str) -> Response {
    bad(
        "OperationIdNotFound",
        &format!("Operation ID '{id}' not found."),
    )
}

/// The last segment of a resource id, lower case.
fn last_segment(id: &str) -> String {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The storage account a request names, checked as DMS checks it (methods.md §3.2, §3.6):
/// known (`InvalidStorageAccount`), in the service's region (`InvalidLocation`, the spec's
/// text), and for the premium tier of the `BlockBlobStorage` kind (`InvalidStorageAccount`).
fn storage_account(
    arm: &Arm,
    resource_id: Option<&str>,
    region: &str,
) -> Result<(String, StorageAccount), Box<Response>> {
    let Some(id) = resource_id.filter(|s| !s.is_empty()) else {
        return Err(Box::new(invalid("storageAccountResourceId")));
    };
    let name = last_segment(id);
    let Some(a) = arm.dms.accounts.lock().get(&name).cloned() else {
        return Err(Box::new(bad(
            "InvalidStorageAccount",
            &format!("The storage account '{id}' was not found or cannot be reached."),
        )));
    };
    if !a.location.eq_ignore_ascii_case(region) {
        return Err(Box::new(bad(
            "InvalidLocation",
            &format!(
                "Invalid Location: '{}'. Location should match selected Azure target location '{region}'.",
                a.location
            ),
        )));
    }
    if a.tier.eq_ignore_ascii_case("Premium") && !a.kind.eq_ignore_ascii_case("BlockBlobStorage") {
        return Err(Box::new(bad(
            "InvalidStorageAccount",
            &format!(
                "The storage account '{id}' is a premium account of kind {}; DMS accepts premium accounts of kind BlockBlobStorage only.",
                a.kind
            ),
        )));
    }
    Ok((name, a))
}

/// The container DMS creates in the target account for a share's uploads. Guess: the
/// documents do not give its name; a lower-case name from the database keeps to the
/// container naming rules.
fn upload_container(db: &str) -> String {
    let mut c: String = db
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    c.truncate(40);
    format!("dms-{}", c.trim_matches('-'))
}

pub(super) fn put(arm: &Arc<Arm>, db: &str, body: &[u8], version: &str) -> Response {
    let Ok(v) = serde_json::from_slice::<J>(body) else {
        return bad(
            "EmptyRequiredRequestBody",
            "The request body must not be empty.",
        );
    };
    let p = &v["properties"];
    if !p["kind"]
        .as_str()
        .is_some_and(|k| k.eq_ignore_ascii_case("SqlMi"))
    {
        return invalid("kind");
    }
    let key = db.to_ascii_lowercase();
    if let Some(m) = arm.dms.migrations.lock().get(&key)
        && !m.run.lock().ended()
    {
        return error(
            StatusCode::CONFLICT,
            "ResourceAlreadyExists",
            &format!(
                "Resource already exists: a migration to '{db}' is in progress ({})",
                m.operation_id
            ),
        );
    }
    let Some(service_id) = p["migrationService"].as_str().filter(|s| !s.is_empty()) else {
        return invalid("migrationService");
    };
    let service_key = last_segment(service_id);
    let Some((service_name, region, runtime)) =
        arm.dms.services.lock().get(&service_key).map(|s| {
            (
                s.name.clone(),
                s.location.clone(),
                super::dms_service::runtime_state(&s.nodes),
            )
        })
    else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceDoesNotExist",
            &format!("Resource does not exist: {service_id}"),
        );
    };
    let Some(source_db) = p["sourceDatabaseName"].as_str().filter(|s| !s.is_empty()) else {
        return invalid("sourceDatabaseName");
    };
    let offline = p["offlineConfiguration"]["offline"]
        .as_bool()
        .unwrap_or(false);
    let last_backup = p["offlineConfiguration"]["lastBackupName"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let loc = &p["backupConfiguration"]["sourceLocation"];
    let source = if loc["azureBlob"].is_object() {
        let b = &loc["azureBlob"];
        let (account, a) =
            match storage_account(arm, b["storageAccountResourceId"].as_str(), &region) {
                Ok(x) => x,
                Err(r) => return *r,
            };
        let Some(container) = b["blobContainerName"].as_str().filter(|s| !s.is_empty()) else {
            return invalid("blobContainerName");
        };
        // methods.md §3.2: the container name `backup` is rejected (`InvalidContainerName`),
        // as LRS reserves the word (log-replay-service-overview.md, "Limitations").
        if container.eq_ignore_ascii_case("backup") || container.eq_ignore_ascii_case("backups") {
            return bad(
                "InvalidContainerName",
                &format!(
                    "The container name '{container}' is not allowed; 'backup' and 'backups' are reserved. Use another container."
                ),
            );
        }
        let Some(key) = b["accountKey"].as_str().filter(|s| !s.is_empty()) else {
            // Managed-identity access is in the spec (`authType`); the emulator reads with a key.
            return invalid("accountKey");
        };
        // For a blob source the service cannot tell which file is last: `lastBackupName`
        // is needed offline (az datamigration sql-managed-instance create,
        // `--offline-configuration`: optional for a file share only).
        if offline && last_backup.is_none() {
            return invalid("offlineConfiguration.lastBackupName");
        }
        Source::Blob {
            endpoint: a.endpoint,
            account,
            key: key.to_owned(),
            container: container.to_owned(),
        }
    } else if loc["fileShare"].is_object() {
        // The spec's `IntegrationRuntimeIsNotOnline` (methods.md §3.6: 2014).
        if runtime != "Online" {
            return bad(
                "IntegrationRuntimeIsNotOnline",
                &format!(
                    "Integration Runtime '{service_name}' is not online for resource group '{}' subscription '{}'",
                    arm.options.resource_group, arm.options.subscription
                ),
            );
        }
        let data_source = p["sourceSqlConnection"]["dataSource"]
            .as_str()
            .unwrap_or_default();
        if arm.runtime_source(data_source).is_err() {
            return bad(
                "TestConnectionFailed",
                &format!(
                    "Failed to test connections using provided Integration Runtime. Error details: 'A network-related or instance-specific error occurred while establishing a connection to SQL Server {data_source}.'"
                ),
            );
        }
        let path = loc["fileShare"]["path"].as_str().unwrap_or_default();
        let Some(local) = arm.share_folder(path) else {
            // 2012 `TestConnectionFailed` (spec text): the runtime cannot reach the share.
            return bad(
                "TestConnectionFailed",
                &format!(
                    "Failed to test connections using provided Integration Runtime. Error details: 'The network path {path} was not found.'"
                ),
            );
        };
        let t = &p["backupConfiguration"]["targetLocation"];
        let (account, a) =
            match storage_account(arm, t["storageAccountResourceId"].as_str(), &region) {
                Ok(x) => x,
                Err(r) => return *r,
            };
        let Some(key) = t["accountKey"].as_str().filter(|s| !s.is_empty()) else {
            return invalid("targetLocation.accountKey");
        };
        Source::Share {
            path: path.to_owned(),
            local,
            endpoint: a.endpoint,
            account,
            key: key.to_owned(),
            container: upload_container(db),
        }
    } else {
        return invalid("backupConfiguration.sourceLocation");
    };
    // DMS never overwrites a database (methods.md §3.2). It restores through LRS, whose
    // documented code for a name in use is `ManagedDatabaseNameInUse`.
    match database_names(&arm.mi) {
        Err(_) => return instance_down(),
        Ok(names) if find_database(&names, db).is_some() || arm.job(db).is_some() => {
            return bad(
                "ManagedDatabaseNameInUse",
                &format!(
                    "Database '{db}' already exists. Choose a different database name; DMS never overwrites a database."
                ),
            );
        }
        Ok(_) => {}
    }
    let mut request = p.clone();
    if let Some(o) = request.as_object_mut() {
        for k in [
            "provisioningState",
            "migrationStatus",
            "migrationOperationId",
            "migrationStatusDetails",
            "startedOn",
            "endedOn",
            "migrationFailureError",
        ] {
            o.remove(k);
        }
    }
    let m = Arc::new(Migration {
        db: db.to_owned(),
        operation_id: new_guid(),
        service_id: arm.service_id(&service_name),
        service_name,
        request,
        source_db: source_db.to_owned(),
        source,
        offline,
        last_backup,
        started_on: std::time::SystemTime::now(),
        run: Mutex::new(Run {
            provisioning: "Provisioning",
            status: "InProgress",
            ..Run::default()
        }),
    });
    arm.dms.migrations.lock().insert(key, m.clone());
    let op = arm.dms_operation(DmsOp::StartMigration(db.to_owned(), m.operation_id.clone()));
    arm.spawn(super::dms_engine::run(arm.clone(), m.clone()));
    with_headers(
        (
            StatusCode::CREATED,
            axum::Json(migration_json(arm, &m, false)),
        )
            .into_response(),
        &arm.dms_operation_headers(&op, version),
    )
}

pub(super) fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

pub(super) fn find(arm: &Arm, db: &str) -> Option<Arc<Migration>> {
    arm.dms
        .migrations
        .lock()
        .get(&db.to_ascii_lowercase())
        .cloned()
}

pub(super) fn get(arm: &Arm, db: &str, query: Option<&str>) -> Response {
    let Some(m) = find(arm, db) else {
        return not_found(db);
    };
    if let Some(id) = query_value(query, "migrationOperationId")
        && !id.eq_ignore_ascii_case(&m.operation_id)
    {
        return operation_not_found(id);
    }
    let expand = query_value(query, "$expand")
        .or_else(|| query_value(query, "%24expand"))
        .is_some_and(|e| e.eq_ignore_ascii_case("MigrationStatusDetails"));
    axum::Json(migration_json(arm, &m, expand)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn upload_containers_keep_to_the_naming_rules() {
        assert_eq!(super::upload_container("Sales_DB 2"), "dms-sales-db-2");
    }
}
