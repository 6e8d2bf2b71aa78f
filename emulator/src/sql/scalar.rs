//! Expressions without tables: literals, `@@` functions, `SERVERPROPERTY`, `DB_NAME`,
//! `SUSER_SNAME`, `CAST`, `+` and `-`, and the select list that holds them.

use super::SessionView;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{SqlType, Value, int, text};
use crate::syntax::{Parsed, Token, expect, near, parse_type, syntax_error};

#[derive(Debug)]
pub enum Expr<'t> {
    Literal(&'t Token),
    Null,
    Global(&'t str),
    Call(&'t str, Vec<Expr<'t>>),
    Cast(Box<Expr<'t>>, SqlType),
    Neg(Box<Expr<'t>>),
    Binary(Box<Expr<'t>>, &'t str, Box<Expr<'t>>),
    /// `*` in a select list.
    Star,
    /// `@name`, bound by sp_executesql.
    Var(&'t str),
}

pub struct SelectList<'t> {
    items: Vec<(Expr<'t>, String)>,
}

pub fn parse_select_list(mut t: &[Token]) -> Parsed<'_, SelectList<'_>> {
    let mut items = Vec::new();
    loop {
        let (expr, rest) = parse_expr(t)?;
        t = rest;
        let mut name = String::new();
        if t.first().is_some_and(|x| x.is("AS")) {
            t = &t[1..];
            match t.first() {
                Some(Token::Word(w) | Token::Quoted(w)) | Some(Token::Str { text: w, .. }) => {
                    name = w.clone()
                }
                _ => return Err(near(t)),
            }
            t = &t[1..];
        } else if let Some(Token::Word(w) | Token::Quoted(w)) = t.first()
            && !w.eq_ignore_ascii_case("FROM")
            && !w.eq_ignore_ascii_case("WHERE")
        {
            name = w.clone();
            t = &t[1..];
        }
        items.push((expr, name));
        if t.first().is_some_and(|x| x.is_punct(",")) {
            t = &t[1..];
            continue;
        }
        return Ok((SelectList { items }, t));
    }
}

pub fn parse_expr(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    let (mut left, mut t) = parse_factor(t)?;
    while let Some(Token::Punct(op)) = t.first() {
        if op != "+" && op != "-" {
            break;
        }
        let (right, rest) = parse_factor(&t[1..])?;
        left = Expr::Binary(Box::new(left), op, Box::new(right));
        t = rest;
    }
    Ok((left, t))
}

fn parse_factor(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    let Some(first) = t.first() else {
        return Err(syntax_error(""));
    };
    match first {
        Token::Number(_) | Token::Str { .. } => Ok((Expr::Literal(first), &t[1..])),
        Token::Global(g) => Ok((Expr::Global(g), &t[1..])),
        Token::Var(v) => Ok((Expr::Var(v), &t[1..])),
        Token::Punct(p) if p == "-" => {
            let (e, rest) = parse_factor(&t[1..])?;
            Ok((Expr::Neg(Box::new(e)), rest))
        }
        Token::Punct(p) if p == "*" => Ok((Expr::Star, &t[1..])),
        Token::Punct(p) if p == "(" => {
            let (e, rest) = parse_expr(&t[1..])?;
            expect(rest, ")").map(|rest| (e, rest))
        }
        Token::Word(w) if w.eq_ignore_ascii_case("NULL") => Ok((Expr::Null, &t[1..])),
        Token::Word(w) if w.eq_ignore_ascii_case("CAST") => {
            let rest = expect(&t[1..], "(")?;
            let (e, rest) = parse_expr(rest)?;
            if !rest.first().is_some_and(|x| x.is("AS")) {
                return Err(near(rest));
            }
            let (ty, rest) = parse_type(&rest[1..])?;
            let rest = expect(rest, ")")?;
            Ok((Expr::Cast(Box::new(e), ty), rest))
        }
        Token::Word(w) if t.get(1).is_some_and(|x| x.is_punct("(")) => {
            let mut args = Vec::new();
            let mut rest = &t[2..];
            if rest.first().is_some_and(|x| x.is_punct(")")) {
                return Ok((Expr::Call(w, args), &rest[1..]));
            }
            loop {
                let (a, r) = parse_expr(rest)?;
                args.push(a);
                if r.first().is_some_and(|x| x.is_punct(",")) {
                    rest = &r[1..];
                    continue;
                }
                return expect(r, ")").map(|r| (Expr::Call(w, args), r));
            }
        }
        other => Err(syntax_error(&other.display())),
    }
}

fn literal(t: &Token) -> (SqlType, Value) {
    match t {
        // Literals longer than nvarchar(4000) / varchar(8000) are typed as (max), as SQL Server does.
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
            Err(_) => (SqlType::Float, Value::Float(n.parse().unwrap_or(0.0))),
        },
        _ => (SqlType::Int, Value::Null),
    }
}

pub fn evaluate_one(e: &Expr<'_>, s: &SessionView<'_>) -> Result<(SqlType, Value), ServerMessage> {
    Ok(match e {
        Expr::Literal(t) => literal(t),
        Expr::Null => (SqlType::Int, Value::Null),
        Expr::Global(g) => match g.to_ascii_lowercase().as_str() {
            "version" => (
                SqlType::NVarChar(Some(300)),
                Value::Text(s.personality.version_string()),
            ),
            "servername" => (
                SqlType::NVarChar(Some(128)),
                Value::Text(s.personality.server_name().to_owned()),
            ),
            "spid" => (SqlType::SmallInt, Value::Int(i64::from(s.spid))),
            "trancount" | "error" | "rowcount" => (SqlType::Int, Value::Int(0)),
            // SQL Server error 137 (class 15): Must declare the scalar variable "@@x".
            _ => {
                return Err(ServerMessage::error(
                    137,
                    15,
                    format!("Must declare the scalar variable \"@@{g}\"."),
                ));
            }
        },
        Expr::Call(name, args) => call(name, args, s)?,
        // SQL Server error 263 (class 16).
        // SQL Server error 137 (class 15): Must declare the scalar variable "@x".
        Expr::Var(v) => s
            .vars
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(v))
            .map(|(_, t, val)| (*t, val.clone()))
            .ok_or_else(|| {
                ServerMessage::error(
                    137,
                    15,
                    format!("Must declare the scalar variable \"@{v}\"."),
                )
            })?,
        Expr::Star => {
            return Err(ServerMessage::error(
                263,
                16,
                "Must specify table to select from.",
            ));
        }
        Expr::Cast(inner, ty) => {
            let (_, v) = evaluate_one(inner, s)?;
            let v = match (ty, v) {
                (_, Value::Null) => Value::Null,
                (SqlType::NVarChar(_) | SqlType::VarChar(_), v) => Value::Text(text(&v)),
                (
                    SqlType::TinyInt
                    | SqlType::SmallInt
                    | SqlType::Int
                    | SqlType::BigInt
                    | SqlType::Bit,
                    v,
                ) => Value::Int(int(&v)),
                (SqlType::Float, v) => Value::Float(crate::protocol::types::float(&v)),
                (SqlType::Decimal(_, scale), v) => Value::Decimal(
                    (crate::protocol::types::float(&v) * 10f64.powi(*scale as i32)).round() as i128,
                    *scale,
                ),
                (_, v) => v,
            };
            (*ty, v)
        }
        Expr::Neg(inner) => match evaluate_one(inner, s)? {
            (ty, Value::Int(i)) => (ty, Value::Int(-i)),
            (ty, Value::Float(f)) => (ty, Value::Float(-f)),
            (ty, Value::Decimal(u, sc)) => (ty, Value::Decimal(-u, sc)),
            other => other,
        },
        Expr::Binary(l, op, r) => {
            let (lt, lv) = evaluate_one(l, s)?;
            let (_, rv) = evaluate_one(r, s)?;
            match (&lv, &rv) {
                (Value::Null, _) | (_, Value::Null) => (lt, Value::Null),
                (Value::Int(a), Value::Int(b)) => (
                    lt,
                    Value::Int(if *op == "+" {
                        a.wrapping_add(*b)
                    } else {
                        a.wrapping_sub(*b)
                    }),
                ),
                (Value::Text(a), Value::Text(b)) if *op == "+" => (
                    SqlType::NVarChar(Some(
                        (a.chars().count() + b.chars().count()).clamp(1, 4000) as u16
                    )),
                    Value::Text(format!("{a}{b}")),
                ),
                // SQL Server error 245 (class 16): Conversion failed.
                _ => {
                    return Err(ServerMessage::error(
                        245,
                        16,
                        format!(
                            "Conversion failed when converting the value '{}' to data type int.",
                            text(&lv)
                        ),
                    ));
                }
            }
        }
    })
}

fn call(
    name: &str,
    args: &[Expr<'_>],
    s: &SessionView<'_>,
) -> Result<(SqlType, Value), ServerMessage> {
    let arg = |i: usize| -> Result<Value, ServerMessage> {
        args.get(i)
            .map(|a| evaluate_one(a, s).map(|x| x.1))
            .transpose()
            .map(|v| v.unwrap_or(Value::Null))
    };
    Ok(match name.to_ascii_lowercase().as_str() {
        "serverproperty" => (
            SqlType::SqlVariant,
            s.personality.server_property(&text(&arg(0)?)),
        ),
        "db_name" => (
            SqlType::NVarChar(Some(128)),
            Value::Text(s.database.to_owned()),
        ),
        "suser_sname" | "suser_name" | "user_name" => {
            (SqlType::NVarChar(Some(128)), Value::Text(s.user.to_owned()))
        }
        "isnull" | "coalesce" => {
            let mut out = (SqlType::Int, Value::Null);
            for a in args {
                let v = evaluate_one(a, s)?;
                if v.1 != Value::Null {
                    out = v;
                    break;
                }
            }
            out
        }
        "len" => (
            SqlType::Int,
            Value::Int(text(&arg(0)?).trim_end().chars().count() as i64),
        ),
        "upper" => (
            SqlType::NVarChar(Some(4000)),
            Value::Text(text(&arg(0)?).to_uppercase()),
        ),
        // SQL Server error 195 (class 15): '…' is not a recognized built-in function name.
        _ => {
            return Err(ServerMessage::error(
                195,
                15,
                format!("'{name}' is not a recognized built-in function name."),
            ));
        }
    })
}

/// Evaluates a select list into columns and one row.
pub fn evaluate(
    list: &SelectList<'_>,
    s: &SessionView<'_>,
) -> Result<(Vec<Column>, Vec<Value>), ServerMessage> {
    let mut columns = Vec::new();
    let mut row = Vec::new();
    for (e, name) in &list.items {
        let (ty, v) = evaluate_one(e, s)?;
        columns.push(Column::new(name, ty));
        row.push(v);
    }
    Ok((columns, row))
}
