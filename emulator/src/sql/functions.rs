//! Built-in functions outside table queries, each as its Transact-SQL reference page describes
//! it. A name the emulator does not know gets SQL Server's error 195.

use super::env::{Env, Typed};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, SqlType, Value};

fn text_of(t: Typed) -> Option<String> {
    match t.1 {
        Value::Null => None,
        v => Some(types::text(&v)),
    }
}

fn nvarchar(s: Option<String>, len: u16) -> Typed {
    (
        SqlType::NVarChar(Some(len)),
        s.map_or(Value::Null, Value::Text),
    )
}

/// The number of arguments a function takes: SQL Server error 174 otherwise ("The %s function
/// requires %d argument(s).").
fn arity(name: &str, args: &[Typed], min: usize, max: usize) -> Result<(), ServerMessage> {
    if args.len() < min || args.len() > max {
        return Err(ServerMessage::error(
            174,
            15,
            format!(
                "The {} function requires {min} argument(s).",
                name.to_ascii_lowercase()
            ),
        ));
    }
    Ok(())
}

/// Calls function `name` with its arguments, evaluated.
pub fn call(name: &str, args: &[Typed], env: &Env<'_>) -> Result<Typed, ServerMessage> {
    let arg = |i: usize| -> Result<Typed, ServerMessage> {
        Ok(args.get(i).cloned().unwrap_or((SqlType::Int, Value::Null)))
    };
    let s = env.s;
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "serverproperty" => {
            arity(name, args, 1, 1)?;
            let property = text_of(arg(0)?).unwrap_or_default();
            let v = super::server_facts::property(&property, env)
                .unwrap_or_else(|| s.personality.server_property(&property));
            (SqlType::SqlVariant, v)
        }
        // DB_NAME([id]): the current database's name, or the name of database `id`.
        "db_name" => {
            arity(name, args, 0, 1)?;
            let n = match args.first() {
                None => Some(s.database.to_owned()),
                Some(_) => match arg(0)?.1 {
                    Value::Null => None,
                    v => {
                        let id = types::int(&v);
                        env.inst
                            .databases()
                            .find(|d| d.id == id)
                            .map(|d| d.name.clone())
                    }
                },
            };
            nvarchar(n, 128)
        }
        // DB_ID(['name']): the current database's id, or that of database `name`; NULL when
        // there is none.
        "db_id" => {
            arity(name, args, 0, 1)?;
            let db = match args.first() {
                None => Some(s.database.to_owned()),
                Some(_) => text_of(arg(0)?),
            };
            let id = db.and_then(|d| env.inst.database(&d).map(|i| i.id));
            (SqlType::SmallInt, id.map_or(Value::Null, Value::Int))
        }
        // OBJECT_ID('[db.][schema.]name' [, 'type']): the table's id, NULL when there is none.
        "object_id" => {
            arity(name, args, 1, 2)?;
            let object = text_of(arg(0)?);
            let kind = text_of(arg(1)?);
            let id = object.and_then(|o| env.inst.object_id(s.database, &o, kind.as_deref()));
            (SqlType::Int, id.map_or(Value::Null, Value::Int))
        }
        // OBJECT_NAME(id [, database_id]), OBJECT_SCHEMA_NAME(id [, database_id]),
        // OBJECTPROPERTY(id, property): NULL for what is not found (objects_ddl/functions.rs
        // does the same inside queries).
        "object_name" | "object_schema_name" | "objectproperty" => {
            let property = lower == "objectproperty";
            if property {
                arity(name, args, 2, 2)?;
            } else {
                arity(name, args, 1, 2)?;
            }
            let id = arg(0)?.1;
            let db = match (property, args.get(1)) {
                (false, Some(_)) => match arg(1)?.1 {
                    Value::Null => None,
                    v => {
                        let n = types::int(&v);
                        env.inst
                            .databases()
                            .find(|d| d.id == n)
                            .map(|d| d.name.clone())
                    }
                },
                _ => Some(s.database.to_owned()),
            };
            let found = |f: &dyn Fn(&str, i64) -> Option<String>| match (&id, &db) {
                (Value::Null, _) | (_, None) => None,
                (v, Some(d)) => f(d, types::int(v)),
            };
            match lower.as_str() {
                "object_name" => nvarchar(found(&|d, i| env.inst.object_name(d, i)), 128),
                "object_schema_name" => {
                    nvarchar(found(&|d, i| env.inst.object_schema_name(d, i)), 128)
                }
                _ => {
                    let p = text_of(arg(1)?).unwrap_or_default();
                    let v =
                        found(&|d, i| env.inst.object_property(d, i, &p).map(|n| n.to_string()));
                    (
                        SqlType::Int,
                        v.and_then(|n| n.parse().ok())
                            .map_or(Value::Null, Value::Int),
                    )
                }
            }
        }
        // XACT_STATE(): 1 in a committable transaction, 0 outside one.
        "xact_state" => {
            arity(name, args, 0, 0)?;
            let open = env.inst.transaction_count(s.spid) > 0;
            (SqlType::SmallInt, Value::Int(i64::from(open)))
        }
        "suser_sname" | "suser_name" | "suser_id" | "suser_sid" | "is_srvrolemember"
        | "has_perms_by_name"
            if !args.is_empty() || lower != "suser_sname" && lower != "suser_name" =>
        {
            super::principal_functions::call(&lower, args, env)?
        }
        "suser_sname" | "suser_name" | "user_name" | "original_login" => {
            nvarchar(Some(s.user.to_owned()), 128)
        }
        "isnull" => {
            arity(name, args, 2, 2)?;
            let first = arg(0)?;
            if first.1 == Value::Null {
                let second = arg(1)?;
                (
                    first.0,
                    super::convert::convert(second.1, second.0, first.0)?,
                )
            } else {
                first
            }
        }
        "coalesce" => {
            let mut out = (SqlType::Int, Value::Null);
            for i in 0..args.len() {
                let v = arg(i)?;
                if v.1 != Value::Null {
                    out = v;
                    break;
                }
            }
            out
        }
        "len" => {
            arity(name, args, 1, 1)?;
            let v = text_of(arg(0)?);
            (
                SqlType::Int,
                v.map_or(Value::Null, |t| {
                    Value::Int(t.trim_end_matches(' ').chars().count() as i64)
                }),
            )
        }
        "datalength" => {
            arity(name, args, 1, 1)?;
            let (ty, v) = arg(0)?;
            let n = match (&v, ty) {
                (Value::Null, _) => None,
                (Value::Binary(b), _) => Some(b.len()),
                (_, SqlType::NVarChar(_)) => Some(types::text(&v).encode_utf16().count() * 2),
                _ => Some(types::text(&v).len()),
            };
            (
                SqlType::Int,
                n.map_or(Value::Null, |n| Value::Int(n as i64)),
            )
        }
        "upper" | "lower" | "ltrim" | "rtrim" | "trim" => {
            arity(name, args, 1, 1)?;
            let (ty, v) = arg(0)?;
            let t = text_of((ty, v)).map(|t| match lower.as_str() {
                "upper" => t.to_uppercase(),
                "lower" => t.to_lowercase(),
                "ltrim" => t.trim_start_matches(' ').to_owned(),
                "rtrim" => t.trim_end_matches(' ').to_owned(),
                _ => t.trim_matches(' ').to_owned(),
            });
            let ty = if matches!(ty, SqlType::VarChar(_)) {
                ty
            } else {
                SqlType::NVarChar(Some(4000))
            };
            (ty, t.map_or(Value::Null, Value::Text))
        }
        "stats_date" => super::statistics::stats_date(args, env)?,
        "hashbytes" | "checksum" | "binary_checksum" | "concat_ws" => {
            super::hash_functions::call(&lower, args)?
        }
        "concat" => {
            let mut out = String::new();
            for i in 0..args.len() {
                out.push_str(&text_of(arg(i)?).unwrap_or_default());
            }
            nvarchar(Some(out), 4000)
        }
        "replace" => {
            arity(name, args, 3, 3)?;
            match (text_of(arg(0)?), text_of(arg(1)?), text_of(arg(2)?)) {
                (Some(t), Some(from), Some(to)) if !from.is_empty() => {
                    nvarchar(Some(replace_ci(&t, &from, &to)), 4000)
                }
                (Some(t), Some(_), Some(_)) => nvarchar(Some(t), 4000),
                _ => nvarchar(None, 4000),
            }
        }
        "left" | "right" => {
            arity(name, args, 2, 2)?;
            let t = text_of(arg(0)?);
            let n = types::int(&arg(1)?.1).max(0) as usize;
            let t = t.map(|t| {
                let chars: Vec<char> = t.chars().collect();
                let n = n.min(chars.len());
                if lower == "left" {
                    chars[..n].iter().collect()
                } else {
                    chars[chars.len() - n..].iter().collect()
                }
            });
            nvarchar(t, 4000)
        }
        "substring" => {
            arity(name, args, 3, 3)?;
            let t = text_of(arg(0)?);
            let start = types::int(&arg(1)?.1);
            let len = types::int(&arg(2)?.1).max(0);
            // Positions before the first character count against the length, as SQL Server's
            // SUBSTRING does.
            let t = t.map(|t| {
                let from = (start - 1).max(0) as usize;
                let until = (start - 1 + len).max(0) as usize;
                t.chars()
                    .skip(from)
                    .take(until.saturating_sub(from))
                    .collect()
            });
            nvarchar(t, 4000)
        }
        "charindex" => {
            arity(name, args, 2, 3)?;
            let (needle, hay) = (text_of(arg(0)?), text_of(arg(1)?));
            let from = types::int(&arg(2)?.1).max(1) as usize;
            let at = match (needle, hay) {
                (Some(n), Some(h)) => {
                    let h: String = h.chars().skip(from - 1).collect();
                    // ASCII case folding keeps byte offsets, so `h[..i]` stays on a boundary.
                    Some(
                        h.to_ascii_lowercase()
                            .find(&n.to_ascii_lowercase())
                            .map_or(0, |i| h[..i].chars().count() + from),
                    )
                }
                _ => None,
            };
            (
                SqlType::Int,
                at.map_or(Value::Null, |i| Value::Int(i as i64)),
            )
        }
        "abs" => {
            arity(name, args, 1, 1)?;
            match arg(0)? {
                (ty, Value::Int(i)) => (ty, super::convert::fit_int(i128::from(i).abs(), ty)?),
                (ty, Value::Float(f)) => (ty, Value::Float(f.abs())),
                (ty, Value::Decimal(u, s)) => (ty, Value::Decimal(u.abs(), s)),
                other => other,
            }
        }
        "getdate" | "sysdatetime" | "getutcdate" | "sysutcdatetime" | "current_timestamp" => {
            let (d, t) = types::parse_datetime(&types::now_text()).unwrap_or((0, 0));
            (SqlType::DateTime2, Value::DateTime2(d, t))
        }
        "newid" => {
            let g = crate::instance::unique_bytes(&types::now_text(), 16);
            let mut b = [0u8; 16];
            b.copy_from_slice(&g[..16]);
            (SqlType::UniqueIdentifier, Value::Guid(b))
        }
        // SQL Server error 195 (class 15).
        _ => {
            return Err(ServerMessage::error(
                195,
                15,
                format!("'{name}' is not a recognized built-in function name."),
            ));
        }
    })
}

/// REPLACE without case, as the default collation compares (ASCII case folding, which keeps
/// byte offsets).
fn replace_ci(t: &str, from: &str, to: &str) -> String {
    let lower = t.to_ascii_lowercase();
    let needle = from.to_ascii_lowercase();
    let mut out = String::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(&needle) {
        out.push_str(&t[at..at + i]);
        out.push_str(to);
        at += i + needle.len();
    }
    out.push_str(&t[at..]);
    out
}
