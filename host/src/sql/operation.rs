//! Long statements (BACKUP, RESTORE) as host operations: the statement runs on a connection of
//! its own with no command timeout (tds.md gotcha 1: a RESTORE is silent for its whole length)
//! while a second connection reads progress.
//!
//! On a Managed Instance a `RESTORE DATABASE … FROM URL` is asynchronous and survives its client
//! (methods.md §4.4), so progress comes from `sys.dm_operation_status`, and a connection lost
//! mid-restore is not a failure: the operation goes on following the restore there until MI
//! says it completed or failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{BoundParam, Pool, Prepared, classify};
use crate::bindings::ferry::plugin::tsql::{QueryLimits, SqlValue as V};
use crate::bindings::types::PluginError;
use crate::operations::Reporter;

/// How often a running operation's progress is read: often enough for a live view, rare enough
/// to cost the server nothing.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Progress reads that may fail in a row while following an MI restore whose statement
/// connection was lost, before the operation gives up: about a minute at `PROGRESS_EVERY` plus
/// the pool's own reconnect backoff, long enough to ride out a gateway failover.
const FOLLOW_ERRORS: u32 = 60;

/// Engine edition of Azure SQL Managed Instance (`SERVERPROPERTY('EngineEdition')`).
const ENGINE_EDITION_MI: i32 = 8;

const EXEC_REQUESTS: &str =
    "SELECT percent_complete, command FROM sys.dm_exec_requests WHERE session_id = @id";
/// The newest restore of the database; MI keeps finished operations' rows, so the newest is ours.
const OPERATION_STATUS: &str = "SELECT TOP 1 state, percent_complete, error_code, error_desc \
     FROM sys.dm_operation_status WHERE major_resource_id = @id \
     AND operation = 'RESTORE DATABASE' ORDER BY start_time DESC";

/// What a progress read is keyed on.
#[derive(Clone)]
enum Watch {
    /// The statement's session in `sys.dm_exec_requests`.
    Session(i64),
    /// A database being restored on MI, in `sys.dm_operation_status`.
    MiRestore(String),
}

/// One progress read: `(state, fraction, message, error)` where state follows
/// `dm_operation_status` (0 pending, 1 running, 2 completed, 3 failed, 4/5 cancelling/cancelled).
type Reading = (i64, Option<f32>, Option<String>, Option<(i32, String)>);

async fn read(pool: &Pool, watch: &Watch) -> Result<Option<Reading>, PluginError> {
    let (sql, id) = match watch {
        Watch::Session(spid) => (EXEC_REQUESTS, V::Int(*spid)),
        Watch::MiRestore(db) => (OPERATION_STATUS, V::Text(db.clone())),
    };
    let p = Prepared::new(
        sql,
        vec![BoundParam::Value {
            name: "id".into(),
            value: id,
        }],
    )?;
    let limits = QueryLimits {
        max_rows: 1,
        max_bytes: 8192,
    };
    let r = pool.query(&p, limits, true).await?;
    let Some(row) = r.sets.first().and_then(|s| s.rows.first()) else {
        return Ok(None);
    };
    let number = |v: Option<&V>| match v {
        Some(V::Float(f)) => Some(*f),
        Some(V::Int(i)) => Some(*i as f64),
        Some(V::Decimal(d)) => d.parse().ok(),
        _ => None,
    };
    let text = |v: Option<&V>| match v {
        Some(V::Text(t)) => Some(t.clone()),
        _ => None,
    };
    Ok(Some(match watch {
        Watch::Session(_) => (
            1,
            number(row.first()).map(|p| p as f32),
            text(row.get(1)),
            None,
        ),
        Watch::MiRestore(_) => {
            let state = number(row.first()).unwrap_or(1.0) as i64;
            let error = number(row.get(2))
                .filter(|c| *c != 0.0)
                .map(|c| (c as i32, text(row.get(3)).unwrap_or_default()));
            (state, number(row.get(1)).map(|p| p as f32), None, error)
        }
    }))
}

/// Reads progress until the operation ends.
async fn poll_progress(pool: &Pool, watch: Watch, reporter: &Reporter) {
    while reporter.is_running() {
        tokio::time::sleep(PROGRESS_EVERY).await;
        if let Ok(Some((state, pct, message, _))) = read(pool, &watch).await
            && state <= 1
        {
            reporter.progress(pct.map(|p| (p / 100.0).clamp(0.0, 1.0)), message);
        }
    }
}

