//! CREATE / ALTER / DROP SERVER AUDIT and SERVER AUDIT SPECIFICATION, read as their
//! "(Transact-SQL)" pages give the grammar, with the Managed Instance's targets ("T-SQL
//! differences between SQL Server and Azure SQL Managed Instance", Auditing: "XEvent auditing
//! in SQL Managed Instance supports Azure Blob storage targets. File and Windows logs aren't
//! supported").

use super::audit_groups;
use super::audit_target::{check_target, number, on_off, options, string, target};
use super::session::SessionView;
use crate::instance::{AuditChange, Instance, ServerAudit, SpecChange};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, near, syntax_error};

#[derive(Debug, Clone, PartialEq)]
pub enum AuditDdl {
    Create(ServerAudit),
    SetState(String, bool),
    Alter(String, AuditChange),
    Drop(String),
    CreateSpec {
        name: String,
        audit: String,
        groups: Vec<String>,
        on: bool,
    },
    AlterSpec(String, SpecChange),
    DropSpec(String),
}

type R<T> = Result<T, ServerMessage>;

fn name_at(st: &[Token], i: usize) -> R<String> {
    match st.get(i) {
        Some(Token::Word(w) | Token::Quoted(w)) => Ok(w.clone()),
        _ => Err(near(&st[i.min(st.len())..])),
    }
}

/// A statement of this module, or None.
pub fn parse(st: &[Token]) -> Option<R<AuditDdl>> {
    let verb = st.first()?;
    if !(st.get(1)?.is("SERVER") && st.get(2)?.is("AUDIT")) {
        return None;
    }
    let spec = st.get(3).is_some_and(|t| t.is("SPECIFICATION"));
    let at = if spec { 4 } else { 3 };
    let result = name_at(st, at).and_then(|name| {
        let rest = at + 1;
        match (verb, spec) {
            (v, false) if v.is("CREATE") => create(st, name, rest),
            (v, false) if v.is("ALTER") => alter(st, name, rest),
            (v, true) if v.is("CREATE") || v.is("ALTER") => {
                spec_statement(st, name, rest, v.is("CREATE"))
            }
            (v, _) if v.is("DROP") => match st.get(rest) {
                None if spec => Ok(AuditDdl::DropSpec(name)),
                None => Ok(AuditDdl::Drop(name)),
                Some(t) => Err(syntax_error(&t.display())),
            },
            (v, _) => Err(syntax_error(&v.display())),
        }
    });
    Some(result)
}

/// QUEUE_DELAY: 0 or at least 1000 (error 33227, severity 16).
fn queue_delay(v: &[Token]) -> R<i64> {
    let q = number(v)?;
    if q != 0 && !(1000..=i64::from(i32::MAX)).contains(&q) {
        return Err(ServerMessage::error(
            33227,
            16,
            "The specified value for QUEUE_DELAY is not valid. Specify either 0 or 1000 and higher.",
        ));
    }
    Ok(q)
}

fn on_failure(v: &[Token]) -> R<u8> {
    match v {
        [t] if t.is("CONTINUE") => Ok(0),
        [t] if t.is("SHUTDOWN") => Ok(1),
        [t] if t.is("FAIL_OPERATION") => Ok(2),
        _ => Err(near(v)),
    }
}

/// The WHERE predicate, written back as text. SQL Server keeps its own normal form, which the
/// pages do not give; the emulator brackets field names and parenthesizes the whole (a guess).
fn predicate(t: &[Token]) -> R<String> {
    if t.is_empty() {
        return Err(syntax_error("WHERE"));
    }
    let mut out = String::from("(");
    for (i, x) in t.iter().enumerate() {
        let keyword = ["AND", "OR", "NOT", "LIKE"].iter().any(|k| x.is(k));
        if keyword && i > 0 {
            out.push(' ');
        }
        match x {
            Token::Word(w) if keyword => out.push_str(&w.to_ascii_uppercase()),
            Token::Word(w) | Token::Quoted(w) => out.push_str(&format!("[{w}]")),
            Token::Str { text, unicode } => out.push_str(&format!(
                "{}'{}'",
                if *unicode { "N" } else { "" },
                text.replace('\'', "''")
            )),
            Token::Number(n) | Token::Punct(n) => out.push_str(n),
            other => return Err(syntax_error(&other.display())),
        }
        if keyword {
            out.push(' ');
        }
    }
    out.push(')');
    Ok(out)
}

