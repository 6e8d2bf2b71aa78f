//! Query Store recording executions: the query's text, the query, its plan, the runtime
//! statistics per interval and the waits per category, as "How Query Store collects data"
//! describes them. The executions come from the workload generator
//! ([`super::query_workload`]); the emulator does not time the statements it runs itself.

use super::Instance;
use super::query::{q, sqlite_error};
use super::query_store::{CaptureMode, StoreState};
use crate::personality::Personality;
use crate::protocol::tokens::ServerMessage;

/// Figures of one execution: microseconds for duration and CPU ("reported in microseconds" on
/// "sys.query_store_runtime_stats"), 8 KB pages for reads and writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub duration_us: i64,
    pub cpu_us: i64,
    pub logical_reads: i64,
    pub logical_writes: i64,
    pub physical_reads: i64,
    pub dop: i64,
    pub rowcount: i64,
}

impl Figures {
    /// In the order of the runtime view's metric columns ([`METRICS`]).
    fn values(&self) -> [i64; 7] {
        [
            self.duration_us,
            self.cpu_us,
            self.logical_reads,
            self.logical_writes,
            self.physical_reads,
            self.dop,
            self.rowcount,
        ]
    }
}

/// The metrics of "sys.query_store_runtime_stats", each with avg/last/min/max/stdev columns.
const METRICS: [&str; 7] = [
    "duration",
    "cpu_time",
    "logical_io_reads",
    "logical_io_writes",
    "physical_io_reads",
    "dop",
    "rowcount",
];

/// Executions of one plan of one query, in one Query Store interval.
pub struct Recorded<'a> {
    pub text: &'a str,
    pub query_hash: [u8; 8],
    pub plan_hash: [u8; 8],
    pub executions: i64,
    /// All the workload's executions of the query (AUTO capture judges the whole workload).
    pub workload_executions: i64,
    pub each: Figures,
    /// Milliseconds each execution waited, by wait category (id, description).
    pub waits: &'a [((i64, &'static str), i64)],
    /// The interval: start and end, and the first and last execution in it (µs since 1970).
    pub interval: (i64, i64),
    pub first_last: (i64, i64),
}

/// A count, mean and population standard deviation merged with `n` more samples of `v` (Chan
/// et al.'s pairwise update; the docs do not say which deviation the views show).
fn merge(n1: i64, avg1: f64, sd1: f64, n2: i64, v: f64) -> (f64, f64) {
    let n = (n1 + n2) as f64;
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = (n1 as f64 * avg1 + n2 as f64 * v) / n;
    let m2 = sd1 * sd1 * n1 as f64 + (v - avg1).powi(2) * n1 as f64 * n2 as f64 / n;
    (mean, (m2 / n).max(0.0).sqrt())
}

/// `YYYY-MM-DD HH:MM:SS.fffffff` for microseconds since 1970 (UTC).
pub fn time_text(us: i64) -> String {
    let epoch = crate::protocol::types::days_from_civil(1970, 1, 1).unwrap_or(719_162);
    let day_us = 86_400_000_000i64;
    let days = us.div_euclid(day_us) + i64::from(epoch);
    let ticks = us.rem_euclid(day_us) * 10;
    crate::protocol::types::datetime_text(days.max(0) as u32, ticks as u64)
}

