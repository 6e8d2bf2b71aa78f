//! Evaluating expressions without tables: literals, variables, `@@` functions, arithmetic with
//! SQL Server's errors (8134 divide by zero, 8115 overflow, 245 conversion), comparisons with
//! three-valued logic, CASE, and the built-in functions of [`super::functions`].

use super::convert::{conversion_failed, convert, fit_int, is_number};
pub use super::env::{Env, Typed};
use super::expr::{Expr, Op, SelectList};
use super::functions::call;
use super::variables::undeclared;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{self, SqlType, Value};
use crate::syntax::Token;

/// SQL Server error 8134 (severity 16), for `/` and `%` by zero.
fn divide_by_zero() -> ServerMessage {
    ServerMessage::error(8134, 16, "Divide by zero error encountered.")
}

pub fn literal(t: &Token) -> Typed {
    match t {
        // Literals longer than nvarchar(4000) / varchar(8000) are typed as (max), as SQL
        // Server does.
        Token::Str {
            text,
            unicode: true,
        } => {
            let n = text.chars().count();
            (
                SqlType::NVarChar((n <= 4000).then_some(n.max(1) as u16)),
                Value::Text(text.clone()),
            )
        }
        Token::Str {
            text,
            unicode: false,
        } => (
            SqlType::VarChar((text.len() <= 8000).then_some(text.len().max(1) as u16)),
            Value::Text(text.clone()),
        ),
        Token::Number(n) if n.starts_with("0x") || n.starts_with("0X") => {
            let h = &n[2..];
            let bytes: Vec<u8> = (0..h.len() / 2)
                .filter_map(|i| u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).ok())
                .collect();
            (
                SqlType::VarBinary(Some(bytes.len().max(1) as u16)),
                Value::Binary(bytes),
            )
        }
        Token::Number(n) if n.contains(['e', 'E']) => {
            (SqlType::Float, Value::Float(n.parse().unwrap_or(0.0)))
        }
        Token::Number(n) if n.contains('.') => {
            let (whole, frac) = n.split_once('.').unwrap_or((n, ""));
            let unscaled: i128 = format!("{whole}{frac}").parse().unwrap_or(0);
            let scale = frac.len() as u8;
            let precision = (whole.trim_start_matches('0').len() + frac.len()).clamp(1, 38) as u8;
            (
                SqlType::Decimal(precision.max(scale), scale),
                Value::Decimal(unscaled, scale),
            )
        }
        Token::Number(n) => match n.parse::<i64>() {
            Ok(i) if i32::try_from(i).is_ok() => (SqlType::Int, Value::Int(i)),
            Ok(i) => (SqlType::BigInt, Value::Int(i)),
            // Beyond bigint, SQL Server types the literal as numeric.
            Err(_) => (
                SqlType::Decimal(38, 0),
                Value::Decimal(n.parse().unwrap_or(0), 0),
            ),
        },
        _ => (SqlType::Int, Value::Null),
    }
}

fn global(g: &str, env: &Env<'_>) -> Result<Typed, ServerMessage> {
    let s = env.s;
    Ok(match g.to_ascii_lowercase().as_str() {
        "version" => (
            SqlType::NVarChar(Some(300)),
            Value::Text(s.personality.version_string()),
        ),
        "servername" => (
            SqlType::NVarChar(Some(128)),
            Value::Text(s.personality.server_name().to_owned()),
        ),
        "spid" => (SqlType::SmallInt, Value::Int(i64::from(s.spid))),
        "trancount" => (
            SqlType::Int,
            Value::Int(i64::from(env.inst.transaction_count(s.spid))),
        ),
        "rowcount" => (SqlType::Int, Value::Int(s.vars.row_count as i64)),
        "error" => (SqlType::Int, Value::Int(i64::from(s.vars.error))),
        // SQL Server error 137 (class 15): Must declare the scalar variable "@@x".
        _ => return Err(undeclared(&format!("@{g}"))),
    })
}

