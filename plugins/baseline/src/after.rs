//! `after`: the same capture on the Managed Instance at the source's compatibility level,
//! compared with the baseline; then, when asked, at a raised level, compared again
//! (methods.md §6: keep the source's level at cutover, capture, raise, compare).

use std::collections::BTreeSet;

use ferry_sdk::prelude::*;

use crate::capture::{self, Window};
use crate::compare::{Comparison, Judge, compare};
use crate::config::{Config, RegressionStatus};
use crate::model::Capture;
use crate::report;
use crate::server;
use crate::state::{State, open};
use crate::store;

fn judge(cfg: &Config) -> Judge {
    Judge {
        ratio: cfg.regression_ratio,
        min_executions: cfg.min_executions,
        min_wait_ms: cfg.min_wait_ms,
    }
}

/// Before the first window: the source's level kept on the MI. A restore keeps it already
/// (methods.md §6); one changed since is set back, and said (true: it was, so Query Store's
/// history is at another level and the window must be waited). Below 100 the MI cannot run
/// it.
pub fn keep_level(
    cx: &mut Context<'_, Config>,
    label: &str,
    db: &str,
    baseline: &Capture,
) -> Result<Option<(String, bool)>> {
    let facts = server::facts(cx, label, db)?;
    let want = baseline.compatibility_level;
    if facts.compatibility_level == want {
        return Ok(None);
    }
    if want < 100 {
        return Ok(Some((
            format!(
                "the source ran at level {want}, which a Managed Instance does not have (100 and \
             above); compared at the MI's level {}",
                facts.compatibility_level
            ),
            false,
        )));
    }
    server::set_level(cx, label, db, want)?;
    Ok(Some((
        format!(
            "[{db}] was at level {} on `{label}`: set back to the source's {want} before capturing",
            facts.compatibility_level
        ),
        true,
    )))
}

/// The baseline read back, the window's capture (keeping every query of the baseline) and
/// their comparison.
fn capture_and_compare(
    cx: &mut Context<'_, Config>,
    w: Window,
) -> Result<(Capture, Capture, Comparison)> {
    let item = cx.item().to_owned();
    let baseline = store::load(cx, &item)?;
    let hashes: BTreeSet<String> = baseline
        .queries
        .iter()
        .map(|q| q.query_hash.clone())
        .collect();
    let cap = capture::finish(cx, w, &hashes)?;
    let cmp = compare(&baseline, &cap, judge(cx.config()));
    Ok((baseline, cap, cmp))
}

/// The window at the kept level has ended: compare, then raise or finish.
pub fn compared(cx: &mut Context<'_, Config>, w: Window) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let (label, db) = (w.label.clone(), w.db.clone());
    let facts = w.facts.clone();
    let (baseline, cap, kept) = capture_and_compare(cx, w)?;
    if !cfg.raise_compatibility {
        return finish(cx, &baseline, &cap, kept, None);
    }
    let level = cfg
        .compatibility_level
        .map_or_else(|| facts.highest_level(), i64::from);
    if level <= cap.compatibility_level {
        cx.info(&format!(
            "[{db}] is at level {} already: not raised to {level}",
            cap.compatibility_level
        ));
        return finish(cx, &baseline, &cap, kept, None);
    }
    server::set_level(cx, &label, &db, level)?;
    // Query Store's history is at the old level: the raised level's window is waited.
    let mut w = capture::begin(cx, &label, &db, true)?;
    w.notes.push(format!(
        "level raised from {} to {level}",
        cap.compatibility_level
    ));
    let kept = Box::new(kept);
    Ok(open(cx, w, |w, until_ms| State::Raised {
        w,
        until_ms,
        kept,
        level,
    }))
}

/// The window at the raised level has ended: compare again and finish.
pub fn raised(cx: &mut Context<'_, Config>, w: Window, kept: Comparison) -> Result<Outcome<State>> {
    let (baseline, cap, again) = capture_and_compare(cx, w)?;
    finish(cx, &baseline, &cap, kept, Some(again))
}

/// The rows of both comparisons (made here, once, rather than as each window ends: a call
/// made again after a kill would report them twice), and the output.
fn finish(
    cx: &mut Context<'_, Config>,
    baseline: &Capture,
    cap: &Capture,
    kept: Comparison,
    raised: Option<Comparison>,
) -> Result<Outcome<State>> {
    let item = cx.item().to_owned();
    let stage = format!("at level {}", kept.after_level);
    report::rows(cx, &item, &kept, &stage, "query");
    report::charts(cx, &kept, &stage);
    if let Some(r) = &raised {
        let stage = format!("raised to {}", r.after_level);
        report::rows(cx, &item, r, &stage, "query-raised");
        report::charts(cx, r, &stage);
    }
    cx.phase("done", Some(1.0), Some("compared with the baseline"));
    let regressed: Vec<String> = kept
        .regressions()
        .chain(raised.iter().flat_map(Comparison::regressions))
        .map(|q| {
            let (b, a) = (q.before.as_ref(), q.after.as_ref());
            format!(
                "{} ({}: plan {} → {})",
                q.query_hash,
                q.text.chars().take(40).collect::<String>(),
                b.map_or("", |s| s.plan_hash.as_str()),
                a.map_or("", |s| s.plan_hash.as_str()),
            )
        })
        .collect();
    if cx.config().regression_status == RegressionStatus::Failed && !regressed.is_empty() {
        return Err(Error::failed(format!(
            "[{item}]: {} queries regressed past ×{} on the Managed Instance: {}",
            regressed.len(),
            cx.config().regression_ratio,
            regressed.join("; ")
        )));
    }
    Ok(Outcome::Done(crate::output::after(
        &item,
        baseline,
        cap,
        &kept,
        raised.as_ref(),
        regressed.len(),
    )))
}
