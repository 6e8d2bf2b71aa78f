//! One capture: how it is made on this server (Query Store or the plan cache; which waits),
//! the reads at the window's start, and the capture at its end.

use std::collections::BTreeSet;

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::text;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::model::{Capture, FORMAT, Origin, summarize, top};
use crate::reads;
use crate::reads::Since;
use crate::server::{self, Facts};
use crate::snapshot::{self, Cached, SNAPSHOT_ROWS};
use crate::sql::rows;
use crate::waits::{Snapshot, WaitFigure, Waits, delta};

/// A window under way: what was decided and read at its start. Journaled while it runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Window {
    pub label: String,
    pub db: String,
    pub facts: Facts,
    pub origin: Option<Origin>,
    /// Query Store keeps this database's waits (2017 and later, capture mode ON).
    pub store_waits: bool,
    /// The capture waits the window (else it reads Query Store's history).
    pub waits_window: bool,
    /// sys.dm_os_wait_stats at the start (when waiting).
    pub os_waits: Option<Snapshot>,
    /// sys.dm_exec_query_stats at the start (when captured from the plan cache).
    pub cache: Option<Vec<Cached>>,
    /// The server's time at the start of a waited Query Store window, and Query Store's
    /// totals and waits then, of the intervals ending after it (see [`reads`]).
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub store: Option<Vec<Cached>>,
    #[serde(default)]
    pub store_waits_start: Option<Vec<WaitFigure>>,
    pub notes: Vec<String>,
}

/// Decides how to capture `db` on `label` (turning Query Store on when asked and needed)
/// and makes the window's first reads. `must_wait`: the history does not show what is to be
/// captured (the compatibility level was just changed), so the window is waited whatever
/// `wait` says.
pub fn begin(
    cx: &mut Context<'_, Config>,
    label: &str,
    db: &str,
    must_wait: bool,
) -> Result<Window> {
    let cfg = cx.config().clone();
    let facts = server::facts(cx, label, db)?;
    let mut w = Window {
        label: label.to_owned(),
        db: db.to_owned(),
        waits_window: cfg.wait || must_wait,
        ..Window::default()
    };
    if facts.has_query_store() {
        let mut state = server::store_state(cx, label, db, &facts)?;
        let usable = |s: &server::StoreState, waits: bool| {
            if waits { s.records() } else { s.readable() }
        };
        if !usable(&state, w.waits_window) && cfg.enable_query_store {
            server::enable_query_store(cx, label, db)?;
            w.notes.push(format!(
                "Query Store was {} and was turned on (READ_WRITE): the window starts now",
                state.actual
            ));
            // There is no history yet: the window is the workload from now on.
            w.waits_window = true;
            if !cx.planning() {
                state = server::store_state(cx, label, db, &facts)?;
            } else {
                state.actual = "READ_WRITE".into();
            }
        }
        if usable(&state, w.waits_window) {
            w.origin = Some(Origin::QueryStore);
            w.store_waits = facts.has_query_store_waits() && state.wait_capture == "ON";
        } else {
            let fix = if cfg.enable_query_store {
                "it stayed so after `SET QUERY_STORE = ON`: see readonly_reason in \
                 sys.database_query_store_options (\"Best practices for managing the Query \
                 Store\": an ERROR state needs `SET QUERY_STORE CLEAR` or \
                 sp_query_store_consistency_check)"
            } else {
                "set `enable_query_store = true` (with a write grant) to turn it on"
            };
            let why = format!(
                "Query Store is {} in [{db}] on `{label}`{}; captured from \
                 sys.dm_exec_query_stats instead (plan-cache totals over the window): {fix}",
                if state.actual.is_empty() {
                    "not readable"
                } else {
                    &state.actual
                },
                if state.readonly_reason != 0 {
                    format!(" (readonly_reason {})", state.readonly_reason)
                } else {
                    String::new()
                }
            );
            cx.warn(&why);
            w.notes.push(why);
        }
    } else {
        let why = format!(
            "`{label}` is {} ({}): Query Store exists from SQL Server 2016; captured from \
             sys.dm_exec_query_stats instead (plan-cache totals over the window)",
            ferry_sdk::sql_version::SqlVersion::parse(&facts.product_version)
                .map_or_else(|| "an unknown version".to_owned(), |v| v.release()),
            facts.product_version
        );
        cx.warn(&why);
        w.notes.push(why);
    }
    let origin = *w.origin.get_or_insert(Origin::ExecQueryStats);
    if origin == Origin::ExecQueryStats {
        // Plan-cache totals run since each plan was cached: only a difference is a window.
        w.waits_window = true;
        let (kept, cut) = snapshot::keep(reads::plan_cache(cx, label, db)?.0);
        if cut {
            w.notes.push(format!(
                "more than {SNAPSHOT_ROWS} plans were cached at the window's start: the \
                 smallest count with their totals since they were cached"
            ));
        }
        w.cache = Some(kept);
    }
    if origin == Origin::QueryStore && w.waits_window {
        let (start, _) = server_now(cx, label, db)?;
        let (rows, _) = reads::query_store(cx, label, db, Since::Start(&start))?;
        let (kept, cut) = snapshot::keep(rows);
        if cut {
            w.notes.push(format!(
                "Query Store held more than {SNAPSHOT_ROWS} plans at the window's start: the \
                 smallest count with their interval's executions from before it"
            ));
        }
        w.store = Some(kept);
        if w.store_waits {
            w.store_waits_start = Some(reads::query_store_waits(
                cx,
                label,
                db,
                Since::Start(&start),
            )?);
        }
        w.started_at = Some(start);
    }
    if w.waits_window {
        w.os_waits = Some(reads::os_waits(cx, label)?);
    }
    w.facts = facts;
    Ok(w)
}

