//! CAST of binary data to an integer type. SQL Server reads the bytes as a big-endian two's
//! complement number of the target's size ("CAST and CONVERT (Transact-SQL)",
//! learn.microsoft.com, "Binary and varbinary": `CAST(0x0000000A AS int)` is 10); SQLite's CAST
//! reads a blob as text and gives 0. Each `CAST(x AS tinyint|smallint|int|bigint)` becomes
//! `CAST(ferry_binary_int(x, size) AS …)`: the function turns a blob into SQL Server's integer
//! (instance/cast_binary.rs) and hands back every other value untouched, so CAST of numbers
//! and text behaves as before.

use super::convert_calls::call_shape;
use crate::syntax::Token;

/// The byte size of an integer type named by `t`.
fn int_size(t: &[Token]) -> Option<i64> {
    match t {
        [w] if w.is("TINYINT") => Some(1),
        [w] if w.is("SMALLINT") => Some(2),
        [w] if w.is("INT") || w.is("INTEGER") => Some(4),
        [w] if w.is("BIGINT") => Some(8),
        _ => None,
    }
}

/// `tokens` with every CAST to an integer type wrapped as the module says. Table definitions
/// keep their expressions as written (SQLite stores them in its schema, as rewrite.rs keeps
/// their divisors).
pub fn rewrite(tokens: &[Token]) -> Vec<Token> {
    if tokens
        .first()
        .is_some_and(|t| t.is("CREATE") || t.is("ALTER"))
    {
        return tokens.to_vec();
    }
    wrap(tokens)
}

fn wrap(tokens: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let is_cast = tokens[i].is("CAST") && tokens.get(i + 1).is_some_and(|x| x.is_punct("("));
        let shape = is_cast.then(|| call_shape(tokens, i + 1)).flatten();
        let Some((close, _)) = shape else {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        };
        let inner = &tokens[i + 2..close];
        // The last top-level AS separates the expression from the type.
        let mut depth = 0i32;
        let mut as_at = None;
        for (k, t) in inner.iter().enumerate() {
            if t.is_punct("(") {
                depth += 1;
            } else if t.is_punct(")") {
                depth -= 1;
            } else if depth == 0 && t.is("AS") {
                as_at = Some(k);
            }
        }
        let sized = as_at.and_then(|a| int_size(&inner[a + 1..]).map(|n| (a, n)));
        let Some((a, size)) = sized else {
            // Not an integer target: the expression may still hold one.
            out.extend(tokens[i..i + 2].iter().cloned());
            out.extend(wrap(inner));
            out.push(tokens[close].clone());
            i = close + 1;
            continue;
        };
        out.extend(tokens[i..i + 2].iter().cloned());
        out.push(Token::Word("ferry_binary_int".into()));
        out.push(Token::Punct("(".into()));
        out.extend(wrap(&inner[..a]));
        out.push(Token::Punct(",".into()));
        out.push(Token::Number(size.to_string()));
        out.push(Token::Punct(")".into()));
        out.extend(inner[a..].iter().cloned());
        out.push(tokens[close].clone());
        i = close + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn text(sql: &str) -> String {
        rewrite(&tokenize(sql).unwrap())
            .iter()
            .map(Token::display)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn integer_casts_are_wrapped_and_others_kept() {
        assert_eq!(
            text("SELECT CAST(CAST(SUBSTRING(h, 1, 4) AS int) AS bigint)"),
            "SELECT CAST ( ferry_binary_int ( CAST ( ferry_binary_int ( SUBSTRING ( h , 1 , 4 ) , 4 ) AS int ) , 8 ) AS bigint )"
        );
        assert_eq!(
            text("SELECT CAST(x AS nvarchar(10)), CAST(CAST(y AS smallint) AS varchar(5))"),
            "SELECT CAST ( x AS nvarchar ( 10 ) ) , CAST ( CAST ( ferry_binary_int ( y , 2 ) AS smallint ) AS varchar ( 5 ) )"
        );
        assert_eq!(
            text("CREATE TABLE t (a int, b AS CAST(a AS bigint))"),
            "CREATE TABLE t ( a int , b AS CAST ( a AS bigint ) )"
        );
    }
}
