//! One statement read into what it asks for. Reading happens for the whole batch before any
//! statement runs, as SQL Server compiles a batch before executing it: a syntax error anywhere
//! runs nothing.

use super::backup;
use super::expr::{Expr, SelectList, needs_tables, parse_expr, parse_select_list};
use super::file_change::parse_add;
use super::procedures::{Exec, parse_exec};
use super::raise::{Raise, parse_raiserror, parse_throw};
use super::security;
use crate::instance::Recovery;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::SqlType;
use crate::statement::{BackupSpec, FileChange, RestoreSpec};
use crate::syntax::{Token, name_at, near, parse_type, syntax_error};

/// An expression and the tokens it was read from: those go to SQLite when it holds a subquery.
pub struct Source<'t> {
    pub tokens: &'t [Token],
    pub expr: Expr<'t>,
}

impl Source<'_> {
    pub fn needs_tables(&self) -> bool {
        needs_tables(self.tokens)
    }
}

fn source(t: &[Token]) -> Result<Source<'_>, ServerMessage> {
    let (expr, rest) = parse_expr(t)?;
    if !rest.is_empty() {
        return Err(near(rest));
    }
    Ok(Source { tokens: t, expr })
}

/// A session option SET changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOption {
    XactAbort(bool),
    NoCount(bool),
    /// Any other option: accepted, no effect in the emulator.
    Other,
}

