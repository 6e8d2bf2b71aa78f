//! Dynamic management functions in a FROM clause: `sys.dm_io_virtual_file_stats(database_id,
//! file_id)` ("sys.dm_io_virtual_file_stats (Transact-SQL)": NULL for either argument means
//! every database or every file) becomes a derived table over the DMV's rows, so SQLite can
//! run it. `sys.dm_exec_sql_text(handle)` reads the text a handle names (the row the emulator's
//! handle carries, `ferry_sql_text_row`), and `CROSS APPLY` / `OUTER APPLY` of it, the way
//! "sys.dm_exec_sql_text" is used with `sys.dm_exec_query_stats`, become an inner or left join
//! on that row; `sys.dm_exec_plan_attributes(plan_handle)` likewise joins the rows of the plan
//! (instance/plan_attributes.rs). Without its arguments SQL Server refuses the name (error 216, "Parameters were
//! not supplied for the function").

use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, closing_paren};

const FUNCTIONS: &[(&str, &[&str])] = &[
    ("dm_io_virtual_file_stats", &["database_id", "file_id"]),
    // One argument, the handle: matched on the row it names.
    ("dm_exec_sql_text", &["rowid"]),
    // One argument, the plan handle: matched on its rows (instance/plan_attributes.rs).
    ("dm_exec_plan_attributes", &["plan_key"]),
];

/// How a handle argument finds its rows: the rowid expression's tail after the alias, and the
/// function that reads the handle.
fn handle_match(column: &str) -> Option<(&'static [&'static str], &'static str)> {
    match column {
        "rowid" => Some((&["rowid"], "ferry_sql_text_row")),
        "plan_key" => Some((&["rowid", "/", "64"], "ferry_plan_key")),
        _ => None,
    }
}

/// `rowid[ / 64] = ferry_…(` as tokens, the rowid qualified by `alias` when given.
fn handle_condition(column: &str, alias: Option<&str>) -> Option<Vec<Token>> {
    let (lhs, function) = handle_match(column)?;
    let mut out = Vec::new();
    if let Some(a) = alias {
        out.extend([Token::Quoted(a.to_owned()), Token::Punct(".".into())]);
    }
    for t in lhs {
        out.push(match *t {
            "/" => Token::Punct("/".into()),
            "64" => Token::Number("64".into()),
            w => Token::Word(w.into()),
        });
    }
    out.extend([
        Token::Punct("=".into()),
        Token::Word(function.into()),
        Token::Punct("(".into()),
    ]);
    Some(out)
}

/// Keywords after a table that are not its alias.
const NOT_ALIAS: &[&str] = &[
    "WHERE", "GROUP", "ORDER", "HAVING", "ON", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS",
    "OUTER", "UNION", "OPTION", "WITH", "FOR",
];

fn word(t: Option<&Token>) -> Option<&str> {
    match t {
        Some(Token::Word(w) | Token::Quoted(w)) => Some(w),
        _ => None,
    }
}