/// After the statement's connection was lost, follows an MI restore until it ends.
async fn follow_mi_restore(pool: &Pool, db: &str, lost: PluginError, reporter: &Reporter) {
    tracing::warn!(label = %pool.label, database = db, "connection lost during an MI restore; MI carries on, so ferry follows it in sys.dm_operation_status");
    let watch = Watch::MiRestore(db.to_owned());
    let mut errors = 0;
    loop {
        match read(pool, &watch).await {
            Ok(Some((2, ..))) => {
                return reporter.succeeded(serde_json::json!({
                    "affected": 0,
                    "followed": "the statement's connection was lost; MI finished the restore",
                }));
            }
            Ok(Some((3 | 5, _, _, error))) => {
                let (code, text) = error.unwrap_or((0, "no error text".into()));
                return reporter.failed(
                    format!("MI reports the restore of [{db}] failed: {text}"),
                    (code != 0).then_some(code),
                );
            }
            Ok(Some((_, pct, message, _))) => {
                errors = 0;
                reporter.progress(pct.map(|p| (p / 100.0).clamp(0.0, 1.0)), message);
            }
            Ok(None) => {
                return reporter.failed_with(nothing_to_follow(lost, db));
            }
            Err(e) => {
                errors += 1;
                if errors >= FOLLOW_ERRORS {
                    return reporter.failed_with(e);
                }
            }
        }
        tokio::time::sleep(PROGRESS_EVERY).await;
    }
}

/// The lost-connection error, saying MI shows no restore to follow.
fn nothing_to_follow(lost: PluginError, db: &str) -> PluginError {
    match lost {
        PluginError::Failed(mut f) | PluginError::Transient(mut f) => {
            f.message = format!(
                "{}; MI shows no restore of [{db}] to follow, so it did not start",
                f.message
            );
            PluginError::Transient(f)
        }
        other => other,
    }
}

/// The database a `RESTORE DATABASE` statement restores: `[name]` or a bare identifier.
pub(super) fn restored_database(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let at = upper.find("RESTORE DATABASE")? + "RESTORE DATABASE".len();
    let rest = sql[at..].trim_start();
    if let Some(bracketed) = rest.strip_prefix('[') {
        // `]]` is an escaped `]` inside a bracketed name.
        let mut name = String::new();
        let mut chars = bracketed.chars().peekable();
        while let Some(c) = chars.next() {
            if c == ']' {
                if chars.peek() == Some(&']') {
                    chars.next();
                } else {
                    return Some(name);
                }
            }
            name.push(c);
        }
        return None;
    }
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '#' | '$' | '@'))
        .collect();
    (!name.is_empty() && !name.starts_with('@')).then_some(name)
}

impl Pool {
    /// Runs a long statement as a host operation reported through `reporter`.
    pub fn start(self: &Arc<Self>, p: Prepared, reporter: Reporter) {
        let pool = self.clone();
        tokio::spawn(async move {
            let permit = match pool.permits.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => return reporter.failed("the connection pool is closed".into(), None),
            };
            let mut conn = match pool.connect_for_operation().await {
                Ok(c) => c,
                Err(e) => return reporter.failed_with(e),
            };
            let who = "SELECT @@SPID, CAST(SERVERPROPERTY('EngineEdition') AS int)";
            let (spid, edition) = match conn.simple_query(who).await {
                Ok(s) => match s.into_row().await.ok().flatten() {
                    Some(r) => (
                        r.get::<i16, _>(0).map(i64::from),
                        r.get::<i32, _>(1).unwrap_or_default(),
                    ),
                    None => (None, 0),
                },
                Err(_) => (None, 0),
            };
            let mi_restore = (edition == ENGINE_EDITION_MI)
                .then(|| restored_database(p.for_log()))
                .flatten();
            let watch = match (&mi_restore, spid) {
                (Some(db), _) => Some(Watch::MiRestore(db.clone())),
                (None, Some(spid)) => Some(Watch::Session(spid)),
                (None, None) => None,
            };
            let reporter = Arc::new(reporter);
            if let Some(watch) = watch {
                let (pool, reporter) = (pool.clone(), reporter.clone());
                tokio::spawn(async move { poll_progress(&pool, watch, &reporter).await });
            }
            let t = Instant::now();
            let result = p.query().execute(&mut conn).await;
            tracing::debug!(label = %pool.label, ms = t.elapsed().as_millis() as u64, statement = %p.for_log(), "tsql operation");
            drop(conn);
            drop(permit);
            match result {
                Ok(r) => reporter.succeeded(serde_json::json!({ "affected": r.total() })),
                Err(e) => match (classify(&pool.label, e), mi_restore) {
                    ((lost, true), Some(db)) => {
                        follow_mi_restore(&pool, &db, lost, &reporter).await
                    }
                    ((err, _), _) => reporter.failed_with(err),
                },
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::restored_database;

    #[test]
    fn the_restored_database_is_read_from_the_statement() {
        for (sql, want) in [
            ("RESTORE DATABASE [Sales] FROM URL = 'x'", Some("Sales")),
            ("restore database Sales_2 from url = 'x'", Some("Sales_2")),
            (
                "RESTORE DATABASE [odd]]name] FROM URL = 'x'",
                Some("odd]name"),
            ),
            (
                "RESTORE DATABASE\n  [Spaced Name]\nFROM URL = 'x'",
                Some("Spaced Name"),
            ),
            ("RESTORE DATABASE @db FROM URL = 'x'", None),
            ("RESTORE LOG [Sales] FROM URL = 'x'", None),
            ("BACKUP DATABASE [Sales] TO URL = 'x'", None),
            ("RESTORE DATABASE [unterminated", None),
        ] {
            assert_eq!(restored_database(sql).as_deref(), want, "{sql}");
        }
    }
}
