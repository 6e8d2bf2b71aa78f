//! HASHBYTES, CHECKSUM and BINARY_CHECKSUM in statements SQLite runs. Their results depend on
//! the T-SQL type of each input (varchar hashes code page 1252 bytes, nvarchar UTF-16LE, an
//! int its four bytes), and SQLite keeps no such types, so before the rewrite each call gets
//! its inputs' types written beside them: `HASHBYTES('SHA2_256', Name)` becomes
//! `ferry_hashbytes('SHA2_256', Name, 'nvarchar')` (instance/hashing.rs), `BINARY_CHECKSUM(a,
//! b)` becomes `ferry_binary_checksum(a, 'int', b, 'varchar')` and `CHECKSUM(*)` lists the
//! tables' columns (instance/checksum.rs). A type is read from the column's declaration, a
//! literal, CAST/CONVERT, or the string functions that keep their argument's type; an input
//! whose type cannot be told is refused with a sentence rather than hashed wrongly.
//! DATALENGTH gets its input's type the same way (`ferry_datalength(x, 'nvarchar')`).
//! COUNT_BIG becomes SQLite's count, and CONCAT / CONCAT_WS get SQL Server's argument counts.

use std::borrow::Cow;

use super::convert_calls::call_shape;
use crate::instance::hashing::Kind;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::Token;

/// A column visible to the statement: (name, declared type).
pub type Column = (String, String);

fn str_token(text: &str) -> Token {
    Token::Str {
        text: text.into(),
        unicode: false,
    }
}

fn punct(p: &str) -> Token {
    Token::Punct(p.into())
}

fn is_call(t: &[Token], i: usize, name: &str) -> bool {
    t[i].is(name) && t.get(i + 1).is_some_and(|x| x.is_punct("("))
}

/// SQL Server error 8116 for a noncomparable input named where the function refuses it.
fn invalid_argument(decl: &str, at: usize, function: &str) -> ServerMessage {
    let ty = decl
        .split('(')
        .next()
        .unwrap_or(decl)
        .trim()
        .to_ascii_lowercase();
    ServerMessage::error(
        8116,
        16,
        format!("Argument data type {ty} is invalid for argument {at} of {function} function."),
    )
}

fn unknown_type(expr: &[Token]) -> ServerMessage {
    let text: Vec<String> = expr.iter().map(Token::display).collect();
    ServerMessage::error(
        50000,
        16,
        format!(
            "ferry-emulator cannot tell the T-SQL type of `{}` in a query over tables; CAST it to nvarchar, varchar or varbinary",
            text.join(" ")
        ),
    )
}

/// The argument ranges of the call whose `(` is at `open`, and the index of its `)`.
fn arguments(t: &[Token], open: usize) -> Option<(usize, Vec<(usize, usize)>)> {
    let (close, commas) = call_shape(t, open)?;
    let mut starts = vec![open + 1];
    starts.extend(commas.iter().map(|c| c + 1));
    let mut ends = commas.clone();
    ends.push(close);
    let args = starts
        .into_iter()
        .zip(ends)
        .filter(|(s, e)| s < e)
        .collect();
    Some((close, args))
}

/// The declared type of column `name` (the last part of `a.b`), if one is visible.
fn column<'c>(expr: &[Token], cols: &'c [Column]) -> Option<&'c str> {
    // Only a name (`c`, `t.c`, `s.t.c`): `a.x * b.y` ends in a column but is not one.
    let is_name = |t: &Token| matches!(t, Token::Word(_) | Token::Quoted(_));
    let dotted_name = expr.len() % 2 == 1
        && expr.iter().enumerate().all(|(i, t)| {
            if i % 2 == 0 {
                is_name(t)
            } else {
                t.is_punct(".")
            }
        });
    let name = match expr.last() {
        Some(Token::Word(w) | Token::Quoted(w)) if dotted_name => w,
        _ => return None,
    };
    cols.iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(name))
        .map(|(_, d)| d.as_str())
}

