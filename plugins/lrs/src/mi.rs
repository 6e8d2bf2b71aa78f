//! The Managed Instance's side, through ARM: the requests every phase builds, and what
//! `restoreDetails` says about the running LRS job.

use ferry_sdk::ArmRequest;
use ferry_sdk::prelude::*;

use crate::config::Config;
use crate::job::Job;

/// LRS cancels a job after 30 days (methods.md §2.7).
pub const LRS_MAX_DAYS: u64 = 30;

pub fn arm(method: &str, path: &str, cfg: &Config, body: Option<serde_json::Value>) -> ArmRequest {
    ArmRequest {
        method: method.into(),
        path: path.into(),
        api_version: cfg.api_version.clone(),
        body: body.map(|b| b.to_string()),
    }
}

/// A GET that may answer 404: the body, or None. A body that is not a JSON object is a
/// broken reply, retried as a transient failure and then reported with the path.
pub fn arm_get(cx: &mut Context<'_, Config>, path: &str) -> Result<Option<serde_json::Value>> {
    let cfg = cx.config().clone();
    match cx.azure(&cfg.azure, &arm("GET", path, &cfg, None)) {
        Ok(r) => match serde_json::from_str::<serde_json::Value>(&r.body) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            _ => Err(Error::transient(format!(
                "ARM answered GET {} with a body that is not a JSON object ({} bytes)",
                if path.is_empty() {
                    "<the instance>"
                } else {
                    path
                },
                r.body.len()
            ))),
        },
        Err(Error::Failed(f)) if f.code == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `restoreDetails` properties, or an error for a failed job.
pub fn details(cx: &mut Context<'_, Config>, job: &Job) -> Result<serde_json::Value> {
    let Some(d) = arm_get(
        cx,
        &format!("databases/{}/restoreDetails/Default", job.target),
    )?
    .map(|d| d["properties"].clone()) else {
        return Err(Error::failed(format!(
            "the MI has no restore details for [{}] any more: the LRS job was stopped, expired \
             after {LRS_MAX_DAYS} days, or its database was deleted; to start over, drop what \
             is left of the database on the MI and run `ferry apply --retry-failed`",
            job.target
        )));
    };
    if d["status"] == "Failed" {
        return Err(Error::failed(format!(
            "LRS stopped: {}. ferry never deletes a database: to start over, fix the cause, stop \
             the job (`az sql midb log-replay stop` deletes the restoring [{}]) and run `ferry \
             apply --retry-failed`",
            d["blockReason"]
                .as_str()
                .or(d["errorCode"].as_str())
                .unwrap_or("no reason given")
                .trim_end_matches('.'),
            job.target
        )));
    }
    Ok(d)
}

/// Log backups LRS has found and not restored yet. The backup-set arrays and file counts
/// came with api-version 2024-05-01-preview; with older ones the count is unknown.
pub fn pending_logs(d: &serde_json::Value) -> Option<usize> {
    if let Some(sets) = d["logBackupSets"].as_array() {
        return Some(
            sets.iter()
                .filter(|s| s["status"] == "Queued" || s["status"] == "Restoring")
                .count(),
        );
    }
    d["numberOfFilesQueued"].as_u64().map(|n| n as usize)
}

/// Whether LRS lists `file` among the files it cannot restore: a string array up to
/// api-version 2023-08-01, objects with a `name` in newer ones.
pub fn unrestorable(d: &serde_json::Value, file: &str) -> bool {
    d["unrestorableFiles"].as_array().is_some_and(|files| {
        files.iter().any(|f| {
            let name = f.as_str().or(f["name"].as_str()).unwrap_or_default();
            name == file || name.rsplit('/').next() == Some(file)
        })
    })
}

/// One line of progress: the last restored file, the one restoring, what is pending.
pub fn progress_line(d: &serde_json::Value) -> String {
    let pending = match pending_logs(d) {
        Some(n) => format!("{n} log backup(s) pending"),
        None => "pending count unknown".into(),
    };
    format!(
        "restored {}, restoring {}, {pending}, {} file(s) in the folder",
        d["lastRestoredFileName"].as_str().unwrap_or("nothing yet"),
        d["currentRestoringFileName"].as_str().unwrap_or("nothing"),
        d["numberOfFilesDetected"].as_u64().unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unrestorable_file_is_found_in_either_shape_of_the_list() {
        assert!(unrestorable(
            &json!({ "unrestorableFiles": ["Sales_tail.trn"] }),
            "Sales_tail.trn"
        ));
        assert!(unrestorable(
            &json!({ "unrestorableFiles": [{ "name": "Sales/Sales_tail.trn" }] }),
            "Sales_tail.trn"
        ));
        assert!(!unrestorable(
            &json!({ "unrestorableFiles": ["other.trn"] }),
            "Sales_tail.trn"
        ));
        assert!(!unrestorable(&json!({}), "Sales_tail.trn"));
    }

    #[test]
    fn pending_logs_come_from_the_sets_then_the_counts_else_unknown() {
        let sets = json!({ "logBackupSets": [
            { "status": "Restored" }, { "status": "Restoring" }, { "status": "Queued" }
        ], "numberOfFilesQueued": 9 });
        assert_eq!(pending_logs(&sets), Some(2));
        assert_eq!(pending_logs(&json!({ "numberOfFilesQueued": 4 })), Some(4));
        assert_eq!(pending_logs(&json!({ "numberOfFilesDetected": 4 })), None);
        let line = progress_line(&json!({
            "lastRestoredFileName": "a.trn", "numberOfFilesDetected": 3, "logBackupSets": []
        }));
        assert_eq!(
            line,
            "restored a.trn, restoring nothing, 0 log backup(s) pending, 3 file(s) in the folder"
        );
    }
}
