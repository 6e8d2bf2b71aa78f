//! OBJECT_NAME, OBJECT_SCHEMA_NAME and OBJECTPROPERTY inside a query SQLite runs
//! (`SELECT OBJECT_NAME(object_id) FROM sys.indexes`): each becomes a subquery of the
//! database's sys.objects. The argument is evaluated in a FROM-less derived table so a column
//! in it names the outer query's row (as in sql/rewrite.rs for the login functions). A
//! database_id argument is honoured when it is a constant; otherwise the session's database
//! is read (a limit of the emulator).

use crate::syntax::{Token, closing_paren, tokenize};

/// The call rewritten: the T-SQL text before its first argument and after it, or None to
/// leave it.
fn replacement(function: &str, args: &[Token], db: &str) -> Option<(String, String)> {
    let parts: Vec<&[Token]> = args.split(|t| t.is_punct(",")).collect();
    let db = format!("[{}]", db.replace(']', "]]"));
    let open = "(SELECT (".to_owned();
    let from = format!(
        ") AS ferry_arg) AS ferry_a JOIN {db}.sys.objects AS ferry_o ON ferry_o.object_id = ferry_a.ferry_arg"
    );
    let (select, close) = match function {
        "OBJECT_NAME" if parts.len() == 1 => ("ferry_o.name".to_owned(), format!("{from})")),
        "OBJECT_SCHEMA_NAME" if parts.len() == 1 => (
            "ferry_s.name".to_owned(),
            format!(
                "{from} JOIN {db}.sys.schemas AS ferry_s ON ferry_s.schema_id = ferry_o.schema_id)"
            ),
        ),
        "OBJECTPROPERTY" if parts.len() == 2 => {
            let [Token::Str { text, .. }] = parts[1] else {
                return None;
            };
            let types = crate::instance::object_property_types(text)?;
            let list = types
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let test = if list.is_empty() {
                "1 = 0".to_owned()
            } else {
                format!("ferry_o.type IN ({list})")
            };
            (
                format!("CASE WHEN {test} THEN 1 ELSE 0 END"),
                format!("{from})"),
            )
        }
        _ => return None,
    };
    Some((format!("(SELECT {select} FROM {open}"), close))
}

/// The statement with those calls rewritten (calls with constant arguments were evaluated
/// before, sql/table.rs).
pub fn rewrite_object_functions(tokens: &[Token], db: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let name = ["OBJECT_NAME", "OBJECT_SCHEMA_NAME", "OBJECTPROPERTY"]
            .into_iter()
            .find(|f| t.is(f));
        if let Some(f) = name
            && tokens.get(i + 1).is_some_and(|p| p.is_punct("("))
            && let Some(close) = closing_paren(tokens, i + 1)
            && let Some(arg_end) = tokens[i + 2..close]
                .iter()
                .position(|x| x.is_punct(","))
                .map_or(Some(close), |p| Some(i + 2 + p))
            && let Some((open, end)) = replacement(f, &tokens[i + 2..close], db)
            && let (Ok(open), Ok(end)) = (tokenize(&open), tokenize(&end))
        {
            out.extend(open);
            out.extend_from_slice(&tokens[i + 2..arg_end]);
            out.extend(end);
            i = close + 1;
            continue;
        }
        out.push(t.clone());
        i += 1;
    }
    out
}