/// The T-SQL type of an expression, as far as the functions here need it.
pub(super) fn kind_of(expr: &[Token], cols: &[Column]) -> Result<Kind, ServerMessage> {
    let mut e = expr;
    while e.len() >= 2
        && e[0].is_punct("(")
        && call_shape(e, 0).is_some_and(|(c, _)| c == e.len() - 1)
    {
        e = &e[1..e.len() - 1];
    }
    if let Some(decl) = column(e, cols) {
        return Ok(Kind::of_declared(decl));
    }
    match e {
        [Token::Str { unicode: true, .. }] => return Ok(Kind::NVarChar),
        [Token::Str { .. }] => return Ok(Kind::VarChar),
        [Token::Number(n)] if n.starts_with("0x") || n.starts_with("0X") => {
            return Ok(Kind::VarBinary);
        }
        [Token::Number(n)] if n.contains(['.', 'e', 'E']) => return Ok(Kind::Other),
        [Token::Number(n)] => {
            let small = n.parse::<i64>().is_ok_and(|v| i32::try_from(v).is_ok());
            return Ok(if small { Kind::Int(4) } else { Kind::Int(8) });
        }
        [Token::Var(_)] => return Ok(Kind::Auto),
        [w] if w.is("NULL") => return Ok(Kind::Auto),
        _ => {}
    }
    if let Some(results) = super::case_kind::results(e) {
        let kinds = results
            .iter()
            .map(|r| kind_of(r, cols))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(combine(&kinds, false));
    }
    // A top-level `+`: string concatenation when a side is a string, else arithmetic.
    if let Some(sides) = top_level_split(e, "+") {
        let kinds = sides
            .iter()
            .map(|s| kind_of(s, cols))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(combine(&kinds, true));
    }
    let Some(Token::Word(name)) = e.first() else {
        return Err(unknown_type(expr));
    };
    let Some((close, args)) = arguments(e, 1).filter(|(c, _)| *c == e.len() - 1) else {
        return Err(unknown_type(expr));
    };
    let _ = close;
    let arg = |k: usize| args.get(k).map(|&(s, t)| &e[s..t]);
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "cast" => {
            let inner = arg(0).unwrap_or(&[]);
            match inner.iter().rposition(|x| x.is("AS")) {
                Some(at) => Kind::of_declared(&display(&inner[at + 1..])),
                None => return Err(unknown_type(expr)),
            }
        }
        "convert" => Kind::of_declared(&display(arg(0).unwrap_or(&[]))),
        "concat" | "concat_ws" => {
            let kinds = args
                .iter()
                .map(|&(s, t)| kind_of(&e[s..t], cols))
                .collect::<Result<Vec<_>, _>>()?;
            combine(&kinds, true)
        }
        "isnull" => kind_of(arg(0).unwrap_or(&[]), cols)?,
        "coalesce" => {
            let kinds = args
                .iter()
                .map(|&(s, t)| kind_of(&e[s..t], cols))
                .collect::<Result<Vec<_>, _>>()?;
            combine(&kinds, false)
        }
        "upper" | "lower" | "ltrim" | "rtrim" | "trim" | "replace" | "left" | "right"
        | "substring" | "reverse" | "replicate" | "stuff" => {
            match kind_of(arg(0).unwrap_or(&[]), cols)? {
                Kind::NVarChar | Kind::Auto => Kind::NVarChar,
                _ => Kind::VarChar,
            }
        }
        "hashbytes" => Kind::VarBinary,
        "checksum" | "binary_checksum" | "len" | "datalength" | "count" | "checksum_agg" => {
            Kind::Int(4)
        }
        "count_big" => Kind::Int(8),
        // "SUM (Transact-SQL)", Return types: int for tinyint/smallint/int, bigint for bigint;
        // AVG the same ("AVG (Transact-SQL)"); MIN and MAX return their argument's type.
        "sum" | "avg" => match kind_of(aggregated(arg(0).unwrap_or(&[])), cols)? {
            Kind::Int(8) => Kind::Int(8),
            Kind::Int(_) | Kind::Bit => Kind::Int(4),
            other => other,
        },
        "min" | "max" => kind_of(aggregated(arg(0).unwrap_or(&[])), cols)?,
        _ => return Err(unknown_type(expr)),
    })
}

/// An aggregate's argument without its `DISTINCT` / `ALL`.
fn aggregated(arg: &[Token]) -> &[Token] {
    match arg {
        [first, rest @ ..] if first.is("DISTINCT") || first.is("ALL") => rest,
        _ => arg,
    }
}

fn display(t: &[Token]) -> String {
    t.iter().map(Token::display).collect::<Vec<_>>().join(" ")
}

