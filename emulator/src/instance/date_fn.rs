//! The date functions of statements SQLite runs: SYSUTCDATETIME, SYSDATETIME, GETUTCDATE,
//! GETDATE and DATEADD (which sql/date_calls.rs turns into `ferry_dateadd('part', n, d)`).
//!
//! - "SYSUTCDATETIME (Transact-SQL)" and "SYSDATETIME": datetime2(7); "GETUTCDATE" and
//!   "GETDATE": datetime, whose accuracy is "rounded to increments of .000, .003, or .007
//!   seconds" ("datetime (Transact-SQL)"). The emulated server's clock is UTC, so the local
//!   and UTC functions agree (as sql/functions.rs answers them without a table).
//! - "DATEADD (Transact-SQL)": the result has the date argument's type; a month that lacks the
//!   day gives the month's last day; a fractional number is truncated; a result outside the
//!   type's range is error 517 "Adding a value to a '<type>' column caused an overflow.".
//!   A string literal is taken as datetime ("If date is a string literal … DATEADD returns a
//!   datetime value"). SQLite has lost the argument's T-SQL type: a value written with three
//!   fractional digits (what GETUTCDATE gives and the datetime columns hold) or none (a
//!   literal) is taken as datetime, one with seven as datetime2(7) — a guess the docs cannot
//!   settle, stated here. The result goes to the client as text, not typed datetime.

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};

use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{datetime_text, days_from_civil, now_text, parse_datetime};

/// Marks a DATEADD overflow in SQLite's error text, for [`function_error`].
const OVERFLOW: &str = "ferry-dateadd-overflow:";

const TICKS_PER_DAY: i64 = 864_000_000_000;

#[derive(Debug)]
struct Overflow(&'static str);

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{OVERFLOW}{}", self.0)
    }
}

impl std::error::Error for Overflow {}

/// SQL Server's error 517 (severity 16) for an overflow `ferry_dateadd` raised.
pub(crate) fn function_error(text: &str) -> Option<ServerMessage> {
    let ty = text.strip_prefix(OVERFLOW)?;
    Some(ServerMessage::error(
        517,
        16,
        format!("Adding a value to a '{ty}' column caused an overflow."),
    ))
}

/// `YYYY-MM-DD HH:MM:SS.fff` of datetime, the ticks rounded to its 1/300 s accuracy.
fn datetime_value(days: u32, ticks: u64) -> String {
    let (mut days, mut ms) = (days, (ticks / 10_000_000) * 1000);
    let frac = ticks % 10_000_000;
    // 1/300 s steps, written as the nearest millisecond (.000, .003, .007).
    let steps = (frac * 300 + 5_000_000) / 10_000_000;
    ms += (steps * 1000 + 150) / 300;
    if ms >= 86_400_000 {
        days += 1;
        ms -= 86_400_000;
    }
    let full = datetime_text(days, ms * 10_000);
    full[..full.len() - 4].to_owned()
}

fn now() -> (u32, u64) {
    parse_datetime(&now_text()).unwrap_or((0, 0))
}

/// Adds `n` `part`s to (days, ticks); None outside 0001-01-01 … 9999-12-31.
fn add(part: &str, n: i64, days: u32, ticks: u64) -> Option<(u32, u64)> {
    let months = |m: i64| -> Option<(u32, u64)> {
        let date = crate::protocol::types::date_text(days);
        let y: i64 = date[..4].parse().ok()?;
        let mo: i64 = date[5..7].parse().ok()?;
        let d: u32 = date[8..10].parse().ok()?;
        let total = y * 12 + (mo - 1) + m;
        let (y, mo) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        if !(1..=9999).contains(&y) {
            return None;
        }
        // The month's last day when it lacks `d`.
        let day = (1..=d)
            .rev()
            .find(|&x| days_from_civil(y, mo, x).is_some_and(|v| same_month(v, mo)))?;
        Some((days_from_civil(y, mo, day)?, ticks))
    };
    let ticks_per = |t: i64| -> Option<(u32, u64)> {
        let at = i64::from(days)
            .checked_mul(TICKS_PER_DAY)?
            .checked_add(ticks as i64)?
            .checked_add(n.checked_mul(t)?)?;
        let (d, t) = (at.div_euclid(TICKS_PER_DAY), at.rem_euclid(TICKS_PER_DAY));
        Some((u32::try_from(d).ok()?, t as u64))
    };
    let out = match part {
        "year" => months(n.checked_mul(12)?)?,
        "quarter" => months(n.checked_mul(3)?)?,
        "month" => months(n)?,
        "dayofyear" | "day" | "weekday" => ticks_per(TICKS_PER_DAY)?,
        "week" => ticks_per(7 * TICKS_PER_DAY)?,
        "hour" => ticks_per(36_000_000_000)?,
        "minute" => ticks_per(600_000_000)?,
        "second" => ticks_per(10_000_000)?,
        "millisecond" => ticks_per(10_000)?,
        "microsecond" => ticks_per(10)?,
        // datetime2(7) keeps 100 ns: the docs' nanosecond example rounds to it.
        "nanosecond" => {
            let at =
                i64::from(days) * TICKS_PER_DAY + ticks as i64 + (n as f64 / 100.0).round() as i64;
            (
                u32::try_from(at.div_euclid(TICKS_PER_DAY)).ok()?,
                at.rem_euclid(TICKS_PER_DAY) as u64,
            )
        }
        _ => return None,
    };
    // 9999-12-31 is the last day of every date type.
    (out.0 <= days_from_civil(9999, 12, 31)?).then_some(out)
}

