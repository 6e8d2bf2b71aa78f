//! How a work item moves from one status to the next. Each move is journaled and then announced
//! as a run event, both from one [`Transition`], so what `ferry status` reads and what the views
//! and `--json` show cannot disagree.

use std::time::Duration;

use super::error::ApplyError;
use super::run_log::RunLog;
use crate::bindings::types::{Outcome, WaitFor, WaitRequest};
use crate::events::RunEvent;
use crate::journal::{CallEnd, ItemRecord, ItemStatus, WaitRecord, now_ms};

/// A move of one work item.
#[derive(Debug)]
pub(super) enum Transition {
    /// A step call begins, as the `attempt`th try of the item's current state.
    Started {
        attempt: u32,
    },
    /// The call returned the state to call the step with next.
    Next {
        state: String,
    },
    /// The call returned the state to call the step with once `wait` is over.
    Waiting {
        state: String,
        wait: WaitRecord,
    },
    /// The wait is over; the next call starts from the same state.
    WaitOver,
    /// The step is done; `output` is what the plugin returned.
    Done {
        output: String,
    },
    /// The `attempt`th try failed in a way worth retrying; the same state is tried again after
    /// `retry_in`.
    Retrying {
        attempt: u32,
        error: String,
        retry_in: Duration,
    },
    Failed {
        error: String,
    },
    /// The `attempt`th try failed transiently after the retry window: the next `ferry apply`
    /// tries again.
    Deferred {
        attempt: u32,
        error: String,
    },
    /// An earlier step of the database did not finish.
    Skipped {
        reason: String,
    },
}

impl From<Outcome> for Transition {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Next(state) => Transition::Next { state },
            Outcome::Wait(w) => Transition::Waiting {
                wait: wait_record(&w),
                state: w.state,
            },
            Outcome::Done(output) => Transition::Done { output },
        }
    }
}

/// A plugin's wait as the journal keeps it: a duration becomes a point in time, so a resumed
/// run waits only for what is left.
fn wait_record(w: &WaitRequest) -> WaitRecord {
    let (until_unix_ms, operation) = match &w.until {
        WaitFor::DurationMs(ms) => (Some((now_ms() as u64).saturating_add(*ms)), None),
        WaitFor::UntilUnixMs(t) => (Some(*t), None),
        WaitFor::Operation(id) => (None, Some(id.clone())),
    };
    WaitRecord {
        until_unix_ms,
        operation,
        reason: w.reason.clone(),
    }
}

/// What the plugin returned, for the `item-done` event: its JSON, or its text if not JSON.
fn plugin_output(output: String) -> serde_json::Value {
    serde_json::from_str(&output).unwrap_or(serde_json::Value::String(output))
}

impl RunLog {
    /// Journals `item`'s move, refreshes `item` from the journal, then emits the move's event.
    /// Returns the item's new status.
    pub(super) fn transition(
        &self,
        item: &mut ItemRecord,
        to: Transition,
    ) -> Result<ItemStatus, ApplyError> {
        let id = item.id;
        let event = self.journal(|j| {
            let event = match to {
                Transition::Started { attempt } => {
                    j.begin_call(id, attempt)?;
                    let call = item.calls + 1;
                    Some(RunEvent::ItemStarted { attempt, call })
                }
                Transition::Next { state } => {
                    j.end_call(id, &CallEnd::Next { state })?;
                    None
                }
                Transition::Waiting { state, wait } => {
                    let event = RunEvent::ItemWaiting(wait.clone());
                    j.end_call(id, &CallEnd::Wait { state, wait })?;
                    Some(event)
                }
                Transition::WaitOver => {
                    j.clear_wait(id)?;
                    None
                }
                Transition::Done { output } => {
                    j.end_call(
                        id,
                        &CallEnd::Done {
                            output: output.clone(),
                        },
                    )?;
                    let output = plugin_output(output);
                    let calls = item.calls;
                    Some(RunEvent::ItemDone { calls, output })
                }
                Transition::Retrying {
                    attempt,
                    error,
                    retry_in,
                } => {
                    j.end_call(
                        id,
                        &CallEnd::Retry {
                            error: error.clone(),
                        },
                    )?;
                    let retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
                    Some(RunEvent::ItemRetry {
                        attempt,
                        error,
                        retry_in_ms,
                    })
                }
                Transition::Failed { error } => {
                    j.end_call(
                        id,
                        &CallEnd::Failed {
                            error: error.clone(),
                        },
                    )?;
                    Some(RunEvent::ItemFailed { error })
                }
                Transition::Deferred { attempt, error } => {
                    j.end_call(
                        id,
                        &CallEnd::Deferred {
                            error: error.clone(),
                        },
                    )?;
                    Some(RunEvent::ItemDeferred { attempt, error })
                }
                Transition::Skipped { reason } => {
                    j.skip(id, &reason)?;
                    Some(RunEvent::ItemSkipped { reason })
                }
            };
            *item = j.item(id)?;
            Ok(event)
        })?;
        if let Some(event) = event {
            self.item_event(&item.step, &item.item, event);
        }
        Ok(item.status)
    }
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::events::Envelope;
    use crate::journal::{Journal, SharedJournal, SqliteJournal};
    use crate::pipeline::Observer;

