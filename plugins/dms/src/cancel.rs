//! Cancel on the `cancel` signal (methods.md §3.3 step 7): POST `cancel` with the operation id,
//! only for a migration this run started (its operation id is the one this run's PUT got);
//! then, with `delete_on_cancel`, DELETE the migration's record.

use ferry_sdk::prelude::*;

use crate::arm::{self, dms, migration_path, operation_body};
use crate::config::Config;
use crate::dms_errors::explain;
use crate::state::{Migration, State, ended, wait};

pub fn begin(cx: &mut Context<'_, Config>, m: Migration) -> Result<Outcome<State>> {
    if !m.ours() {
        return Err(Error::failed(format!(
            "[{}]: cancel asked, but this migration (operation {}) was not started by this run: \
             ferry does not cancel it. ferry stopped following it; DMS goes on. Cancel it in \
             the portal or with `az datamigration sql-managed-instance cancel` if you mean to",
            m.db,
            m.operation_id.as_deref().unwrap_or("unknown")
        )));
    }
    let cfg = cx.config().clone();
    let op_id = m.operation_id.clone().unwrap_or_default();
    let post = dms(
        "POST",
        &format!("{}/cancel", migration_path(&m.target)),
        &cfg,
        Some(operation_body(&op_id)),
    );
    let id = cx
        .azure_begin(&cfg.azure, &post)
        .map_err(|e| explain(&m.db, e))?;
    let mut m = m;
    m.cancel_sent = true;
    Ok(Outcome::wait_operation(
        id.clone(),
        State::Canceling { m, op: Some(id) },
        "DMS cancels the migration",
    ))
}

pub fn canceling(
    cx: &mut Context<'_, Config>,
    mut m: Migration,
    op: Option<String>,
) -> Result<Outcome<State>> {
    if let Some(id) = &op {
        let what = if m.delete_sent {
            "deleting the migration"
        } else {
            "the cancel"
        };
        if ended(cx, id, what)
            .map_err(|e| explain(&m.db, e))?
            .is_none()
        {
            return wait(cx, State::Canceling { m, op }, "DMS cancels the migration");
        }
    }
    let cfg = cx.config().clone();
    let done = |m: &Migration, deleted: bool| {
        Ok(Outcome::Done(serde_json::json!({
            "method": "dms", "database": m.db, "target": m.target,
            "canceled": true, "deleted": deleted,
        })))
    };
    if m.delete_sent {
        return done(&m, true);
    }
    let status = arm::migration(cx, &m.target)?
        .map(|v| v.migration_status)
        .unwrap_or_else(|| "Canceled".into());
    if !matches!(status.as_str(), "Canceled" | "Cancelled" | "Failed") {
        return wait(
            cx,
            State::Canceling { m, op: None },
            "DMS cancels the migration",
        );
    }
    cx.info(&format!("[{}]: the migration is cancelled", m.db));
    if !cfg.delete_on_cancel {
        return done(&m, false);
    }
    let del = dms("DELETE", &migration_path(&m.target), &cfg, None);
    let id = cx
        .azure_begin(&cfg.azure, &del)
        .map_err(|e| explain(&m.db, e))?;
    m.delete_sent = true;
    Ok(Outcome::wait_operation(
        id.clone(),
        State::Canceling { m, op: Some(id) },
        "ARM deletes the migration's record",
    ))
}
