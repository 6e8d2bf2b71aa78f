//! The reads a capture is made of, each as the documentation's views give it.
//!
//! - Query Store ("Monitor performance by using the Query Store", whose examples filter the
//!   intervals by `GETUTCDATE()` as here; sys.query_store_runtime_stats,
//!   sys.query_store_runtime_stats_interval, sys.query_store_plan, sys.query_store_query,
//!   sys.query_store_query_text): runtime statistics are kept per plan and interval as
//!   averages with `count_executions`, so a total is `SUM(avg_x * count_executions)` (and the
//!   page of sys.query_store_runtime_stats says the rows of one interval must be summed).
//!   CPU time and duration are in microseconds, logical reads in 8-KB pages. Every
//!   execution type is counted (regular, aborted, exception): a query that now times out
//!   must not vanish from the comparison.
//! - Query Store waits (sys.query_store_wait_stats, SQL Server 2017 and later):
//!   `total_query_wait_time_ms` by `wait_category_desc`.
//! - The plan cache (sys.dm_exec_query_stats): totals since each plan was cached
//!   (`total_worker_time` and `total_elapsed_time` in microseconds), the statement's text cut
//!   from sys.dm_exec_sql_text's batch by its offsets as that page's example does. The
//!   database is the plan's `dbid` attribute (sys.dm_exec_plan_attributes: "for ad hoc or
//!   prepared batches, the ID of the database from which the batch is executed"), not
//!   sys.dm_exec_sql_text's `dbid`, which is NULL for all but static SQL in a procedure.
//! - sys.dm_os_wait_stats: `wait_time_ms` per `wait_type` since the instance started.
//!
//! A window that is waited ([`Since::Start`]) is the difference of two reads of the intervals
//! that end after it began (the server's time at its start): per (query, plan), the totals at
//! its end less those at its start, as for the plan cache. Intervals
//! (`interval_length_minutes`, 60 by default) are not cut at the window, so a row holds the
//! executions of its whole interval; and Query Store lives in the database, so a restored
//! database brings the source's intervals to the Managed Instance, the last of them ending up
//! to an interval after the backup — the first read takes both out.
//!
//! A history capture ([`Since::Last`], nothing waited) reads the intervals that end after the
//! window began, and in them the rows of plans last executed after it began
//! (`last_execution_time`, as the page's first example filters). A row may then still hold
//! executions from before the window; averages per execution do not depend on that, totals
//! per minute do, and the capture says so.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::text;
use ferry_sdk::tsql_text::{quote_name, quote_text};

use crate::config::Config;
use crate::model::PlanRow;
use crate::sql::{count, hash, num, rows};
use crate::waits::{Snapshot, WaitFigure, category, figures};

/// Which runtime rows a Query Store read takes.
#[derive(Debug, Clone, Copy)]
pub enum Since<'a> {
    /// The last seconds before the read (a history capture).
    Last(u64),
    /// Every row of the intervals that end after this server time (`SYSUTCDATETIME()` at the
    /// window's start, as the server wrote it): the caller subtracts the start's read.
    Start(&'a str),
}

impl Since<'_> {
    /// The condition on the interval `rsi`, and the one on the runtime row `rs`.
    fn filters(self) -> (String, String) {
        match self {
            Since::Last(s) => (
                format!("rsi.end_time > DATEADD(SECOND, -{s}, GETUTCDATE())"),
                format!("rs.last_execution_time > DATEADD(SECOND, -{s}, GETUTCDATE())"),
            ),
            Since::Start(t) => (
                format!("rsi.end_time > {}", time_literal(t)),
                "1 = 1".into(),
            ),
        }
    }
}

/// A server time as a literal the views' datetimeoffset columns compare with: the ISO 8601
/// text a driver gives (`2024-05-01T10:00:00.1234567`, maybe with an offset) written with a
/// space, `YYYY-MM-DD hh:mm:ss[.nnnnnnn]`, which "datetimeoffset (Transact-SQL)" lists among
/// the string literal formats it converts whatever the session's DATEFORMAT and language.
fn time_literal(t: &str) -> String {
    let t = t.trim();
    let t = match t.split_at_checked(10) {
        Some((date, rest)) if rest.starts_with('T') => format!("{date} {}", &rest[1..]),
        _ => t.to_owned(),
    };
    quote_text(&t)
}

/// Characters of each text read (the excerpt kept is shorter; this bounds the bytes).
const TEXT_READ: usize = 200;

/// The (query, plan) figures `since` in the database's Query Store.
pub fn query_store(
    cx: &mut Context<'_, Config>,
    label: &str,
    db: &str,
    since: Since<'_>,
) -> Result<(Vec<PlanRow>, bool)> {
    let d = quote_name(db);
    let (intervals, runs) = since.filters();
    let sql = format!(
        "SELECT q.query_hash, p.query_plan_hash, \
         SUM(rs.count_executions) AS count_executions, \
         SUM(rs.avg_cpu_time * rs.count_executions) AS total_cpu_time, \
         SUM(rs.avg_duration * rs.count_executions) AS total_duration, \
         SUM(rs.avg_logical_io_reads * rs.count_executions) AS total_logical_io_reads, \
         MIN(LEFT(qt.query_sql_text, {TEXT_READ})) AS query_sql_text \
         FROM {d}.sys.query_store_runtime_stats AS rs \
         JOIN {d}.sys.query_store_runtime_stats_interval AS rsi \
           ON rsi.runtime_stats_interval_id = rs.runtime_stats_interval_id \
         JOIN {d}.sys.query_store_plan AS p ON p.plan_id = rs.plan_id \
         JOIN {d}.sys.query_store_query AS q ON q.query_id = p.query_id \
         JOIN {d}.sys.query_store_query_text AS qt ON qt.query_text_id = q.query_text_id \
         WHERE {intervals} AND {runs} \
         GROUP BY q.query_hash, p.query_plan_hash \
         ORDER BY total_cpu_time DESC"
    );
    let (found, truncated) = rows(cx, label, &sql)?;
    Ok((found.iter().map(|r| plan_row(r)).collect(), truncated))
}

