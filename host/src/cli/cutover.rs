//! `ferry cutover`: sends the `cutover` signal to a run's databases (all, or those named). The
//! running `ferry apply` — or the next one, if none runs — hands it to the plugins, which take
//! the tail-log backup and complete the restore (the `lrs` plugin in continuous mode).

use super::common::{error, open_journal};
use super::{CutoverArgs, Exit, Global, view};
use crate::events::RunEvent;
use crate::journal::{Journal, RunStatus};
use crate::signals;

pub(super) fn cutover(g: &Global, args: &CutoverArgs) -> Exit {
    let mut journal = match open_journal(g, &args.migration, args.state_dir.as_deref()) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let run = match journal.latest_run() {
        Ok(Some(r)) => r,
        Ok(None) => return error(g, Exit::InvalidInput, "the journal holds no run yet"),
        Err(e) => return error(g, Exit::Internal, &format!("{e:#}")),
    };
    if run.status != RunStatus::Running {
        return error(
            g,
            Exit::Refused,
            &format!(
                "run {} has already ended; there is nothing to cut over",
                run.id
            ),
        );
    }
    let items = match journal.items(&run.id) {
        Ok(i) => i,
        Err(e) => return error(g, Exit::Internal, &format!("{e:#}")),
    };
    for db in &args.database {
        if !items.iter().any(|i| &i.item == db) {
            let known: Vec<&str> = items.iter().map(|i| i.item.as_str()).collect();
            return error(
                g,
                Exit::InvalidInput,
                &format!(
                    "run {} has no database `{db}` (it has: {})",
                    run.id,
                    known.join(", ")
                ),
            );
        }
    }
    let targets: Vec<Option<&str>> = if args.database.is_empty() {
        vec![None]
    } else {
        args.database.iter().map(|d| Some(d.as_str())).collect()
    };
    for item in &targets {
        if let Err(e) = journal.add_event(&run.id, None, *item, &signals::signal("cutover")) {
            return error(g, Exit::Internal, &format!("{e:#}"));
        }
    }
    let which = if args.database.is_empty() {
        "every database".to_owned()
    } else {
        args.database.join(", ")
    };
    if g.json {
        view::print_json(&RunEvent::CutoverRequested {
            run: run.id.clone(),
            databases: args.database.clone(),
        });
    } else {
        outln!(
            "cutover requested for {which} in run {}. The running `ferry apply` (or the next \
             one) takes the tail-log backup and completes the restore; watch it there or with \
             `ferry status`.",
            run.id
        );
    }
    Exit::Ok
}