pub enum Plan<'t> {
    Select(SelectList<'t>),
    /// `SELECT @a = …, @b = …` without FROM.
    SelectAssign(Vec<(&'t str, Source<'t>)>),
    /// `SELECT @a = x, @b = y FROM …`: the query without the assignments, and the variables
    /// that take the last row's values.
    SelectAssignFrom(Vec<&'t str>, Vec<Token>),
    Use(String),
    Print(Source<'t>),
    Set(SetOption),
    SetVariable(&'t str, Option<&'t str>, Source<'t>),
    Declare(Vec<(&'t str, SqlType, Option<Source<'t>>)>),
    Exec(Exec<'t>),
    /// A statement on tables, run through SQLite: (tokens, whether it returns rows).
    Table(&'t [Token], bool),
    CreateDatabase(String),
    DropDatabase(String),
    SetRecovery(String, Recovery),
    Security(security::SecurityStatement),
    /// Server triggers and audits.
    ServerObject(super::server_ddl::ServerDdl),
    Backup(BackupSpec),
    AddFile(String, FileChange),
    SetEncryption(String, bool),
    /// ALTER DATABASE … SET ACCELERATED_DATABASE_RECOVERY = ON|OFF [(PERSISTENT_VERSION_STORE_FILEGROUP = fg)].
    SetAcceleratedRecovery(String, bool, Option<String>),
    /// ALTER DATABASE … SET CONTAINMENT = PARTIAL (true) | NONE.
    SetContainment(String, bool),
    /// ALTER DATABASE … SET QUERY_STORE … (sql/query_store_ddl.rs).
    QueryStore(String, crate::instance::StoreChange),
    Restore(RestoreSpec),
    BeginTran(Option<String>),
    Commit,
    Rollback(Option<String>),
    Save(String),
    Raise(Raise<'t>),
    /// THROW with its number, message and state.
    Throw([Expr<'t>; 3]),
    Return,
    /// RECONFIGURE [WITH OVERRIDE].
    Reconfigure(bool),
    /// UPDATE STATISTICS, ALTER DATABASE … SET COMPATIBILITY_LEVEL (sql/statistics.rs).
    Statistics(super::statistics::Statement),
    /// DBCC CHECKDB (sql/maintenance.rs).
    CheckDb(super::maintenance::CheckDb),
    /// Endpoints and availability groups (hadr::ddl).
    Hadr(crate::hadr::ddl::HadrStatement),
    /// Modules, indexes, constraints and schemas in a database (objects_ddl).
    Objects(crate::statement::ObjectDdl),
    /// Assemblies, routes, the broker's state and trace flags (facts_ddl).
    Facts(super::facts_ddl::FactsStatement),
}

/// A transaction's name after BEGIN/COMMIT/ROLLBACK/SAVE [TRAN[SACTION]].
fn transaction_name(t: &[Token]) -> Result<Option<String>, ServerMessage> {
    let rest = match t.first() {
        Some(x) if x.is("TRAN") || x.is("TRANSACTION") || x.is("WORK") => &t[1..],
        _ => t,
    };
    match rest {
        [] => Ok(None),
        [Token::Word(w) | Token::Quoted(w)] => Ok(Some(w.clone())),
        // BEGIN TRAN … WITH MARK 'description' marks the log; nothing to keep here.
        [Token::Word(w) | Token::Quoted(w), m, ..] if m.is("WITH") => Ok(Some(w.clone())),
        [x, ..] => Err(syntax_error(&x.display())),
    }
}

pub fn plan(st: &[Token]) -> Result<Plan<'_>, ServerMessage> {
    let first = &st[0];
    if let Some(sec) = security::parse(st) {
        return sec.map(Plan::Security);
    }
    if let Some(ddl) = super::server_ddl::parse(st) {
        return ddl.map(Plan::ServerObject);
    }
    if let Some(h) = crate::hadr::ddl::parse(st) {
        return h.map(Plan::Hadr);
    }
    if let Some(x) = super::statistics::parse(st) {
        return x.map(Plan::Statistics);
    }
    if let Some(c) = super::maintenance::parse(st) {
        return c.map(Plan::CheckDb);
    }
    if let Some(o) = super::objects_ddl::parse(st) {
        return o.map(Plan::Objects);
    }
    if let Some(f) = super::facts_ddl::parse(st) {
        return f.map(Plan::Facts);
    }
    if first.is("BACKUP") {
        return backup::parse_backup(st).map(Plan::Backup);
    }
    if first.is("RESTORE") {
        return backup::parse_restore(st).map(Plan::Restore);
    }
    if first.is("SELECT") {
        return plan_select(st);
    }
    if ["INSERT", "UPDATE", "DELETE"].iter().any(|k| first.is(k)) {
        return Ok(Plan::Table(st, false));
    }
    if first.is("DECLARE") {
        return plan_declare(&st[1..]);
    }
    if first.is("BEGIN") {
        return Ok(match st.get(1) {
            Some(x) if x.is("TRAN") || x.is("TRANSACTION") => {
                Plan::BeginTran(transaction_name(&st[1..])?)
            }
            Some(x) => return Err(syntax_error(&x.display())),
            None => return Err(syntax_error("BEGIN")),
        });
    }
    if first.is("COMMIT") {
        transaction_name(&st[1..])?;
        return Ok(Plan::Commit);
    }
    if first.is("ROLLBACK") {
        return Ok(Plan::Rollback(transaction_name(&st[1..])?));
    }
    if first.is("SAVE") {
        return match transaction_name(&st[1..])? {
            Some(n) => Ok(Plan::Save(n)),
            None => Err(syntax_error(&st[st.len() - 1].display())),
        };
    }
    if first.is("RAISERROR") {
        return parse_raiserror(st).map(Plan::Raise);
    }
    if first.is("THROW") {
        return match parse_throw(st)? {
            Some(args) => Ok(Plan::Throw(args)),
            // SQL Server error 10704 (severity 15): re-throw belongs in a CATCH block, which
            // the emulator does not run.
            None => Err(ServerMessage::error(
                10704,
                15,
                "To rethrow an error, a THROW statement must be used inside a CATCH block. Insert the THROW statement inside a CATCH block, or add error parameters to the THROW statement.",
            )),
        };
    }
    if first.is("RETURN") && st.len() == 1 {
        return Ok(Plan::Return);
    }
    if (first.is("CREATE") || first.is("DROP")) && st.get(1).is_some_and(|t| t.is("TABLE")) {
        return Ok(Plan::Table(st, false));
    }
    if first.is("CREATE") && st.get(1).is_some_and(|t| t.is("DATABASE")) {
        return Ok(Plan::CreateDatabase(name_at(st, 2)?));
    }
    if first.is("DROP") && st.get(1).is_some_and(|t| t.is("DATABASE")) {
        return Ok(Plan::DropDatabase(name_at(st, 2)?));
    }
    if first.is("ALTER") && st.get(1).is_some_and(|t| t.is("DATABASE")) {
        return plan_alter_database(st);
    }
    if first.is("USE") {
        return match st.get(1) {
            Some(Token::Word(w) | Token::Quoted(w)) if st.len() == 2 => Ok(Plan::Use(w.clone())),
            Some(t) => Err(syntax_error(&t.display())),
            None => Err(syntax_error("USE")),
        };
    }
    if first.is("PRINT") {
        return source(&st[1..]).map(Plan::Print);
    }
    if first.is("SET") {
        return plan_set(st);
    }
    if first.is("RECONFIGURE") {
        return match &st[1..] {
            [] => Ok(Plan::Reconfigure(false)),
            [w, o] if w.is("WITH") && o.is("OVERRIDE") => Ok(Plan::Reconfigure(true)),
            [x, ..] => Err(syntax_error(&x.display())),
        };
    }
    if first.is("EXEC") || first.is("EXECUTE") {
        return parse_exec(st).map(Plan::Exec);
    }
    Err(syntax_error(&first.display()))
}

fn plan_select(st: &[Token]) -> Result<Plan<'_>, ServerMessage> {
    let assigns =
        matches!((st.get(1), st.get(2)), (Some(Token::Var(_)), Some(eq)) if eq.is_punct("="));
    let from = st.iter().any(|t| {
        t.is("FROM")
            || t.is("LOGINPROPERTY")
            || t.is("CERTENCODED")
            || t.is("CERTPRIVATEKEY")
            || t.is("CERT_ID")
    });
    if assigns {
        // Each item is `@var = expression`, up to FROM at depth 0.
        let mut items = Vec::new();
        let mut depth = 0;
        let mut start = 1;
        let mut end = st.len();
        for (i, t) in st.iter().enumerate().skip(1) {
            if t.is_punct("(") {
                depth += 1;
            } else if t.is_punct(")") {
                depth -= 1;
            } else if depth == 0 && (t.is_punct(",") || t.is("FROM")) {
                items.push(&st[start..i]);
                start = i + 1;
                if t.is("FROM") {
                    end = i;
                    break;
                }
            }
        }
        if end == st.len() {
            items.push(&st[start..]);
        }
        let mut pairs = Vec::new();
        for item in items {
            match item {
                [Token::Var(v), eq, rest @ ..] if eq.is_punct("=") && !rest.is_empty() => {
                    pairs.push((v.as_str(), rest))
                }
                // SQL Server error 141 (severity 15).
                _ => {
                    return Err(ServerMessage::error(
                        141,
                        15,
                        "A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.",
                    ));
                }
            }
        }
        if end < st.len() {
            let mut query = vec![Token::Word("SELECT".into())];
            for (i, (_, expr)) in pairs.iter().enumerate() {
                if i > 0 {
                    query.push(Token::Punct(",".into()));
                }
                query.extend(expr.iter().cloned());
            }
            query.extend(st[end..].iter().cloned());
            return Ok(Plan::SelectAssignFrom(
                pairs.iter().map(|(v, _)| *v).collect(),
                query,
            ));
        }
        return pairs
            .into_iter()
            .map(|(v, t)| source(t).map(|s| (v, s)))
            .collect::<Result<_, _>>()
            .map(Plan::SelectAssign);
    }
    if from || needs_tables(&st[1..]) {
        return Ok(Plan::Table(st, true));
    }
    let (list, rest) = parse_select_list(&st[1..])?;
    match rest.first() {
        None => Ok(Plan::Select(list)),
        Some(t) => Err(syntax_error(&t.display())),
    }
}

fn plan_declare(mut t: &[Token]) -> Result<Plan<'_>, ServerMessage> {
    let mut out = Vec::new();
    loop {
        let Some(Token::Var(name)) = t.first() else {
            return Err(near(t));
        };
        let rest = if t.get(1).is_some_and(|x| x.is("AS")) {
            &t[2..]
        } else {
            &t[1..]
        };
        // Table variables and cursors are not kept by the emulator.
        if rest
            .first()
            .is_some_and(|x| x.is("TABLE") || x.is("CURSOR"))
        {
            return Err(syntax_error(&rest[0].display()));
        }
        let (ty, rest) = parse_type(rest)?;
        // The initializer runs to the next `, @name` at depth 0.
        let (init, rest) = if rest.first().is_some_and(|x| x.is_punct("=")) {
            let body = &rest[1..];
            let mut depth = 0;
            let mut end = body.len();
            for (i, x) in body.iter().enumerate() {
                if x.is_punct("(") {
                    depth += 1;
                } else if x.is_punct(")") {
                    depth -= 1;
                } else if depth == 0
                    && x.is_punct(",")
                    && matches!(body.get(i + 1), Some(Token::Var(_)))
                {
                    end = i;
                    break;
                }
            }
            (Some(source(&body[..end])?), &body[end..])
        } else {
            (None, rest)
        };
        out.push((name.as_str(), ty, init));
        match rest.first() {
            None => return Ok(Plan::Declare(out)),
            Some(c) if c.is_punct(",") => t = &rest[1..],
            Some(_) => return Err(near(rest)),
        }
    }
}

fn plan_set(st: &[Token]) -> Result<Plan<'_>, ServerMessage> {
    if let Some(Token::Var(name)) = st.get(1) {
        // SET @x = e, or a compound assignment SET @x += e (the lexer gives `+` then `=`).
        let (op, rest) = match (st.get(2), st.get(3)) {
            (Some(Token::Punct(p)), Some(eq))
                if eq.is_punct("=") && ["+", "-", "*", "/", "%"].contains(&p.as_str()) =>
            {
                (Some(p.as_str()), &st[4..])
            }
            (Some(eq), _) if eq.is_punct("=") => (None, &st[3..]),
            _ => return Err(near(&st[2..])),
        };
        return source(rest).map(|s| Plan::SetVariable(name, op, s));
    }
    let on = |t: Option<&Token>| match t {
        Some(x) if x.is("ON") => Ok(true),
        Some(x) if x.is("OFF") => Ok(false),
        Some(x) => Err(syntax_error(&x.display())),
        None => Err(near(&st[st.len()..])),
    };
    Ok(Plan::Set(match st.get(1) {
        Some(x) if x.is("XACT_ABORT") => SetOption::XactAbort(on(st.get(2))?),
        Some(x) if x.is("NOCOUNT") => SetOption::NoCount(on(st.get(2))?),
        _ => SetOption::Other,
    }))
}

fn plan_alter_database(st: &[Token]) -> Result<Plan<'_>, ServerMessage> {
    let name = name_at(st, 2)?;
    let word_at = |i: usize, w: &str| st.get(i).is_some_and(|t| t.is(w));
    if word_at(3, "SET") && word_at(4, "ENCRYPTION") {
        let on = match st.get(5) {
            Some(t) if t.is("ON") => true,
            Some(t) if t.is("OFF") => false,
            _ => return Err(syntax_error("ENCRYPTION")),
        };
        return Ok(Plan::SetEncryption(name, on));
    }
    if word_at(3, "SET") && word_at(4, "ACCELERATED_DATABASE_RECOVERY") {
        if !st.get(5).is_some_and(|t| t.is_punct("=")) {
            return Err(near(&st[5..]));
        }
        let on = match st.get(6) {
            Some(t) if t.is("ON") => true,
            Some(t) if t.is("OFF") => false,
            _ => return Err(near(&st[6..])),
        };
        let filegroup = st
            .iter()
            .position(|t| t.is("PERSISTENT_VERSION_STORE_FILEGROUP"))
            .map(|i| name_at(st, i + 2))
            .transpose()?;
        return Ok(Plan::SetAcceleratedRecovery(name, on, filegroup));
    }
    if word_at(3, "SET") && word_at(4, "CONTAINMENT") {
        if !st.get(5).is_some_and(|t| t.is_punct("=")) {
            return Err(near(&st[5..]));
        }
        let partial = match st.get(6) {
            Some(t) if t.is("PARTIAL") => true,
            Some(t) if t.is("NONE") => false,
            _ => return Err(near(&st[6..])),
        };
        return Ok(Plan::SetContainment(name, partial));
    }
    if word_at(3, "SET") && word_at(4, "QUERY_STORE") {
        return super::query_store_ddl::parse(&st[5..]).map(|c| Plan::QueryStore(name, c));
    }
    if word_at(3, "ADD") {
        return parse_add(&st[4..]).map(|c| Plan::AddFile(name, c));
    }
    if word_at(3, "SET") && word_at(4, "RECOVERY") {
        let model = match st.get(5) {
            Some(t) if t.is("FULL") => Recovery::Full,
            Some(t) if t.is("SIMPLE") => Recovery::Simple,
            Some(t) if t.is("BULK_LOGGED") => Recovery::BulkLogged,
            Some(t) => return Err(syntax_error(&t.display())),
            None => return Err(syntax_error("RECOVERY")),
        };
        return Ok(Plan::SetRecovery(name, model));
    }
    Err(syntax_error(
        &st.get(3).map(|t| t.display()).unwrap_or_default(),
    ))
}