/// The database's query waits `since`, by category, from Query Store.
pub fn query_store_waits(
    cx: &mut Context<'_, Config>,
    label: &str,
    db: &str,
    since: Since<'_>,
) -> Result<Vec<WaitFigure>> {
    let d = quote_name(db);
    let (intervals, runs) = since.filters();
    let sql = format!(
        "SELECT ws.wait_category_desc, SUM(ws.total_query_wait_time_ms) AS total_query_wait_time_ms \
         FROM {d}.sys.query_store_wait_stats AS ws \
         JOIN {d}.sys.query_store_runtime_stats_interval AS rsi \
           ON rsi.runtime_stats_interval_id = ws.runtime_stats_interval_id \
         WHERE {intervals} \
           AND EXISTS (SELECT 1 FROM {d}.sys.query_store_runtime_stats AS rs \
             WHERE rs.plan_id = ws.plan_id \
               AND rs.runtime_stats_interval_id = ws.runtime_stats_interval_id \
               AND rs.execution_type = ws.execution_type \
               AND {runs}) \
         GROUP BY ws.wait_category_desc"
    );
    let (found, _) = rows(cx, label, &sql)?;
    let mut by = std::collections::BTreeMap::new();
    let names: Vec<String> = found.iter().map(|r| text(r.first())).collect();
    for (r, name) in found.iter().zip(&names) {
        // The view's own spelling, but "Compilation*" of the mapping table's footnote and
        // stray spaces are not a category of their own.
        let name = name.trim().trim_end_matches('*');
        *by.entry(name).or_insert(0.0) += num(r.get(1));
    }
    Ok(figures(by))
}

/// The plan cache's (query, plan) totals for the database, since each plan was cached.
pub fn plan_cache(
    cx: &mut Context<'_, Config>,
    label: &str,
    db: &str,
) -> Result<(Vec<PlanRow>, bool)> {
    let sql = format!(
        "SELECT qs.query_hash, qs.query_plan_hash, \
         SUM(qs.execution_count) AS execution_count, \
         SUM(qs.total_worker_time) AS total_worker_time, \
         SUM(qs.total_elapsed_time) AS total_elapsed_time, \
         SUM(qs.total_logical_reads) AS total_logical_reads, \
         MIN(LEFT(SUBSTRING(st.text, (qs.statement_start_offset / 2) + 1, \
           ((CASE qs.statement_end_offset WHEN -1 THEN DATALENGTH(st.text) \
             ELSE qs.statement_end_offset END - qs.statement_start_offset) / 2) + 1), {TEXT_READ})) \
           AS statement_text \
         FROM sys.dm_exec_query_stats AS qs \
         CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS st \
         CROSS APPLY sys.dm_exec_plan_attributes(qs.plan_handle) AS pa \
         WHERE pa.attribute = N'dbid' AND CONVERT(int, pa.value) = DB_ID({}) \
         GROUP BY qs.query_hash, qs.query_plan_hash \
         ORDER BY SUM(qs.total_worker_time) DESC",
        quote_text(db)
    );
    let (found, truncated) = rows(cx, label, &sql)?;
    Ok((found.iter().map(|r| plan_row(r)).collect(), truncated))
}

/// The instance's waits so far, idle types left out.
pub fn os_waits(cx: &mut Context<'_, Config>, label: &str) -> Result<Snapshot> {
    let (found, _) = rows(
        cx,
        label,
        "SELECT wait_type, wait_time_ms FROM sys.dm_os_wait_stats WHERE wait_time_ms > 0",
    )?;
    Ok(found
        .iter()
        .map(|r| {
            (
                text(r.first()).trim().to_ascii_uppercase(),
                num(r.get(1)) as i64,
            )
        })
        .filter(|(w, _)| category(w) != "Idle")
        .collect())
}

fn plan_row(r: &[ferry_sdk::SqlValue]) -> PlanRow {
    PlanRow {
        query_hash: hash(r.first()),
        plan_hash: hash(r.get(1)),
        executions: count(r.get(2)),
        cpu_us: num(r.get(3)).max(0.0),
        duration_us: num(r.get(4)).max(0.0),
        logical_reads: num(r.get(5)).max(0.0),
        text: text(r.get(6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drivers_time_becomes_a_literal_any_dateformat_reads() {
        assert_eq!(
            time_literal("2024-05-01T10:00:00.1234567"),
            "N'2024-05-01 10:00:00.1234567'"
        );
        assert_eq!(
            time_literal(" 2024-05-01 10:00:00.1234567 "),
            "N'2024-05-01 10:00:00.1234567'"
        );
        assert_eq!(time_literal("it's"), "N'it''s'");
    }
}
