//! The counts of OFFSET … FETCH (sql/offset_fetch.rs), checked when the statement runs, as
//! SQL Server checks a parameter's value: a negative offset fails with error 10742, a fetch
//! count under one with error 10744 ("SELECT - ORDER BY Clause (Transact-SQL)",
//! learn.microsoft.com: the offset "can be ... greater or equal to zero", the fetch count
//! "greater than or equal to one"). The texts are sys.messages' (10744's "then" included). The
//! page does not say what a NULL count does: the stricter choice, it fails as out of range.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

pub(crate) const NEGATIVE_OFFSET: &str =
    "The offset specified in a OFFSET clause may not be negative.";
pub(crate) const FETCH_NOT_POSITIVE: &str =
    "The number of rows provided for a FETCH clause must be greater then zero.";

#[derive(Debug)]
struct OutOfRange(&'static str);

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for OutOfRange {}

/// The count as an integer, when it is one (text that reads as one, as SQL Server converts it).
fn count(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(n) => Some(n),
        ValueRef::Real(x) if x.fract() == 0.0 => Some(x as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

fn checked(
    ctx: &rusqlite::functions::Context<'_>,
    min: i64,
    message: &'static str,
) -> rusqlite::Result<i64> {
    match count(ctx.get_raw(0)) {
        Some(n) if n >= min => Ok(n),
        _ => Err(rusqlite::Error::UserFunctionError(Box::new(OutOfRange(
            message,
        )))),
    }
}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8;
    conn.create_scalar_function("ferry_offset_rows", 1, flags, |ctx| {
        checked(ctx, 0, NEGATIVE_OFFSET)
    })?;
    conn.create_scalar_function("ferry_fetch_rows", 1, flags, |ctx| {
        checked(ctx, 1, FETCH_NOT_POSITIVE)
    })
}

/// SQL Server's error for a count's message, if `text` is one.
pub(crate) fn error(text: &str) -> Option<crate::protocol::tokens::ServerMessage> {
    let number = match text {
        NEGATIVE_OFFSET => 10742,
        FETCH_NOT_POSITIVE => 10744,
        _ => return None,
    };
    Some(crate::protocol::tokens::ServerMessage::error(
        number, 15, text,
    ))
}