/// The capture at the window's end. `also`: query hashes kept whatever their rank (the
/// baseline's).
pub fn finish(
    cx: &mut Context<'_, Config>,
    mut w: Window,
    also: &BTreeSet<String>,
) -> Result<Capture> {
    let cfg = cx.config().clone();
    let (label, db) = (w.label.clone(), w.db.clone());
    // The window ran at the level read at its start (the one this plugin set, when it set
    // one). A call made again after a kill that followed a raise reads the raised level
    // here, but the window it captures ran before: the start's level stays the capture's.
    let (captured_at, end_level) = server_now(cx, &label, &db)?;
    if let Some(level) = end_level.filter(|l| *l != w.facts.compatibility_level) {
        w.notes.push(format!(
            "the compatibility level was {} at the window's start and is {level} at its end",
            w.facts.compatibility_level
        ));
    }
    let origin = w.origin.unwrap_or(Origin::ExecQueryStats);
    let (rows, truncated) = match origin {
        Origin::QueryStore => match (&w.started_at, w.store.take()) {
            (Some(t), Some(start)) => {
                let (end, truncated) = reads::query_store(cx, &label, &db, Since::Start(t))?;
                (snapshot::delta(&start, &end), truncated)
            }
            _ => {
                w.notes.push(
                    "read from Query Store's history: its rows hold whole intervals, so the \
                     totals per minute may count executions from up to an interval before the \
                     window (averages per execution do not depend on that)"
                        .into(),
                );
                reads::query_store(cx, &label, &db, Since::Last(cfg.window_secs()))?
            }
        },
        Origin::ExecQueryStats => {
            let (end, truncated) = reads::plan_cache(cx, &label, &db)?;
            let start = w.cache.take().unwrap_or_default();
            (snapshot::delta(&start, &end), truncated)
        }
    };
    let mut waits = Waits::default();
    if w.store_waits {
        waits.query_store = Some(match (&w.started_at, &w.store_waits_start) {
            (Some(t), Some(start)) => {
                let end = reads::query_store_waits(cx, &label, &db, Since::Start(t))?;
                crate::waits::less(&end, start)
            }
            _ => reads::query_store_waits(cx, &label, &db, Since::Last(cfg.window_secs()))?,
        });
    }
    if let Some(start) = &w.os_waits {
        let end = reads::os_waits(cx, &label)?;
        let (figures, reset) = delta(start, &end);
        waits.instance = Some(figures);
        waits.instance_reset = reset;
    }
    let (all, totals) = summarize(&rows);
    let queries = top(all, cfg.top as usize, also);
    if truncated {
        w.notes.push(format!(
            "more than {} (query, plan) pairs ran in the window: the smallest were left out \
             of the totals",
            crate::sql::MAX_ROWS
        ));
    }
    Ok(Capture {
        format: FORMAT.into(),
        database: db,
        product_version: w.facts.product_version.clone(),
        engine_edition: w.facts.engine_edition,
        compatibility_level: w.facts.compatibility_level,
        origin,
        window_seconds: cfg.window_secs(),
        captured_at,
        queries,
        totals,
        waits,
        truncated,
        notes: w.notes,
    })
}

/// The server's time (`SYSUTCDATETIME()`, as it sent it) and `db`'s compatibility level.
fn server_now(
    cx: &mut Context<'_, Config>,
    label: &str,
    db: &str,
) -> Result<(String, Option<i64>)> {
    let sql = format!(
        "SELECT SYSUTCDATETIME() AS now, d.compatibility_level \
         FROM sys.databases AS d WHERE d.name = {}",
        ferry_sdk::tsql_text::quote_text(db)
    );
    let (now, _) = rows(cx, label, &sql)?;
    Ok((
        now.first().map(|r| text(r.first())).unwrap_or_default(),
        now.first().map(|r| ferry_sdk::sql_value::int(r.get(1))),
    ))
}
