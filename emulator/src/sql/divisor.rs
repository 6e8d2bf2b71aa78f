//! Where the right operand of `/` or `%` ends in a table statement, so the rewrite can pass it
//! through `ferry_divisor` (instance/division.rs) and division by zero fails with SQL Server's
//! 8134 instead of SQLite's NULL. `/` and `%` bind tighter than every other binary operator
//! ("Operator Precedence (Transact-SQL)"), so their right operand is one primary: a literal,
//! variable, column, function call (with its OVER clause), CASE … END or parenthesised
//! expression, after any unary signs.

use crate::syntax::{Token, closing, closing_paren};

/// The index just past the operand that starts at `start`; `None` when no operand starts there
/// (the statement is then left for SQLite to refuse).
pub fn operand_end(tokens: &[Token], start: usize) -> Option<usize> {
    let mut i = start;
    while tokens
        .get(i)
        .is_some_and(|t| t.is_punct("-") || t.is_punct("+") || t.is_punct("~"))
    {
        i += 1;
    }
    let mut end = match tokens.get(i)? {
        Token::Punct(p) if p == "(" => closing_paren(tokens, i)? + 1,
        Token::Punct(_) => return None,
        Token::Word(w) if w.eq_ignore_ascii_case("CASE") => {
            closing(tokens, i, |t| t.is("CASE"), |t| t.is("END"))? + 1
        }
        Token::Word(_) | Token::Quoted(_) => name_or_call_end(tokens, i)?,
        Token::Number(_) | Token::Str { .. } | Token::Var(_) | Token::Global(_) => i + 1,
    };
    if tokens.get(end).is_some_and(|t| t.is("COLLATE")) && end + 1 < tokens.len() {
        end += 2;
    }
    Some(end)
}

/// A dotted name, and the call's arguments and OVER clause when it is a function.
fn name_or_call_end(tokens: &[Token], start: usize) -> Option<usize> {
    let mut j = start + 1;
    while tokens.get(j).is_some_and(|t| t.is_punct("."))
        && matches!(tokens.get(j + 1), Some(Token::Word(_) | Token::Quoted(_)))
    {
        j += 2;
    }
    if tokens.get(j).is_some_and(|t| t.is_punct("(")) {
        j = closing_paren(tokens, j)? + 1;
        if tokens.get(j).is_some_and(|t| t.is("OVER"))
            && tokens.get(j + 1).is_some_and(|t| t.is_punct("("))
        {
            j = closing_paren(tokens, j + 1)? + 1;
        }
    }
    Some(j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn operand(sql: &str) -> String {
        let t = tokenize(sql).unwrap();
        let slash = t.iter().position(|t| t.is_punct("/")).unwrap();
        let end = operand_end(&t, slash + 1).unwrap();
        t[slash + 1..end]
            .iter()
            .map(|t| t.display())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_right_operand_is_one_primary() {
        assert_eq!(operand("SELECT a / b * c"), "b");
        assert_eq!(operand("SELECT a / -b + c"), "- b");
        assert_eq!(operand("SELECT a / T.b FROM T"), "T . b");
        assert_eq!(operand("SELECT a / (b - c) FROM T"), "( b - c )");
        assert_eq!(
            operand("SELECT a / ISNULL(b, 1) FROM T"),
            "ISNULL ( b , 1 )"
        );
        assert_eq!(
            operand("SELECT a / COUNT(*) OVER () FROM T"),
            "COUNT ( * ) OVER ( )"
        );
        assert_eq!(
            operand("SELECT a / CASE WHEN b = 0 THEN CASE c WHEN 1 THEN 2 END ELSE b END + 1"),
            "CASE WHEN b = 0 THEN CASE c WHEN 1 THEN 2 END ELSE b END"
        );
        assert_eq!(operand("SELECT a / @d"), "@d");
        let t = tokenize("SELECT a / ) x").unwrap();
        assert_eq!(operand_end(&t, 3), None);
    }
}
