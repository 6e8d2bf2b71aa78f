//! T-SQL through a label: reads with parameters, and the one change (the tail-log backup).

use ferry_sdk::prelude::*;
use ferry_sdk::{Param, QueryLimits, SqlValue, StatementOptions};

use crate::config::Config;

const LIMITS: QueryLimits = QueryLimits {
    max_rows: 10_000,
    max_bytes: 4 << 20,
};

pub fn p(name: &str, v: &str) -> Param {
    Param::value(name, SqlValue::Text(v.to_owned()))
}

/// The first result set's rows.
pub fn rows(
    cx: &mut Context<'_, Config>,
    label: &str,
    sql: &str,
    params: &[Param],
) -> Result<Vec<Vec<SqlValue>>> {
    let conn = cx.sql(label)?;
    Ok(cx.query(conn, sql, params, LIMITS)?.into_first_rows())
}

/// Runs a change; `what` names it in a failure.
pub fn exec(
    cx: &mut Context<'_, Config>,
    label: &str,
    sql: &str,
    params: &[Param],
    what: &str,
) -> Result<()> {
    let conn = cx.sql(label)?;
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
        Error::Failed(f) => Error::Failed(ferry_sdk::Failure {
            message: format!("{what} on `{label}` failed: {}", f.message),
            code: f.code,
        }),
        e => e,
    })
}