/// Evaluates an expression to a value.
pub fn value(e: &Expr<'_>, env: &Env<'_>) -> Result<Typed, ServerMessage> {
    Ok(match e {
        Expr::Literal(t) => literal(t),
        Expr::Null => (SqlType::Int, Value::Null),
        Expr::Global(g) => global(g, env)?,
        Expr::Var(v) => env
            .s
            .vars
            .get(v)
            .map(|var| (var.ty, var.value.clone()))
            .ok_or_else(|| undeclared(v))?,
        Expr::Call(name, args) => {
            let args = args
                .iter()
                .map(|a| value(a, env))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, &args, env)?
        }
        Expr::Cast(inner, ty) => {
            let (from, v) = value(inner, env)?;
            (*ty, convert(v, from, *ty)?)
        }
        Expr::Convert(inner, ty, style) => {
            let (from, v) = value(inner, env)?;
            let style = match value(style, env)?.1 {
                Value::Int(n) => n,
                _ => 0,
            };
            let styled = match (&v, ty) {
                (Value::Binary(b), SqlType::VarChar(_) | SqlType::NVarChar(_)) => {
                    crate::sql::convert::binary_styled(b, style)
                }
                _ => None,
            };
            match styled {
                Some(t) => (*ty, convert(Value::Text(t), SqlType::VarChar(None), *ty)?),
                None => (*ty, convert(v, from, *ty)?),
            }
        }
        Expr::Neg(inner) => match value(inner, env)? {
            (ty, Value::Int(i)) => (ty, fit_int(-i128::from(i), ty)?),
            (ty, Value::Float(f)) => (ty, Value::Float(-f)),
            (ty, Value::Decimal(u, sc)) => (ty, Value::Decimal(-u, sc)),
            other => other,
        },
        Expr::BitNot(inner) => match value(inner, env)? {
            (ty, Value::Int(i)) => (ty, Value::Int(!i)),
            other => other,
        },
        Expr::Binary(l, op, r)
            if matches!(
                op,
                Op::Mul
                    | Op::Div
                    | Op::Mod
                    | Op::Add
                    | Op::Sub
                    | Op::BitAnd
                    | Op::BitOr
                    | Op::BitXor
            ) =>
        {
            arithmetic(value(l, env)?, *op, value(r, env)?)?
        }
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => {
            let subject = operand.as_deref().map(|o| value(o, env)).transpose()?;
            for (when, then) in whens {
                let hit = match &subject {
                    Some(s) => compare(s, &value(when, env)?, Op::Eq)?,
                    None => condition(when, env)?,
                };
                if hit == Some(true) {
                    return value(then, env);
                }
            }
            match otherwise {
                Some(o) => value(o, env)?,
                None => (SqlType::Int, Value::Null),
            }
        }
        // SQL Server error 263 (class 16).
        Expr::Star => {
            return Err(ServerMessage::error(
                263,
                16,
                "Must specify table to select from.",
            ));
        }
        // A predicate where a value is expected: SQL Server error 4145's counterpart, 102.
        _ => return Err(crate::syntax::syntax_error("=")),
    })
}

/// Evaluates a condition: true, false, or unknown (None) when NULL takes part.
pub fn condition(e: &Expr<'_>, env: &Env<'_>) -> Result<Option<bool>, ServerMessage> {
    Ok(match e {
        Expr::Binary(l, Op::And, r) => match (condition(l, env)?, condition(r, env)?) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Expr::Binary(l, Op::Or, r) => match (condition(l, env)?, condition(r, env)?) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Expr::Not(inner) => condition(inner, env)?.map(|b| !b),
        Expr::Binary(l, op, r)
            if matches!(op, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge) =>
        {
            compare(&value(l, env)?, &value(r, env)?, *op)?
        }
        Expr::IsNull(inner, negated) => Some((value(inner, env)?.1 == Value::Null) != *negated),
        Expr::In(subject, items, negated) => {
            let s = value(subject, env)?;
            let mut found = Some(false);
            for item in items {
                match compare(&s, &value(item, env)?, Op::Eq)? {
                    Some(true) => {
                        found = Some(true);
                        break;
                    }
                    None => found = None,
                    Some(false) => {}
                }
            }
            found.map(|f| f != *negated)
        }
        Expr::Between(subject, low, high, negated) => {
            let s = value(subject, env)?;
            let above = compare(&s, &value(low, env)?, Op::Ge)?;
            let below = compare(&s, &value(high, env)?, Op::Le)?;
            match (above, below) {
                (Some(a), Some(b)) => Some((a && b) != *negated),
                _ => None,
            }
        }
        Expr::Like(subject, pattern, negated) => {
            match (value(subject, env)?.1, value(pattern, env)?.1) {
                (Value::Null, _) | (_, Value::Null) => None,
                (s, p) => Some(like(&types::text(&s), &types::text(&p)) != *negated),
            }
        }
        // SQL Server error 4145 (class 15).
        _ => {
            return Err(ServerMessage::error(
                4145,
                15,
                "An expression of non-boolean type specified in a context where a condition is expected.",
            ));
        }
    })
}