/// The pieces of `e` between top-level `op`s, when there is at least one.
fn top_level_split<'t>(e: &'t [Token], op: &str) -> Option<Vec<&'t [Token]>> {
    let mut depth = 0;
    let mut cuts = Vec::new();
    for (i, t) in e.iter().enumerate() {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && t.is_punct(op) && i > 0 {
            cuts.push(i);
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let mut from = 0;
    for c in cuts {
        out.push(&e[from..c]);
        from = c + 1;
    }
    out.push(&e[from..]);
    Some(out)
}

/// The type of a result made of several inputs: nvarchar when one of them is (SQL Server's type
/// precedence puts nvarchar above varchar); for CONCAT every input is text.
fn combine(kinds: &[Kind], to_text: bool) -> Kind {
    let texty = |k: &Kind| matches!(k, Kind::NVarChar | Kind::VarChar | Kind::Auto);
    if kinds
        .iter()
        .any(|k| matches!(k, Kind::NVarChar | Kind::Auto))
    {
        Kind::NVarChar
    } else if to_text || kinds.iter().any(texty) {
        Kind::VarChar
    } else {
        kinds.first().copied().unwrap_or(Kind::Auto)
    }
}

/// SQL Server error 189 for a function given too few or too many arguments.
fn argument_count(name: &str, min: usize, got: usize) -> Result<(), ServerMessage> {
    if got < min || got > 254 {
        return Err(ServerMessage::error(
            189,
            15,
            format!("The {name} function requires {min} to 254 arguments."),
        ));
    }
    Ok(())
}

/// [`rewrite_hashes`], reading the statement's columns (`cols`) only when there is a call.
pub fn rewrite_calls<'t>(
    tokens: &'t [Token],
    cols: &dyn Fn() -> Vec<Column>,
) -> Result<Cow<'t, [Token]>, ServerMessage> {
    if !tokens.iter().enumerate().any(|(i, _)| hit(tokens, i)) {
        return Ok(Cow::Borrowed(tokens));
    }
    Ok(Cow::Owned(rewrite_hashes(tokens, &cols())?.into_owned()))
}

const NAMES: &[&str] = &[
    "HASHBYTES",
    "CHECKSUM",
    "BINARY_CHECKSUM",
    "COUNT_BIG",
    "CONCAT",
    "CONCAT_WS",
    "DATALENGTH",
];

fn hit(t: &[Token], i: usize) -> bool {
    NAMES.iter().any(|n| is_call(t, i, n))
}

