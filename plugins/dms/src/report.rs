//! The end of a database: one report row per backup file seen (its timeline of statuses), one
//! for the database with the cutover time, and the output the journal keeps.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use serde_json::json;

use crate::config::Config;
use crate::state::{FileSeen, Migration, State};

/// Milliseconds since the epoch as RFC 3339 (UTC), or the number when out of range.
pub fn stamp(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

pub fn timeline(f: &FileSeen) -> String {
    f.statuses
        .iter()
        .map(|(s, ms)| format!("{s} {}", stamp(*ms)))
        .collect::<Vec<_>>()
        .join(" → ")
}

pub fn finish(cx: &mut Context<'_, Config>, mut m: Migration) -> Outcome<State> {
    m.completed_ms = now_ms();
    m.phases.end();
    for f in &m.files {
        let last = f.statuses.last().map(|(s, _)| s.as_str()).unwrap_or("");
        let status = match last {
            "Restored" => ObjectStatus::Migrated,
            "Ignored" | "Skipped" => ObjectStatus::Skipped,
            _ => ObjectStatus::Warning,
        };
        cx.report(ObjectRow {
            object_type: "backup-file".into(),
            name: format!("{}: {}", m.db, f.name),
            status,
            reason_code: (status != ObjectStatus::Migrated)
                .then(|| format!("file-{}", last.to_ascii_lowercase())),
            notes: Some(
                format!("{} {}", f.backup_type, timeline(f))
                    .trim()
                    .to_owned(),
            ),
        });
    }
    let cutover = (m.cutover_sent_ms > 0).then(|| stamp(m.cutover_sent_ms));
    let notes = match &cutover {
        Some(t) => format!(
            "online to [{}]; cutover sent {t}, complete {}",
            m.target,
            stamp(m.completed_ms)
        ),
        None => format!("to [{}], complete {}", m.target, stamp(m.completed_ms)),
    };
    cx.report(ObjectRow {
        object_type: "database".into(),
        name: m.db.clone(),
        status: ObjectStatus::Migrated,
        reason_code: None,
        notes: Some(if m.adopted {
            format!("{notes} (a migration found running was followed)")
        } else {
            notes
        }),
    });
    cx.phase("done", Some(1.0), Some("migrated"));
    Outcome::Done(json!({
        "method": "dms",
        "database": m.db,
        "target": m.target,
        "migration_operation_id": m.operation_id,
        "adopted": m.adopted,
        "tail_log_backup": m.tail_file,
        "cutover_at": cutover,
        "completed_at": stamp(m.completed_ms),
        "files": m.files.len(),
        "phases": m.phases.to_output(),
    }))
}
