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

/// Opens a window: waits its length when it waits, else goes on at once.
pub fn open(
    cx: &mut Context<'_, Config>,
    w: Window,
    then: impl FnOnce(Window, u64) -> State,
) -> Outcome<State> {
    if !w.waits_window {
        return Outcome::Next(then(w, 0));
    }
    let seconds = cx.config().window_secs();
    let until = now_ms().saturating_add(seconds * 1000);
    let why = format!(
        "capturing [{}]'s workload on `{}` for {}",
        w.db,
        w.label,
        crate::report::window_text(seconds)
    );
    cx.phase("window", Some(0.0), Some(&why));
    Outcome::wait_for(Duration::from_secs(seconds), then(w, until), why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::snapshot::{Cached, SNAPSHOT_ROWS};

    /// The host refuses a state over 1 MiB (`MAX_STATE_BYTES`): the largest a raised level's
    /// window can journal must stay under it.
    #[test]
    fn the_largest_raised_window_fits_the_hosts_state_limit() {
        // top 100 on three orders after, plus a baseline of as many not seen after.
        let kept = crate::fixtures::widest_comparison(600, 1);
        let w = Window {
            label: "target".into(),
            db: "x".repeat(128),
            origin: Some(Origin::ExecQueryStats),
            waits_window: true,
            os_waits: Some(
                (0..1500)
                    .map(|i| (format!("WAIT_TYPE_NUMBER_{i:04}_LONG"), i64::MAX))
                    .collect(),
            ),
            cache: Some(
                (0..SNAPSHOT_ROWS)
                    .map(|_| {
                        Cached(
                            "0x0123456789ABCDEF".into(),
                            "0x0123456789ABCDEF".into(),
                            u64::MAX,
                            1.2e15,
                            1.2e15,
                            1.2e15,
                        )
                    })
                    .collect(),
            ),
            ..Window::default()
        };
        let state = State::Raised {
            w,
            until_ms: u64::MAX,
            kept: Box::new(kept),
            level: 160,
        };
        let bytes = serde_json::to_vec(&state).unwrap().len();
        assert!(bytes < 1 << 20, "{bytes} bytes");
    }
}
