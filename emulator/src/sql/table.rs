//! Statements on tables (SELECT … FROM, INSERT, UPDATE, DELETE, CREATE and DROP TABLE), run
//! through SQLite after the rewrite, with changes to user databases written to their change log
//! and kept for a rollback while a transaction is open.

use super::env::Env;
use super::expr::parse_expr;
use super::{Outcome, SessionView, rewrite, scalar};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, Value};
use crate::syntax::{Token, closing_paren};

/// Functions SQLite does not have, whose arguments are constants or variables: evaluated
/// before the query goes to SQLite and inlined as literals. (Guess: the value loses its
/// sql_variant wrapper; clients read the base type either way.)
const INLINED: &[&str] = &[
    "SERVERPROPERTY",
    "DB_NAME",
    "DB_ID",
    "OBJECT_ID",
    "OBJECT_NAME",
    "OBJECT_SCHEMA_NAME",
    "OBJECTPROPERTY",
    "SUSER_SNAME",
    "SUSER_NAME",
    "USER_NAME",
    "XACT_STATE",
];

fn literal_token(v: &Value) -> Token {
    match v {
        Value::Int(i) => Token::Number(i.to_string()),
        Value::Bit(b) => Token::Number(u8::from(*b).to_string()),
        Value::Variant(inner) => literal_token(&inner.1),
        Value::Null => Token::Word("NULL".into()),
        other => Token::Str {
            text: types::text(other),
            unicode: true,
        },
    }
}

