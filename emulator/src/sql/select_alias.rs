//! T-SQL's `column_alias = expression` form of a select-list item ("SELECT - SELECT Clause
//! (Transact-SQL)": "column_alias = expression … can be used instead of AS"), rewritten to
//! `expression AS column_alias` for SQLite. An item is read at the top level of its SELECT
//! (not inside parentheses it opens), up to the next comma or the clause that ends the list;
//! `@variable = expression` items are assignments, left to the batch.

use crate::syntax::Token;

/// Keywords that end a select list.
const ENDS: &[&str] = &[
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "INTO",
    "OPTION",
    "FOR",
];

/// `tokens` with every `alias = expression` select item turned around; the same tokens when
/// there is none.
pub fn rewrite(tokens: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len() + 4);
    let mut i = 0;
    while i < tokens.len() {
        out.push(tokens[i].clone());
        if tokens[i].is("SELECT") {
            i = select_list(tokens, i + 1, &mut out);
        } else {
            i += 1;
        }
    }
    out
}

/// Copies the select list starting at `tokens[start]` into `out`; returns where it ends.
fn select_list(tokens: &[Token], start: usize, out: &mut Vec<Token>) -> usize {
    let mut i = start;
    // DISTINCT / ALL / TOP (n) stand before the first item.
    loop {
        match tokens.get(i) {
            Some(t) if t.is("DISTINCT") || t.is("ALL") => {
                out.push(t.clone());
                i += 1;
            }
            Some(t) if t.is("TOP") => {
                out.push(t.clone());
                i += 1;
                if let Some(n) = tokens.get(i) {
                    out.push(n.clone());
                    i += 1;
                }
            }
            _ => break,
        }
    }
    loop {
        let end = item_end(tokens, i);
        let item = &tokens[i..end];
        match item {
            [
                alias @ (Token::Word(_) | Token::Quoted(_) | Token::Str { .. }),
                eq,
                expr @ ..,
            ] if eq.is_punct("=") && !expr.is_empty() && !is_keyword(alias) => {
                out.extend(rewrite(expr));
                out.push(Token::Word("AS".into()));
                out.push(match alias {
                    Token::Str { text, .. } => Token::Quoted(text.clone()),
                    other => other.clone(),
                });
            }
            _ => out.extend(rewrite(item)),
        }
        match tokens.get(end) {
            Some(c) if c.is_punct(",") => {
                out.push(c.clone());
                i = end + 1;
            }
            _ => return end,
        }
    }
}

fn is_keyword(t: &Token) -> bool {
    ["CASE", "NOT", "EXISTS"].iter().any(|k| t.is(k))
}

/// Where the item starting at `tokens[start]` ends: a comma or an ending keyword at depth 0,
/// a `)` closing a parenthesis the list is inside, or the end.
pub(super) fn item_end(tokens: &[Token], start: usize) -> usize {
    let mut depth = 0i32;
    for (k, t) in tokens.iter().enumerate().skip(start) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            if depth == 0 {
                return k;
            }
            depth -= 1;
        } else if depth == 0 && (t.is_punct(",") || t.is_punct(";") || ENDS.iter().any(|e| t.is(e)))
        {
            return k;
        }
    }
    tokens.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn shown(sql: &str) -> String {
        rewrite(&tokenize(sql).unwrap())
            .iter()
            .map(|t| t.display())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn aliases_written_first_come_last() {
        assert_eq!(
            shown("SELECT value AS Cluster, JoinCol = 1 FROM t WHERE a = 1"),
            "SELECT value AS Cluster , 1 AS JoinCol FROM t WHERE a = 1"
        );
        assert_eq!(
            shown("SELECT x FROM (SELECT n = COUNT(*) FROM t) s"),
            "SELECT x FROM ( SELECT COUNT ( * ) AS n FROM t ) s"
        );
        assert_eq!(shown("SELECT @v = 1"), "SELECT @v = 1");
        assert_eq!(
            shown("SELECT CASE WHEN a = 1 THEN 2 END FROM t"),
            "SELECT CASE WHEN a = 1 THEN 2 END FROM t"
        );
        assert_eq!(shown("UPDATE t SET a = 1"), "UPDATE t SET a = 1");
    }
}
