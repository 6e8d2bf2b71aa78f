//! The T-SQL types of a query's integer aggregates, told from the statement the way SQL Server
//! types them, not from the values SQLite returns. SQLite has one integer type, so without this
//! `SUM` over a bigint column came back as int while its total fit in 32 bits, and `SUM` over an
//! int column came back as bigint once it did not, where SQL Server fails the query with error
//! 8115 ("SUM (Transact-SQL)", Return types: int for tinyint, smallint and int, bigint for
//! bigint; "COUNT" returns int, "COUNT_BIG" bigint). A client reading the column as the type
//! SQL Server sends (tiberius: `i64` only from bigint) sees the difference.
//!
//! Only the outermost select list's items that are an aggregate or integer CAST/CONVERT call
//! are typed; other items keep the declared-or-inferred typing of instance/query.rs.

use super::hash_calls::{Column, kind_of};
use super::select_alias::item_end;
use crate::instance::hashing::Kind;
use crate::protocol::types::SqlType;
use crate::syntax::Token;

const TYPED_CALLS: &[&str] = &[
    "COUNT",
    "COUNT_BIG",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "CAST",
    "CONVERT",
];

/// One entry per result column of the outermost SELECT (`None` where the column keeps its
/// usual typing); empty when the columns cannot be matched to items (`*`, no SELECT).
pub fn select_types(tokens: &[Token], cols: &dyn Fn() -> Vec<Column>) -> Vec<Option<SqlType>> {
    let Some(start) = outer_select(tokens) else {
        return Vec::new();
    };
    let mut i = start + 1;
    while let Some(t) = tokens.get(i) {
        if t.is("DISTINCT") || t.is("ALL") {
            i += 1;
        } else if t.is("TOP") {
            // TOP n, TOP (n), TOP (n) PERCENT / WITH TIES.
            i += 1;
            if tokens.get(i).is_some_and(|t| t.is_punct("(")) {
                i = item_end(tokens, i + 1) + 1;
            } else {
                i += 1;
            }
            while tokens
                .get(i)
                .is_some_and(|t| t.is("PERCENT") || t.is("WITH") || t.is("TIES"))
            {
                i += 1;
            }
        } else {
            break;
        }
    }
    let mut items = Vec::new();
    loop {
        let end = item_end(tokens, i);
        items.push(&tokens[i..end]);
        match tokens.get(end) {
            Some(c) if c.is_punct(",") => i = end + 1,
            _ => break,
        }
    }
    if items
        .iter()
        .any(|item| item.last().is_some_and(|t| t.is_punct("*")))
    {
        return Vec::new();
    }
    let needs_types = items.iter().any(|item| typed_call(item).is_some());
    if !needs_types {
        return Vec::new();
    }
    let cols = cols();
    items
        .iter()
        .map(|item| {
            let expr = typed_call(item)?;
            match kind_of(expr, &cols).ok()? {
                Kind::Int(1) => Some(SqlType::TinyInt),
                Kind::Int(2) => Some(SqlType::SmallInt),
                Kind::Int(4) => Some(SqlType::Int),
                Kind::Int(8) => Some(SqlType::BigInt),
                _ => None,
            }
        })
        .collect()
}

/// The first SELECT at depth 0 (after a WITH's common table expressions, which are in
/// parentheses).
fn outer_select(tokens: &[Token]) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && t.is("SELECT") {
            return Some(i);
        }
    }
    None
}

/// The item's expression without its alias, when it is one call to a typed function.
fn typed_call(item: &[Token]) -> Option<&[Token]> {
    let expr = match item {
        [e @ .., as_, _] if as_.is("AS") => e,
        [e @ .., close, Token::Word(_) | Token::Quoted(_)] if close.is_punct(")") => {
            &item[..e.len() + 1]
        }
        _ => item,
    };
    let name = expr.first()?;
    let call = TYPED_CALLS.iter().any(|f| name.is(f))
        && expr.get(1).is_some_and(|t| t.is_punct("("))
        && expr.last().is_some_and(|t| t.is_punct(")"))
        && item_end(expr, 2) == expr.len() - 1;
    call.then_some(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn types(sql: &str) -> Vec<Option<SqlType>> {
        let cols = || {
            vec![
                ("Id".to_string(), "int".to_string()),
                ("Big".to_string(), "bigint".to_string()),
                ("Name".to_string(), "nvarchar(50)".to_string()),
            ]
        };
        select_types(&tokenize(sql).unwrap(), &cols)
    }

    #[test]
    fn aggregates_are_typed_as_sql_server_types_them() {
        assert_eq!(
            types("SELECT SUM(Big), SUM(Id) AS s, COUNT(*) n, COUNT_BIG(*), MAX(Name) FROM t"),
            vec![
                Some(SqlType::BigInt),
                Some(SqlType::Int),
                Some(SqlType::Int),
                Some(SqlType::BigInt),
                None
            ]
        );
        assert_eq!(
            types("SELECT TOP (5) Id, SUM(DISTINCT CAST(Id AS bigint)) FROM t GROUP BY Id"),
            vec![None, Some(SqlType::BigInt)]
        );
        assert_eq!(
            types("WITH c AS (SELECT COUNT(*) AS n FROM t) SELECT n, MIN(Id) FROM c"),
            vec![None, Some(SqlType::Int)]
        );
    }

    #[test]
    fn lists_that_cannot_be_matched_to_columns_are_left_alone() {
        assert!(types("SELECT *, COUNT(*) FROM t").is_empty());
        assert!(types("SELECT Id, Name FROM t").is_empty());
        assert!(types("SELECT COUNT(*) + 1 FROM t").is_empty());
        // A product of a float and a bigint is not a bigint column.
        assert_eq!(
            types("SELECT SUM(a.Ratio * a.Big), COUNT(*) FROM t a"),
            vec![None, Some(SqlType::Int)]
        );
    }
}
