//! The workload generator: queries "run" on a database as if they had, recorded where SQL
//! Server records them — Query Store (when on), `sys.dm_exec_query_stats`, the wait statistics,
//! the database's file I/O and the CPU the instance used. The executions are spread over the
//! `interval_minutes` that end now (UTC), in Query Store's intervals. A `plan` label (or an
//! explicit 8-byte plan hash) makes the same query run with another plan: a test injects a
//! plan regression by giving the target the same text with another plan and higher figures.
//!
//! `query_hash`: SQL Server computes it from the query's normalized tree, undocumented; the
//! emulator hashes the normalized text (keywords and names upper-cased, literals replaced, one
//! space between tokens) with SHA-256 and keeps 8 bytes, so the same text hashes the same on
//! every emulated server, and texts differing only in literals, case or spacing hash alike, as
//! SQL Server's do ("sys.query_store_query": query_hash is "the hash of the individual query,
//! based on the logical query tree").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Instance;
use super::query_hash::{hex, plan_hash, query_hash};
use super::query_store::query_store_available;
use super::query_store_record::{Figures, Recorded, time_text};
use super::resource_model::now_us;
use crate::personality::Personality;

/// `POST /query-workload`'s body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryWorkload {
    pub db: String,
    pub queries: Vec<WorkloadQuery>,
    /// How long the workload ran, ending now; 60 when left out.
    #[serde(default)]
    pub interval_minutes: Option<f64>,
}

/// One query of a workload; figures are per execution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadQuery {
    pub text: String,
    pub executions: i64,
    pub cpu_us: i64,
    pub duration_us: i64,
    pub logical_reads: i64,
    #[serde(default)]
    pub logical_writes: i64,
    #[serde(default)]
    pub physical_reads: i64,
    #[serde(default = "one")]
    pub rowcount: i64,
    #[serde(default = "one")]
    pub dop: i64,
    /// Milliseconds each execution waited, by wait type (`sys.dm_os_wait_stats` names).
    #[serde(default)]
    pub waits: BTreeMap<String, i64>,
    /// The plan: a label ("A" when left out) or an 8-byte hash written `0x` and 16 hex digits.
    #[serde(default)]
    pub plan: Option<String>,
}

fn one() -> i64 {
    1
}

/// What the generator recorded for one query.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    pub query_hash: String,
    pub query_plan_hash: String,
    /// Whether Query Store captured it (on, READ_WRITE, and its capture mode took it).
    pub query_store: bool,
    /// The Query Store intervals its executions fell in: (start, executions).
    pub intervals: Vec<(String, i64)>,
}

/// `executions` spread over the intervals of `len` µs that `[start, end]` touches, in
/// proportion to the overlap (largest remainders get the leftovers): (interval start, first
/// and last execution, executions).
fn spread(start: i64, end: i64, len: i64, executions: i64) -> Vec<(i64, i64, i64, i64)> {
    let span = (end - start).max(1);
    let mut parts: Vec<(i64, i64, i64, i64, f64)> = Vec::new();
    let mut at = start.div_euclid(len) * len;
    while at < end {
        let (from, to) = (at.max(start), (at + len).min(end));
        let share = executions as f64 * (to - from) as f64 / span as f64;
        parts.push((at, from, to, share.floor() as i64, share - share.floor()));
        at += len;
    }
    let given: i64 = parts.iter().map(|p| p.3).sum();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].4.total_cmp(&parts[a].4));
    for &i in order.iter().take((executions - given).max(0) as usize) {
        parts[i].3 += 1;
    }
    parts
        .into_iter()
        .filter(|p| p.3 > 0)
        .map(|(at, from, to, n, _)| (at, from, to, n))
        .collect()
}

