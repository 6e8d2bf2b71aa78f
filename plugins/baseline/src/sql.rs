//! T-SQL through a label: reads (with limits), the few changes, and reading cells whatever
//! type the server chose for them.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::text;
use ferry_sdk::{QueryLimits, SqlValue, StatementOptions};

use crate::config::Config;

/// At most this many rows per read: a Query Store holding more (query, plan) pairs in one
/// window is captured without its smallest, and the capture says so.
pub const MAX_ROWS: u32 = 10_000;

const LIMITS: QueryLimits = QueryLimits {
    max_rows: MAX_ROWS,
    max_bytes: 8 << 20,
};

/// The first result set's rows, and whether rows were left out.
pub fn rows(
    cx: &mut Context<'_, Config>,
    label: &str,
    sql: &str,
) -> Result<(Vec<Vec<SqlValue>>, bool)> {
    let conn = cx.sql(label)?;
    let r = cx.query(conn, sql, &[], LIMITS)?;
    let truncated = r.sets.first().is_some_and(|s| s.truncated);
    Ok((r.into_first_rows(), truncated))
}

/// Runs a change; `what` names it in a failure.
pub fn exec(cx: &mut Context<'_, Config>, label: &str, sql: &str, what: &str) -> Result<()> {
    let conn = cx.sql(label)?;
    cx.execute(
        conn,
        sql,
        &[],
        StatementOptions {
            idempotent: true,
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

/// A cell as a number: floats, integers, decimals and numbers sent as text; anything else 0.
pub fn num(v: Option<&SqlValue>) -> f64 {
    match v {
        Some(SqlValue::Float(f)) if f.is_finite() => *f,
        Some(SqlValue::Int(i)) => *i as f64,
        Some(SqlValue::Bit(b)) => f64::from(u8::from(*b)),
        other => text(other)
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .unwrap_or(0.0),
    }
}

/// A count: negative or fractional figures (a server's float sums) become whole and ≥ 0.
pub fn count(v: Option<&SqlValue>) -> u64 {
    num(v).max(0.0).round() as u64
}

/// A `binary(8)` hash as `0x` and upper-case hex; one sent as text (`0x…`) is kept as such.
pub fn hash(v: Option<&SqlValue>) -> String {
    let t = text(v);
    let t = t.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    format!("0x{}", digits.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_numbers_and_hashes() {
        assert_eq!(num(Some(&SqlValue::Float(2.5))), 2.5);
        assert_eq!(num(Some(&SqlValue::Decimal("12.25".into()))), 12.25);
        assert_eq!(num(Some(&SqlValue::Text("x".into()))), 0.0);
        assert_eq!(num(Some(&SqlValue::Float(f64::NAN))), 0.0);
        assert_eq!(count(Some(&SqlValue::Float(-3.0))), 0);
        assert_eq!(count(Some(&SqlValue::Float(9.6))), 10);
        assert_eq!(hash(Some(&SqlValue::Binary(vec![0xab, 0x01]))), "0xAB01");
        assert_eq!(hash(Some(&SqlValue::Text("0xab01".into()))), "0xAB01");
    }
}
