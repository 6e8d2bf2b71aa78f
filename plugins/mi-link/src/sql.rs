//! T-SQL on either side: reads by view with parameters, and the changes, each through the
//! host (`ferry plan` records them instead).

use ferry_sdk::prelude::*;
use ferry_sdk::{Param, QueryLimits, SqlValue, StatementOptions};

use crate::config::Config;

const LIMITS: QueryLimits = QueryLimits {
    max_rows: 10_000,
    max_bytes: 4 << 20,
};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Mi,
}

fn label(cx: &Context<'_, Config>, side: Side) -> String {
    match side {
        Side::Source => cx.config().source.clone(),
        Side::Mi => cx.config().target.clone(),
    }
}

pub fn p(name: &str, v: &str) -> Param {
    Param::value(name, SqlValue::Text(v.to_owned()))
}

/// The first result set's rows.
pub fn rows(
    cx: &mut Context<'_, Config>,
    side: Side,
    sql: &str,
    params: &[Param],
) -> Result<Vec<Vec<SqlValue>>> {
    let l = label(cx, side);
    let conn = cx.sql(&l)?;
    Ok(cx.query(conn, sql, params, LIMITS)?.into_first_rows())
}

/// The first row, if any.
pub fn row(
    cx: &mut Context<'_, Config>,
    side: Side,
    sql: &str,
    params: &[Param],
) -> Result<Option<Vec<SqlValue>>> {
    Ok(rows(cx, side, sql, params)?.into_iter().next())
}

/// Runs a change; `what` names it in a failure.
pub fn exec(
    cx: &mut Context<'_, Config>,
    side: Side,
    sql: &str,
    params: &[Param],
    what: &str,
) -> Result<()> {
    let l = label(cx, side);
    let conn = cx.sql(&l)?;
    cx.debug(&format!("{l}: {sql}"));
    cx.execute(
        conn,
        sql,
        params,
        StatementOptions {
            idempotent: false,
            timeout_ms: None,
        },
    )
    .map(|_| ())
    .map_err(|e| match e {
        // The master key, the endpoint certificate, the MI's certificate and the mirroring
        // endpoint belong to the instance, not to one database: two databases' steps running
        // at once may both find one missing and both make it. The second is told it exists
        // (15578 master key, 15232 certificate, 7862 endpoint of that type); retried, the step
        // reads it back and goes on.
        Error::Failed(f) if matches!(f.code, Some(15578 | 15232 | 7862)) => Error::transient(
            format!(
                "{what} on `{l}`: another database's step made it at the same moment ({}); the step is retried and uses it",
                f.message
            ),
        ),
        Error::Failed(f) => Error::Failed(ferry_sdk::Failure {
            message: format!("{what} on `{l}` failed: {}", f.message),
            code: f.code,
        }),
        e => e,
    })
}

/// A best-effort change (cleanup): a failure is logged, not returned.
pub fn exec_quietly(cx: &mut Context<'_, Config>, side: Side, sql: &str, params: &[Param]) {
    if let Err(e) = exec(cx, side, sql, params, "cleanup") {
        cx.warn(&e.describe());
    }
}

/// An LSN as a number: `numeric(25,0)` comes as a decimal or text, ARM sends a decimal
/// string; None when absent or not a number.
pub fn lsn(v: &str) -> Option<u128> {
    let t = v.trim();
    let t = t.strip_suffix(".0").unwrap_or(t);
    t.parse::<u128>().ok().filter(|&n| n > 0)
}