fn inline_server_functions(tokens: &[Token], env: &Env<'_>) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let is_call =
            INLINED.iter().any(|f| t.is(f)) && tokens.get(i + 1).is_some_and(|x| x.is_punct("("));
        if is_call && let Some(close) = closing_paren(tokens, i + 1) {
            let args = &tokens[i + 2..close];
            let constant = args.iter().all(|a| {
                matches!(
                    a,
                    Token::Str { .. } | Token::Number(_) | Token::Var(_) | Token::Global(_)
                ) || a.is_punct(",")
            });
            if constant
                && let Ok((e, [])) = parse_expr(&tokens[i..=close])
                && let Ok((_, v)) = scalar::value(&e, env)
            {
                out.push(literal_token(&v));
                i = close + 1;
                continue;
            }
        }
        if let Token::Global(_) = t
            && let Ok((e, [])) = parse_expr(std::slice::from_ref(t))
            && let Ok((_, v)) = scalar::value(&e, env)
        {
            out.push(literal_token(&v));
            i += 1;
            continue;
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

/// The session views (`sys.dm_exec_sessions`, `sys.dm_exec_requests`) a statement reads are
/// filled first; `command` is what its own request shows.
fn refresh_session_views(
    tokens: &[Token],
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<(), ServerMessage> {
    let reads = tokens.iter().any(|t| {
        matches!(t, Token::Word(w) | Token::Quoted(w)
            if w.eq_ignore_ascii_case("dm_exec_sessions") || w.eq_ignore_ascii_case("dm_exec_requests"))
    });
    if !reads {
        return Ok(());
    }
    let command = tokens
        .first()
        .map(|t| t.display().to_ascii_uppercase())
        .unwrap_or_default();
    inst.refresh_session_views(s.spid, &command, &types::now_text())
}

/// The computed views a statement reads (`sys.databases`' settings, the version store, the
/// MI's resources) are filled first.
fn refresh_resource_views(
    tokens: &[Token],
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<(), ServerMessage> {
    for view in crate::instance::COMPUTED_VIEWS {
        let reads = tokens.iter().any(
            |t| matches!(t, Token::Word(w) | Token::Quoted(w) if w.eq_ignore_ascii_case(view)),
        );
        if reads {
            inst.refresh_resource_view(
                view,
                s.personality.is_managed_instance(),
                s.personality.server_name(),
                &types::now_text(),
            )?;
        }
    }
    Ok(())
}

/// CREATE TABLE … WITH (MEMORY_OPTIMIZED = ON [, DURABILITY = …]): the statement without the
/// WITH clause, which SQLite has no use for, when it makes a memory-optimized table.
fn memory_optimized(tokens: &[Token]) -> Option<Vec<Token>> {
    if !(tokens.first()?.is("CREATE") && tokens.get(1)?.is("TABLE")) {
        return None;
    }
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && t.is("WITH") && tokens.get(i + 1).is_some_and(|x| x.is_punct("(")) {
            let close = closing_paren(tokens, i + 1)?;
            let clause = &tokens[i + 2..close];
            let on = clause
                .windows(3)
                .any(|w| w[0].is("MEMORY_OPTIMIZED") && w[1].is_punct("=") && w[2].is("ON"));
            if !on {
                return None;
            }
            let mut out = tokens[..i].to_vec();
            out.extend_from_slice(&tokens[close + 1..]);
            return Some(out);
        }
    }
    None
}

pub(super) fn table_statement(
    tokens: &[Token],
    returns_rows: bool,
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<Outcome, ServerMessage> {
    // CREATE TABLE: its definition for the catalog, and the statement SQLite can take.
    let (table_def, tokens) = match super::objects_ddl::read_table(tokens) {
        Some(r) => {
            let (def, cleaned) = r?;
            (Some(def), cleaned)
        }
        None => (None, tokens.to_vec()),
    };
    let tokens = &inline_server_functions(&tokens, &Env { s, inst });
    let tokens = &super::select_alias::rewrite(tokens);
    let tokens = &super::objects_ddl::rewrite_object_functions(tokens, s.database);
    let in_memory = memory_optimized(tokens);
    let tokens = in_memory.as_deref().unwrap_or(tokens);
    let tokens = &super::dmv_calls::rewrite(tokens)?;
    inst.prepare_read_views(tokens, s.personality)?;
    refresh_session_views(tokens, s, inst)?;
    refresh_resource_views(tokens, s, inst)?;
    super::objects_ddl::refresh_stats(tokens, s.database, inst)?;
    crate::hadr::fabric::refresh(tokens, s.personality, inst)?;
    let rw = rewrite::rewrite(tokens, s.database, inst)?;
    let mut params = Vec::with_capacity(rw.params.len());
    for name in &rw.params {
        match s.vars.get(name) {
            Some(v) => params.push(v.value.clone()),
            None => return Err(super::variables::undeclared(name)),
        }
    }
    if returns_rows {
        let (columns, rows) = inst.query_typed(&rw.sql, &params, &rw.column_types)?;
        return Ok(Outcome::Rows { columns, rows });
    }
    if let Some(db) = rw.target.as_deref() {
        inst.refuse_write_on_link_secondary(db)?;
    }
    let creating = tokens[0].is("CREATE");
    let dropping = tokens[0].is("DROP");
    if in_memory.is_some()
        && let Some((db, _)) = &rw.target_table
        && !inst.has_memory_optimized_container(db)
    {
        // SQL Server error 41337 (severity 16).
        return Err(ServerMessage::error(
            41337,
            16,
            "Cannot create memory optimized tables. To create memory optimized tables, the database must have a MEMORY_OPTIMIZED_FILEGROUP that is online and has at least one container.",
        ));
    }
    if let Some((db, table)) = &rw.target_table
        && !creating
    {
        inst.before_write(db, table)?;
    }
    // The catalog rows of the table made or dropped, checked before SQLite changes anything.
    let catalog = match (&rw.target_table, &table_def) {
        (Some((db, table)), Some(def)) if creating => {
            Some(inst.plan_new_table(db, table, def, &types::now_text())?)
        }
        (Some((db, table)), _) if dropping => Some(inst.plan_drop_table(db, table, table)?),
        _ => None,
    };
    let dropped_aside = match (&rw.target_table, dropping) {
        (Some((db, table)), true) => inst.drop_table_in_transaction(db, table)?,
        _ => false,
    };
    let n = if dropped_aside {
        0
    } else {
        inst.execute(&rw.sql, &params)?
    };
    if let (Some(rows), Some((db, _))) = (&catalog, &rw.target_table) {
        inst.record_catalog(db, rows)?;
    }
    if creating && let Some((db, table)) = &rw.target_table {
        inst.created_table(db, table)?;
        if in_memory.is_some() {
            inst.note_memory_optimized(db, table)?;
        }
    }
    if let Some(db) = rw
        .target
        .as_deref()
        .filter(|d| inst.database(d).is_some_and(|i| !i.system))
    {
        inst.log_change(db, &rw.for_log(&params))?;
    }
    Ok(Outcome::Done(if creating || dropping {
        None
    } else {
        Some(n)
    }))
}
