//! What a capture holds, as typed data: the top queries of a window with their plans, the
//! totals of every query seen, and the waits. The `before` step writes it as JSON to the
//! baseline store; the `after` step reads it back and captures its own the same way.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::waits::Waits;

/// The baseline object's format marker: a later ferry reading an older baseline knows it.
pub const FORMAT: &str = "ferry-baseline/2";

/// Where the query figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Query Store's runtime statistics of the intervals overlapping the window
    /// (sys.query_store_runtime_stats, SQL Server 2016 and later, Managed Instance).
    QueryStore,
    /// The difference of two reads of sys.dm_exec_query_stats, the window apart: plan-cache
    /// totals, for SQL Server before 2016 or a database whose Query Store is off.
    ExecQueryStats,
}

impl Origin {
    /// The source as a report names it.
    pub fn text(self) -> &'static str {
        match self {
            Origin::QueryStore => "Query Store",
            Origin::ExecQueryStats => "sys.dm_exec_query_stats",
        }
    }
}

/// One plan's share of a query's figures in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `query_plan_hash` (binary(8)) as `0x` and 16 hex digits.
    pub plan_hash: String,
    pub executions: u64,
    pub cpu_us: f64,
    pub duration_us: f64,
    pub logical_reads: f64,
}

/// One query (by `query_hash`) over the window: totals over every plan it ran with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// `query_hash` (binary(8)) as `0x` and 16 hex digits.
    pub query_hash: String,
    /// The start of its text (at most [`TEXT_EXCERPT`] characters).
    pub text: String,
    pub executions: u64,
    /// Totals over the window: CPU time and duration in microseconds (as Query Store and
    /// sys.dm_exec_query_stats report them), logical reads in 8-KB pages.
    pub cpu_us: f64,
    pub duration_us: f64,
    pub logical_reads: f64,
    /// Its plans, the one with the most CPU first, at most [`PLANS_KEPT`].
    pub plans: Vec<Plan>,
}

/// Plans kept per query (the most CPU first); the query's totals count them all.
pub const PLANS_KEPT: usize = 10;

/// How much of a query's text is kept.
pub const TEXT_EXCERPT: usize = 120;

impl Query {
    pub fn avg_cpu_us(&self) -> f64 {
        per(self.cpu_us, self.executions)
    }
    pub fn avg_duration_us(&self) -> f64 {
        per(self.duration_us, self.executions)
    }
    pub fn avg_logical_reads(&self) -> f64 {
        per(self.logical_reads, self.executions)
    }
    /// The plan that used the most CPU in the window.
    pub fn main_plan(&self) -> &str {
        self.plans.first().map_or("", |p| p.plan_hash.as_str())
    }
}

pub fn per(total: f64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { total / n as f64 }
}

/// The sums over every query the window saw (not only the kept ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub queries: u64,
    pub executions: u64,
    pub cpu_us: f64,
    pub duration_us: f64,
    pub logical_reads: f64,
}

/// One side's capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    pub format: String,
    /// The database captured (its name on that server).
    pub database: String,
    /// `SERVERPROPERTY('ProductVersion')` and `('EngineEdition')`.
    pub product_version: String,
    pub engine_edition: i64,
    /// `sys.databases.compatibility_level` while the window ran.
    pub compatibility_level: i64,
    pub origin: Origin,
    /// The window's length in seconds.
    pub window_seconds: u64,
    /// The server's `SYSUTCDATETIME()` at the capture, as it sent it.
    pub captured_at: String,
    pub queries: Vec<Query>,
    pub totals: Totals,
    pub waits: Waits,
    /// Rows were left out to stay within the query limits: the totals miss the smallest.
    pub truncated: bool,
    /// What a reader should know about how the figures were taken.
    pub notes: Vec<String>,
}

/// Figures of one (query, plan) pair as a server reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanRow {
    pub query_hash: String,
    pub plan_hash: String,
    pub text: String,
    pub executions: u64,
    pub cpu_us: f64,
    pub duration_us: f64,
    pub logical_reads: f64,
}