impl WorkloadQuery {
    /// Refuses figures no execution could have, naming the query and the figure.
    fn check(&self, i: usize) -> Result<(), String> {
        let what = format!("queries[{i}]");
        for (name, v) in [
            ("executions", self.executions),
            ("cpu_us", self.cpu_us),
            ("duration_us", self.duration_us),
            ("logical_reads", self.logical_reads),
            ("logical_writes", self.logical_writes),
            ("physical_reads", self.physical_reads),
            ("rowcount", self.rowcount),
        ] {
            if v < 0 {
                return Err(format!("{what}: {name} is negative ({v})"));
            }
        }
        if self.executions > 1_000_000_000 {
            return Err(format!("{what}: executions above 1000000000"));
        }
        if !(1..=64).contains(&self.dop) {
            return Err(format!("{what}: dop {} is outside 1 to 64", self.dop));
        }
        // One thread cannot use more CPU than the time it ran.
        if self.cpu_us > self.duration_us.saturating_mul(self.dop) {
            return Err(format!(
                "{what}: cpu_us {} exceeds duration_us {} × dop {}",
                self.cpu_us, self.duration_us, self.dop
            ));
        }
        if self.physical_reads > self.logical_reads {
            return Err(format!(
                "{what}: physical_reads {} exceed logical_reads {} (every page read from disk is also read from the buffer pool)",
                self.physical_reads, self.logical_reads
            ));
        }
        for (w, ms) in &self.waits {
            if !super::wait_types::WAIT_TYPES.contains(&w.as_str()) {
                return Err(format!(
                    "{what}: wait type {w} is not one the emulator counts ({})",
                    super::wait_types::WAIT_TYPES.join(", ")
                ));
            }
            if *ms < 0 {
                return Err(format!("{what}: wait {w} is negative ({ms} ms)"));
            }
        }
        Ok(())
    }
}