fn create(st: &[Token], name: String, i: usize) -> R<AuditDdl> {
    if !st.get(i).is_some_and(|t| t.is("TO")) {
        return Err(near(&st[i.min(st.len())..]));
    }
    let (target, mut i) = target(st, i + 1)?;
    let mut audit = ServerAudit {
        name,
        target,
        queue_delay: 1000,
        on_failure: 0,
        guid: None,
        predicate: None,
    };
    if st.get(i).is_some_and(|t| t.is("WITH")) {
        let (opts, after) = options(st, i + 1)?;
        for (k, v) in opts {
            match k.as_str() {
                "QUEUE_DELAY" => audit.queue_delay = queue_delay(v)?,
                "ON_FAILURE" => audit.on_failure = on_failure(v)?,
                "AUDIT_GUID" => audit.guid = Some(guid(v)?),
                "OPERATOR_AUDIT" => {
                    on_off(v)?;
                }
                // STATE is not a CREATE SERVER AUDIT option: an audit is created disabled.
                other => return Err(syntax_error(other)),
            }
        }
        i = after;
    }
    if st.get(i).is_some_and(|t| t.is("WHERE")) {
        audit.predicate = Some(predicate(&st[i + 1..])?);
        i = st.len();
    }
    match st.get(i) {
        None => Ok(AuditDdl::Create(audit)),
        Some(t) => Err(syntax_error(&t.display())),
    }
}

/// AUDIT_GUID = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', upper-cased as SQL Server shows GUIDs.
fn guid(v: &[Token]) -> R<String> {
    let g = string(v)?;
    let hex: Vec<char> = g.chars().filter(|c| *c != '-').collect();
    let shape = g.len() == 36
        && [8, 13, 18, 23].iter().all(|&p| g.as_bytes()[p] == b'-')
        && hex.len() == 32
        && hex.iter().all(char::is_ascii_hexdigit);
    if !shape {
        return Err(syntax_error(&g));
    }
    Ok(g.to_ascii_uppercase())
}

fn alter(st: &[Token], name: String, mut i: usize) -> R<AuditDdl> {
    let at = |k: usize, w: &str| st.get(k).is_some_and(|t| t.is(w));
    if at(i, "REMOVE") && at(i + 1, "WHERE") && st.len() == i + 2 {
        let change = AuditChange {
            predicate: Some(None),
            ..Default::default()
        };
        return Ok(AuditDdl::Alter(name, change));
    }
    if at(i, "MODIFY") && at(i + 1, "NAME") && st.get(i + 2).is_some_and(|t| t.is_punct("=")) {
        let new = name_at(st, i + 3)?;
        if let Some(t) = st.get(i + 4) {
            return Err(syntax_error(&t.display()));
        }
        let change = AuditChange {
            new_name: Some(new),
            ..Default::default()
        };
        return Ok(AuditDdl::Alter(name, change));
    }
    let mut change = AuditChange::default();
    let mut state = None;
    let mut others = 0;
    if at(i, "TO") {
        let (t, after) = target(st, i + 1)?;
        change.target = Some(t);
        others += 1;
        i = after;
    }
    if at(i, "WITH") {
        let (opts, after) = options(st, i + 1)?;
        for (k, v) in opts {
            match k.as_str() {
                "STATE" => state = Some(on_off(v)?),
                "QUEUE_DELAY" => change.queue_delay = Some(queue_delay(v)?),
                "ON_FAILURE" => change.on_failure = Some(on_failure(v)?),
                other => return Err(syntax_error(other)),
            }
            others += usize::from(k != "STATE");
        }
        i = after;
    }
    if at(i, "WHERE") {
        change.predicate = Some(Some(predicate(&st[i + 1..])?));
        others += 1;
        i = st.len();
    }
    if let Some(t) = st.get(i) {
        return Err(syntax_error(&t.display()));
    }
    match (state, others) {
        (Some(on), 0) => Ok(AuditDdl::SetState(name, on)),
        // SQL Server error 33223 (severity 16).
        (Some(_), _) => Err(ServerMessage::error(
            33223,
            16,
            "ALTER SERVER AUDIT requires the STATE option to be specified without using any other options.",
        )),
        (None, 0) => Err(near(&st[st.len()..])),
        (None, _) => Ok(AuditDdl::Alter(name, change)),
    }
}