/// Queries from (query, plan) rows, the most CPU first, each with its plans (the most CPU
/// first); and the totals over all rows.
pub fn summarize(rows: &[PlanRow]) -> (Vec<Query>, Totals) {
    let mut by_hash: BTreeMap<&str, Query> = BTreeMap::new();
    let mut totals = Totals::default();
    for r in rows {
        let q = by_hash.entry(&r.query_hash).or_insert_with(|| Query {
            query_hash: r.query_hash.clone(),
            text: excerpt(&r.text),
            ..Query::default()
        });
        q.executions += r.executions;
        q.cpu_us += r.cpu_us;
        q.duration_us += r.duration_us;
        q.logical_reads += r.logical_reads;
        q.plans.push(Plan {
            plan_hash: r.plan_hash.clone(),
            executions: r.executions,
            cpu_us: r.cpu_us,
            duration_us: r.duration_us,
            logical_reads: r.logical_reads,
        });
        totals.executions += r.executions;
        totals.cpu_us += r.cpu_us;
        totals.duration_us += r.duration_us;
        totals.logical_reads += r.logical_reads;
    }
    totals.queries = by_hash.len() as u64;
    let mut all: Vec<Query> = by_hash.into_values().collect();
    for q in &mut all {
        q.plans.sort_by(|a, b| b.cpu_us.total_cmp(&a.cpu_us));
        // Query Store keeps up to 200 plans a query (MAX_PLANS_PER_QUERY's default): the
        // heaviest are the ones a plan change is judged by, and the baseline stays small.
        q.plans.truncate(PLANS_KEPT);
    }
    all.sort_by(|a, b| b.cpu_us.total_cmp(&a.cpu_us));
    (all, totals)
}

/// The queries kept: the union of the top `top` by total CPU, by total duration and by total
/// logical reads, and every query whose hash is in `also` (the baseline's, so that a query of
/// the baseline that fell out of the top on the other side is still compared). The most CPU
/// first.
pub fn top(all: Vec<Query>, top: usize, also: &BTreeSet<String>) -> Vec<Query> {
    let mut keep = BTreeSet::new();
    let metrics: [fn(&Query) -> f64; 3] = [|q| q.cpu_us, |q| q.duration_us, |q| q.logical_reads];
    for metric in metrics {
        let mut order: Vec<usize> = (0..all.len()).collect();
        order.sort_by(|&a, &b| metric(&all[b]).total_cmp(&metric(&all[a])));
        keep.extend(order.into_iter().take(top));
    }
    let mut kept: Vec<Query> = all
        .into_iter()
        .enumerate()
        .filter(|(i, q)| keep.contains(i) || also.contains(&q.query_hash))
        .map(|(_, q)| q)
        .collect();
    kept.sort_by(|a, b| b.cpu_us.total_cmp(&a.cpu_us));
    kept
}

/// The first [`TEXT_EXCERPT`] characters of a query's text on one line.
pub fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(TEXT_EXCERPT).collect();
    if one_line.chars().count() > TEXT_EXCERPT {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(q: &str, p: &str, execs: u64, cpu: f64, dur: f64, reads: f64) -> PlanRow {
        PlanRow {
            query_hash: q.into(),
            plan_hash: p.into(),
            text: format!("SELECT {q}\n  FROM t"),
            executions: execs,
            cpu_us: cpu,
            duration_us: dur,
            logical_reads: reads,
        }
    }

    #[test]
    fn the_top_is_the_union_of_the_three_orders_and_totals_count_every_query() {
        let rows = [
            row("0x01", "0xA1", 10, 900.0, 1.0, 1.0),
            row("0x01", "0xA2", 5, 100.0, 1.0, 1.0),
            row("0x02", "0xB1", 10, 10.0, 5000.0, 1.0),
            row("0x03", "0xC1", 10, 10.0, 1.0, 7000.0),
            row("0x04", "0xD1", 10, 1.0, 0.5, 0.5),
        ];
        let (all, totals) = summarize(&rows);
        let kept = top(all.clone(), 1, &BTreeSet::new());
        let hashes: Vec<&str> = kept.iter().map(|q| q.query_hash.as_str()).collect();
        assert_eq!(hashes, ["0x01", "0x02", "0x03"], "0x04 is in no top 1");
        let also = ["0x04".to_owned()].into();
        assert_eq!(top(all, 1, &also).len(), 4, "a baseline query is kept");
        assert_eq!(kept[0].executions, 15);
        assert_eq!(kept[0].main_plan(), "0xA1");
        assert!((kept[0].avg_cpu_us() - 1000.0 / 15.0).abs() < 1e-9);
        assert_eq!(kept[0].text, "SELECT 0x01 FROM t");
        assert_eq!((totals.queries, totals.executions), (4, 45));
        assert!((totals.cpu_us - 1021.0).abs() < 1e-9);
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let long = "é".repeat(TEXT_EXCERPT + 5);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), TEXT_EXCERPT + 1);
        assert!(e.ends_with('…'));
        assert_eq!(per(10.0, 0), 0.0);
    }
}
