//! The self-hosted integration runtime's nodes (`listMonitoringData`, methods.md §3.3 step 2;
//! sqlmigration.json `IntegrationRuntimeMonitoringData`): how loaded each is matters when many
//! databases share it (about 10 migrations per node, §3.6). Read when the runtime is found
//! Online, then while a share migration runs at most once a minute, its one-line summary kept
//! in the migration and shown with its progress (`ferry status`). Best effort: a failed read
//! keeps the previous summary.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use serde_json::Value;

use crate::arm::{dms, service_path};
use crate::config::Config;
use crate::state::Migration;

/// At most one read a minute: each is a POST to the service, shared by every database.
pub const EVERY_MS: u64 = 60_000;

/// Whether a read is due, the last one at `last_ms` (0: never).
pub fn due(last_ms: u64, now_ms: u64) -> bool {
    last_ms == 0 || now_ms.saturating_sub(last_ms) >= EVERY_MS
}

/// Each node's line and the one-line summary of all of them (None without nodes).
pub fn describe(body: &Value) -> (Vec<String>, Option<String>) {
    let nodes = body["nodes"].as_array().cloned().unwrap_or_default();
    let num = |n: &Value, k: &str| n[k].as_f64().map_or("?".to_owned(), |v| v.to_string());
    let lines = nodes
        .iter()
        .map(|n| {
            format!(
                "runtime node {}: {} of {} concurrent jobs running, CPU {}%, {} MB free",
                n["nodeName"].as_str().unwrap_or("?"),
                num(n, "concurrentJobsRunning"),
                num(n, "maxConcurrentJobs"),
                num(n, "cpuUtilization"),
                num(n, "availableMemoryInMB"),
            )
        })
        .collect();
    // `concurrentJobsLimit` is the node's own limit ("Maximum concurrent jobs on the
    // integration runtime node"); `maxConcurrentJobs` the runtime's, used when it is absent.
    let short: Vec<String> = nodes
        .iter()
        .map(|n| {
            let limit = if n["concurrentJobsLimit"].is_number() {
                num(n, "concurrentJobsLimit")
            } else {
                num(n, "maxConcurrentJobs")
            };
            format!(
                "{} {}/{limit} jobs CPU {}% {} MB free",
                n["nodeName"].as_str().unwrap_or("?"),
                num(n, "concurrentJobsRunning"),
                num(n, "cpuUtilization"),
                num(n, "availableMemoryInMB"),
            )
        })
        .collect();
    let summary = (!short.is_empty()).then(|| format!("runtime {}", short.join(", ")));
    (lines, summary)
}

/// Reads the nodes now; their lines, with the summary kept in `m`. None when the read failed
/// (logged at debug level).
pub fn read(cx: &mut Context<'_, Config>, m: &mut Migration) -> Option<Vec<String>> {
    let cfg = cx.config().clone();
    let req = dms(
        "POST",
        &format!("{}/listMonitoringData", service_path(&cfg)),
        &cfg,
        None,
    );
    m.telemetry_ms = now_ms();
    let body = match cx.azure(&cfg.service_azure, &req) {
        Ok(r) => serde_json::from_str::<Value>(&r.body).unwrap_or_default(),
        Err(e) => {
            cx.debug(&format!("listMonitoringData: {}", e.describe()));
            return None;
        }
    };
    let (lines, summary) = describe(&body);
    if summary.is_some() {
        m.telemetry = summary;
    }
    Some(lines)
}

/// While a share migration runs: a read when one is due.
pub fn refresh(cx: &mut Context<'_, Config>, m: &mut Migration) {
    if cx.config().share.is_some() && due(m.telemetry_ms, now_ms()) {
        read(cx, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_read_is_due_once_a_minute() {
        assert!(due(0, 5));
        assert!(!due(1_000, 1_000));
        assert!(!due(1_000, 60_999));
        assert!(due(1_000, 61_000));
        // A clock set back does not read at every look.
        assert!(!due(61_000, 1_000));
    }

    #[test]
    fn every_node_is_summed_up_on_one_line() {
        let body = json!({"name": "ir", "nodes": [
            {"nodeName": "node1", "availableMemoryInMB": 2048, "cpuUtilization": 12,
             "concurrentJobsLimit": 10, "concurrentJobsRunning": 3, "maxConcurrentJobs": 20},
            {"nodeName": "node2", "availableMemoryInMB": 512, "cpuUtilization": 90,
             "concurrentJobsRunning": 1, "maxConcurrentJobs": 4}]});
        let (lines, summary) = describe(&body);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            summary.as_deref(),
            Some(
                "runtime node1 3/10 jobs CPU 12% 2048 MB free, node2 1/4 jobs CPU 90% 512 MB free"
            )
        );
        assert_eq!(describe(&json!({"nodes": []})).1, None);
    }
}
