//! What is journaled between step calls, and the wait for a window's end. The host journals
//! the wait with the state and, when ferry is restarted, waits only what is left of it, so
//! the call after a wait always finds its window ended.

use std::time::Duration;

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::capture::Window;
use crate::compare::Comparison;
use crate::config::Config;

#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    /// First call: the server read, Query Store turned on when asked, (after) the baseline
    /// read back and the source's compatibility level kept; the window opened.
    #[default]
    Start,
    /// A window runs until `until_ms` (ms since the epoch; 0: a history capture, at once).
    /// The call made with this state captures.
    Window { w: Window, until_ms: u64 },
    /// `after` with `raise_compatibility`: compared at the kept level (`kept`), the level
    /// raised to `level`, its window running.
    Raised {
        w: Window,
        until_ms: u64,
        kept: Box<Comparison>,
        level: i64,
    },
}

/// Opens a window: waits `window_minutes` when it waits, else goes on at once.
pub fn open(
    cx: &mut Context<'_, Config>,
    w: Window,
    then: impl FnOnce(Window, u64) -> State,
) -> Outcome<State> {
    if !w.waits_window {
        return Outcome::Next(then(w, 0));
    }
    let minutes = cx.config().window_minutes;
    let until = now_ms().saturating_add(u64::from(minutes) * 60_000);
    let why = format!(
        "capturing [{}]'s workload on `{}` for {minutes} min",
        w.db, w.label
    );
    cx.phase("window", Some(0.0), Some(&why));
    Outcome::wait_for(
        Duration::from_secs(u64::from(minutes) * 60),
        then(w, until),
        why,
    )
}