impl Instance {
    /// Records `r` in `db`'s store when it captures: READ_WRITE only; a new query under ALL
    /// always, under AUTO (and CUSTOM, whose policy the emulator does not keep) when it ran at
    /// least 30 times or used 100 ms of CPU in the workload — the docs say AUTO's thresholds
    /// are "internally determined"; these are the ones SQL Server 2019's CUSTOM defaults name —
    /// and never under NONE, which keeps counting the queries already captured.
    pub(crate) fn record_in_store(
        &mut self,
        db: &str,
        r: &Recorded<'_>,
        p: &Personality,
        waits_on: bool,
    ) -> Result<(), ServerMessage> {
        let settings = self.store_settings(db);
        if settings.state != StoreState::ReadWrite || r.executions <= 0 {
            return Ok(());
        }
        let d = q(db);
        let text_id: Option<i64> = self
            .conn
            .query_row(
                &format!(r#"SELECT query_text_id FROM {d}."sys.query_store_query_text" WHERE query_sql_text = ?1"#),
                [r.text],
                |x| x.get(0),
            )
            .ok();
        let query_id: Option<i64> = text_id.and_then(|t| {
            self.conn
                .query_row(
                    &format!(r#"SELECT query_id FROM {d}."sys.query_store_query" WHERE query_text_id = ?1"#),
                    [t],
                    |x| x.get(0),
                )
                .ok()
        });
        let captures = match (query_id, settings.capture) {
            (Some(_), _) | (None, CaptureMode::All) => true,
            (None, CaptureMode::None) => false,
            (None, CaptureMode::Auto | CaptureMode::Custom) => {
                r.workload_executions >= 30
                    || r.workload_executions.saturating_mul(r.each.cpu_us) >= 100_000
            }
        };
        if !captures {
            return Ok(());
        }
        let (first, last) = (time_text(r.first_last.0), time_text(r.first_last.1));
        let text_id = match text_id {
            Some(t) => t,
            None => {
                let id = self.next_id(db, "query_store_query_text", "query_text_id")?;
                self.conn
                    .execute(
                        &format!(r#"INSERT INTO {d}."sys.query_store_query_text" VALUES (?1, ?2, NULL, 0, 0)"#),
                        rusqlite::params![id, r.text],
                    )
                    .map_err(sqlite_error)?;
                id
            }
        };
        let query_id = match query_id {
            Some(id) => id,
            None => {
                // context_settings_id 1 and parameterization type 0 (None): the workload's
                // text is stored as given.
                let id = self.next_id(db, "query_store_query", "query_id")?;
                self.conn
                    .execute(
                        &format!(r#"INSERT INTO {d}."sys.query_store_query" VALUES (?1, ?2, 1, 0, ?3, 0, 0, 'None', ?4, ?4, ?4, 1)"#),
                        rusqlite::params![id, text_id, r.query_hash.to_vec(), first],
                    )
                    .map_err(sqlite_error)?;
                id
            }
        };
        let plan_id = self.store_plan(db, query_id, r, p, &first)?;
        for table in ["sys.query_store_query", "sys.query_store_plan"] {
            let key = if table.ends_with("plan") {
                "plan_id"
            } else {
                "query_id"
            };
            let id = if table.ends_with("plan") {
                plan_id
            } else {
                query_id
            };
            self.conn
                .execute(
                    &format!(r#"UPDATE {d}."{table}" SET last_execution_time = MAX(last_execution_time, ?1) WHERE {key} = ?2"#),
                    rusqlite::params![last, id],
                )
                .map_err(sqlite_error)?;
        }
        let interval = self.store_interval(db, r.interval)?;
        let before: i64 = self
            .conn
            .query_row(
                &format!(r#"SELECT COALESCE(SUM(count_executions), 0) FROM {d}."sys.query_store_runtime_stats" WHERE plan_id = ?1 AND runtime_stats_interval_id = ?2 AND execution_type = 0"#),
                [plan_id, interval],
                |x| x.get(0),
            )
            .map_err(sqlite_error)?;
        if waits_on && settings.wait_stats {
            for &((category, desc), ms) in r.waits {
                self.store_wait(
                    db,
                    plan_id,
                    interval,
                    (category, desc),
                    before,
                    r.executions,
                    ms,
                )?;
            }
        }
        self.store_runtime(db, plan_id, interval, r, (&first, &last))?;
        self.refresh_store_size(db)
    }

    /// The query's plan with `r`'s hash, made on first sight (compiled at `first`).
    fn store_plan(
        &mut self,
        db: &str,
        query_id: i64,
        r: &Recorded<'_>,
        p: &Personality,
        first: &str,
    ) -> Result<i64, ServerMessage> {
        let d = q(db);
        if let Ok(id) = self.conn.query_row(
            &format!(r#"SELECT plan_id FROM {d}."sys.query_store_plan" WHERE query_id = ?1 AND query_plan_hash = ?2"#),
            rusqlite::params![query_id, r.plan_hash.to_vec()],
            |x| x.get::<_, i64>(0),
        ) {
            return Ok(id);
        }
        let level: i64 = self
            .conn
            .query_row(
                r#"SELECT compatibility_level FROM "sys.databases" WHERE name = ?1 COLLATE NOCASE"#,
                [db],
                |x| x.get(0),
            )
            .unwrap_or(i64::from(self.compatibility_level));
        let hex = |b: &[u8; 8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
        // The plan's Showplan XML, reduced to the statement and its hashes (the emulator has no
        // optimizer to describe operators with).
        let xml = format!(
            r#"<ShowPlanXML xmlns="http://schemas.microsoft.com/sqlserver/2004/07/showplan" Version="1.5" Build="{}"><BatchSequence><Batch><Statements><StmtSimple StatementText="{}" StatementId="1" QueryHash="0x{}" QueryPlanHash="0x{}" /></Statements></Batch></BatchSequence></ShowPlanXML>"#,
            p.product_version(),
            xml_escape(r.text),
            hex(&r.query_hash),
            hex(&r.plan_hash)
        );
        let id = self.next_id(db, "query_store_plan", "plan_id")?;
        self.conn
            .execute(
                &format!(r#"INSERT INTO {d}."sys.query_store_plan" VALUES (?8, ?1, 0, ?2, ?3, ?4, ?5, 0, ?6, 0, 1, ?7, ?7, ?7)"#),
                rusqlite::params![
                    query_id,
                    p.product_version(),
                    level,
                    r.plan_hash.to_vec(),
                    xml,
                    r.each.dop > 1,
                    first,
                    id
                ],
            )
            .map_err(sqlite_error)?;
        Ok(id)
    }

    /// The interval `(start, end)` (µs since 1970), made on first use.
    fn store_interval(&mut self, db: &str, (start, end): (i64, i64)) -> Result<i64, ServerMessage> {
        let d = q(db);
        let start = time_text(start);
        if let Ok(id) = self.conn.query_row(
            &format!(r#"SELECT runtime_stats_interval_id FROM {d}."sys.query_store_runtime_stats_interval" WHERE start_time = ?1"#),
            [&start],
            |x| x.get::<_, i64>(0),
        ) {
            return Ok(id);
        }
        let id = self.next_id(
            db,
            "query_store_runtime_stats_interval",
            "runtime_stats_interval_id",
        )?;
        self.conn
            .execute(
                &format!(r#"INSERT INTO {d}."sys.query_store_runtime_stats_interval" VALUES (?1, ?2, ?3, NULL)"#),
                rusqlite::params![id, start, time_text(end)],
            )
            .map_err(sqlite_error)?;
        Ok(id)
    }

    /// The plan's runtime row for the interval (regular executions), merged with `r`'s.
    fn store_runtime(
        &mut self,
        db: &str,
        plan_id: i64,
        interval: i64,
        r: &Recorded<'_>,
        (first, last): (&str, &str),
    ) -> Result<(), ServerMessage> {
        let d = q(db);
        let existing = self.conn.query_row(
            &format!(r#"SELECT runtime_stats_id, count_executions FROM {d}."sys.query_store_runtime_stats" WHERE plan_id = ?1 AND runtime_stats_interval_id = ?2 AND execution_type = 0"#),
            [plan_id, interval],
            |x| Ok((x.get::<_, i64>(0)?, x.get::<_, i64>(1)?)),
        );
        let (id, n1) = match existing {
            Ok(found) => found,
            Err(_) => {
                let zeros = vec!["0"; METRICS.len() * 5].join(", ");
                let id = self.next_id(db, "query_store_runtime_stats", "runtime_stats_id")?;
                self.conn
                    .execute(
                        &format!(r#"INSERT INTO {d}."sys.query_store_runtime_stats" VALUES (?5, ?1, ?2, 0, 'Regular', ?3, ?4, 0, {zeros})"#),
                        rusqlite::params![plan_id, interval, first, last, id],
                    )
                    .map_err(sqlite_error)?;
                (id, 0)
            }
        };
        for (metric, v) in METRICS.iter().zip(r.each.values()) {
            let (avg1, sd1): (f64, f64) = self
                .conn
                .query_row(
                    &format!(r#"SELECT avg_{metric}, stdev_{metric} FROM {d}."sys.query_store_runtime_stats" WHERE runtime_stats_id = ?1"#),
                    [id],
                    |x| Ok((x.get(0)?, x.get(1)?)),
                )
                .map_err(sqlite_error)?;
            let (avg, sd) = merge(n1, avg1, sd1, r.executions, v as f64);
            let (min, max) = if n1 == 0 {
                ("?3".to_owned(), "?3".to_owned())
            } else {
                (
                    format!("MIN(min_{metric}, ?3)"),
                    format!("MAX(max_{metric}, ?3)"),
                )
            };
            self.conn
                .execute(
                    &format!(r#"UPDATE {d}."sys.query_store_runtime_stats" SET avg_{metric} = ?1, stdev_{metric} = ?2, last_{metric} = ?3, min_{metric} = {min}, max_{metric} = {max} WHERE runtime_stats_id = ?4"#),
                    rusqlite::params![avg, sd, v, id],
                )
                .map_err(sqlite_error)?;
        }
        self.conn
            .execute(
                &format!(r#"UPDATE {d}."sys.query_store_runtime_stats" SET count_executions = count_executions + ?1, first_execution_time = MIN(first_execution_time, ?2), last_execution_time = MAX(last_execution_time, ?3) WHERE runtime_stats_id = ?4"#),
                rusqlite::params![r.executions, first, last, id],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// The plan's wait row for a category in the interval. `before`: the plan's executions in
    /// the interval so far (the averages are per execution: "Average wait duration for the query
    /// plan per execution within the aggregation interval and wait category").
    #[allow(clippy::too_many_arguments)]
    fn store_wait(
        &mut self,
        db: &str,
        plan_id: i64,
        interval: i64,
        (category, desc): (i64, &str),
        before: i64,
        executions: i64,
        ms: i64,
    ) -> Result<(), ServerMessage> {
        let d = q(db);
        let existing = self.conn.query_row(
            &format!(r#"SELECT wait_stats_id, avg_query_wait_time_ms, stdev_query_wait_time_ms FROM {d}."sys.query_store_wait_stats" WHERE plan_id = ?1 AND runtime_stats_interval_id = ?2 AND wait_category = ?3 AND execution_type = 0"#),
            [plan_id, interval, category],
            |x| Ok((x.get::<_, i64>(0)?, x.get::<_, f64>(1)?, x.get::<_, f64>(2)?)),
        );
        let total = executions.saturating_mul(ms);
        match existing {
            Ok((id, avg1, sd1)) => {
                // Executions before that did not wait in this category waited 0 ms in it.
                let (avg, sd) = merge(before, avg1, sd1, executions, ms as f64);
                self.conn
                    .execute(
                        &format!(r#"UPDATE {d}."sys.query_store_wait_stats" SET total_query_wait_time_ms = total_query_wait_time_ms + ?1, avg_query_wait_time_ms = ?2, stdev_query_wait_time_ms = ?3, last_query_wait_time_ms = ?4, min_query_wait_time_ms = MIN(min_query_wait_time_ms, ?4), max_query_wait_time_ms = MAX(max_query_wait_time_ms, ?4) WHERE wait_stats_id = ?5"#),
                        rusqlite::params![total, avg, sd, ms, id],
                    )
                    .map_err(sqlite_error)?;
            }
            Err(_) => {
                let (avg, sd) = merge(before, 0.0, 0.0, executions, ms as f64);
                let min = if before > 0 { 0 } else { ms };
                let id = self.next_id(db, "query_store_wait_stats", "wait_stats_id")?;
                self.conn
                    .execute(
                        &format!(r#"INSERT INTO {d}."sys.query_store_wait_stats" VALUES (?10, ?1, ?2, ?3, ?4, 0, 'Regular', ?5, ?6, ?7, ?8, ?7, ?9)"#),
                        rusqlite::params![plan_id, interval, category, desc, total, avg, ms, min, sd, id],
                    )
                    .map_err(sqlite_error)?;
            }
        }
        Ok(())
    }
}

impl Instance {
    /// The next id of a store view: one past the largest (ids start at 1 again after CLEAR).
    fn next_id(&self, db: &str, view: &str, column: &str) -> Result<i64, ServerMessage> {
        self.conn
            .query_row(
                &format!(
                    r#"SELECT COALESCE(MAX({column}), 0) + 1 FROM {}."sys.{view}""#,
                    q(db)
                ),
                [],
                |x| x.get(0),
            )
            .map_err(sqlite_error)
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_matches_the_population_deviation_of_all_samples() {
        // 2 samples of 10 and 3 of 20: mean 16, population deviation sqrt(24) ≈ 4.899.
        let (m, sd) = merge(2, 10.0, 0.0, 3, 20.0);
        assert!((m - 16.0).abs() < 1e-9);
        assert!((sd - 24f64.sqrt()).abs() < 1e-9);
        assert_eq!(merge(0, 0.0, 0.0, 0, 5.0), (0.0, 0.0));
    }

    #[test]
    fn times_are_utc_text() {
        assert_eq!(time_text(0), "1970-01-01 00:00:00.0000000");
        assert_eq!(time_text(3_600_000_001), "1970-01-01 01:00:00.0000010");
    }
}
