//! `ferry_convert(value, kind, style)`: CONVERT in statements SQLite runs (sql/convert_calls.rs
//! writes the calls). To text: binary with style 1 or 2 as hex ("CAST and CONVERT
//! (Transact-SQL)", Binary styles; sql/convert.rs `binary_styled`), with style 0 as its bytes
//! read as characters; numbers as they print. To binary: text's bytes (style 0) or its hex
//! (styles 1 and 2, `0x` required with 1). To int: numbers truncated, text parsed; anything
//! else fails with SQL Server's 245 text.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};

#[derive(Debug)]
struct Failed(String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failed {}

fn fail(msg: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(Box::new(Failed(msg)))
}

fn hex_bytes(t: &str) -> Option<Vec<u8>> {
    if !t.len().is_multiple_of(2) {
        return None;
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect()
}

fn convert(v: ValueRef<'_>, kind: &str, style: i64) -> rusqlite::Result<Value> {
    let text_of = |t: &[u8]| String::from_utf8_lossy(t).into_owned();
    Ok(match (kind, v) {
        (_, ValueRef::Null) => Value::Null,
        ("text", ValueRef::Blob(b)) => Value::Text(
            crate::sql::convert::binary_styled(b, style)
                .unwrap_or_else(|| b.iter().map(|&c| char::from(c)).collect()),
        ),
        ("text", ValueRef::Text(t)) => Value::Text(text_of(t)),
        ("text", ValueRef::Integer(n)) => Value::Text(n.to_string()),
        ("text", ValueRef::Real(x)) => Value::Text(x.to_string()),
        ("binary" | "binary_nvarchar", ValueRef::Blob(b)) => Value::Blob(b.to_vec()),
        // nvarchar's bytes are UTF-16LE (sql/convert_calls.rs `unicode`).
        ("binary_nvarchar", ValueRef::Text(t)) => Value::Blob(
            text_of(t)
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
        ("binary_nvarchar", ValueRef::Integer(_) | ValueRef::Real(_)) => {
            return convert(v, "text", 0).map(|t| match t {
                Value::Text(t) => {
                    Value::Blob(t.encode_utf16().flat_map(u16::to_le_bytes).collect())
                }
                other => other,
            });
        }
        ("binary", ValueRef::Text(t)) => {
            let t = text_of(t);
            let digits = match style {
                1 => t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")),
                2 => Some(t.as_str()),
                _ => return Ok(Value::Blob(t.into_bytes())),
            };
            match digits.and_then(hex_bytes) {
                Some(b) => Value::Blob(b),
                None => {
                    return Err(fail(format!(
                        "Error converting data type varchar to varbinary. ('{t}' is not hex for style {style})"
                    )));
                }
            }
        }
        ("int", ValueRef::Integer(n)) => Value::Integer(n),
        ("int", ValueRef::Real(x)) => Value::Integer(x.trunc() as i64),
        ("int", ValueRef::Text(t)) => {
            let t = text_of(t);
            match t.trim().parse::<i64>() {
                Ok(n) => Value::Integer(n),
                Err(_) => {
                    return Err(fail(format!(
                        "Conversion failed when converting the varchar value '{t}' to data type int."
                    )));
                }
            }
        }
        (kind, _) => return Err(fail(format!("cannot convert this value to {kind}"))),
    })
}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_convert",
        3,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let kind: String = ctx.get(1)?;
            let style: i64 = ctx.get::<Option<i64>>(2)?.unwrap_or(0);
            convert(ctx.get_raw(0), &kind, style)
        },
    )
}
