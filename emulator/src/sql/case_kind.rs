//! The result expressions of a CASE expression, for the functions that need its type
//! (sql/hash_calls.rs). "CASE (Transact-SQL)", learn.microsoft.com: "Returns the highest
//! precedence type from the set of types in result_expressions and the optional
//! else_result_expression"; the caller combines the kinds by that precedence.

use crate::syntax::Token;

/// The THEN and ELSE expressions of `e` when `e` is exactly one `CASE … END`, else None.
pub fn results(e: &[Token]) -> Option<Vec<&[Token]>> {
    if !e.first()?.is("CASE") || !e.last()?.is("END") {
        return None;
    }
    let mut out = Vec::new();
    // Nesting of parentheses and of inner CASE … END, both of which hide their keywords.
    let (mut parens, mut cases) = (0i32, 0i32);
    let mut start: Option<usize> = None;
    for (i, t) in e.iter().enumerate().skip(1) {
        if t.is_punct("(") {
            parens += 1;
        } else if t.is_punct(")") {
            parens -= 1;
        }
        if parens != 0 {
            continue;
        }
        if t.is("CASE") {
            cases += 1;
            continue;
        }
        let last = i == e.len() - 1;
        if t.is("END") && !last {
            // The outer CASE ends before the expression does: not one CASE expression.
            if cases == 0 {
                return None;
            }
            cases -= 1;
            continue;
        }
        if cases != 0 {
            continue;
        }
        if t.is("WHEN") || t.is("ELSE") || t.is("END") {
            if let Some(s) = start.take() {
                out.push(&e[s..i]);
            }
            if t.is("ELSE") {
                start = Some(i + 1);
            }
        } else if t.is("THEN") {
            start = Some(i + 1);
        }
    }
    (!out.is_empty() && out.iter().all(|r| !r.is_empty())).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn shown(sql: &str) -> Option<Vec<String>> {
        let t = tokenize(sql).unwrap();
        results(&t).map(|r| {
            r.iter()
                .map(|x| x.iter().map(Token::display).collect::<Vec<_>>().join(" "))
                .collect()
        })
    }

    #[test]
    fn then_and_else_results_are_found_past_nesting() {
        assert_eq!(
            shown("CASE WHEN a IS NULL THEN 'n' ELSE 'v' + CONVERT(varchar(9), a) END").unwrap(),
            ["n", "v + CONVERT ( varchar ( 9 ) , a )"]
        );
        assert_eq!(
            shown("CASE x WHEN 1 THEN CASE WHEN y = 1 THEN N'a' END ELSE N'b' END").unwrap(),
            ["CASE WHEN y = 1 THEN a END", "b"]
        );
        assert_eq!(shown("CASE WHEN a = 1 THEN 1 END + 1"), None);
        assert_eq!(shown("COALESCE(a, b)"), None);
        assert_eq!(
            shown("CASE WHEN a = 1 THEN 1 END + CASE WHEN b = 1 THEN 2 END"),
            None
        );
    }
}