fn same_month(days: u32, month: u32) -> bool {
    crate::protocol::types::date_text(days)[5..7]
        .parse::<u32>()
        .ok()
        == Some(month)
}

fn dateadd(ctx: &Context<'_>) -> rusqlite::Result<Value> {
    let part = ctx.get::<String>(0)?;
    let n = match ctx.get_raw(1) {
        ValueRef::Integer(i) => i,
        // "If you specify a value with a decimal fraction, DATEADD truncates".
        ValueRef::Real(f) => f.trunc() as i64,
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map_or(0, |f| f.trunc() as i64),
        ValueRef::Null | ValueRef::Blob(_) => return Ok(Value::Null),
    };
    let ValueRef::Text(d) = ctx.get_raw(2) else {
        return Ok(Value::Null);
    };
    let d = String::from_utf8_lossy(d);
    let Some((days, ticks)) = parse_datetime(&d) else {
        return Ok(Value::Null);
    };
    let is_datetime = match d.trim().rsplit_once('.') {
        Some((_, f)) => f.len() == 3 && f.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    };
    let ty = if is_datetime { "datetime" } else { "datetime2" };
    let too_far = || rusqlite::Error::UserFunctionError(Box::new(Overflow(ty)));
    // The number is an int ("number: An expression that can resolve to an int").
    let n = i32::try_from(n).map_err(|_| too_far())?;
    let (days, ticks) = add(&part, i64::from(n), days, ticks).ok_or_else(too_far)?;
    if is_datetime {
        // datetime starts at 1753-01-01.
        if days < days_from_civil(1753, 1, 1).unwrap_or(0) {
            return Err(too_far());
        }
        return Ok(Value::Text(datetime_value(days, ticks)));
    }
    Ok(Value::Text(datetime_text(days, ticks)))
}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    // The clock moves: not deterministic.
    let flags = FunctionFlags::SQLITE_UTF8;
    for name in ["sysutcdatetime", "sysdatetime"] {
        conn.create_scalar_function(name, 0, flags, |_| Ok(now_text()))?;
    }
    for name in ["getutcdate", "getdate"] {
        conn.create_scalar_function(name, 0, flags, |_| {
            let (d, t) = now();
            Ok(datetime_value(d, t))
        })?;
    }
    conn.create_scalar_function(
        "ferry_dateadd",
        3,
        flags | FunctionFlags::SQLITE_DETERMINISTIC,
        dateadd,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sql: &str) -> rusqlite::Result<String> {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        c.query_row(sql, [], |r| r.get(0))
    }

    #[test]
    fn dateadd_follows_the_docs_examples() {
        // "DATEADD (Transact-SQL)": adding a month to 2024-01-31 gives 2024-02-29.
        assert_eq!(
            run("SELECT ferry_dateadd('month', 1, '2024-01-31 00:00:00.0000000')").unwrap(),
            "2024-02-29 00:00:00.0000000"
        );
        assert_eq!(
            run("SELECT ferry_dateadd('second', -90, '2024-03-01 00:00:00.000')").unwrap(),
            "2024-02-29 23:58:30.000"
        );
        assert_eq!(
            run("SELECT ferry_dateadd('year', 1, '2024-02-29 10:00:00.1234567')").unwrap(),
            "2025-02-28 10:00:00.1234567"
        );
        assert_eq!(
            run("SELECT ferry_dateadd('day', 1.9, '2024-02-29 10:00:00.1234567')").unwrap(),
            "2024-03-01 10:00:00.1234567"
        );
        // A literal without fractions is a datetime.
        assert_eq!(
            run("SELECT ferry_dateadd('minute', -30, '2024-01-01 12:00:00')").unwrap(),
            "2024-01-01 11:30:00.000"
        );
    }

    #[test]
    fn an_overflow_is_error_517_with_the_type() {
        let e = run("SELECT ferry_dateadd('year', 1, '9999-06-01 00:00:00.000')").unwrap_err();
        let m = function_error(&e.to_string()).unwrap();
        assert_eq!(m.number, 517);
        assert_eq!(
            m.text,
            "Adding a value to a 'datetime' column caused an overflow."
        );
        let e = run("SELECT ferry_dateadd('day', -1, '0001-01-01 00:00:00.0000000')").unwrap_err();
        assert!(
            function_error(&e.to_string())
                .unwrap()
                .text
                .contains("'datetime2'")
        );
    }

    #[test]
    fn getutcdate_has_datetime_accuracy() {
        let t = run("SELECT getutcdate()").unwrap();
        assert_eq!(t.len(), 23, "{t}");
        assert!(matches!(&t[22..], "0" | "3" | "7"), "{t}");
        assert_eq!(run("SELECT sysutcdatetime()").unwrap().len(), 27);
    }
}
