//! Statements on tables (SELECT … FROM, INSERT, UPDATE, DELETE, CREATE and DROP TABLE), run
//! through SQLite after the rewrite, with changes to user databases written to their change log.

use super::{Outcome, SessionView, rewrite};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::syntax::Token;

/// SERVERPROPERTY('…'), @@VERSION, @@SERVERNAME, @@SPID, DB_NAME() and SUSER_SNAME() inside a
/// table query become literals before the query goes to SQLite, which has no such functions.
/// (Guess: the value loses its sql_variant wrapper; clients read the base type either way.)
fn server_functions_inlined(tokens: &[Token], s: &SessionView<'_>) -> Vec<Token> {
    let lit = |v: &crate::protocol::types::Value| match v {
        Value::Int(i) => Token::Number(i.to_string()),
        Value::Variant(inner) => match &inner.1 {
            Value::Int(i) => Token::Number(i.to_string()),
            Value::Null => Token::Word("NULL".into()),
            other => Token::Str {
                text: crate::protocol::types::text(other),
                unicode: true,
            },
        },
        Value::Null => Token::Word("NULL".into()),
        other => Token::Str {
            text: crate::protocol::types::text(other),
            unicode: true,
        },
    };
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let call = |name: &str| t.is(name) && tokens.get(i + 1).is_some_and(|x| x.is_punct("("));
        if call("SERVERPROPERTY")
            && let (Some(Token::Str { text, .. }), Some(close)) =
                (tokens.get(i + 2), tokens.get(i + 3))
            && close.is_punct(")")
        {
            out.push(lit(&s.personality.server_property(text)));
            i += 4;
            continue;
        }
        if (call("DB_NAME") || call("SUSER_SNAME"))
            && tokens.get(i + 2).is_some_and(|x| x.is_punct(")"))
        {
            let v = if t.is("DB_NAME") { s.database } else { s.user };
            out.push(Token::Str {
                text: v.to_owned(),
                unicode: true,
            });
            i += 3;
            continue;
        }
        if let Token::Global(g) = t {
            let v = match g.to_ascii_lowercase().as_str() {
                "version" => Some(Value::Text(s.personality.version_string())),
                "servername" => Some(Value::Text(s.personality.server_name().to_owned())),
                "spid" => Some(Value::Int(i64::from(s.spid))),
                _ => None,
            };
            if let Some(v) = v {
                out.push(lit(&v));
                i += 1;
                continue;
            }
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

pub(super) fn table_statement(
    tokens: &[Token],
    returns_rows: bool,
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<Outcome, ServerMessage> {
    let tokens = &server_functions_inlined(tokens, s);
    let rw = rewrite::rewrite(tokens, s.database, inst)?;
    let mut params = Vec::with_capacity(rw.params.len());
    for name in &rw.params {
        match s.vars.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, _, v)) => params.push(v.clone()),
            // SQL Server error 137 (class 15).
            None => {
                return Err(ServerMessage::error(
                    137,
                    15,
                    format!("Must declare the scalar variable \"@{name}\"."),
                ));
            }
        }
    }
    if returns_rows {
        let (columns, rows) = inst.query(&rw.sql, &params)?;
        Ok(Outcome::Rows { columns, rows })
    } else {
        let n = inst.execute(&rw.sql, &params)?;
        if let Some(db) = rw
            .target
            .as_deref()
            .filter(|d| inst.database(d).is_some_and(|i| !i.system))
        {
            inst.log_change(db, &rw.for_log(&params))?;
        }
        let ddl = tokens[0].is("CREATE") || tokens[0].is("DROP");
        Ok(Outcome::Done(if ddl { None } else { Some(n) }))
    }
}
