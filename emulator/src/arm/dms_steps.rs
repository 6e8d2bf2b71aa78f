//! The steps a client takes on a running migration: `cutover`, `cancel` (both naming the
//! migration's current `migrationOperationId`) and DELETE (sqlmigration.json 2025-06-30:
//! DatabaseMigrationsSqlMi_cutover, _cancel, _Delete).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value as J;

use super::dms_migration::{bad, find, invalid, not_found, operation_not_found, query_value};
use super::dms_shape::ready_for_cutover;
use super::dms_state::{DmsOp, Migration};
use super::state::Arm;

/// The migration named by `db` whose current operation id the body gives.
fn by_operation(arm: &Arm, db: &str, body: &[u8]) -> Result<Arc<Migration>, Box<Response>> {
    let v: J = serde_json::from_slice(body).unwrap_or(J::Null);
    let Some(id) = v["migrationOperationId"].as_str().filter(|s| !s.is_empty()) else {
        return Err(Box::new(invalid("migrationOperationId")));
    };
    let m = find(arm, db).ok_or_else(|| Box::new(not_found(db)))?;
    if !id.eq_ignore_ascii_case(&m.operation_id) {
        return Err(Box::new(operation_not_found(id)));
    }
    Ok(m)
}

/// POST `cutover` (methods.md §3.5): refused once the migration has ended
/// (`CutoverNotAllowedMigrationCompleteError`) and until the full backup and every log
/// backup seen are restored (`MigrationNotReadyForCutoverError`). The documents give the
/// codes, not their texts; the texts are the emulator's.
pub(super) fn cutover(arm: &Arc<Arm>, db: &str, body: &[u8], version: &str) -> Response {
    let m = match by_operation(arm, db, body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let status = m.run.lock().status;
    if matches!(status, "Succeeded" | "Failed" | "Canceled" | "Canceling") {
        return bad(
            "CutoverNotAllowedMigrationCompleteError",
            &format!(
                "The migration to '{db}' has already ended ({status}); it cannot be cut over."
            ),
        );
    }
    if status != "Completing" && !ready_for_cutover(&m) {
        return bad(
            "MigrationNotReadyForCutoverError",
            &format!(
                "The migration to '{db}' is not ready for cutover: wait until the full backup and every log backup are restored (pendingLogBackupsCount 0)."
            ),
        );
    }
    {
        let mut run = m.run.lock();
        run.cutover = true;
        run.status = "Completing";
        if let Some(job) = &run.job {
            let last = job.details().last_restored;
            job.details.lock().complete_after = last;
        }
    }
    let op = arm.dms_operation(DmsOp::Cutover(m.db.clone(), m.operation_id.clone()));
    super::dms_ops::accepted(arm, &op, version)
}

/// POST `cancel`: refused once the migration has ended (`MigrationNotReadyForCancelError`,
/// methods.md §3.5).
pub(super) fn cancel(arm: &Arc<Arm>, db: &str, body: &[u8], version: &str) -> Response {
    let m = match by_operation(arm, db, body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    {
        let mut run = m.run.lock();
        if run.ended() || run.status == "Completing" {
            return bad(
                "MigrationNotReadyForCancelError",
                &format!(
                    "The migration to '{db}' is {}; it cannot be canceled.",
                    run.status
                ),
            );
        }
        run.cancelled = true;
        run.status = "Canceling";
    }
    let op = arm.dms_operation(DmsOp::Cancel(m.db.clone(), m.operation_id.clone()));
    super::dms_ops::accepted(arm, &op, version)
}

/// DELETE, with `force=true` to cancel a running migration first; without it a running
/// migration is refused with the spec's `DeleteMigrationNotAllowedMigrationInProgress`.
pub(super) async fn delete(arm: &Arc<Arm>, db: &str, query: Option<&str>) -> Response {
    let Some(m) = find(arm, db) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let force = query_value(query, "force").is_some_and(|f| f.eq_ignore_ascii_case("true"));
    let running = !m.run.lock().ended();
    if running && !force {
        return bad(
            "DeleteMigrationNotAllowedMigrationInProgress",
            &format!(
                "Database migration to the target resource '{db}' is currently in progress. To delete the migration, please wait until the migration has completed or cancel the migration manually, and then retry deleting the migration. Alternatively, use the force delete option to cancel ongoing operations and delete"
            ),
        );
    }
    // A migration that did not succeed leaves nothing behind: its LRS job stops and the
    // database it was restoring is dropped, so the name is free for a new migration.
    if m.run.lock().status != "Succeeded" {
        super::dms_engine::stop(arm, &m, "Canceled").await;
    }
    arm.dms.migrations.lock().remove(&db.to_ascii_lowercase());
    StatusCode::OK.into_response()
}
