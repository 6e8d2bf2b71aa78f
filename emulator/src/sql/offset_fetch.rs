//! `ORDER BY … OFFSET n ROWS [FETCH { FIRST | NEXT } m { ROW | ROWS } ONLY]` ("SELECT - ORDER
//! BY Clause (Transact-SQL)", learn.microsoft.com, section "Using OFFSET and FETCH to limit the
//! rows returned") becomes SQLite's `LIMIT m OFFSET n`, each count passed through a check
//! (instance/offset_fetch.rs) that fails as SQL Server does on a negative offset or a fetch
//! count under one.
//!
//! What the page states and the emulator enforces: OFFSET belongs to the ORDER BY clause and
//! FETCH needs OFFSET before it (otherwise the words reach SQLite as written, which fails
//! with a syntax error, 102); TOP cannot be combined with OFFSET and FETCH in the same query
//! expression (error 10741). The counts are "an integer constant,
//! parameter or expression" and are evaluated once; the page does not say how a NULL count
//! behaves, so the stricter choice is taken: NULL fails like a count out of range.

use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, syntax_error};

fn word(w: &str) -> Token {
    Token::Word(w.into())
}

fn punct(p: &str) -> Token {
    Token::Punct(p.into())
}

/// SQL Server error 10741 (severity 15), as sys.messages words it.
fn top_with_offset() -> ServerMessage {
    ServerMessage::error(
        10741,
        15,
        "A TOP can not be used in the same query or sub-query as a OFFSET.",
    )
}

/// The index of the first token at `from..` at paren depth 0 (relative) that satisfies `is`,
/// stopping at a `)` that closes the enclosing level.
fn find_level(t: &[Token], from: usize, is: impl Fn(&Token) -> bool) -> Option<usize> {
    let mut depth = 0i32;
    for (i, x) in t.iter().enumerate().skip(from) {
        if depth == 0 && is(x) {
            return Some(i);
        }
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
            if depth < 0 {
                return None;
            }
        }
    }
    None
}

/// Where the query expression holding `at` starts: just after the `(` that opens its level,
/// or 0.
fn level_start(t: &[Token], at: usize) -> usize {
    let mut depth = 0i32;
    for i in (0..at).rev() {
        if t[i].is_punct(")") {
            depth += 1;
        } else if t[i].is_punct("(") {
            if depth == 0 {
                return i + 1;
            }
            depth -= 1;
        }
    }
    0
}

/// Whether some token `i` in `from..to` at the level of `from` satisfies `is(i)`.
fn any_at_level(t: &[Token], from: usize, to: usize, is: impl Fn(usize) -> bool) -> bool {
    let mut depth = 0i32;
    for (i, x) in t.iter().enumerate().take(to).skip(from) {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && is(i) {
            return true;
        }
    }
    false
}

/// Whether tokens `from..to` hold `ORDER BY` at their own level.
fn has_order_by(t: &[Token], from: usize, to: usize) -> bool {
    any_at_level(t, from, to, |i| {
        t[i].is("ORDER") && t.get(i + 1).is_some_and(|x| x.is("BY"))
    })
}

/// Whether the query expression in `from..to` selects `TOP` at its own level.
fn has_top(t: &[Token], from: usize, to: usize) -> bool {
    any_at_level(t, from, to, |i| {
        t[i].is("TOP")
            && i > 0
            && (t[i - 1].is("SELECT") || t[i - 1].is("DISTINCT") || t[i - 1].is("ALL"))
    })
}

fn is_rows(x: &Token) -> bool {
    x.is("ROW") || x.is("ROWS")
}

