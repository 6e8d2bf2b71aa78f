//! While LRS restores: `restoreDetails` read every `poll_seconds`, shown as progress, new
//! backups on a share uploaded, the 30-day limit warned about, and cutover begun on request.

use ferry_sdk::prelude::*;

use crate::config::{BackupsFrom, Config, Mode};
use crate::{Job, LRS_MAX_DAYS, State, arm_get, cutover, now_ms, share, wait};

/// `restoreDetails` properties, or an error for a failed job.
pub fn details(cx: &mut Context<'_, Config>, job: &Job) -> Result<serde_json::Value> {
    let Some(d) = arm_get(
        cx,
        &format!("databases/{}/restoreDetails/Default", job.target),
    )?
    .map(|d| d["properties"].clone()) else {
        return Err(Error::failed(format!(
            "the MI has no restore details for [{}] any more: the LRS job was stopped, expired \
             after {LRS_MAX_DAYS} days, or its database was deleted",
            job.target
        )));
    };
    if d["status"] == "Failed" {
        return Err(Error::failed(format!(
            "LRS stopped: {}. ferry never deletes a database: to start over, fix the cause, stop \
             the job (`az sql midb log-replay stop` deletes the restoring [{}]) and run `ferry \
             apply --fresh`",
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

/// `ferry cutover` was run for this database, or the migration file's `cutover_after` passed.
fn cutover_requested(cx: &mut Context<'_, Config>, cfg: &Config) -> bool {
    let gate = cfg
        .cutover_after
        .as_deref()
        .and_then(|at| crate::config::cutover_ms(at).ok())
        .is_some_and(|at| now_ms() >= at);
    if gate {
        cx.info("cutover_after has passed: cutting over");
        return true;
    }
    cx.signal_requested("cutover")
}

pub fn monitoring(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let d = details(cx, &job)?;
    if d["status"] == "Completed" {
        return cutover::finish(cx, job);
    }
    let age_days = now_ms().saturating_sub(job.started_ms) / 86_400_000;
    if !job.warned && age_days >= u64::from(cfg.warn_days) {
        cx.warn(&format!(
            "LRS for [{}] has run {age_days} days; Azure cancels it after {LRS_MAX_DAYS}: cut over soon",
            job.target
        ));
        job.warned = true;
    }
    cx.phase("restoring", None, Some(&progress_line(&d)));
    if cfg.mode == Mode::Continuous && cutover_requested(cx, &cfg) {
        return cutover::begin(cx, job);
    }
    if crate::log_backups::due(&cfg, &job) {
        return crate::log_backups::take(cx, job);
    }
    if cfg.mode == Mode::Continuous && cfg.backups_from == BackupsFrom::Share {
        let new = share::new_backups(cx, &mut job)?;
        if !new.is_empty() {
            return share::start_upload(cx, job, &new);
        }
    }
    wait(cx, State::Monitoring { job }, "LRS restores the chain")
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
