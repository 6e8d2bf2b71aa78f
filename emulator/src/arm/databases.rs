//! The instance's databases as ARM resources (ManagedDatabases.json): read, created empty
//! (`createMode: Default`), deleted, and the instance's limit on how many it holds.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value as J;

use super::accepted::accepted;
use super::api_version::ApiVersion;
use super::operation::Work;
use super::reply::{error, instance_down};
use super::state::{Arm, database_names};
use crate::lrs::details::Phase;

/// The user databases a managed instance holds (learn.microsoft.com, "Resource limits for
/// Azure SQL Managed Instance": "Max number of databases per instance: 100 user databases";
/// 500 on the Next-gen General Purpose tier).
pub(super) const MAX_DATABASES: usize = 100;

/// The catalog entry (name, state) of `db`; database names compare without regard to case,
/// as under the instance's default collation.
pub(super) fn find_database<'a>(
    names: &'a [(String, String)],
    db: &str,
) -> Option<&'a (String, String)> {
    names.iter().find(|(n, _)| n.eq_ignore_ascii_case(db))
}

/// `DatabaseNumberLimitReached` ("Maximum number of databases for SQL Database Managed
/// Instance reached.", ManagedDatabases.json) when one more database would pass the
/// instance's limit; databases an LRS job is still restoring count.
pub(super) fn database_count_refusal(arm: &Arm, names: &[(String, String)]) -> Option<Response> {
    let restoring_elsewhere = arm
        .jobs
        .lock()
        .values()
        .filter(|j| j.running() && find_database(names, &j.start.database).is_none())
        .count();
    let limit = arm
        .database_limit
        .load(std::sync::atomic::Ordering::Relaxed);
    (names.len() + restoring_elsewhere >= limit).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "DatabaseNumberLimitReached",
            &format!(
                "Maximum number of databases for SQL Database Managed Instance reached ({limit})."
            ),
        )
    })
}

/// `GET …/databases/{db}`: a database an LRS job restores shows `Restoring` until the job has
/// completed (a failed job's database stays until it is deleted); otherwise the catalog's.
pub(super) fn get_database(arm: &Arm, db: &str) -> Response {
    if let Some(job) = arm.job(db)
        && job.phase() != Phase::Completed
    {
        return axum::Json(arm.database(&job.start.database, "RESTORING")).into_response();
    }
    match database_names(&arm.mi) {
        Err(_) => instance_down(),
        Ok(names) => match find_database(&names, db) {
            Some((n, s)) => axum::Json(arm.database(n, s)).into_response(),
            None => not_found(arm, db),
        },
    }
}

/// ARM's 404 for a database that does not exist.
pub(super) fn not_found(arm: &Arm, db: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.Sql/managedInstances/{}/databases/{db}' under resource group '{}' was not found.",
            arm.options.instance, arm.options.resource_group
        ),
    )
}

/// `GET …/databases`.
pub(super) fn list_databases(arm: &Arm) -> Response {
    let Ok(names) = database_names(&arm.mi) else {
        return instance_down();
    };
    let value: Vec<J> = names.iter().map(|(n, s)| arm.database(n, s)).collect();
    axum::Json(serde_json::json!({ "value": value })).into_response()
}

/// `PUT …/databases/{db}` with `createMode: Default` (or none): an empty database.
pub(super) fn create_database(arm: &Arc<Arm>, db: &str, version: ApiVersion) -> Response {
    let Ok(names) = database_names(&arm.mi) else {
        return instance_down();
    };
    if let Some((n, _)) = find_database(&names, db) {
        return axum::Json(arm.database(n, "ONLINE")).into_response();
    }
    if let Some(refusal) = database_count_refusal(arm, &names) {
        return refusal;
    }
    let id = arm.operation(Work::CreateDatabase(db.to_owned()));
    accepted(arm, &id, version)
}

/// `DELETE …/databases/{db}`. Stopping LRS is deleting its database
/// (log-replay-service-migrate.md, "Stop the migration"); the job ends with it.
pub(super) fn delete_database(arm: &Arc<Arm>, db: &str, version: ApiVersion) -> Response {
    let Ok(names) = database_names(&arm.mi) else {
        return instance_down();
    };
    let job = arm.jobs.lock().remove(&db.to_ascii_lowercase());
    if let Some(job) = &job {
        job.cancelled
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    arm.save();
    let Some((name, _)) = find_database(&names, db) else {
        // A job that had not restored anything yet leaves no database to drop.
        return StatusCode::NO_CONTENT.into_response();
    };
    let id = arm.operation(Work::DropDatabase(name.clone()));
    accepted(arm, &id, version)
}
