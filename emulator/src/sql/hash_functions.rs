//! HASHBYTES, CHECKSUM, BINARY_CHECKSUM and CONCAT_WS outside table queries, where each value
//! carries its T-SQL type. The algorithms are instance/hashing.rs and instance/checksum.rs,
//! the ones SQLite runs, so both paths give the same answer.

use rusqlite::types::{Value as Sqlite, ValueRef};

use super::env::Typed;
use crate::instance::checksum::{Flavour, checksum};
use crate::instance::hashing::{Kind, hashbytes};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, SqlType, Value};

fn kind(ty: SqlType) -> Kind {
    match ty {
        SqlType::VarChar(_) => Kind::VarChar,
        SqlType::NVarChar(_) => Kind::NVarChar,
        SqlType::VarBinary(_) => Kind::VarBinary,
        SqlType::TinyInt => Kind::Int(1),
        SqlType::SmallInt => Kind::Int(2),
        SqlType::Int => Kind::Int(4),
        SqlType::BigInt => Kind::Int(8),
        SqlType::Bit => Kind::Bit,
        SqlType::SqlVariant => Kind::Noncomparable,
        _ => Kind::Other,
    }
}

fn sqlite(v: &Value) -> Sqlite {
    match v {
        Value::Null => Sqlite::Null,
        Value::Bit(b) => Sqlite::Integer(i64::from(*b)),
        Value::Int(i) => Sqlite::Integer(*i),
        Value::Float(f) => Sqlite::Real(*f),
        Value::Binary(b) => Sqlite::Blob(b.clone()),
        Value::Text(t) => Sqlite::Text(t.clone()),
        other => Sqlite::Text(types::text(other)),
    }
}

fn failed(e: String) -> ServerMessage {
    ServerMessage::error(50000, 16, e)
}

/// Calls `name` (lower case) with its evaluated arguments.
pub fn call(name: &str, args: &[Typed]) -> Result<Typed, ServerMessage> {
    match name {
        "hashbytes" => {
            let [(_, algorithm), (ty, input)] = args else {
                // SQL Server error 174 (class 15).
                return Err(ServerMessage::error(
                    174,
                    15,
                    "The hashbytes function requires 2 argument(s).",
                ));
            };
            let algorithm = match algorithm {
                Value::Null => None,
                v => Some(types::text(v)),
            };
            let input = sqlite(input);
            let out = match algorithm {
                Some(a) => hashbytes(&a, kind(*ty), ValueRef::from(&input)).map_err(failed)?,
                None => None,
            };
            // "HASHBYTES (Transact-SQL)": varbinary (maximum 8000 bytes).
            Ok((
                SqlType::VarBinary(Some(8000)),
                out.map_or(Value::Null, Value::Binary),
            ))
        }
        "checksum" | "binary_checksum" => {
            let flavour = if name == "checksum" {
                Flavour::Checksum
            } else {
                Flavour::Binary
            };
            let values: Vec<(Kind, Sqlite)> =
                args.iter().map(|(t, v)| (kind(*t), sqlite(v))).collect();
            if flavour == Flavour::Checksum
                && let Some(at) = values.iter().position(|(k, _)| *k == Kind::Noncomparable)
            {
                // SQL Server error 8116: CHECKSUM takes any type but a noncomparable one.
                return Err(ServerMessage::error(
                    8116,
                    16,
                    format!(
                        "Argument data type sql_variant is invalid for argument {} of checksum function.",
                        at + 1
                    ),
                ));
            }
            let refs: Vec<(Kind, ValueRef<'_>)> = values
                .iter()
                .map(|(k, v)| (*k, ValueRef::from(v)))
                .collect();
            let h = checksum(flavour, &refs).map_err(failed)?;
            Ok((SqlType::Int, Value::Int(i64::from(h))))
        }
        // "CONCAT_WS (Transact-SQL)": 3 to 254 arguments; NULL values are skipped, with no
        // separator for them; all NULL gives an empty string. nvarchar when an input is.
        _ => {
            if args.len() < 3 || args.len() > 254 {
                return Err(ServerMessage::error(
                    189,
                    15,
                    "The concat_ws function requires 3 to 254 arguments.",
                ));
            }
            let text = |v: &Value| match v {
                Value::Null => None,
                v => Some(types::text(v)),
            };
            let separator = text(&args[0].1).unwrap_or_default();
            let parts: Vec<String> = args[1..].iter().filter_map(|(_, v)| text(v)).collect();
            let unicode = args.iter().any(|(t, _)| matches!(t, SqlType::NVarChar(_)));
            let ty = if unicode {
                SqlType::NVarChar(Some(4000))
            } else {
                SqlType::VarChar(Some(8000))
            };
            Ok((ty, Value::Text(parts.join(&separator))))
        }
    }
}
