//! CREATE / ALTER / DROP SERVER AUDIT and SERVER AUDIT SPECIFICATION, read as their
//! "(Transact-SQL)" pages give the grammar, with the Managed Instance's targets ("T-SQL
//! differences between SQL Server and Azure SQL Managed Instance", Auditing: "XEvent auditing
//! in SQL Managed Instance supports Azure Blob storage targets. File and Windows logs aren't
//! supported").

use super::audit_groups;
use super::session::SessionView;
use crate::instance::{AuditChange, AuditTarget, Instance, ServerAudit, SpecChange};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, closing_paren, near, syntax_error};

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

/// `KEY = value` pairs of an option list.
type Options<'t> = Vec<(String, &'t [Token])>;

fn name_at(st: &[Token], i: usize) -> R<String> {
    match st.get(i) {
        Some(Token::Word(w) | Token::Quoted(w)) => Ok(w.clone()),
        _ => Err(near(&st[i.min(st.len())..])),
    }
}

/// `( KEY = value, … )` starting at `st[open]`: the pairs and the index after `)`.
fn options(st: &[Token], open: usize) -> R<(Options<'_>, usize)> {
    if !st.get(open).is_some_and(|t| t.is_punct("(")) {
        return Err(near(&st[open.min(st.len())..]));
    }
    let close = closing_paren(st, open).ok_or_else(|| near(&st[st.len()..]))?;
    let mut out = Vec::new();
    for item in st[open + 1..close].split(|t| t.is_punct(",")) {
        match item {
            [Token::Word(k), eq, value @ ..] if eq.is_punct("=") && !value.is_empty() => {
                out.push((k.to_ascii_uppercase(), value))
            }
            _ => return Err(near(if item.is_empty() { &st[close..] } else { item })),
        }
    }
    Ok((out, close + 1))
}

fn number(v: &[Token]) -> R<i64> {
    match v {
        [Token::Number(n)] => n.parse().map_err(|_| syntax_error(n)),
        _ => Err(near(v)),
    }
}

fn on_off(v: &[Token]) -> R<bool> {
    match v {
        [t] if t.is("ON") => Ok(true),
        [t] if t.is("OFF") => Ok(false),
        _ => Err(near(v)),
    }
}

fn string(v: &[Token]) -> R<String> {
    match v {
        [Token::Str { text, .. }] => Ok(text.clone()),
        _ => Err(near(v)),
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

/// The audit target after TO, and the index after it.
fn target(st: &[Token], i: usize) -> R<(AuditTarget, usize)> {
    let word = st.get(i).ok_or_else(|| near(&st[st.len()..]))?;
    if word.is("APPLICATION_LOG") {
        return Ok((AuditTarget::ApplicationLog, i + 1));
    }
    if word.is("SECURITY_LOG") {
        return Ok((AuditTarget::SecurityLog, i + 1));
    }
    if word.is("EXTERNAL_MONITOR") {
        return Ok((AuditTarget::ExternalMonitor, i + 1));
    }
    let (opts, after) = options(st, i + 1)?;
    if word.is("URL") {
        let mut path = None;
        for (k, v) in opts {
            match k.as_str() {
                "PATH" => path = Some(string(v)?),
                "RETENTION_DAYS" => {
                    number(v)?;
                }
                other => return Err(syntax_error(other)),
            }
        }
        let path = path.ok_or_else(|| syntax_error(")"))?;
        return Ok((AuditTarget::Url { path }, after));
    }
    if !word.is("FILE") {
        return Err(syntax_error(&word.display()));
    }
    let (mut path, mut size, mut rollover, mut files, mut reserve) = (None, 0, None, None, false);
    for (k, v) in opts {
        match k.as_str() {
            "FILEPATH" => path = Some(string(v)?),
            "MAXSIZE" => {
                size = match v {
                    [u] if u.is("UNLIMITED") => 0,
                    [n, unit] => {
                        let n = number(std::slice::from_ref(n))?;
                        let factor = match unit {
                            u if u.is("MB") => 1,
                            u if u.is("GB") => 1024,
                            u if u.is("TB") => 1024 * 1024,
                            u => return Err(syntax_error(&u.display())),
                        };
                        n.checked_mul(factor)
                            .ok_or_else(|| syntax_error(&unit.display()))?
                    }
                    _ => return Err(near(v)),
                };
                if size > 0 && size < 2 {
                    // SQL Server error 33070 (severity 16).
                    return Err(ServerMessage::error(
                        33070,
                        16,
                        "The specified maximum size limit for the audit log file is less than the minimum value allowed. The maximum size limit must be at least 2 MB.",
                    ));
                }
            }
            "MAX_ROLLOVER_FILES" if files.is_none() => {
                rollover = Some(match v {
                    [u] if u.is("UNLIMITED") => i64::from(i32::MAX),
                    _ => number(v)?,
                })
            }
            "MAX_FILES" if rollover.is_none() => files = Some(number(v)?),
            "RESERVE_DISK_SPACE" => reserve = on_off(v)?,
            other => return Err(syntax_error(other)),
        }
    }
    if reserve && size == 0 {
        // SQL Server error 33077 (severity 16).
        return Err(ServerMessage::error(
            33077,
            16,
            "RESERVE_DISK_SPACE cannot be specified when setting MAXSIZE = UNLIMITED. Either reduce MAXSIZE or do not specify RESERVE_DISK_SPACE.",
        ));
    }
    let path = path.ok_or_else(|| syntax_error(")"))?;
    Ok((
        AuditTarget::File {
            path,
            max_size_mb: size,
            // "MAX_ROLLOVER_FILES … The default value is UNLIMITED."
            max_rollover_files: rollover.unwrap_or(i64::from(i32::MAX)),
            max_files: files.unwrap_or(0),
            reserve_disk_space: reserve,
        },
        after,
    ))
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

/// The Managed Instance takes only URL and EXTERNAL_MONITOR targets: the others are options
/// it does not support (error 41901, as for its other unsupported options). SQL Server has no
/// URL or EXTERNAL_MONITOR target ("Applies to: Azure SQL Managed Instance"): a syntax error.
fn check_target(t: &AuditTarget, mi: bool) -> R<()> {
    let word = match t {
        AuditTarget::File { .. } => "FILE",
        AuditTarget::ApplicationLog => "APPLICATION_LOG",
        AuditTarget::SecurityLog => "SECURITY_LOG",
        AuditTarget::Url { .. } => "URL",
        AuditTarget::ExternalMonitor => "EXTERNAL_MONITOR",
    };
    let mi_target = matches!(t, AuditTarget::Url { .. } | AuditTarget::ExternalMonitor);
    if mi && !mi_target {
        return Err(ServerMessage::error(
            41901,
            16,
            format!(
                "One or more of the options ({word}) are not supported for this statement in SQL Database Managed Instance. Review the documentation for supported options."
            ),
        ));
    }
    if !mi && mi_target {
        return Err(syntax_error(word));
    }
    if let AuditTarget::Url { path } = t {
        // "the URL of the Azure Blob storage container where the .xel files are placed":
        // scheme, account host and a container.
        let rest = path
            .strip_prefix("https://")
            .or_else(|| path.strip_prefix("http://"));
        let container = rest
            .and_then(|r| r.split_once('/'))
            .map(|(host, c)| (host, c.trim_matches('/')));
        if !matches!(container, Some((h, c)) if !h.is_empty() && !c.is_empty()) {
            // SQL Server error 33072 (severity 16).
            return Err(ServerMessage::error(
                33072,
                16,
                "The audit log file path is invalid.",
            ));
        }
    }
    Ok(())
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