/// The statement with every call of a function of [`FUNCTIONS`] made a derived table.
pub fn rewrite(tokens: &[Token]) -> Result<Vec<Token>, ServerMessage> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let called = word(tokens.get(i))
            .filter(|w| w.eq_ignore_ascii_case("sys"))
            .and(tokens.get(i + 1).filter(|t| t.is_punct(".")))
            .and(word(tokens.get(i + 2)))
            .and_then(|name| FUNCTIONS.iter().find(|(f, _)| f.eq_ignore_ascii_case(name)));
        let Some((name, columns)) = called else {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        };
        let open = i + 3;
        let close = tokens
            .get(open)
            .filter(|t| t.is_punct("("))
            .and_then(|_| closing_paren(tokens, open));
        let Some(close) = close else {
            // SQL Server error 216 (severity 16).
            return Err(ServerMessage::error(
                216,
                16,
                format!("Parameters were not supplied for the function 'sys.{name}'."),
            ));
        };
        let args: Vec<&[Token]> = tokens[open + 1..close].split(|t| t.is_punct(",")).collect();
        if args.len() != columns.len() || args.iter().any(|a| a.is_empty()) {
            // SQL Server error 174 (severity 15).
            return Err(ServerMessage::error(
                174,
                15,
                format!(
                    "The {name} function requires {} argument(s).",
                    columns.len()
                ),
            ));
        }
        let p = |s: &str| Token::Punct(s.into());
        let w = |s: &str| Token::Word(s.into());
        // The alias after the call, if any: (tokens it takes, name).
        let after = close + 1;
        let alias = match (tokens.get(after), tokens.get(after + 1)) {
            (Some(a), Some(Token::Word(n) | Token::Quoted(n))) if a.is("AS") => {
                Some((2, n.clone()))
            }
            (Some(Token::Quoted(n)), _) => Some((1, n.clone())),
            (Some(Token::Word(n)), _) if !NOT_ALIAS.iter().any(|k| n.eq_ignore_ascii_case(k)) => {
                Some((1, n.clone()))
            }
            _ => None,
        };
        let (alias_len, alias) = alias.unwrap_or((0, (*name).to_owned()));
        let apply = out.len() >= 2
            && out[out.len() - 1].is("APPLY")
            && (out[out.len() - 2].is("CROSS") || out[out.len() - 2].is("OUTER"));
        if let (true, Some(cond)) = (apply, handle_condition(columns[0], Some(&alias))) {
            let outer = out[out.len() - 2].is("OUTER");
            out.truncate(out.len() - 2);
            if outer {
                out.push(w("LEFT"));
            }
            out.extend([
                w("JOIN"),
                w("sys"),
                p("."),
                w(name),
                w("AS"),
                Token::Quoted(alias.clone()),
            ]);
            out.push(w("ON"));
            out.extend(cond);
            out.extend(args[0].iter().cloned());
            out.push(p(")"));
            i = after + alias_len;
            continue;
        }
        out.extend([
            p("("),
            w("SELECT"),
            p("*"),
            w("FROM"),
            w("sys"),
            p("."),
            w(name),
            w("WHERE"),
        ]);
        for (k, (arg, column)) in args.iter().zip(columns.iter()).enumerate() {
            if k > 0 {
                out.push(w("AND"));
            }
            if let Some(cond) = handle_condition(column, None) {
                out.extend(cond);
                out.extend(arg.iter().cloned());
                out.push(p(")"));
                continue;
            }
            out.extend([p("("), p("(")]);
            out.extend(arg.iter().cloned());
            out.extend([
                p(")"),
                w("IS"),
                w("NULL"),
                w("OR"),
                w(column),
                p("="),
                p("("),
            ]);
            out.extend(arg.iter().cloned());
            out.extend([p(")"), p(")")]);
        }
        out.push(p(")"));
        i = after;
        if alias_len == 0 {
            out.extend([w("AS"), w(name)]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &[Token]) -> String {
        t.iter().map(|x| x.display()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_call_becomes_a_filtered_derived_table() {
        let t = crate::syntax::tokenize(
            "SELECT * FROM sys.dm_io_virtual_file_stats(5, NULL) WHERE file_id = 1",
        )
        .unwrap();
        let r = text(&rewrite(&t).unwrap());
        assert!(r.contains("( SELECT * FROM sys . dm_io_virtual_file_stats WHERE ( ( 5 ) IS NULL OR database_id = ( 5 ) ) AND ( ( NULL ) IS NULL OR file_id = ( NULL ) ) ) AS dm_io_virtual_file_stats WHERE"), "{r}");
        let t = crate::syntax::tokenize(
            "SELECT * FROM sys.dm_io_virtual_file_stats(NULL, NULL) AS vfs",
        )
        .unwrap();
        assert!(text(&rewrite(&t).unwrap()).ends_with(") AS vfs"));
    }

    #[test]
    fn an_apply_of_sql_text_becomes_a_join_on_the_handle_row() {
        let t = crate::syntax::tokenize("SELECT st.text FROM sys.dm_exec_query_stats qs CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) st").unwrap();
        let r = text(&rewrite(&t).unwrap());
        assert!(r.ends_with("qs JOIN sys . dm_exec_sql_text AS st ON st . rowid = ferry_sql_text_row ( qs . sql_handle )"), "{r}");
        let t =
            crate::syntax::tokenize("SELECT * FROM x OUTER APPLY sys.dm_exec_sql_text(h)").unwrap();
        assert!(
            text(&rewrite(&t).unwrap())
                .contains("LEFT JOIN sys . dm_exec_sql_text AS dm_exec_sql_text")
        );
        let t = crate::syntax::tokenize("SELECT pa.value FROM sys.dm_exec_query_stats AS qs CROSS APPLY sys.dm_exec_plan_attributes(qs.plan_handle) AS pa WHERE pa.attribute = N'dbid'").unwrap();
        let r = text(&rewrite(&t).unwrap());
        assert!(r.contains("qs JOIN sys . dm_exec_plan_attributes AS pa ON pa . rowid / 64 = ferry_plan_key ( qs . plan_handle ) WHERE"), "{r}");
    }

    #[test]
    fn arguments_are_required() {
        let t = crate::syntax::tokenize("SELECT * FROM sys.dm_io_virtual_file_stats").unwrap();
        assert_eq!(rewrite(&t).unwrap_err().number, 216);
        let t = crate::syntax::tokenize("SELECT * FROM sys.dm_io_virtual_file_stats(1)").unwrap();
        assert_eq!(rewrite(&t).unwrap_err().number, 174);
    }
}