impl Instance {
    /// Runs `w` as if its queries had run; one report per query. Errors say what is wrong with
    /// the workload (nothing is recorded then).
    pub fn run_query_workload(
        &mut self,
        w: &QueryWorkload,
        p: &Personality,
    ) -> Result<Vec<WorkloadReport>, String> {
        let Some(info) = self.database(&w.db).cloned() else {
            return Err(format!("database {} does not exist", w.db));
        };
        info.usable().map_err(|e| e.text)?;
        let minutes = w.interval_minutes.unwrap_or(60.0);
        if !(minutes.is_finite() && minutes > 0.0 && minutes <= 7.0 * 1440.0) {
            return Err(format!("interval_minutes {minutes} is outside (0, 10080]"));
        }
        let mut hashes = Vec::with_capacity(w.queries.len());
        for (i, query) in w.queries.iter().enumerate() {
            query.check(i)?;
            let qh = query_hash(&query.text).map_err(|e| format!("queries[{i}].text: {e}"))?;
            let ph =
                plan_hash(&qh, query.plan.as_deref()).map_err(|e| format!("queries[{i}]: {e}"))?;
            hashes.push((qh, ph));
        }
        let err = |e: crate::protocol::tokens::ServerMessage| e.text;
        self.create_resource_model().map_err(err)?;
        let store = query_store_available(p);
        if store {
            self.ensure_query_store(&info.name, p).map_err(err)?;
        }
        let settings = self.store_settings(&info.name);
        let end = now_us();
        let start = end - (minutes * 60_000_000.0) as i64;
        let len = settings.interval_minutes.max(1) * 60_000_000;
        let mut reports = Vec::new();
        for (query, (qh, ph)) in w.queries.iter().zip(hashes) {
            let each = Figures {
                duration_us: query.duration_us,
                cpu_us: query.cpu_us,
                logical_reads: query.logical_reads,
                logical_writes: query.logical_writes,
                physical_reads: query.physical_reads,
                dop: query.dop,
                rowcount: query.rowcount,
            };
            let mut by_category: BTreeMap<(i64, &'static str), i64> = BTreeMap::new();
            for (wt, ms) in &query.waits {
                *by_category
                    .entry(super::wait_types::category(wt))
                    .or_default() += ms;
            }
            let waits: Vec<((i64, &'static str), i64)> = by_category.into_iter().collect();
            let mut intervals = Vec::new();
            let mut captured = false;
            for (at, from, to, n) in spread(start, end, len, query.executions) {
                intervals.push((time_text(at), n));
                if !store {
                    continue;
                }
                let r = Recorded {
                    text: &query.text,
                    query_hash: qh,
                    plan_hash: ph,
                    executions: n,
                    workload_executions: query.executions,
                    each,
                    waits: &waits,
                    interval: (at, at + len),
                    first_last: (from, to),
                };
                let before = self.store_rows(&info.name);
                self.record_in_store(
                    &info.name,
                    &r,
                    p,
                    super::query_store::query_store_waits_available(p),
                )
                .map_err(err)?;
                captured |= self.store_rows(&info.name) != before;
            }
            self.account(&info, query, (qh, ph), (start, end))
                .map_err(err)?;
            reports.push(WorkloadReport {
                query_hash: hex(&qh),
                query_plan_hash: hex(&ph),
                query_store: captured,
                intervals,
            });
        }
        Ok(reports)
    }

    /// How many executions the store holds in `db` (to tell whether a recording captured).
    fn store_rows(&self, db: &str) -> i64 {
        self.conn
            .query_row(
                &format!(
                    r#"SELECT COALESCE(SUM(count_executions), 0) FROM {}."sys.query_store_runtime_stats""#,
                    super::query::q(db)
                ),
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }

    /// The instance-wide figures: CPU, batches, reads, waits, file I/O, query statistics.
    fn account(
        &mut self,
        db: &super::DatabaseInfo,
        query: &WorkloadQuery,
        (qh, ph): ([u8; 8], [u8; 8]),
        (start, end): (i64, i64),
    ) -> Result<(), crate::protocol::tokens::ServerMessage> {
        let n = query.executions;
        if n == 0 {
            return Ok(());
        }
        self.add_counter("cpu_us", n.saturating_mul(query.cpu_us))?;
        self.add_counter("batch_requests", n)?;
        self.add_counter("logical_reads", n.saturating_mul(query.logical_reads))?;
        self.add_counter("physical_reads", n.saturating_mul(query.physical_reads))?;
        let mut read_stall = 0;
        let mut log_stall = 0;
        for (wt, ms) in &query.waits {
            self.add_wait(wt, n, *ms)?;
            if wt.starts_with("PAGEIOLATCH_") {
                read_stall += ms;
            }
            if wt == "WRITELOG" {
                log_stall += ms;
            }
        }
        // Pages read from disk come from the primary data file; pages changed reach it at a
        // checkpoint, one write each; a changing execution flushes one log block (512 bytes,
        // the smallest) to the log file, waiting its WRITELOG time.
        let pages_read = n.saturating_mul(query.physical_reads);
        let pages_written = n.saturating_mul(query.logical_writes);
        self.add_file_io(
            db.id,
            1,
            (
                pages_read,
                pages_read.saturating_mul(8192),
                n.saturating_mul(read_stall),
            ),
            (pages_written, pages_written.saturating_mul(8192), 0),
        )?;
        if query.logical_writes > 0 {
            self.add_file_io(
                db.id,
                2,
                (0, 0, 0),
                (n, n.saturating_mul(512), n.saturating_mul(log_stall)),
            )?;
        }
        self.add_query_stats(db, query, (qh, ph), (start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_spread_over_the_intervals_they_touch() {
        let hour = 3_600_000_000;
        // 90 minutes from 00:30 to 02:00: a third in the first hour, two thirds in the second.
        let parts = spread(hour / 2, 2 * hour, hour, 300);
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].0, parts[0].3), (0, 100));
        assert_eq!((parts[1].0, parts[1].3), (hour, 200));
        let total: i64 = spread(7, 3 * hour + 11, hour, 1001)
            .iter()
            .map(|p| p.3)
            .sum();
        assert_eq!(total, 1001);
    }
}