/// The type of a mixed expression, by SQL Server's data type precedence.
fn precedence(ty: SqlType) -> u8 {
    match ty {
        SqlType::SqlVariant => 14,
        SqlType::DateTime2 => 13,
        SqlType::Date => 12,
        SqlType::Float => 11,
        SqlType::Decimal(..) => 10,
        SqlType::BigInt => 9,
        SqlType::Int => 8,
        SqlType::SmallInt => 7,
        SqlType::TinyInt => 6,
        SqlType::Bit => 5,
        SqlType::UniqueIdentifier => 4,
        SqlType::NVarChar(_) => 3,
        SqlType::VarChar(_) => 2,
        SqlType::VarBinary(_) => 1,
    }
}

fn is_text(ty: SqlType) -> bool {
    matches!(ty, SqlType::NVarChar(_) | SqlType::VarChar(_))
}

pub fn arithmetic(l: Typed, op: Op, r: Typed) -> Result<Typed, ServerMessage> {
    if l.1 == Value::Null || r.1 == Value::Null {
        let ty = if precedence(l.0) >= precedence(r.0) {
            l.0
        } else {
            r.0
        };
        return Ok((ty, Value::Null));
    }
    if op == Op::Add && is_text(l.0) && is_text(r.0) {
        let (a, b) = (types::text(&l.1), types::text(&r.1));
        let n = a.chars().count() + b.chars().count();
        let len = (n <= 4000).then_some(n.max(1) as u16);
        let ty = if matches!(l.0, SqlType::NVarChar(_)) || matches!(r.0, SqlType::NVarChar(_)) {
            SqlType::NVarChar(len)
        } else {
            SqlType::VarChar(len)
        };
        return Ok((ty, Value::Text(format!("{a}{b}"))));
    }
    let ty = if precedence(l.0) >= precedence(r.0) {
        l.0
    } else {
        r.0
    };
    let ty = if is_text(ty) || !is_number(ty) {
        SqlType::Int
    } else {
        ty
    };
    let a = convert(l.1.clone(), l.0, ty).map_err(|_| conversion_failed(l.0, &l.1, ty))?;
    let b = convert(r.1.clone(), r.0, ty).map_err(|_| conversion_failed(r.0, &r.1, ty))?;
    let zero = types::float(&b) == 0.0;
    if zero && matches!(op, Op::Div | Op::Mod) {
        return Err(divide_by_zero());
    }
    let float_op = |x: f64, y: f64| match op {
        Op::Mul => Ok(x * y),
        Op::Div => Ok(x / y),
        Op::Mod => Ok(x % y),
        Op::Add => Ok(x + y),
        Op::Sub => Ok(x - y),
        // Bitwise operators take integers only (SQL Server error 402's case; the emulator
        // answers as for text it cannot read).
        _ => Err(crate::syntax::syntax_error("&")),
    };
    let (x, y) = (types::float(&a), types::float(&b));
    Ok(match ty {
        SqlType::Float => (ty, Value::Float(float_op(x, y)?)),
        SqlType::Decimal(p, s) => {
            let scale = match op {
                Op::Mul => s.saturating_mul(2).min(38),
                // "Precision, scale, and length": division keeps at least 6 decimals.
                Op::Div => s.max(6),
                _ => s,
            };
            let t = SqlType::Decimal(38.min(p.saturating_add(scale)), scale);
            (
                t,
                convert(Value::Float(float_op(x, y)?), SqlType::Float, t)?,
            )
        }
        _ => {
            let (x, y) = (i128::from(types::int(&a)), i128::from(types::int(&b)));
            // Integer division truncates toward zero, and % takes the dividend's sign, as
            // Rust's operators do.
            let i = match op {
                Op::Mul => x * y,
                Op::Div => x / y,
                Op::Mod => x % y,
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::BitAnd => x & y,
                Op::BitOr => x | y,
                Op::BitXor => x ^ y,
                _ => 0,
            };
            let ty = if ty == SqlType::Bit { SqlType::Int } else { ty };
            (ty, fit_int(i, ty)?)
        }
    })
}

