//! The T-SQL the emulator understands. This first slice answers what a client asks before it
//! touches data: `SELECT` of expressions (`@@VERSION`, `@@SERVERNAME`, `SERVERPROPERTY(…)`,
//! literals, `CAST`), `USE`, `PRINT`, `SET` options; everything else gets the error SQL Server
//! would give for a statement it cannot resolve, naming what was not understood.

pub mod lexer;
mod scalar;

use crate::personality::Personality;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::Value;
use lexer::{Token, tokenize};

/// What one statement produced, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Rows {
        columns: Vec<Column>,
        rows: Vec<Vec<Value>>,
    },
    /// A statement that returns no rows; the count, when it affects rows.
    Done(Option<u64>),
    Info(ServerMessage),
    Error(ServerMessage),
    /// The session's database changed (ENVCHANGE), with SQL Server's info message 5701.
    DatabaseChanged {
        old: String,
        new: String,
    },
}

/// What a batch can see of its session.
pub struct SessionView<'a> {
    pub personality: &'a Personality,
    pub database: &'a str,
    pub spid: u16,
    pub user: &'a str,
    /// Parameters bound by sp_executesql: (name without `@`, type, value).
    pub vars: &'a [(String, crate::protocol::types::SqlType, Value)],
}

/// SQL Server error 102 (class 15): Incorrect syntax near '…'.
pub fn syntax_error(near: &str) -> ServerMessage {
    ServerMessage::error(102, 15, format!("Incorrect syntax near '{near}'."))
}

/// Runs a batch. A syntax error anywhere stops the whole batch before any statement runs, as
/// SQL Server compiles a batch before executing it; other errors end only their statement.
pub fn execute_batch(sql: &str, s: &SessionView<'_>) -> Vec<Outcome> {
    let tokens = match tokenize(sql) {
        Ok(t) => t,
        Err((number, text)) => return vec![Outcome::Error(ServerMessage::error(number, 15, text))],
    };
    let statements: Vec<&[Token]> = tokens
        .split(|t| t.is_punct(";"))
        .filter(|s| !s.is_empty())
        .collect();
    let mut planned = Vec::new();
    for st in &statements {
        match plan(st) {
            Ok(p) => planned.push(p),
            Err(e) => return vec![Outcome::Error(e)],
        }
    }
    planned.into_iter().flat_map(|p| run(p, s)).collect()
}

enum Plan<'t> {
    Select(scalar::SelectList<'t>),
    Use(String),
    Print(scalar::Expr<'t>),
    SetOption,
    Exec(String),
    UnknownObject(String),
}

fn object_name(tokens: &[Token]) -> String {
    tokens
        .iter()
        .take_while(|t| matches!(t, Token::Word(_) | Token::Quoted(_)) || t.is_punct("."))
        .map(|t| t.display())
        .collect()
}

fn plan(st: &[Token]) -> Result<Plan<'_>, ServerMessage> {
    let first = &st[0];
    if first.is("SELECT") {
        let (list, rest) = scalar::parse_select_list(&st[1..])?;
        return match rest.first() {
            None => Ok(Plan::Select(list)),
            // No tables exist yet in this emulator slice: every FROM names an unknown object,
            // which SQL Server reports as error 208 when the statement runs.
            Some(t) if t.is("FROM") => Ok(Plan::UnknownObject(object_name(&rest[1..]))),
            Some(t) => Err(syntax_error(&t.display())),
        };
    }
    if first.is("USE") {
        return match st.get(1) {
            Some(Token::Word(w) | Token::Quoted(w)) if st.len() == 2 => Ok(Plan::Use(w.clone())),
            Some(t) => Err(syntax_error(&t.display())),
            None => Err(syntax_error("USE")),
        };
    }
    if first.is("PRINT") {
        let (expr, rest) = scalar::parse_expr(&st[1..])?;
        return match rest.first() {
            None => Ok(Plan::Print(expr)),
            Some(t) => Err(syntax_error(&t.display())),
        };
    }
    if first.is("SET") {
        return Ok(Plan::SetOption);
    }
    if first.is("EXEC") || first.is("EXECUTE") {
        return Ok(Plan::Exec(object_name(&st[1..])));
    }
    Err(syntax_error(&first.display()))
}

fn run(p: Plan<'_>, s: &SessionView<'_>) -> Vec<Outcome> {
    match p {
        Plan::Select(list) => match scalar::evaluate(&list, s) {
            Ok((columns, row)) => vec![Outcome::Rows {
                columns,
                rows: vec![row],
            }],
            Err(e) => vec![Outcome::Error(e)],
        },
        Plan::Use(db) if db.eq_ignore_ascii_case("master") => {
            vec![Outcome::DatabaseChanged {
                old: s.database.to_owned(),
                new: "master".into(),
            }]
        }
        // SQL Server error 911 (class 16).
        Plan::Use(db) => vec![Outcome::Error(ServerMessage::error(
            911,
            16,
            format!(
                "Database '{db}' does not exist. Make sure that the name is entered correctly."
            ),
        ))],
        Plan::Print(e) => match scalar::evaluate_one(&e, s) {
            Ok((_, v)) => vec![
                Outcome::Info(ServerMessage::info(0, crate::protocol::types::text(&v))),
                Outcome::Done(None),
            ],
            Err(e) => vec![Outcome::Error(e)],
        },
        Plan::SetOption => vec![Outcome::Done(None)],
        // SQL Server error 2812 (class 16).
        Plan::Exec(name) => vec![Outcome::Error(ServerMessage::error(
            2812,
            16,
            format!("Could not find stored procedure '{name}'."),
        ))],
        // SQL Server error 208 (class 16).
        Plan::UnknownObject(name) => vec![Outcome::Error(ServerMessage::error(
            208,
            16,
            format!("Invalid object name '{name}'."),
        ))],
    }
}
