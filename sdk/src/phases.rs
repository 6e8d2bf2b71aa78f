//! How long each phase of a work item took, kept in the plugin's state (so it survives
//! restarts) and returned in its output as `"phases"`, which ferry's report shows per
//! database.

use serde::{Deserialize, Serialize};

/// Phases in order, each `(name, started, ended)` in milliseconds since the Unix epoch; an
/// end of 0 marks the phase under way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phases(Vec<(String, u64, u64)>);

impl Phases {
    /// Ends the phase under way, if any, and starts `phase`.
    pub fn begin(&mut self, phase: &str) {
        self.begin_at(phase, now_ms());
    }

    /// Ends the phase under way.
    pub fn end(&mut self) {
        self.end_at(now_ms());
    }

    /// The phase under way, if any.
    pub fn under_way(&self) -> Option<&str> {
        self.0
            .last()
            .filter(|(_, _, ended)| *ended == 0)
            .map(|(p, ..)| p.as_str())
    }

    /// Milliseconds spent in the phases named `phase` so far (the one under way counts up to
    /// now).
    pub fn ms(&self, phase: &str) -> u64 {
        let now = now_ms();
        self.0
            .iter()
            .filter(|(p, ..)| p == phase)
            .map(|(_, a, b)| if *b == 0 { now } else { *b }.saturating_sub(*a))
            .sum()
    }

    /// The `"phases"` output the report reads: `[{"phase": …, "ms": …}]`.
    pub fn to_output(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|(p, a, b)| serde_json::json!({ "phase": p, "ms": b.saturating_sub(*a) }))
            .collect()
    }

    fn begin_at(&mut self, phase: &str, now: u64) {
        self.end_at(now);
        self.0.push((phase.to_owned(), now, 0));
    }

    fn end_at(&mut self, now: u64) {
        if let Some(last) = self.0.last_mut()
            && last.2 == 0
        {
            last.2 = now;
        }
    }
}

/// The wall clock in milliseconds since the Unix epoch (0 if the clock is before 1970). Under
/// `FakeHost::clock`, the fake clock.
pub fn now_ms() -> u64 {
    if let Some(fake) = FAKE_NOW.with(std::cell::Cell::get) {
        return fake;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

thread_local! {
    /// The fake clock of the FakeHost call running on this thread, if it has one. A plugin
    /// runs one call at a time on one thread, in wasm and under FakeHost alike.
    static FAKE_NOW: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Sets the fake clock for one FakeHost call; the previous value comes back when dropped.
pub(crate) struct FakeClock(Option<u64>);

impl FakeClock {
    pub(crate) fn set(now: Option<u64>) -> FakeClock {
        FakeClock(FAKE_NOW.with(|c| c.replace(now)))
    }
}

impl Drop for FakeClock {
    fn drop(&mut self) {
        FAKE_NOW.with(|c| c.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::Phases;

    #[test]
    fn a_phase_ends_when_the_next_begins_and_the_output_counts_each() {
        let mut p = Phases::default();
        p.begin_at("backup", 1_000);
        p.begin_at("restore", 4_000);
        assert_eq!(p.under_way(), Some("restore"));
        p.end_at(10_000);
        assert_eq!(p.under_way(), None);
        p.end_at(20_000);
        assert_eq!(
            p.to_output(),
            serde_json::json!([{ "phase": "backup", "ms": 3000 }, { "phase": "restore", "ms": 6000 }])
        );
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"[["backup",1000,4000],["restore",4000,10000]]"#,
            "stored as the plain list native-restore's state always held"
        );
    }
}
