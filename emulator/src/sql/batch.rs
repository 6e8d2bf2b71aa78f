//! A batch: every statement planned first, then each run against the instance.

use super::file_change::parse_add;
use super::table::table_statement;
use super::{Outcome, SessionView, backup, scalar, security};
use crate::instance::{Instance, Recovery, Report};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{BackupSpec, FileChange, RestoreSpec};
use crate::syntax::{Token, syntax_error, tokenize};

/// Runs a batch. A syntax error anywhere stops the whole batch before any statement runs, as
/// SQL Server compiles a batch before executing it; other errors end only their statement.
pub fn execute_batch(sql: &str, s: &SessionView<'_>, inst: &mut Instance) -> Vec<Outcome> {
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
    let mut out = Vec::new();
    let mut database = s.database.to_owned();
    for p in planned {
        let view = SessionView {
            database: &database,
            ..*s
        };
        let outcomes = run(p, &view, inst);
        for o in &outcomes {
            if let Outcome::DatabaseChanged { new, .. } = o {
                database = new.clone();
            }
        }
        out.extend(outcomes);
    }
    out
}

enum Plan<'t> {
    Select(scalar::SelectList<'t>),
    Use(String),
    Print(scalar::Expr<'t>),
    SetOption,
    Exec(String),
    /// A statement on tables, run through SQLite: (tokens, whether it returns rows).
    Table(&'t [Token], bool),
    CreateDatabase(String),
    DropDatabase(String),
    SetRecovery(String, Recovery),
    Security(security::SecurityStatement),
    Backup(BackupSpec),
    AddFile(String, FileChange),
    SetEncryption(String, bool),
    Restore(RestoreSpec),
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
    if let Some(sec) = security::parse(st) {
        return sec.map(Plan::Security);
    }
    if first.is("BACKUP") {
        return backup::parse_backup(st).map(Plan::Backup);
    }
    if first.is("RESTORE") {
        return backup::parse_restore(st).map(Plan::Restore);
    }
    if first.is("SELECT") {
        // LOGINPROPERTY reads the login catalog, so it runs through SQLite like a FROM query.
        if st.iter().any(|t| {
            t.is("FROM") || t.is("LOGINPROPERTY") || t.is("CERTENCODED") || t.is("CERT_ID")
        }) {
            return Ok(Plan::Table(st, true));
        }
        let (list, rest) = scalar::parse_select_list(&st[1..])?;
        return match rest.first() {
            None => Ok(Plan::Select(list)),
            Some(t) => Err(syntax_error(&t.display())),
        };
    }
    if ["INSERT", "UPDATE", "DELETE"].iter().any(|k| first.is(k)) {
        return Ok(Plan::Table(st, false));
    }
    let name_at = |i: usize| match st.get(i) {
        Some(Token::Word(w) | Token::Quoted(w)) => Ok(w.clone()),
        Some(t) => Err(syntax_error(&t.display())),
        None => Err(syntax_error(&st[i - 1].display())),
    };
    if (first.is("CREATE") || first.is("DROP")) && st.get(1).is_some_and(|t| t.is("TABLE")) {
        return Ok(Plan::Table(st, false));
    }
    if first.is("CREATE") && st.get(1).is_some_and(|t| t.is("DATABASE")) {
        return Ok(Plan::CreateDatabase(name_at(2)?));
    }
    if first.is("DROP") && st.get(1).is_some_and(|t| t.is("DATABASE")) {
        return Ok(Plan::DropDatabase(name_at(2)?));
    }
    if first.is("ALTER") && st.get(1).is_some_and(|t| t.is("DATABASE")) {
        let name = name_at(2)?;
        if st.get(3).is_some_and(|t| t.is("SET")) && st.get(4).is_some_and(|t| t.is("ENCRYPTION")) {
            let on = match st.get(5) {
                Some(t) if t.is("ON") => true,
                Some(t) if t.is("OFF") => false,
                _ => return Err(syntax_error("ENCRYPTION")),
            };
            return Ok(Plan::SetEncryption(name, on));
        }
        if st.get(3).is_some_and(|t| t.is("ADD")) {
            return parse_add(&st[4..]).map(|c| Plan::AddFile(name, c));
        }
        if st.get(3).is_some_and(|t| t.is("SET")) && st.get(4).is_some_and(|t| t.is("RECOVERY")) {
            let model = match st.get(5) {
                Some(t) if t.is("FULL") => Recovery::Full,
                Some(t) if t.is("SIMPLE") => Recovery::Simple,
                Some(t) if t.is("BULK_LOGGED") => Recovery::BulkLogged,
                Some(t) => return Err(syntax_error(&t.display())),
                None => return Err(syntax_error("RECOVERY")),
            };
            return Ok(Plan::SetRecovery(name, model));
        }
        return Err(syntax_error(
            &st.get(3).map(|t| t.display()).unwrap_or_default(),
        ));
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

fn run(p: Plan<'_>, s: &SessionView<'_>, inst: &mut Instance) -> Vec<Outcome> {
    let result = |r: Result<Outcome, ServerMessage>| vec![r.unwrap_or_else(Outcome::Error)];
    match p {
        Plan::Select(list) => {
            result(
                scalar::evaluate(&list, s).map(|(columns, row)| Outcome::Rows {
                    columns,
                    rows: vec![row],
                }),
            )
        }
        Plan::Use(db) => match inst.database(&db) {
            Some(info) => vec![Outcome::DatabaseChanged {
                old: s.database.to_owned(),
                new: info.name.clone(),
            }],
            // SQL Server error 911 (class 16).
            None => result(Err(ServerMessage::error(
                911,
                16,
                format!(
                    "Database '{db}' does not exist. Make sure that the name is entered correctly."
                ),
            ))),
        },
        Plan::Print(e) => match scalar::evaluate_one(&e, s) {
            Ok((_, v)) => vec![
                Outcome::Info(ServerMessage::info(0, crate::protocol::types::text(&v))),
                Outcome::Done(None),
            ],
            Err(e) => vec![Outcome::Error(e)],
        },
        Plan::SetOption => vec![Outcome::Done(None)],
        // SQL Server error 2812 (class 16).
        Plan::Exec(name) => result(Err(ServerMessage::error(
            2812,
            16,
            format!("Could not find stored procedure '{name}'."),
        ))),
        Plan::Table(tokens, returns_rows) => result(table_statement(tokens, returns_rows, s, inst)),
        Plan::CreateDatabase(name) => {
            result(inst.create_database(&name).map(|_| Outcome::Done(None)))
        }
        Plan::DropDatabase(name) => result(inst.drop_database(&name).map(|_| Outcome::Done(None))),
        Plan::SetRecovery(name, model) => {
            result(inst.set_recovery(&name, model).map(|_| Outcome::Done(None)))
        }
        Plan::Backup(spec) => {
            let r = inst.backup(
                &spec,
                s.personality.server_name(),
                &s.personality.product_version(),
                &crate::protocol::types::now_text(),
            );
            report(r)
        }
        Plan::Restore(spec) => {
            let r = inst.restore(
                &spec,
                s.personality.is_managed_instance(),
                s.user,
                i64::from(s.spid),
                &crate::protocol::types::now_text(),
            );
            report(r)
        }
        Plan::SetEncryption(db, on) => {
            result(inst.set_encryption(&db, on).map(|_| Outcome::Done(None)))
        }
        Plan::AddFile(db, change) => {
            result(inst.add_file(&db, &change).map(|_| Outcome::Done(None)))
        }
        Plan::Security(sec) => {
            use security::SecurityStatement as S;
            let mi = s.personality.is_managed_instance();
            let done = match sec {
                S::CreateLogin {
                    name,
                    kind,
                    sid,
                    default_db,
                } => inst.create_login(&name, kind, sid, default_db, mi),
                S::AlterLogin {
                    name,
                    password,
                    disabled,
                } => inst.alter_login(&name, password, disabled),
                S::DropLogin(name) => inst.drop_login(&name),
                S::CreateCredential {
                    name,
                    identity,
                    secret,
                } => inst.create_credential(&name, &identity, secret.as_deref()),
                S::DropCredential(name) => inst.drop_credential(&name),
                S::CreateCertificate {
                    name,
                    subject,
                    binary,
                } => inst.create_certificate(&name, subject.as_deref(), binary),
                S::CreateEncryptionKey { certificate } => {
                    inst.create_encryption_key(s.database, &certificate)
                }
                S::CreateMasterKey => Ok(()),
            };
            result(done.map(|_| Outcome::Done(None)))
        }
    }
}

fn report(r: Result<Report, Vec<ServerMessage>>) -> Vec<Outcome> {
    match r {
        Err(errors) => vec![Outcome::Errors(errors)],
        Ok(rep) => {
            let mut out: Vec<Outcome> = rep.operation.into_iter().map(Outcome::Operation).collect();
            out.extend(rep.messages.into_iter().map(Outcome::Info));
            out.push(match rep.rows {
                Some((columns, rows)) => Outcome::Rows { columns, rows },
                None => Outcome::Done(None),
            });
            out
        }
    }
}
