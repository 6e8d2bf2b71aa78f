//! `baseline`: performance before and after the move to Azure SQL Managed Instance, per
//! database (one work item each). methods.md §6: keep the source's compatibility level at
//! cutover, have Query Store on, capture, then raise the level and compare.
//!
//! A migration has two steps of this plugin: `phase = "before"` on the source before cutover
//! and `phase = "after"` on the MI once the database is there. Each turns Query Store on when
//! asked (`enable_query_store`), waits a window (`window_minutes`, or `window_seconds`) while the workload runs,
//! and captures the top queries by total CPU, duration and logical reads (by `query_hash`,
//! with each plan's `query_plan_hash`) and the waits: Query Store's runtime and wait
//! statistics ("Monitor performance by using the Query Store"; the sys.query_store_* views),
//! or, on SQL Server before 2016 or with Query Store off, the difference of two reads of
//! sys.dm_exec_query_stats; instance waits from sys.dm_os_wait_stats over the window. The
//! `before` capture goes to the storage label `baseline_from`; `after` reads it back and
//! compares per query (regressions past `regression_ratio` with both plans' hashes), overall
//! and per wait category, then optionally raises the level and compares again.
//!
//! # Side effects, and why each is safe to repeat
//!
//! | Change (made in state) | Killed right after it, the journal holds | How the repeat converges |
//! |---|---|---|
//! | `ALTER DATABASE … SET QUERY_STORE = ON` (`Start`) | `Start` | Query Store reads READ_WRITE: not sent again |
//! | `ALTER DATABASE … SET COMPATIBILITY_LEVEL = <source's>` (`Start`, after) | `Start` | the level already matches: not sent again |
//! | the window's wait (`Window`, `Raised`) | the wait with its state | the host waits only what is left of it; the capture reads the window that ran |
//! | the baseline's write (`Window`, before) | `Window` | the capture is made again and the object replaced |
//! | `ALTER DATABASE … SET COMPATIBILITY_LEVEL = <raised>` (`Window`, after) | `Window` | the kept-level capture is made again at the level its window started with (Query Store keeps its intervals), then the same level set again |
//!
//! A plan (`ferry plan`) reads the server and records the changes it would make, without
//! waiting or capturing.
//!
//! # Output (what the report reads)
//!
//! - `before`: `{"plugin": "baseline", "phase": "before", "database", "kept_in", "origin",
//!   "compatibility_level", "product_version", "window_seconds", "captured_at", "totals",
//!   "waits", "truncated", "notes", "queries": [{"query_hash", "text", "executions",
//!   "avg_cpu_us", "avg_duration_us", "avg_logical_reads", "plan_hash", "plans"}]}`; the whole
//!   [`model::Capture`] is the object written to `baseline_from`.
//! - `after`: `{"plugin": "baseline", "phase": "after", "database", "regressions",
//!   "baseline": {…totals}, "after": {…totals}, "comparison": compare::Comparison,
//!   "series": {"queries": {"labels", "verdicts", "before_avg_cpu_us", "after_avg_cpu_us",
//!   "before_avg_duration_us", "after_avg_duration_us", "before_avg_logical_reads",
//!   "after_avg_logical_reads"}, "waits": {"source", "categories", "before_ms_per_minute",
//!   "after_ms_per_minute"}}, "raised": null | {"comparison", "series"}, "trimmed": null |
//!   why}`: parallel lists, one entry per query compared on both sides and per wait
//!   category, ready for bar charts ([`output`] keeps it within the host's 1 MiB).
//!
//! Rows: `query` / `query-raised` per query (status from [`report::status`]), `wait` /
//! `wait-raised` per category, `performance` / `performance-raised` per database, `baseline`
//! for a `before` capture.
//!
//! # Modules
//!
//! ```text
//! lib ── before ── capture ── reads ── waits      after ── compare ── model
//!   │        │          ├── snapshot (the plan cache's first read)
//!   │        │          └── server
//!   │        ├── store ── model                     ├── report ── compare
//!   │        └── output ── report                   └── output
//!   └── state (State, the window's wait)      sql (reads, cells)   config
//! ```

mod after;
mod before;
mod capture;
pub mod compare;
pub mod config;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod output;
mod reads;
pub mod report;
pub mod server;
mod snapshot;
mod sql;
mod state;
mod store;
pub mod waits;

use ferry_sdk::prelude::*;
use serde_json::json;

use config::{Config, Phase};
pub use state::State;

pub struct Baseline;

impl Plugin for Baseline {
    const NAME: &'static str = "baseline";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Captures Query Store (or plan-cache) figures and waits over a window on the source before cutover and on the Managed Instance after it, and compares them per query: regressions with both plans' hashes, overall ratios, waits that grew";
    type Config = Config;
    type State = State;

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        config.validate()
    }

    // Both SQL labels are declared though each phase uses one: a need cannot depend on the
    // config, and a read grant on the other side changes nothing. Writes (Query Store on, the
    // compatibility level) are asked of the grant only when the config asks for them.
    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Read,
                "before: reads Query Store (or the plan cache) and the waits on the source; write \
                 to turn Query Store on (enable_query_store)",
            ),
            need(
                CapabilityKind::Sql,
                "target",
                Access::Read,
                "after: reads the same on the Managed Instance; write to turn Query Store on, to \
                 keep the source's compatibility level or raise it",
            ),
            need(
                CapabilityKind::Storage,
                "baseline_from",
                Access::Read,
                "before writes the baseline there (write grant), after reads it back",
            ),
        ]
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start => start(cx),
            State::Window { w, .. } => match cx.config().phase() {
                Phase::Before => before::captured(cx, w),
                Phase::After => after::compared(cx, w),
            },
            State::Raised { w, kept, .. } => after::raised(cx, w, *kept),
        }
    }
}

fn start(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let item = cx.item().to_owned();
    let (label, db) = (cfg.label().to_owned(), cfg.database(&item));
    let (mut notes, mut must_wait) = (Vec::new(), false);
    if cfg.phase() == Phase::After {
        // The baseline first: an hour's window is not waited for a comparison that cannot be
        // made. A plan is made before the `before` step ran, so there it may be missing.
        match store::load(cx, &item) {
            Ok(baseline) => {
                if let Some((note, changed)) = after::keep_level(cx, &label, &db, &baseline)? {
                    notes.push(note);
                    must_wait = changed;
                }
            }
            Err(_) if cx.planning() => {}
            Err(e) => return Err(e),
        }
    }
    let mut w = capture::begin(cx, &label, &db, must_wait)?;
    for n in &notes {
        cx.info(n);
    }
    w.notes.extend(notes);
    if cx.planning() {
        return Ok(Outcome::Done(json!({
            "plugin": "baseline",
            "phase": cfg.phase(),
            "database": item,
            "planned": true,
            "origin": w.origin,
            "notes": w.notes,
        })));
    }
    Ok(state::open(cx, w, |w, until_ms| State::Window {
        w,
        until_ms,
    }))
}

ferry_sdk::register!(Baseline);