/// Compares two values; None when either is NULL. Text compares as SQL_Latin1_General_CP1_CI_AS
/// does: without case, trailing spaces ignored.
pub fn compare(l: &Typed, r: &Typed, op: Op) -> Result<Option<bool>, ServerMessage> {
    if l.1 == Value::Null || r.1 == Value::Null {
        return Ok(None);
    }
    let ordering = if is_text(l.0) && is_text(r.0) {
        let a = types::text(&l.1).trim_end().to_lowercase();
        let b = types::text(&r.1).trim_end().to_lowercase();
        a.cmp(&b)
    } else if is_number(l.0) || is_number(r.0) {
        let ty = if precedence(l.0) >= precedence(r.0) {
            l.0
        } else {
            r.0
        };
        let ty = if is_number(ty) { ty } else { SqlType::Float };
        let a = types::float(&convert(l.1.clone(), l.0, ty)?);
        let b = types::float(&convert(r.1.clone(), r.0, ty)?);
        a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
    } else {
        types::text(&l.1).cmp(&types::text(&r.1))
    };
    use std::cmp::Ordering::*;
    Ok(Some(match op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
        _ => false,
    }))
}

/// LIKE with `%`, `_`, `[set]` and `[^set]`, without case.
fn like(s: &str, pattern: &str) -> bool {
    fn go(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| go(&s[i..], &p[1..])),
            Some('_') => !s.is_empty() && go(&s[1..], &p[1..]),
            Some('[') => {
                let Some(close) = p.iter().position(|c| *c == ']') else {
                    return !s.is_empty() && s[0] == '[' && go(&s[1..], &p[1..]);
                };
                let set = &p[1..close];
                let (negated, set) = match set.first() {
                    Some('^') => (true, &set[1..]),
                    _ => (false, set),
                };
                let Some(c) = s.first() else { return false };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= (set[i]..=set[i + 2]).contains(c);
                        i += 3;
                    } else {
                        hit |= set[i] == *c;
                        i += 1;
                    }
                }
                hit != negated && go(&s[1..], &p[close + 1..])
            }
            Some(c) => s.first() == Some(c) && go(&s[1..], &p[1..]),
        }
    }
    let s: Vec<char> = s.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&s, &p)
}

/// Evaluates a select list into columns and one row.
pub fn select_row(
    list: &SelectList<'_>,
    env: &Env<'_>,
) -> Result<(Vec<Column>, Vec<Value>), ServerMessage> {
    let mut columns = Vec::new();
    let mut row = Vec::new();
    for (e, name) in &list.items {
        let (ty, v) = match e {
            Expr::Binary(
                _,
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::And | Op::Or,
                _,
            ) => {
                return Err(crate::syntax::syntax_error("="));
            }
            _ => value(e, env)?,
        };
        columns.push(Column::new(name, ty));
        row.push(v);
    }
    Ok((columns, row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("SalesDb", "sales%"));
        assert!(like("abc", "a_c"));
        assert!(like("b", "[a-c]"));
        assert!(!like("d", "[a-c]"));
        assert!(like("d", "[^a-c]"));
        assert!(!like("abc", "ab"));
    }

    #[test]
    fn arithmetic_follows_sql_server() {
        let int = |i| (SqlType::Int, Value::Int(i));
        assert_eq!(
            arithmetic(int(7), Op::Div, int(2)).unwrap().1,
            Value::Int(3)
        );
        assert_eq!(
            arithmetic(int(-7), Op::Mod, int(2)).unwrap().1,
            Value::Int(-1)
        );
        assert_eq!(
            arithmetic(int(1), Op::Div, int(0)).unwrap_err().number,
            8134
        );
        assert_eq!(
            arithmetic(int(2_147_483_647), Op::Add, int(1))
                .unwrap_err()
                .number,
            8115
        );
        let text = (SqlType::VarChar(Some(3)), Value::Text("abc".into()));
        assert_eq!(arithmetic(int(1), Op::Add, text).unwrap_err().number, 245);
    }
}
