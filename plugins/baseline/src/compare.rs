//! The comparison of two captures, per `query_hash`: what each query's average CPU time and
//! duration per execution did, with both plans' hashes; the overall ratios; the waits that
//! grew. Pure: no host calls.
//!
//! A query is matched by `query_hash` alone. Query Store's is "based on the logical query
//! tree" (sys.query_store_query) and the plan cache's is "calculated on the query" to group
//! queries that differ only by literals (sys.dm_exec_query_stats); the documentation does not
//! say the two are the same computation, so a query not found on the other side is listed as
//! such, never counted as an improvement.

use serde::{Deserialize, Serialize};

use crate::model::{Capture, Query, Totals};
use crate::waits::WaitFigure;

/// What happened to one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Average CPU time or duration grew past the ratio.
    Regressed,
    /// Neither grew past the ratio and one fell below the baseline's divided by it.
    Improved,
    Unchanged,
    /// Fewer executions than `min_executions` on a side: listed, not judged.
    TooFewExecutions,
    /// In the baseline, not run in the window after.
    NotSeenAfter,
    /// Among the top after, not in the baseline.
    NewAfter,
}

/// One side's figures for a query, per execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub executions: u64,
    pub avg_cpu_us: f64,
    pub avg_duration_us: f64,
    pub avg_logical_reads: f64,
    /// The plan with the most CPU in the window (every plan is in the capture; this is
    /// journaled while a raised level's window runs, so it stays small).
    pub plan_hash: String,
    /// How many plans the query ran with (at most the capture's `PLANS_KEPT`).
    pub plans: usize,
}