/// `tokens` with every OFFSET … FETCH clause as `LIMIT … OFFSET …`, or the error SQL Server
/// gives for the clause.
pub fn rewrite(tokens: &[Token]) -> Result<Vec<Token>, ServerMessage> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let start = level_start(tokens, i);
        // Not the clause — a FETCH without OFFSET, or OFFSET with no ORDER BY before it (or a
        // column of that name) — goes to SQLite as written, which refuses the misplaced
        // keyword with a syntax error (102, instance/query.rs).
        if !t.is("OFFSET") || !has_order_by(tokens, start, i) {
            out.push(t.clone());
            i += 1;
            continue;
        }
        if has_top(tokens, start, i) {
            return Err(top_with_offset());
        }
        let Some(rows) = find_level(tokens, i + 1, is_rows).filter(|&r| r > i + 1) else {
            return Err(syntax_error("OFFSET"));
        };
        let offset = &tokens[i + 1..rows];
        let mut next = rows + 1;
        let fetch = if tokens.get(next).is_some_and(|x| x.is("FETCH")) {
            if !tokens
                .get(next + 1)
                .is_some_and(|x| x.is("NEXT") || x.is("FIRST"))
            {
                return Err(syntax_error("FETCH"));
            }
            let from = next + 2;
            let Some(end) = find_level(tokens, from, is_rows).filter(|&r| r > from) else {
                return Err(syntax_error("FETCH"));
            };
            if !tokens.get(end + 1).is_some_and(|x| x.is("ONLY")) {
                return Err(syntax_error(
                    &tokens.get(end + 1).map(Token::display).unwrap_or_default(),
                ));
            }
            next = end + 2;
            Some(&tokens[from..end])
        } else {
            None
        };
        out.push(word("LIMIT"));
        match fetch {
            Some(f) => {
                out.extend([word("ferry_fetch_rows"), punct("(")]);
                out.extend(f.iter().cloned());
                out.push(punct(")"));
            }
            // SQLite reads a negative LIMIT as no limit.
            None => out.extend([punct("-"), Token::Number("1".into())]),
        }
        out.extend([word("OFFSET"), word("ferry_offset_rows"), punct("(")]);
        out.extend(offset.iter().cloned());
        out.push(punct(")"));
        i = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn text(sql: &str) -> Result<String, i32> {
        let t = tokenize(sql).unwrap();
        rewrite(&t)
            .map(|o| o.iter().map(Token::display).collect::<Vec<_>>().join(" "))
            .map_err(|e| e.number)
    }

    #[test]
    fn offset_fetch_becomes_limit_offset() {
        assert_eq!(
            text("SELECT a FROM t ORDER BY a OFFSET @o ROWS FETCH NEXT 1 ROWS ONLY").unwrap(),
            "SELECT a FROM t ORDER BY a LIMIT ferry_fetch_rows ( 1 ) OFFSET ferry_offset_rows ( @o )"
        );
        assert_eq!(
            text("SELECT a FROM t ORDER BY a OFFSET 5 ROW").unwrap(),
            "SELECT a FROM t ORDER BY a LIMIT - 1 OFFSET ferry_offset_rows ( 5 )"
        );
        assert!(
            text("SELECT x FROM (SELECT a AS x FROM t ORDER BY a OFFSET (2 + 1) ROWS FETCH FIRST 2 ROWS ONLY) AS s")
                .unwrap()
                .contains("LIMIT ferry_fetch_rows ( 2 ) OFFSET ferry_offset_rows ( ( 2 + 1 ) ) )")
        );
    }

    #[test]
    fn misuse_fails_as_sql_server_does() {
        // Left for SQLite to refuse as a syntax error.
        for sql in [
            "SELECT a FROM t OFFSET 1 ROWS",
            "SELECT a FROM t ORDER BY a FETCH NEXT 1 ROWS ONLY",
        ] {
            assert_eq!(text(sql).unwrap(), sql);
        }
        assert_eq!(
            text("SELECT TOP 3 a FROM t ORDER BY a OFFSET 1 ROWS"),
            Err(10741)
        );
        assert_eq!(
            text("SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 1 ROWS"),
            Err(102)
        );
    }
}