/// `tokens` with the calls above rewritten (borrowed when there is none). `cols` are the
/// columns of the tables the statement reads, in order.
pub fn rewrite_hashes<'t>(
    tokens: &'t [Token],
    cols: &[Column],
) -> Result<Cow<'t, [Token]>, ServerMessage> {
    let hit = |i: usize| hit(tokens, i);
    if !(0..tokens.len()).any(hit) {
        return Ok(Cow::Borrowed(tokens));
    }
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if !hit(i) {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let name = tokens[i].display().to_ascii_uppercase();
        if name == "COUNT_BIG" {
            out.push(Token::Word("count".into()));
            i += 1;
            continue;
        }
        let Some((close, args)) = arguments(tokens, i + 1) else {
            return Err(crate::syntax::syntax_error(&tokens[i].display()));
        };
        let inner = |(s, e): (usize, usize)| rewrite_hashes(&tokens[s..e], cols);
        match name.as_str() {
            "CONCAT" | "CONCAT_WS" => {
                let min = if name == "CONCAT" { 2 } else { 3 };
                argument_count(&name.to_ascii_lowercase(), min, args.len())?;
                out.push(tokens[i].clone());
                out.push(punct("("));
                for (n, &a) in args.iter().enumerate() {
                    if n > 0 {
                        out.push(punct(","));
                    }
                    out.extend(inner(a)?.iter().cloned());
                }
                out.push(punct(")"));
            }
            "DATALENGTH" => {
                // Its length depends on the type as HASHBYTES' bytes do
                // (instance/datalength_fn.rs).
                let &[(s, e)] = args.as_slice() else {
                    // SQL Server error 174 (class 15).
                    return Err(ServerMessage::error(
                        174,
                        15,
                        "The datalength function requires 1 argument(s).",
                    ));
                };
                let kind = kind_of(&tokens[s..e], cols)?;
                out.push(Token::Word("ferry_datalength".into()));
                out.push(punct("("));
                out.extend(inner((s, e))?.iter().cloned());
                out.push(punct(","));
                out.push(str_token(kind.name()));
                out.push(punct(")"));
            }
            "HASHBYTES" => {
                if args.len() != 2 {
                    // SQL Server error 174 (class 15).
                    return Err(ServerMessage::error(
                        174,
                        15,
                        "The hashbytes function requires 2 argument(s).",
                    ));
                }
                let (s, e) = args[1];
                let kind = kind_of(&tokens[s..e], cols)?;
                if kind == Kind::Noncomparable {
                    let decl = column(&tokens[s..e], cols).unwrap_or("text");
                    return Err(invalid_argument(decl, 2, "hashbytes"));
                }
                out.push(Token::Word("ferry_hashbytes".into()));
                out.push(punct("("));
                out.extend(inner(args[0])?.iter().cloned());
                out.push(punct(","));
                out.extend(inner(args[1])?.iter().cloned());
                out.push(punct(","));
                out.push(str_token(kind.name()));
                out.push(punct(")"));
            }
            _ => {
                let binary = name == "BINARY_CHECKSUM";
                out.push(Token::Word(
                    if binary {
                        "ferry_binary_checksum"
                    } else {
                        "ferry_checksum"
                    }
                    .into(),
                ));
                out.push(punct("("));
                let star = args.len() == 1 && tokens[args[0].0].is_punct("*");
                let mut first = true;
                let mut push = |out: &mut Vec<Token>, value: Vec<Token>, kind: Kind| {
                    if !first {
                        out.push(punct(","));
                    }
                    first = false;
                    out.extend(value);
                    out.push(punct(","));
                    out.push(str_token(kind.name()));
                };
                if star {
                    // "*": every column of the tables read, noncomparable ones ignored.
                    for (c, decl) in cols {
                        let kind = Kind::of_declared(decl);
                        if kind != Kind::Noncomparable {
                            push(&mut out, vec![Token::Quoted(c.clone())], kind);
                        }
                    }
                } else {
                    for (n, &(s, e)) in args.iter().enumerate() {
                        let kind = kind_of(&tokens[s..e], cols)?;
                        if kind == Kind::Noncomparable && !binary {
                            // "CHECKSUM (Transact-SQL)": any type except a noncomparable one;
                            // BINARY_CHECKSUM's page says it ignores them.
                            let decl = column(&tokens[s..e], cols).unwrap_or("text");
                            return Err(invalid_argument(decl, n + 1, "checksum"));
                        }
                        push(&mut out, inner((s, e))?.into_owned(), kind);
                    }
                }
                out.push(punct(")"));
            }
        }
        i = close + 1;
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn text(sql: &str, cols: &[(&str, &str)]) -> Result<String, ServerMessage> {
        let cols: Vec<Column> = cols
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        let t = tokenize(sql).unwrap();
        Ok(display(&rewrite_hashes(&t, &cols)?))
    }

    #[test]
    fn hashbytes_gets_its_inputs_type() {
        let cols = [
            ("Name", "nvarchar(50)"),
            ("Code", "varchar(10)"),
            ("Id", "int"),
        ];
        assert_eq!(
            text("SELECT HASHBYTES('SHA2_256', Name) FROM t", &cols).unwrap(),
            "SELECT ferry_hashbytes ( SHA2_256 , Name , nvarchar ) FROM t"
        );
        let kind = |e: &str| {
            text(&format!("SELECT HASHBYTES('MD5', {e}) FROM t"), &cols)
                .unwrap()
                .rsplit(',')
                .next()
                .unwrap()
                .trim()
                .trim_end_matches(") FROM t")
                .trim()
                .to_owned()
        };
        assert_eq!(kind("t.Code"), "varchar");
        assert_eq!(kind("Id"), "int");
        assert_eq!(kind("CONCAT_WS('|', Id, Code)"), "varchar");
        assert_eq!(kind("CONCAT_WS(N'|', Id, Code)"), "nvarchar");
        assert_eq!(kind("CONVERT(nvarchar(max), Id)"), "nvarchar");
        assert_eq!(kind("CAST(Code AS varbinary(20))"), "varbinary");
        assert_eq!(kind("ISNULL(Code, '')"), "varchar");
        assert_eq!(kind("COALESCE(Code, Name)"), "nvarchar");
        assert_eq!(kind("Code + N'x'"), "nvarchar");
        assert_eq!(kind("@p"), "auto");
        let e = text("SELECT HASHBYTES('MD5', ABS(Id)) FROM t", &cols).unwrap_err();
        assert!(e.text.contains("cannot tell the T-SQL type"), "{}", e.text);
    }

    #[test]
    fn checksums_list_columns_and_refuse_noncomparable_inputs() {
        let cols = [("Id", "int"), ("Notes", "ntext"), ("Name", "varchar(5)")];
        assert_eq!(
            text("SELECT BINARY_CHECKSUM(*) FROM t", &cols).unwrap(),
            "SELECT ferry_binary_checksum ( \"Id\" , int , \"Name\" , varchar ) FROM t"
                .replace('"', "")
        );
        let e = text("SELECT CHECKSUM(Id, Notes) FROM t", &cols).unwrap_err();
        assert_eq!(e.number, 8116);
        assert_eq!(
            e.text,
            "Argument data type ntext is invalid for argument 2 of checksum function."
        );
        assert!(text("SELECT BINARY_CHECKSUM(Id, Notes) FROM t", &cols).is_ok());
        assert_eq!(
            text("SELECT HASHBYTES('MD5', Notes) FROM t", &cols)
                .unwrap_err()
                .number,
            8116
        );
    }

    #[test]
    fn count_big_and_concat_argument_counts() {
        assert_eq!(
            text("SELECT COUNT_BIG(*) FROM t", &[]).unwrap(),
            "SELECT count ( * ) FROM t"
        );
        let e = text("SELECT CONCAT_WS(',', a) FROM t", &[]).unwrap_err();
        assert_eq!(
            (e.number, e.text.as_str()),
            (189, "The concat_ws function requires 3 to 254 arguments.")
        );
    }
}
