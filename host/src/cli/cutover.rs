//! `ferry cutover`, `ferry failback`, `ferry finish` and `ferry cancel`: each journals a signal
//! for a run's databases (all, or those named). The running `ferry apply` — or the next one, if
//! none runs — hands it to the plugins: `cutover` makes the `lrs` plugin take the tail-log
//! backup and complete the restore, the `mi-link` plugin fail over and the `dms` plugin cut
//! over; `failback` and `finish` are the `mi-link` plugin's, for a link kept after its cutover;
//! `cancel` is the `dms` plugin's.

use super::common::{error, open_journal};
use super::{CutoverArgs, Exit, Global, view};
use crate::events::RunEvent;
use crate::journal::{Journal, RunStatus};
use crate::signals;

/// The signals these commands send, by the name plugins ask `signals.requested` for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    Cutover,
    /// Sent beside `cutover` by `ferry cutover --allow-data-loss`.
    ForceFailover,
    Failback,
    Finish,
    Cancel,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Cutover => "cutover",
            Signal::ForceFailover => "force-failover",
            Signal::Failback => "failback",
            Signal::Finish => "finish",
            Signal::Cancel => "cancel",
        }
    }

    /// What the running apply does with it, for the confirmation line.
    fn effect(self) -> &'static str {
        match self {
            Signal::Cutover => {
                "The running `ferry apply` (or the next one) cuts over: LRS takes the tail-log \
                 backup and completes the restore; an MI link switches to synchronous commit, \
                 waits for equal LSNs and fails over"
            }
            Signal::ForceFailover => {
                "The running `ferry apply` (or the next one) forces the MI link's failover: \
                 transactions the MI had not hardened are lost"
            }
            Signal::Failback => {
                "The running `ferry apply` (or the next one) fails the MI link back to SQL Server \
                 once the LSNs are equal and stable"
            }
            Signal::Finish => {
                "The running `ferry apply` (or the next one) ends the databases' wait after \
                 cutover as the step's settings say"
            }
            Signal::Cancel => {
                "The running `ferry apply` (or the next one) cancels the DMS migrations this run \
                 started (and deletes their records with `delete_on_cancel`); the databases on \
                 the MI are left as DMS leaves them"
            }
        }
    }
}

pub(super) fn cutover(g: &Global, args: &CutoverArgs) -> Exit {
    if args.allow_data_loss {
        // The force signal first: a plugin that sees `cutover` must already see how.
        match send_quiet(g, args, Signal::ForceFailover) {
            Ok(_) => {}
            Err(code) => return code,
        }
    }
    send(g, args, Signal::Cutover)
}

pub(super) fn send(g: &Global, args: &CutoverArgs, signal: Signal) -> Exit {
    if args.allow_data_loss && !matches!(signal, Signal::Cutover | Signal::ForceFailover) {
        return error(
            g,
            Exit::InvalidInput,
            "--allow-data-loss belongs to `ferry cutover` only (a forced failover to the MI)",
        );
    }
    let run = match send_quiet(g, args, signal) {
        Ok(run) => run,
        Err(code) => return code,
    };
    let which = if args.database.is_empty() {
        "every database".to_owned()
    } else {
        args.database.join(", ")
    };
    if g.json {
        let event = match signal {
            Signal::Cutover => RunEvent::CutoverRequested {
                run: run.clone(),
                databases: args.database.clone(),
            },
            other => RunEvent::SignalSent {
                run: run.clone(),
                signal: other.name().to_owned(),
                databases: args.database.clone(),
            },
        };
        view::print_json(&event);
    } else {
        outln!(
            "{} requested for {which} in run {run}. {}; watch it there or with `ferry status`.",
            signal.name(),
            signal.effect()
        );
    }
    Exit::Ok
}

/// Journals `signal` for the databases named (or all) of the latest run, which must still be
/// running; the run's id.
fn send_quiet(g: &Global, args: &CutoverArgs, signal: Signal) -> Result<String, Exit> {
    let mut journal = open_journal(g, &args.migration, args.state_dir.as_deref())?;
    let run = match journal.latest_run() {
        Ok(Some(r)) => r,
        Ok(None) => return Err(error(g, Exit::InvalidInput, "the journal holds no run yet")),
        Err(e) => return Err(error(g, Exit::Internal, &format!("{e:#}"))),
    };
    if run.status != RunStatus::Running {
        return Err(error(
            g,
            Exit::Refused,
            &format!(
                "run {} has already ended; there is nothing to {}",
                run.id,
                match signal {
                    Signal::Cutover | Signal::ForceFailover => "cut over",
                    Signal::Failback =>
                        "fail back (a link is kept for failback only while its step waits after cutover: set `keep_link = true`)",
                    Signal::Finish => "finish",
                    Signal::Cancel => "cancel",
                }
            ),
        ));
    }
    let items = journal
        .items(&run.id)
        .map_err(|e| error(g, Exit::Internal, &format!("{e:#}")))?;
    for db in &args.database {
        if !items.iter().any(|i| &i.item == db) {
            let known: Vec<&str> = items.iter().map(|i| i.item.as_str()).collect();
            return Err(error(
                g,
                Exit::InvalidInput,
                &format!(
                    "run {} has no database `{db}` (it has: {})",
                    run.id,
                    known.join(", ")
                ),
            ));
        }
    }
    let targets: Vec<Option<&str>> = if args.database.is_empty() {
        vec![None]
    } else {
        args.database.iter().map(|d| Some(d.as_str())).collect()
    };
    for item in &targets {
        journal
            .add_event(&run.id, None, *item, &signals::signal(signal.name()))
            .map_err(|e| error(g, Exit::Internal, &format!("{e:#}")))?;
    }
    Ok(run.id)
}
