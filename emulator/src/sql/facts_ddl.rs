//! The statements that leave the facts a readiness assessment reads: CLR assemblies ("CREATE
//! ASSEMBLY", "DROP ASSEMBLY"), Service Broker routes ("CREATE ROUTE", "DROP ROUTE") and the
//! broker's state ("ALTER DATABASE SET options": ENABLE_BROKER, DISABLE_BROKER), and trace
//! flags ("DBCC TRACEON", "DBCC TRACEOFF", "DBCC TRACESTATUS"). Parsed when the batch is read,
//! applied when it runs.

use super::outcome::Outcome;
use super::session::SessionView;
use crate::instance::{Instance, PermissionSet, RouteSpec};
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{SqlType, Value};
use crate::syntax::{Token, name_at, near, syntax_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactsStatement {
    /// CREATE ASSEMBLY name FROM 0x… | 'file' [WITH PERMISSION_SET = …].
    CreateAssembly {
        name: String,
        file: Option<String>,
        permission: PermissionSet,
    },
    DropAssembly {
        names: Vec<String>,
        if_exists: bool,
    },
    CreateRoute(RouteSpec),
    DropRoute(String),
    /// ALTER DATABASE name SET ENABLE_BROKER (true) | DISABLE_BROKER (false).
    SetBroker(String, bool),
    /// ALTER DATABASE name COLLATE collation_name (the database's default collation).
    SetCollation(String, String),
    /// CREATE DATABASE name COLLATE collation_name.
    CreateCollated(String, String),
    /// DBCC TRACEON (true) / TRACEOFF (false) (flags [, -1]) [WITH NO_INFOMSGS].
    Trace {
        on: bool,
        flags: Vec<i64>,
        global: bool,
        quiet: bool,
    },
    /// CREATE TABLE … AS FILETABLE.
    CreateFileTable(super::facts_filetable::FileTableSpec),
    /// DBCC TRACESTATUS [(flags [, -1])] [WITH NO_INFOMSGS].
    TraceStatus {
        flags: Vec<i64>,
        global: bool,
        quiet: bool,
    },
}

/// The statement, if it is one of these.
pub fn parse(st: &[Token]) -> Option<Result<FactsStatement, ServerMessage>> {
    let at = |i: usize, w: &str| st.get(i).is_some_and(|t| t.is(w));
    if at(0, "CREATE") && at(1, "ASSEMBLY") {
        return Some(create_assembly(st));
    }
    if at(0, "DROP") && at(1, "ASSEMBLY") {
        return Some(drop_assembly(st));
    }
    if at(0, "CREATE") && at(1, "ROUTE") {
        return Some(super::facts_route::create_route(st).map(FactsStatement::CreateRoute));
    }
    if at(0, "DROP") && at(1, "ROUTE") {
        return Some(match st.len() {
            3 => name_at(st, 2).map(FactsStatement::DropRoute),
            _ => Err(near(&st[st.len().min(3)..])),
        });
    }
    if at(0, "ALTER") && at(1, "DATABASE") && at(3, "SET") && st.len() == 5 {
        let on = match &st[4] {
            t if t.is("ENABLE_BROKER") => true,
            t if t.is("DISABLE_BROKER") => false,
            _ => return None,
        };
        return Some(name_at(st, 2).map(|db| FactsStatement::SetBroker(db, on)));
    }
    if at(0, "CREATE") && at(1, "DATABASE") && at(3, "COLLATE") && st.len() == 5 {
        return Some(match (name_at(st, 2), name_at(st, 4)) {
            (Ok(db), Ok(c)) => Ok(FactsStatement::CreateCollated(db, c)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        });
    }
    if at(0, "ALTER") && at(1, "DATABASE") && at(3, "COLLATE") {
        return Some(match (name_at(st, 2), name_at(st, 4)) {
            (Ok(db), Ok(c)) if st.len() == 5 => Ok(FactsStatement::SetCollation(db, c)),
            _ => Err(near(&st[st.len().min(4)..])),
        });
    }
    if let Some(f) = super::facts_filetable::parse(st) {
        return Some(f.map(FactsStatement::CreateFileTable));
    }
    if at(0, "DBCC") && (at(1, "TRACEON") || at(1, "TRACEOFF") || at(1, "TRACESTATUS")) {
        return Some(dbcc_trace(st));
    }
    None
}

fn create_assembly(st: &[Token]) -> Result<FactsStatement, ServerMessage> {
    let name = name_at(st, 2)?;
    let mut i = 3;
    if st.get(i).is_some_and(|t| t.is("AUTHORIZATION")) {
        name_at(st, i + 1)?;
        i += 2;
    }
    if !st.get(i).is_some_and(|t| t.is("FROM")) {
        return Err(near(&st[i.min(st.len())..]));
    }
    i += 1;
    let mut file = None;
    // One or more bit strings (an assembly and the ones it references), or a file path.
    loop {
        match st.get(i) {
            Some(Token::Number(n)) if super::logins::hex(n).is_some_and(|b| !b.is_empty()) => {}
            Some(Token::Str { text, .. }) => file = Some(text.clone()),
            _ => return Err(near(&st[i.min(st.len())..])),
        }
        i += 1;
        if st.get(i).is_some_and(|t| t.is_punct(",")) {
            i += 1;
            continue;
        }
        break;
    }
    // "If not specified, SAFE is applied as the default."
    let mut permission = PermissionSet::Safe;
    match &st[i..] {
        [] => {}
        [w, p, eq, set] if w.is("WITH") && p.is("PERMISSION_SET") && eq.is_punct("=") => {
            permission = match set {
                Token::Word(s) => PermissionSet::parse(s),
                _ => None,
            }
            .ok_or_else(|| syntax_error(&set.display()))?;
        }
        rest => return Err(near(rest)),
    }
    Ok(FactsStatement::CreateAssembly {
        name,
        file,
        permission,
    })
}

fn drop_assembly(st: &[Token]) -> Result<FactsStatement, ServerMessage> {
    let mut i = 2;
    let if_exists =
        st.get(2).is_some_and(|t| t.is("IF")) && st.get(3).is_some_and(|t| t.is("EXISTS"));
    if if_exists {
        i = 4;
    }
    let mut names = vec![name_at(st, i)?];
    i += 1;
    while st.get(i).is_some_and(|t| t.is_punct(",")) {
        names.push(name_at(st, i + 1)?);
        i += 2;
    }
    match &st[i..] {
        [] => {}
        [w, n, d] if w.is("WITH") && n.is("NO") && d.is("DEPENDENTS") => {}
        rest => return Err(near(rest)),
    }
    Ok(FactsStatement::DropAssembly { names, if_exists })
}

/// `DBCC TRACEON|TRACEOFF|TRACESTATUS [( n [, …] [, -1] )] [WITH NO_INFOMSGS]`.
fn dbcc_trace(st: &[Token]) -> Result<FactsStatement, ServerMessage> {
    let mut numbers = Vec::new();
    let mut i = 2;
    if st.get(i).is_some_and(|t| t.is_punct("(")) {
        i += 1;
        loop {
            let negative = st.get(i).is_some_and(|t| t.is_punct("-"));
            if negative {
                i += 1;
            }
            let n = match st.get(i) {
                Some(Token::Number(n)) => n.parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| near(&st[i.min(st.len())..]))?;
            numbers.push(if negative { -n } else { n });
            i += 1;
            match st.get(i) {
                Some(t) if t.is_punct(",") => i += 1,
                Some(t) if t.is_punct(")") => {
                    i += 1;
                    break;
                }
                _ => return Err(near(&st[i.min(st.len())..])),
            }
        }
    }
    let quiet = match &st[i..] {
        [] => false,
        [w, n] if w.is("WITH") && n.is("NO_INFOMSGS") => true,
        rest => return Err(near(rest)),
    };
    // -1 comes last ("trace# [ ,...n ] [ , -1 ]"); a flag is a positive number.
    let global = numbers.last() == Some(&-1);
    if global {
        numbers.pop();
    }
    if let Some(bad) = numbers.iter().find(|n| **n <= 0) {
        return Err(syntax_error(&bad.to_string()));
    }
    if st[1].is("TRACESTATUS") {
        return Ok(FactsStatement::TraceStatus {
            flags: numbers,
            global,
            quiet,
        });
    }
    if numbers.is_empty() {
        return Err(near(&st[2..]));
    }
    Ok(FactsStatement::Trace {
        on: st[1].is("TRACEON"),
        flags: numbers,
        global,
        quiet,
    })
}

/// The global trace flags Managed Instance supports ("DBCC TRACEON": "Azure SQL Managed
/// Instance supports the following global Trace Flags").
const MI_TRACE_FLAGS: &[i64] = &[
    460, 2301, 2389, 2390, 2453, 2467, 7471, 8207, 9389, 10316, 11024,
];

/// SQL Server info message 2528 (severity 10), after every DBCC command unless NO_INFOMSGS.
fn dbcc_done() -> ServerMessage {
    ServerMessage {
        class: 10,
        ..ServerMessage::info(
            2528,
            "DBCC execution completed. If DBCC printed error messages, contact your system administrator.",
        )
    }
}

/// Runs the statement in the session's database, into what the batch sends.
pub fn apply(
    f: &FactsStatement,
    s: &SessionView<'_>,
    database: &str,
    inst: &mut Instance,
) -> Result<Vec<Outcome>, ServerMessage> {
    let mi = s.personality.is_managed_instance();
    match f {
        FactsStatement::CreateAssembly {
            name,
            file,
            permission,
        } => {
            if let Some(path) = file {
                // SQL Server error 6501 (severity 16): the emulator has no file system to load
                // an assembly from, and Managed Instance "can't access file shares and Windows
                // folders … Only CREATE ASSEMBLY FROM BINARY is supported" (T-SQL differences).
                return Err(ServerMessage::error(
                    6501,
                    16,
                    format!(
                        "CREATE ASSEMBLY failed because it could not open the physical file '{path}': 2(The system cannot find the file specified.)."
                    ),
                ));
            }
            inst.create_assembly(database, name, *permission)?;
        }
        FactsStatement::DropAssembly { names, if_exists } => {
            for n in names {
                inst.drop_assembly(database, n, *if_exists)?;
            }
        }
        FactsStatement::CreateRoute(r) => inst.create_route(database, r)?,
        FactsStatement::DropRoute(n) => inst.drop_route(database, n)?,
        FactsStatement::SetBroker(db, on) => inst.set_broker(db, *on)?,
        FactsStatement::SetCollation(db, c) | FactsStatement::CreateCollated(db, c) => {
            let create = matches!(f, FactsStatement::CreateCollated(..));
            // CREATE DATABASE and ALTER DATABASE are refused in an explicit transaction
            // ("BEGIN TRANSACTION"; error 226), as batch.rs does for their other forms.
            if inst.transaction_count(s.spid) > 0 {
                let verb = if create { "CREATE" } else { "ALTER" };
                return Err(ServerMessage::error(
                    226,
                    16,
                    format!(
                        "{verb} DATABASE statement not allowed within multi-statement transaction."
                    ),
                ));
            }
            // An unknown collation fails CREATE DATABASE before the database exists.
            if !crate::instance::known_collation(c) {
                return Err(ServerMessage::error(
                    448,
                    16,
                    format!("Invalid collation '{c}'."),
                ));
            }
            if create {
                inst.create_database(db)?;
                inst.new_database_query_store(db, s.personality)?;
            }
            inst.set_database_collation(db, c)?
        }
        FactsStatement::CreateFileTable(t) => inst.create_filetable(
            t.database.as_deref().unwrap_or(database),
            &t.schema,
            &t.name,
            t.directory.as_deref(),
            t.collation.as_deref(),
        )?,
        FactsStatement::Trace {
            on,
            flags,
            global,
            quiet,
        } => {
            if !inst.is_sysadmin(s.user) {
                // SQL Server error 2571 (severity 14).
                return Err(ServerMessage::error(
                    2571,
                    14,
                    format!(
                        "User '{}' does not have permission to run DBCC {}.",
                        s.user,
                        if *on { "TRACEON" } else { "TRACEOFF" }
                    ),
                ));
            }
            if mi && (!global || flags.iter().any(|f| !MI_TRACE_FLAGS.contains(f))) {
                // "-1 … This argument is required in Azure SQL Managed Instance", and only the
                // listed global flags are supported. The page gives no error number; the
                // emulator answers with Azure SQL's message for an unsupported statement
                // option (40517).
                return Err(ServerMessage::error(
                    40517,
                    16,
                    format!(
                        "Keyword or statement option '{}' is not supported in this version of SQL Server.",
                        if *on { "TRACEON" } else { "TRACEOFF" }
                    ),
                ));
            }
            inst.set_trace_flags(flags, *global, s.spid, *on)?;
            return Ok(finish(Vec::new(), *quiet));
        }
        FactsStatement::TraceStatus {
            flags,
            global,
            quiet,
        } => {
            // The documentation lists the columns, not their types; the emulator sends
            // smallint, wide enough for every flag number (they are below 32768).
            let columns = ["TraceFlag", "Status", "Global", "Session"]
                .iter()
                .map(|n| Column::new(n, SqlType::SmallInt))
                .collect();
            let rows = inst
                .trace_status(flags, *global, s.spid)?
                .into_iter()
                .map(|(f, st, g, se)| {
                    vec![
                        Value::Int(f),
                        Value::Int(i64::from(st)),
                        Value::Int(i64::from(g)),
                        Value::Int(i64::from(se)),
                    ]
                })
                .collect();
            return Ok(finish(vec![Outcome::Rows { columns, rows }], *quiet));
        }
    }
    Ok(vec![Outcome::Done(None)])
}

fn finish(mut out: Vec<Outcome>, quiet: bool) -> Vec<Outcome> {
    if !quiet {
        out.push(Outcome::Info(dbcc_done()));
    }
    if !matches!(out.first(), Some(Outcome::Rows { .. })) {
        out.push(Outcome::Done(None));
    }
    out
}