impl Side {
    fn of(q: &Query) -> Side {
        Side {
            executions: q.executions,
            avg_cpu_us: q.avg_cpu_us(),
            avg_duration_us: q.avg_duration_us(),
            avg_logical_reads: q.avg_logical_reads(),
            plan_hash: q.main_plan().to_owned(),
            plans: q.plans.len(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryComparison {
    pub query_hash: String,
    /// The start of the query's text, at most [`TEXT_SHOWN`] characters.
    pub text: String,
    pub verdict: Verdict,
    pub before: Option<Side>,
    pub after: Option<Side>,
    /// After ÷ before, per execution.
    pub cpu_ratio: Option<f64>,
    pub duration_ratio: Option<f64>,
    pub logical_reads_ratio: Option<f64>,
    /// The plan that used the most CPU after is none of the plans seen before.
    pub plan_changed: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitComparison {
    pub category: String,
    /// Milliseconds per minute of window, so windows of different lengths compare.
    pub before_ms_per_minute: f64,
    pub after_ms_per_minute: f64,
    pub grew: bool,
}

/// After ÷ before over the whole window (every query, per minute of window) and per
/// execution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratios {
    pub cpu: Option<f64>,
    pub duration: Option<f64>,
    pub logical_reads: Option<f64>,
    pub executions: Option<f64>,
    pub cpu_per_execution: Option<f64>,
    pub duration_per_execution: Option<f64>,
    pub logical_reads_per_execution: Option<f64>,
}

/// The settings a comparison judges by.
#[derive(Debug, Clone, Copy)]
pub struct Judge {
    pub ratio: f64,
    pub min_executions: u64,
    pub min_wait_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The compatibility levels the two windows ran at.
    pub before_level: i64,
    pub after_level: i64,
    pub queries: Vec<QueryComparison>,
    pub ratios: Ratios,
    /// Which waits were compared: `query_store` (this database's queries) when both sides
    /// have them, else `dm_os_wait_stats` (whole instances), else none.
    pub waits_source: Option<String>,
    pub waits: Vec<WaitComparison>,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &QueryComparison> {
        self.queries
            .iter()
            .filter(|q| q.verdict == Verdict::Regressed)
    }
}

/// Characters of a query's text a comparison keeps: it is journaled while a raised level's
/// window runs, within the host's 1 MiB state (the capture keeps more).
pub const TEXT_SHOWN: usize = 80;

fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(TEXT_SHOWN).collect();
    if text.chars().count() > TEXT_SHOWN {
        out.push('…');
    }
    out
}

/// `a ÷ b`, None when `b` is 0 (nothing to compare with).
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

fn judge_query(before: &Query, after: &Query, j: Judge) -> QueryComparison {
    let (b, a) = (Side::of(before), Side::of(after));
    let cpu_ratio = ratio(a.avg_cpu_us, b.avg_cpu_us);
    let duration_ratio = ratio(a.avg_duration_us, b.avg_duration_us);
    let verdict = if b.executions < j.min_executions || a.executions < j.min_executions {
        Verdict::TooFewExecutions
    } else {
        // A figure of 0 before that is not 0 after grew past any ratio.
        let grew = |r: Option<f64>, before: f64, after: f64| match r {
            Some(r) => r > j.ratio,
            None => before <= 0.0 && after > 0.0,
        };
        let fell = |r: Option<f64>| r.is_some_and(|r| r < 1.0 / j.ratio);
        if grew(cpu_ratio, b.avg_cpu_us, a.avg_cpu_us)
            || grew(duration_ratio, b.avg_duration_us, a.avg_duration_us)
        {
            Verdict::Regressed
        } else if fell(cpu_ratio) || fell(duration_ratio) {
            Verdict::Improved
        } else {
            Verdict::Unchanged
        }
    };
    QueryComparison {
        query_hash: before.query_hash.clone(),
        text: shown(&before.text),
        verdict,
        cpu_ratio,
        duration_ratio,
        logical_reads_ratio: ratio(a.avg_logical_reads, b.avg_logical_reads),
        plan_changed: Some(!before.plans.iter().any(|p| p.plan_hash == a.plan_hash)),
        before: Some(b),
        after: Some(a),
    }
}

fn one_side(q: &Query, verdict: Verdict, after: bool) -> QueryComparison {
    let side = Some(Side::of(q));
    QueryComparison {
        query_hash: q.query_hash.clone(),
        text: shown(&q.text),
        verdict,
        before: if after { None } else { side.clone() },
        after: if after { side } else { None },
        cpu_ratio: None,
        duration_ratio: None,
        logical_reads_ratio: None,
        plan_changed: None,
    }
}

/// A window's minutes (at least a second's worth, so nothing divides by zero).
fn minutes(seconds: u64) -> f64 {
    seconds.max(1) as f64 / 60.0
}

/// Totals per minute of window, so a history capture of another length still compares.
fn per_minute(t: &Totals, seconds: u64) -> [f64; 4] {
    let m = minutes(seconds);
    [
        t.cpu_us / m,
        t.duration_us / m,
        t.logical_reads / m,
        t.executions as f64 / m,
    ]
}

fn ratios(before: &Capture, after: &Capture) -> Ratios {
    let b = per_minute(&before.totals, before.window_seconds);
    let a = per_minute(&after.totals, after.window_seconds);
    let per_exec = |x: &Totals, v: f64| crate::model::per(v, x.executions);
    let (bt, at) = (&before.totals, &after.totals);
    Ratios {
        cpu: ratio(a[0], b[0]),
        duration: ratio(a[1], b[1]),
        logical_reads: ratio(a[2], b[2]),
        executions: ratio(a[3], b[3]),
        cpu_per_execution: ratio(per_exec(at, at.cpu_us), per_exec(bt, bt.cpu_us)),
        duration_per_execution: ratio(per_exec(at, at.duration_us), per_exec(bt, bt.duration_us)),
        logical_reads_per_execution: ratio(
            per_exec(at, at.logical_reads),
            per_exec(bt, bt.logical_reads),
        ),
    }
}

fn compare_waits(
    before: &[WaitFigure],
    bm: u64,
    after: &[WaitFigure],
    am: u64,
    j: Judge,
) -> Vec<WaitComparison> {
    let mut cats: Vec<&str> = before.iter().map(|w| w.category.as_str()).collect();
    for w in after {
        if !cats.contains(&w.category.as_str()) {
            cats.push(&w.category);
        }
    }
    let find = |list: &[WaitFigure], c: &str| {
        list.iter()
            .find(|w| w.category == c)
            .map_or(0.0, |w| w.wait_ms)
    };
    let (bm, am) = (minutes(bm), minutes(am));
    let mut out: Vec<WaitComparison> = cats
        .into_iter()
        .map(|c| {
            let (b, a) = (find(before, c), find(after, c));
            // The floor is over the after window's length, as the waits it judges.
            let rose = a - b * am / bm >= j.min_wait_ms as f64;
            WaitComparison {
                category: c.to_owned(),
                before_ms_per_minute: b / bm,
                after_ms_per_minute: a / am,
                grew: rose && a / am > (b / bm) * j.ratio,
            }
        })
        .collect();
    out.sort_by(|x, y| y.after_ms_per_minute.total_cmp(&x.after_ms_per_minute));
    out
}

/// Compares `after` with the baseline `before`.
pub fn compare(before: &Capture, after: &Capture, j: Judge) -> Comparison {
    let mut queries: Vec<QueryComparison> = before
        .queries
        .iter()
        .map(
            |b| match after.queries.iter().find(|a| a.query_hash == b.query_hash) {
                Some(a) => judge_query(b, a, j),
                None => one_side(b, Verdict::NotSeenAfter, false),
            },
        )
        .collect();
    queries.extend(
        after
            .queries
            .iter()
            .filter(|a| !before.queries.iter().any(|b| b.query_hash == a.query_hash))
            .map(|a| one_side(a, Verdict::NewAfter, true)),
    );
    let (bw, aw) = (&before.waits, &after.waits);
    let (waits_source, waits) = match (&bw.query_store, &aw.query_store, &bw.instance, &aw.instance)
    {
        (Some(b), Some(a), ..) => (Some("query_store"), Some((b, a))),
        (.., Some(b), Some(a)) => (Some("dm_os_wait_stats"), Some((b, a))),
        _ => (None, None),
    };
    Comparison {
        before_level: before.compatibility_level,
        after_level: after.compatibility_level,
        queries,
        ratios: ratios(before, after),
        waits_source: waits_source.map(str::to_owned),
        waits: waits.map_or_else(Vec::new, |(b, a)| {
            compare_waits(b, before.window_seconds, a, after.window_seconds, j)
        }),
    }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
