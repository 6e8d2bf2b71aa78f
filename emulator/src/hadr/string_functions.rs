//! T-SQL string functions SQLite lacks, registered on the instance's connection so queries
//! over the catalog can use them: the link's connectivity recipe ("Prepare environment for
//! link") reads the fabric views with CHARINDEX, REVERSE and RIGHT. Semantics follow
//! "CHARINDEX (Transact-SQL)", "REVERSE (Transact-SQL)", "RIGHT (Transact-SQL)" and
//! "LEFT (Transact-SQL)": 1-based positions, 0 when not found, NULL in → NULL out, a negative
//! length an error (SQL Server error 536 for RIGHT/LEFT).

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::Value;
use rusqlite::{Connection, Error};

fn text(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    match ctx.get::<Value>(i)? {
        Value::Null => Ok(None),
        Value::Text(s) => Ok(Some(s)),
        Value::Integer(n) => Ok(Some(n.to_string())),
        Value::Real(f) => Ok(Some(f.to_string())),
        Value::Blob(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
    }
}

fn int(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<i64>> {
    match ctx.get::<Value>(i)? {
        Value::Null => Ok(None),
        Value::Integer(n) => Ok(Some(n)),
        Value::Real(f) => Ok(Some(f as i64)),
        Value::Text(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| Error::UserFunctionError(Box::new(e))),
        Value::Blob(_) => Err(Error::UserFunctionError("a length must be a number".into())),
    }
}

/// CHARINDEX(find, within [, start]): case-insensitive, as the default collation compares.
fn charindex(ctx: &Context<'_>) -> rusqlite::Result<Option<i64>> {
    let (Some(find), Some(within)) = (text(ctx, 0)?, text(ctx, 1)?) else {
        return Ok(None);
    };
    let start = if ctx.len() > 2 {
        int(ctx, 2)?.unwrap_or(1).max(1)
    } else {
        1
    };
    let hay: Vec<char> = within.to_lowercase().chars().collect();
    let needle: Vec<char> = find.to_lowercase().chars().collect();
    if needle.is_empty() {
        return Ok(Some(0));
    }
    let from = (start - 1) as usize;
    Ok(Some(
        (from..hay.len())
            .find(|&k| hay[k..].starts_with(&needle))
            .map_or(0, |k| k as i64 + 1),
    ))
}

fn side(ctx: &Context<'_>, right: bool) -> rusqlite::Result<Option<String>> {
    let (Some(s), Some(n)) = (text(ctx, 0)?, int(ctx, 1)?) else {
        return Ok(None);
    };
    if n < 0 {
        return Err(Error::UserFunctionError(
            "Invalid length parameter passed to the RIGHT or LEFT function.".into(),
        ));
    }
    let chars: Vec<char> = s.chars().collect();
    let n = (n as usize).min(chars.len());
    Ok(Some(if right {
        chars[chars.len() - n..].iter().collect()
    } else {
        chars[..n].iter().collect()
    }))
}

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("charindex", 2, flags, charindex)?;
    conn.create_scalar_function("charindex", 3, flags, charindex)?;
    conn.create_scalar_function("reverse", 1, flags, |ctx| {
        Ok(text(ctx, 0)?.map(|s| s.chars().rev().collect::<String>()))
    })?;
    conn.create_scalar_function("right", 2, flags, |ctx| side(ctx, true))?;
    conn.create_scalar_function("left", 2, flags, |ctx| side(ctx, false))
}
