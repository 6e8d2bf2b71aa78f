//! Division by zero in the statements SQLite runs. SQLite answers `x / 0` and `x % 0` with
//! NULL; SQL Server fails the statement with error 8134 (severity 16) whenever ANSI_WARNINGS
//! is ON, whatever ARITHABORT says ("SET ANSI_WARNINGS (Transact-SQL)": "Divide-by-zero and
//! arithmetic overflow errors cause the statement to be rolled back and an error message is
//! generated"; "SET ARITHABORT (Transact-SQL)": with ARITHABORT OFF and ANSI_WARNINGS ON the
//! query is still aborted). ANSI_WARNINGS is ON for every TDS client's session by default, and
//! the emulator does not model it OFF: the stricter behaviour. The rewrite of table statements
//! (sql/rewrite.rs) passes every divisor through `ferry_divisor`, which raises the error; the
//! failing statement's changes are undone by SQLite's statement rollback.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};

/// The message of SQL Server's error 8134, which [`super::query::sqlite_error`] recognises.
pub(crate) const DIVIDE_BY_ZERO: &str = "Divide by zero error encountered.";

#[derive(Debug)]
struct DivideByZero;

impl std::fmt::Display for DivideByZero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(DIVIDE_BY_ZERO)
    }
}

impl std::error::Error for DivideByZero {}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_divisor",
        1,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let divisor = ctx.get_raw(0);
            let zero = match divisor {
                ValueRef::Integer(n) => n == 0,
                ValueRef::Real(x) => x == 0.0,
                // Text is converted to a number for arithmetic, as SQL Server converts it.
                ValueRef::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .is_some_and(|x| x == 0.0),
                ValueRef::Null | ValueRef::Blob(_) => false,
            };
            if zero {
                return Err(rusqlite::Error::UserFunctionError(Box::new(DivideByZero)));
            }
            Ok(Value::from(divisor))
        },
    )
}
