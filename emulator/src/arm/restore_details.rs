//! `GET …/databases/{db}/restoreDetails/Default` as Azure shapes it for the api-version asked
//! (ManagedDatabaseRestoreDetails.json of each version; see [`RestoreDetailsShape`]).
//!
//! While the job runs the answer is 200 with the details. A job that failed answers 400 with
//! its LRS code (the codes are the `default` error responses of that operation in the spec);
//! after a successful cutover the details have expired: 400
//! `RestoreDetailsNotAvailableOrExpired` ("Requested restore details are not available, or
//! have expired."), and completion shows as the database's own `status` becoming `Online`.
//! Properties without a value are left out, as in the specs' examples (the 2023-08-01 example
//! has no `lastRestoredFileName` before the first file is restored).

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as J, json};
use time::format_description::well_known::Rfc3339;

use super::api_version::RestoreDetailsShape;
use super::reply::{error, job_error};
use crate::backup::BackupType;
use crate::lrs::details::{Details, Phase, SetState};
use crate::lrs::job::Job;

/// The answer for `job`, whose restore details resource is `id`.
pub(super) fn answer(job: &Job, id: &str, shape: RestoreDetailsShape) -> Response {
    let d = job.details();
    match (d.phase, &d.error) {
        (Phase::Failed, Some(e)) => job_error(e),
        (Phase::Completed, _) | (Phase::Failed, None) => expired(),
        (Phase::Starting | Phase::Restoring, _) => axum::Json(json!({
            "id": id,
            "name": "current",
            "type": "Microsoft.Sql/managedInstances/databases/restoreDetails",
            "properties": properties(&d, shape),
        }))
        .into_response(),
    }
}

/// A database without restore details (never restored by LRS, or restored and expired).
pub(super) fn expired() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "RestoreDetailsNotAvailableOrExpired",
        "Requested restore details are not available, or have expired.",
    )
}

/// RFC 3339, as the specs' `date-time` format asks (`2022-05-09T12:27:20.4936305Z`).
fn rfc3339(t: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(t).format(&Rfc3339).ok()
}

fn mb(bytes: u64) -> u64 {
    bytes / (1 << 20)
}

fn properties(d: &Details, shape: RestoreDetailsShape) -> J {
    let mut p = Map::new();
    let mut put = |key: &str, value: J| {
        if !value.is_null() {
            p.insert(key.to_owned(), value);
        }
    };
    // `status` is a free string in every version. While a job runs it is `Restoring`, the
    // value the 2023-08-01 and 2025-01-01 examples show; `Blocked` (with `blockReason`) is
    // documented too but nothing in the emulator blocks a job.
    put("status", json!("Restoring"));
    put(
        "currentRestoringFileName",
        json!(d.current.as_ref().map(|(name, _)| name)),
    );
    put("lastRestoredFileName", json!(d.last_restored));
    put(
        "lastRestoredFileTime",
        json!(d.last_restored_time.and_then(rfc3339)),
    );
    put("numberOfFilesDetected", json!(d.detected.len()));
    if let Some(newest) = d.last_detected() {
        put("lastUploadedFileName", json!(newest.name));
        put("lastUploadedFileTime", json!(rfc3339(newest.seen)));
    }
    let in_plan = || d.sets.iter().filter(|s| s.state != SetState::Skipped);
    let plan_bytes: u64 = in_plan().map(|s| s.size_bytes).sum();
    let restored_bytes: u64 = in_plan()
        .filter(|s| s.state == SetState::Restored)
        .map(|s| s.size_bytes)
        .sum();
    // The 2025-01-01 example's 53 is its restored size over its plan's size (25 of 47 MB).
    let percent = (restored_bytes * 100).checked_div(plan_bytes).unwrap_or(0);
    match shape {
        RestoreDetailsShape::Legacy => {
            put("percentCompleted", json!(percent as f64));
            put("unrestorableFiles", json!(d.unrestorable));
        }
        RestoreDetailsShape::Rich => {
            put("type", json!("LRSRestore"));
            put("percentCompleted", json!(percent));
            put("currentRestoredSizeMB", json!(mb(restored_bytes)));
            put("currentRestorePlanSizeMB", json!(mb(plan_bytes)));
            put(
                "currentBackupType",
                json!(d.current.as_ref().map(|(_, kind)| backup_type(*kind))),
            );
            put("numberOfFilesQueued", json!(d.files_in(SetState::Queued)));
            put("numberOfFilesSkipped", json!(d.files_in(SetState::Skipped)));
            put(
                "numberOfFilesRestoring",
                json!(d.files_in(SetState::Restoring)),
            );
            put(
                "numberOfFilesRestored",
                json!(d.files_in(SetState::Restored)),
            );
            put("numberOfFilesUnrestorable", json!(d.unrestorable.len()));
            for (key, kind) in [
                ("fullBackupSets", BackupType::Full),
                ("diffBackupSets", BackupType::Differential),
                ("logBackupSets", BackupType::Log),
            ] {
                put(key, J::Array(sets_of(d, kind)));
            }
            let unrestorable: Vec<J> = d
                .unrestorable
                .iter()
                .map(|name| json!({ "name": name }))
                .collect();
            put("unrestorableFiles", J::Array(unrestorable));
        }
    }
    J::Object(p)
}

/// `currentBackupType`. The 2025-01-01 example shows `Log`; the names of the other two are
/// not documented and follow the backup-set arrays' words.
fn backup_type(kind: BackupType) -> &'static str {
    match kind {
        BackupType::Full => "Full",
        BackupType::Differential => "Diff",
        BackupType::Log => "Log",
    }
}

fn sets_of(d: &Details, kind: BackupType) -> Vec<J> {
    d.sets
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| {
            let mut set = json!({
                "status": s.state.as_str(),
                "firstStripeName": s.first_stripe,
                "numberOfStripes": s.files.len(),
                "backupSizeMB": mb(s.size_bytes),
            });
            for (key, at) in [
                ("restoreStartedTimestampUtc", s.started),
                ("restoreFinishedTimestampUtc", s.finished),
            ] {
                if let Some(text) = at.and_then(rfc3339) {
                    set[key] = json!(text);
                }
            }
            set
        })
        .collect()
}
