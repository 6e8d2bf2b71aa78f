//! Operator signals: `ferry cutover` records a `signal` event for a work item in the run's
//! journal, from another process if need be; a plugin asks `signals.requested("cutover")` on
//! its next step call. Kept in the journal so a signal survives a restart of the run.

use crate::events::RunEvent;
use crate::journal::SharedJournal;

/// The journal's name for [`RunEvent::Signal`], by which signals are looked up.
pub const EVENT: &str = "signal";

/// The event that sends signal `name`.
pub fn signal(name: &str) -> RunEvent {
    RunEvent::Signal {
        name: name.to_owned(),
    }
}

/// Where a run's signals are read from.
#[derive(Clone, Default)]
pub struct Signals {
    source: Option<(String, SharedJournal)>,
}

impl Signals {
    /// Signals of `run`, read from `journal`.
    pub fn new(run: &str, journal: SharedJournal) -> Signals {
        Signals {
            source: Some((run.to_owned(), journal)),
        }
    }

    /// Whether `name` was sent to `item` (or to every item: an event with no item).
    pub fn requested(&self, item: &str, name: &str) -> bool {
        let Some((run, journal)) = &self.source else {
            return false;
        };
        let events = journal
            .lock()
            .events_of_kind(run, EVENT)
            .unwrap_or_default();
        events.iter().any(|e| {
            matches!(&e.event, RunEvent::Signal { name: sent } if sent == name)
                && e.item.as_deref().is_none_or(|i| i == item)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Journal, SqliteJournal};
    use parking_lot::Mutex;
    use std::sync::Arc;

    #[test]
    fn a_signal_reaches_its_item_or_every_item() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = SqliteJournal::with_test_run(dir.path(), "lrs", &["Sales", "Hr"]);
        let cut = signal("cutover");
        j.add_event("r1", None, Some("Sales"), &cut).unwrap();
        // Another kind of event that happens to carry the same text is not a signal.
        let log = RunEvent::Plugin(crate::events::PluginEvent::Log {
            level: crate::events::LogLevel::Info,
            message: "cutover".into(),
        });
        j.add_event("r1", None, Some("Hr"), &log).unwrap();
        let shared: SharedJournal = Arc::new(Mutex::new(Box::new(j)));
        let s = Signals::new("r1", shared.clone());
        assert!(s.requested("Sales", "cutover"));
        assert!(!s.requested("Hr", "cutover"), "sent to Sales only");
        assert!(!s.requested("Sales", "pause"), "another signal");
        assert!(!Signals::default().requested("Sales", "cutover"));
        shared.lock().add_event("r1", None, None, &cut).unwrap();
        assert!(s.requested("Hr", "cutover"), "sent to every item");
    }
}
