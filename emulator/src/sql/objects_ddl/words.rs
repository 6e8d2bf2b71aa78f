//! Reading names and expressions in object DDL: `[db.][schema.]name`, column lists, and the
//! text SQL Server keeps for a CHECK, DEFAULT or index filter.

use crate::protocol::tokens::ServerMessage;
use crate::statement::{KeyColumn, ObjectName};
use crate::syntax::{Token, closing_paren, near};

/// `a`, `a.b`, `a.b.c` (or `a..c`) at the front of `t`, and how many tokens it took.
pub(super) fn object_name(t: &[Token]) -> Option<(ObjectName, usize)> {
    let mut parts: Vec<Option<String>> = Vec::new();
    let mut i = 0;
    loop {
        match t.get(i) {
            Some(Token::Word(w) | Token::Quoted(w)) => {
                parts.push(Some(w.clone()));
                i += 1;
            }
            Some(x) if x.is_punct(".") && !parts.is_empty() => parts.push(None),
            _ => return None,
        }
        if t.get(i).is_some_and(|x| x.is_punct(".")) {
            i += 1;
            // `a..c`: an empty schema part.
            if t.get(i).is_some_and(|x| x.is_punct(".")) {
                parts.push(None);
                i += 1;
            }
            continue;
        }
        break;
    }
    if parts.len() > 3 {
        return None;
    }
    let mut p = parts.into_iter().rev();
    let name = p.next().flatten()?;
    let schema = p.next().flatten();
    let db = p.next().flatten();
    Some((ObjectName { db, schema, name }, i))
}

/// An object name at the front of `t`, or error 102.
pub(super) fn need_name(t: &[Token]) -> Result<(ObjectName, usize), ServerMessage> {
    object_name(t).ok_or_else(|| near(t))
}

/// A plain identifier.
pub(super) fn ident(t: Option<&Token>) -> Option<String> {
    match t {
        Some(Token::Word(w) | Token::Quoted(w)) => Some(w.clone()),
        _ => None,
    }
}

/// `( … )` at `t[at]`: the tokens inside and the index after the closing parenthesis.
pub(super) fn group(t: &[Token], at: usize) -> Result<(&[Token], usize), ServerMessage> {
    if !t.get(at).is_some_and(|x| x.is_punct("(")) {
        return Err(near(&t[at.min(t.len())..]));
    }
    let close = closing_paren(t, at).ok_or_else(|| near(&t[at..]))?;
    Ok((&t[at + 1..close], close + 1))
}

/// `(a [ASC|DESC], b, …)` at `t[at]`.
pub(super) fn key_columns(
    t: &[Token],
    at: usize,
) -> Result<(Vec<KeyColumn>, usize), ServerMessage> {
    let (inside, next) = group(t, at)?;
    let mut out = Vec::new();
    for item in inside.split(|x| x.is_punct(",")) {
        match item {
            [c] => out.push(KeyColumn {
                name: ident(Some(c)).ok_or_else(|| near(item))?,
                descending: false,
            }),
            [c, d] if d.is("ASC") || d.is("DESC") => out.push(KeyColumn {
                name: ident(Some(c)).ok_or_else(|| near(item))?,
                descending: d.is("DESC"),
            }),
            _ => return Err(near(item)),
        }
    }
    Ok((out, next))
}

/// `(a, b, …)` at `t[at]`: plain column names.
pub(super) fn name_list(t: &[Token], at: usize) -> Result<(Vec<String>, usize), ServerMessage> {
    let (cols, next) = key_columns(t, at)?;
    Ok((cols.into_iter().map(|c| c.name).collect(), next))
}

/// `a, b (c, d), e` split at top-level commas.
pub(super) fn split_top(t: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, x) in t.iter().enumerate() {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && x.is_punct(",") {
            out.push(&t[start..i]);
            start = i + 1;
        }
    }
    out.push(&t[start..]);
    out
}

/// Words that stay words in a kept expression.
const KEYWORDS: &[&str] = &[
    "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE",
    "END", "ESCAPE", "EXISTS", "AS",
];

/// The text SQL Server keeps for an expression (`definition` of "sys.check_constraints" and
/// "sys.default_constraints", `filter_definition` of "sys.indexes"). The pages say only that it
/// is the expression's text; SQL Server shows it re-written (`CHECK (Qty > 0)` keeps
/// `([Qty]>(0))`, `DEFAULT 0` keeps `((0))`, `DEFAULT getdate()` keeps `(getdate())`). The
/// emulator imitates the common cases: column names in brackets, numbers in parentheses,
/// function names in lower case, no spaces but around keywords, the whole in parentheses. It
/// does not re-write IN lists or CASTs the way SQL Server does.
pub(super) fn kept_expression(t: &[Token]) -> String {
    // One pair of parentheses around the whole is the writer's, not the expression's.
    let t = match t {
        [open, inner @ .., _] if open.is_punct("(") && closing_paren(t, 0) == Some(t.len() - 1) => {
            inner
        }
        _ => t,
    };
    let mut out = String::new();
    for (i, x) in t.iter().enumerate() {
        let call = t.get(i + 1).is_some_and(|n| n.is_punct("("));
        let piece = match x {
            Token::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                format!(" {} ", w.to_ascii_uppercase())
            }
            Token::Word(w) if call => w.to_ascii_lowercase(),
            Token::Word(w) | Token::Quoted(w) => format!("[{w}]"),
            Token::Number(n) => format!("({n})"),
            Token::Str { text, unicode } => format!(
                "{}'{}'",
                if *unicode { "N" } else { "" },
                text.replace('\'', "''")
            ),
            other => other.display(),
        };
        out.push_str(&piece);
    }
    format!("({})", out.trim().replace("  ", " "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn kept(sql: &str) -> String {
        kept_expression(&tokenize(sql).unwrap())
    }

    #[test]
    fn expressions_are_kept_the_way_sql_server_shows_them() {
        assert_eq!(kept("Qty > 0"), "([Qty]>(0))");
        assert_eq!(kept("0"), "((0))");
        assert_eq!(kept("(0)"), "((0))");
        assert_eq!(kept("GETDATE()"), "(getdate())");
        assert_eq!(kept("N'new'"), "(N'new')");
        assert_eq!(
            kept("[Price] >= 0 AND Qty < 10"),
            "([Price]>=(0) AND [Qty]<(10))"
        );
        assert_eq!(kept("Deleted IS NULL"), "([Deleted] IS NULL)");
    }

    #[test]
    fn names_have_up_to_three_parts() {
        let t = tokenize("Shop.dbo.Orders (").unwrap();
        let (n, used) = object_name(&t).unwrap();
        assert_eq!(
            (n.db.as_deref(), n.schema.as_deref(), n.name.as_str(), used),
            (Some("Shop"), Some("dbo"), "Orders", 5)
        );
        let t = tokenize("Shop..Orders").unwrap();
        let (n, _) = object_name(&t).unwrap();
        assert_eq!(
            (n.db.as_deref(), n.schema, n.name.as_str()),
            (Some("Shop"), None, "Orders")
        );
        assert!(object_name(&tokenize("a.b.c.d").unwrap()).is_none());
    }
}
