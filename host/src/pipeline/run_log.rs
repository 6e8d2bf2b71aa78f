//! The run's event log: every event goes to the observer (the live view, `--json`), and all
//! but progress to the journal; an item's latest progress line is kept on the item for
//! `ferry status`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::observer::{Observer, RunEvent};
use super::run::ApplyError;
use crate::events::{EventSink, PluginEvent};
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

    pub(super) fn event(&self, event: &str, step: Option<&str>, item: Option<&str>, data: Value) {
        let data = match data {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        let ev = RunEvent {
            event: event.to_owned(),
            run: self.run.clone(),
            step: step.map(str::to_owned),
            item: item.map(str::to_owned),
            data,
        };
        // Progress is shown live and not journaled as events: it is superseded at once and can
        // be frequent. Its latest line is kept on the item, for `ferry status` in another shell.
        if event == "progress" {
            if let (Some(step), Some(item)) = (step, item) {
                self.note_progress(step, item, &ev.data);
            }
        } else {
            let mut j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = j.add_event(
                &self.run,
                step,
                item,
                event,
                &Value::Object(ev.data.clone()),
            ) {
                tracing::warn!("cannot journal event {event}: {e:#}");
            }
        }
        self.observer.on(&ev);
    }

    /// Keeps an item's latest progress line in the journal: when it changed, at most once a
    /// second per item (an upload reports many times a second; a second is what a person
    /// polling `ferry status` can see). A line held back is written by [`Self::flush_progress`].
    fn note_progress(&self, step: &str, item: &str, data: &Map<String, Value>) {
        let line = progress_line(data);
        let key = (step.to_owned(), item.to_owned());
        let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
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
        let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = noted.get_mut(&(step.to_owned(), item.to_owned()))
            && !entry.journaled
        {
            self.write_progress(step, item, entry);
        }
    }

    fn write_progress(&self, step: &str, item: &str, entry: &mut Noted) {
        let mut j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
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
        let mut j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        f(j.as_mut()).map_err(ApplyError::Journal)
    }
}

impl EventSink for RunLog {
    fn emit(&self, step: &str, item: &str, event: PluginEvent) {
        let value = serde_json::to_value(&event).unwrap_or(Value::Null);
        let kind = value
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or("plugin")
            .to_owned();
        let mut data = value;
        if let Value::Object(m) = &mut data {
            m.remove("event");
        }
        self.event(&kind, Some(step), Some(item), data);
    }
}

struct Noted {
    line: String,
    journaled: bool,
    written_at: Instant,
}

/// "phase: message (42%)" from a progress event's data.
pub fn progress_line(data: &Map<String, Value>) -> String {
    let mut line = String::new();
    for key in ["phase", "message"] {
        if let Some(t) = data
            .get(key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(t);
        }
    }
    if let Some(f) = data.get("fraction").and_then(Value::as_f64) {
        line.push_str(&format!(" ({:.0}%)", f * 100.0));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::progress_line;
    use serde_json::json;

    #[test]
    fn a_progress_line_has_phase_message_and_percentage_when_known() {
        let line = |v: serde_json::Value| progress_line(v.as_object().unwrap());
        assert_eq!(
            line(json!({ "phase": "restoring", "message": "restored a.trn", "fraction": null })),
            "restoring: restored a.trn"
        );
        assert_eq!(
            line(json!({ "phase": "upload", "fraction": 0.424 })),
            "upload (42%)"
        );
        assert_eq!(line(json!({})), "");
    }
}