/// CREATE / ALTER SERVER AUDIT SPECIFICATION: FOR SERVER AUDIT, ADD (group) / DROP (group),
/// WITH (STATE = …).
fn spec_statement(st: &[Token], name: String, mut i: usize, create: bool) -> R<AuditDdl> {
    let at = |k: usize, w: &str| st.get(k).is_some_and(|t| t.is(w));
    let mut c = SpecChange::default();
    if at(i, "FOR") && at(i + 1, "SERVER") && at(i + 2, "AUDIT") {
        c.audit = Some(name_at(st, i + 3)?);
        i += 4;
    }
    while at(i, "ADD") || at(i, "DROP") {
        let adding = at(i, "ADD");
        if !st.get(i + 1).is_some_and(|t| t.is_punct("(")) {
            return Err(near(&st[i + 1..]));
        }
        let group = match (st.get(i + 2), st.get(i + 3)) {
            (Some(Token::Word(g)), Some(close)) if close.is_punct(")") => {
                audit_groups::find(g).ok_or_else(|| syntax_error(g))?
            }
            _ => return Err(near(&st[(i + 2).min(st.len())..])),
        };
        if adding { &mut c.add } else { &mut c.drop }.push(group.to_owned());
        i += 4;
        if st.get(i).is_some_and(|t| t.is_punct(",")) {
            i += 1;
        }
    }
    if at(i, "WITH") {
        let (opts, after) = options(st, i + 1)?;
        for (k, v) in opts {
            match k.as_str() {
                "STATE" => c.state = Some(on_off(v)?),
                other => return Err(syntax_error(other)),
            }
        }
        i = after;
    }
    if let Some(t) = st.get(i) {
        return Err(syntax_error(&t.display()));
    }
    if create {
        let audit = c.audit.ok_or_else(|| syntax_error(&name))?;
        if !c.drop.is_empty() {
            return Err(syntax_error("DROP"));
        }
        return Ok(AuditDdl::CreateSpec {
            name,
            audit,
            groups: c.add,
            on: c.state.unwrap_or(false),
        });
    }
    Ok(AuditDdl::AlterSpec(name, c))
}

pub fn apply(a: &AuditDdl, s: &SessionView<'_>, inst: &mut Instance) -> R<Vec<ServerMessage>> {
    let mi = s.personality.is_managed_instance();
    match a {
        AuditDdl::Create(audit) => {
            check_target(&audit.target, mi)?;
            inst.create_server_audit(audit)?;
        }
        AuditDdl::SetState(name, on) => {
            inst.set_server_audit_state(name, *on)?;
            if *on && let Some(url) = inst.server_audit_url(name) {
                // MI writes to the container with a credential named after it ("Auditing in
                // Azure SQL Managed Instance": CREATE CREDENTIAL [https://<account>.blob.core.
                // windows.net/<container>]). Without one the audit cannot start; SQL Server
                // reports a failed start with message 33222 (severity 10), the statement
                // itself succeeding.
                let base = url.trim_end_matches('/');
                if inst.credential(base).is_none() && inst.credential(&format!("{base}/")).is_none()
                {
                    return Ok(vec![ServerMessage::info(
                        33222,
                        format!(
                            "Audit '{name}' failed to start. For more information, see the SQL Server error log. You can also query sys.dm_os_ring_buffers where ring_buffer_type = 'RING_BUFFER_XE_LOG'."
                        ),
                    )]);
                }
            }
        }
        AuditDdl::Alter(name, change) => {
            if let Some(t) = &change.target {
                check_target(t, mi)?;
            }
            inst.alter_server_audit(name, change)?;
        }
        AuditDdl::Drop(name) => inst.drop_server_audit(name)?,
        AuditDdl::CreateSpec {
            name,
            audit,
            groups,
            on,
        } => inst.create_audit_spec(name, audit, groups, *on)?,
        AuditDdl::AlterSpec(name, change) => inst.alter_audit_spec(name, change)?,
        AuditDdl::DropSpec(name) => inst.drop_audit_spec(name)?,
    }
    Ok(Vec::new())
}
