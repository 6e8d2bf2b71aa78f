//! The run's event log: every event goes to the observer (the live view, `--json`), and all
//! but progress to the journal; an item's latest progress line is kept on the item for
//! `ferry status`.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::ApplyError;
use super::observer::Observer;
use crate::events::{Envelope, EventSink, PluginEvent, Progress, RunEvent};
use crate::journal::{Journal, SharedJournal};

/// Journals events and passes them to the observer. Also the plugins' [`EventSink`].
pub(super) struct RunLog {
    pub(super) run: String,
    pub(super) journal: SharedJournal,
    observer: Arc<dyn Observer>,
    /// The latest progress line per (step, item): the line, whether it is journaled, and when
    /// a line was last journaled.
    noted: Mutex<HashMap<(String, String), Noted>>,
}

impl RunLog {
    pub(super) fn new(run: &str, journal: SharedJournal, observer: Arc<dyn Observer>) -> RunLog {
        RunLog {
            run: run.to_owned(),
            journal,
            observer,
            noted: Mutex::default(),
        }
    }

    /// An event of the whole run.
    pub(super) fn run_event(&self, event: RunEvent) {
        self.record(None, event);
    }

    /// An event of one work item.
    pub(super) fn item_event(&self, step: &str, item: &str, event: RunEvent) {
        self.record(Some((step, item)), event);
    }

    fn record(&self, work_item: Option<(&str, &str)>, event: RunEvent) {
        let (step, item) = work_item.unzip();
        // Progress is shown live and not journaled as events: it is superseded at once and can
        // be frequent. Its latest line is kept on the item, for `ferry status` in another shell.
        if let RunEvent::Plugin(PluginEvent::Progress(progress)) = &event {
            if let Some((step, item)) = work_item {
                self.note_progress(step, item, progress);
            }
        } else {
            let mut j = self.journal.lock();
            if let Err(e) = j.add_event(&self.run, step, item, &event) {
                tracing::warn!(?step, ?item, "cannot journal an event: {e:#}");
            }
        }
        self.observer.on(&Envelope {
            run: self.run.clone(),
            step: step.map(str::to_owned),
            item: item.map(str::to_owned),
            event,
        });
    }

    /// Keeps an item's latest progress line in the journal: when it changed, at most once a
    /// second per item (an upload reports many times a second; a second is what a person
    /// polling `ferry status` can see). A line held back is written by [`Self::flush_progress`].
    fn note_progress(&self, step: &str, item: &str, progress: &Progress) {
        let line = progress.line();
        let key = (step.to_owned(), item.to_owned());
        let mut noted = self.noted.lock();
        let due = match noted.get(&key) {
            Some(n) if n.line == line => return,
            Some(n) => n.written_at.elapsed() >= Duration::from_secs(1),
            None => true,
        };
        let entry = noted.entry(key).or_insert_with(|| Noted {
            line: String::new(),
            journaled: false,
            written_at: Instant::now(),
        });
        entry.line = line;
        entry.journaled = false;
        if due {
            self.write_progress(step, item, entry);
        }
    }

    /// Journals the item's latest progress line if the once-a-second limit held it back; called
    /// when a step call returns, so `ferry status` shows where the call left the item.
    pub(super) fn flush_progress(&self, step: &str, item: &str) {
        let mut noted = self.noted.lock();
        if let Some(entry) = noted.get_mut(&(step.to_owned(), item.to_owned()))
            && !entry.journaled
        {
            self.write_progress(step, item, entry);
        }
    }

    fn write_progress(&self, step: &str, item: &str, entry: &mut Noted) {
        let mut j = self.journal.lock();
        match j.set_progress(&self.run, step, item, &entry.line) {
            Ok(()) => {
                entry.journaled = true;
                entry.written_at = Instant::now();
            }
            Err(e) => tracing::warn!("cannot journal progress: {e:#}"),
        }
    }

    pub(super) fn journal<T>(
        &self,
        f: impl FnOnce(&mut dyn Journal) -> anyhow::Result<T>,
    ) -> Result<T, ApplyError> {
        let mut j = self.journal.lock();
        f(j.as_mut()).map_err(ApplyError::Journal)
    }
}

impl EventSink for RunLog {
    fn emit(&self, step: &str, item: &str, event: PluginEvent) {
        self.item_event(step, item, RunEvent::Plugin(event));
    }
}

struct Noted {
    line: String,
    journaled: bool,
    written_at: Instant,
}