    #[derive(Default)]
    struct Seen(Mutex<Vec<Envelope>>);

    impl Observer for Seen {
        fn on(&self, e: &Envelope) {
            self.0.lock().push(e.clone());
        }
    }

    /// A run of two items (Sales and Hr through `restore`), its log, and what its observer saw.
    fn run() -> (tempfile::TempDir, RunLog, Arc<Seen>, Vec<ItemRecord>) {
        let dir = tempfile::tempdir().unwrap();
        let j = SqliteJournal::with_test_run(dir.path(), "restore", &["Sales", "Hr"]);
        let items = j.items("r1").unwrap();
        let journal: SharedJournal = Arc::new(Mutex::new(Box::new(j)));
        let seen = Arc::new(Seen::default());
        let log = RunLog::new("r1", journal, seen.clone());
        (dir, log, seen, items)
    }

    fn journaled(log: &RunLog) -> Vec<RunEvent> {
        let events = log.journal(|j| j.events("r1")).unwrap();
        events.into_iter().map(|e| e.event).collect()
    }

    #[test]
    fn each_move_is_journaled_and_announced_as_one() {
        let (_dir, log, seen, mut items) = run();
        let sales = &mut items[0];
        let wait = WaitRecord {
            until_unix_ms: Some(5),
            operation: None,
            reason: "backup not yet in storage".into(),
        };
        let moves = [
            (Transition::Started { attempt: 1 }, ItemStatus::Running),
            (
                Transition::Waiting {
                    state: "s1".into(),
                    wait: wait.clone(),
                },
                ItemStatus::Waiting,
            ),
            (Transition::WaitOver, ItemStatus::Running),
            (Transition::Started { attempt: 1 }, ItemStatus::Running),
            (
                Transition::Retrying {
                    attempt: 1,
                    error: "connection reset".into(),
                    retry_in: Duration::from_secs(2),
                },
                ItemStatus::Running,
            ),
            (Transition::Started { attempt: 2 }, ItemStatus::Running),
            (
                Transition::Done {
                    output: r#"{"ok":true}"#.into(),
                },
                ItemStatus::Done,
            ),
        ];
        for (to, status) in moves {
            let label = format!("{to:?}");
            assert_eq!(log.transition(sales, to).unwrap(), status, "{label}");
        }
        assert_eq!((sales.calls, sales.state.as_deref()), (3, Some("s1")));

        let expected = vec![
            RunEvent::ItemStarted {
                attempt: 1,
                call: 1,
            },
            RunEvent::ItemWaiting(wait),
            RunEvent::ItemStarted {
                attempt: 1,
                call: 2,
            },
            RunEvent::ItemRetry {
                attempt: 1,
                error: "connection reset".into(),
                retry_in_ms: 2000,
            },
            RunEvent::ItemStarted {
                attempt: 2,
                call: 3,
            },
            RunEvent::ItemDone {
                calls: 3,
                output: json!({ "ok": true }),
            },
        ];
        let seen = seen.0.lock();
        assert!(
            seen.iter()
                .all(|e| e.step.as_deref() == Some("restore") && e.item.as_deref() == Some("Sales"))
        );
        let shown: Vec<RunEvent> = seen.iter().map(|e| e.event.clone()).collect();
        assert_eq!(shown, expected);
        assert_eq!(journaled(&log), expected);
    }

    #[test]
    fn failing_and_skipping_keep_the_reason_on_the_item() {
        let (_dir, log, _seen, mut items) = run();
        let (sales, hr) = items.split_at_mut(1);
        log.transition(&mut sales[0], Transition::Started { attempt: 1 })
            .unwrap();
        let plain_output = Transition::Done {
            output: "not JSON".into(),
        };
        assert_eq!(
            log.transition(&mut sales[0], plain_output).unwrap(),
            ItemStatus::Done
        );
        let skipped = Transition::Skipped {
            reason: "step `backup` did not finish".into(),
        };
        assert_eq!(
            log.transition(&mut hr[0], skipped).unwrap(),
            ItemStatus::Skipped
        );
        assert_eq!(hr[0].error.as_deref(), Some("step `backup` did not finish"));
        let events = journaled(&log);
        assert_eq!(
            events[1..],
            [
                RunEvent::ItemDone {
                    calls: 1,
                    output: json!("not JSON"),
                },
                RunEvent::ItemSkipped {
                    reason: "step `backup` did not finish".into(),
                },
            ]
        );

        let (_dir, log, _seen, mut items) = run();
        let failed = Transition::Failed {
            error: "RESTORE failed".into(),
        };
        assert_eq!(
            log.transition(&mut items[0], failed).unwrap(),
            ItemStatus::Failed
        );
        assert_eq!(items[0].error.as_deref(), Some("RESTORE failed"));
        assert_eq!(
            journaled(&log),
            [RunEvent::ItemFailed {
                error: "RESTORE failed".into()
            }]
        );
    }
}
