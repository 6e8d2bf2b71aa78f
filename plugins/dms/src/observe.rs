//! What each GET of the migration shows, recorded: file statuses as they change (the timeline
//! the report shows), progress, blocking reasons said once; and a failed migration explained.

use ferry_sdk::prelude::*;
use ferry_sdk::{ProgressUpdate, now_ms};

use crate::arm::View;
use crate::config::Config;
use crate::dms_errors::explain;
use crate::state::Migration;

/// A Failed or Canceled migration, explained.
pub fn failure(m: &Migration, v: &View) -> Error {
    let (code, msg) = v
        .error
        .clone()
        .unwrap_or((None, format!("migrationStatus {}", v.migration_status)));
    explain(
        &m.db,
        Error::failed(format!(
            "{}: {msg}",
            code.as_deref().unwrap_or(&v.migration_status)
        )),
    )
}

/// Records what the GET shows: file statuses, progress, blocking reasons.
pub fn observe(cx: &mut Context<'_, Config>, m: &mut Migration, v: &View) {
    if v.operation_id.is_some() && v.operation_id != m.operation_id {
        if m.operation_id.is_some() {
            cx.warn(&format!(
                "[{}]: the migration's operation id changed from {} to {}: it was restarted \
                 outside ferry",
                m.db,
                m.operation_id.as_deref().unwrap_or_default(),
                v.operation_id.as_deref().unwrap_or_default()
            ));
        }
        m.operation_id = v.operation_id.clone();
    }
    let now = now_ms();
    let d = &v.details;
    for f in &d.files {
        if m.saw(&f.name, &f.backup_type, &f.status, now) {
            cx.debug(&format!("[{}] {}: {}", m.db, f.name, f.status));
        }
    }
    let blocking = d
        .blocking
        .clone()
        .or_else(|| (!d.upload_errors.is_empty()).then(|| d.upload_errors.join("; ")))
        .or_else(|| {
            (!d.invalid_files.is_empty())
                .then(|| format!("invalid files: {}", d.invalid_files.join(", ")))
        });
    if blocking.is_some() && blocking != m.last_blocking {
        cx.warn(&format!(
            "[{}]: DMS is blocked: {}",
            m.db,
            blocking.as_deref().unwrap_or_default()
        ));
    }
    m.last_blocking = blocking;
    let mut msg = v.migration_status.clone();
    if let Some(c) = &d.current_restoring {
        msg.push_str(&format!(", restoring {c}"));
    }
    if let Some(l) = &d.last_restored {
        msg.push_str(&format!(", last restored {l}"));
    }
    if let Some(n) = d.pending_logs {
        msg.push_str(&format!(", {n} log backup(s) pending"));
    }
    let restored = d.files.iter().filter(|f| f.status == "Restored").count();
    cx.progress(ProgressUpdate {
        phase: "restoring".into(),
        fraction: d.fraction(),
        bytes_done: None,
        bytes_total: None,
        current: d.current_restoring.clone(),
        message: Some(format!(
            "{msg} ({restored}/{} files restored){}",
            d.files.len(),
            m.telemetry
                .as_ref()
                .map(|t| format!("; {t}"))
                .unwrap_or_default()
        )),
    });
}
