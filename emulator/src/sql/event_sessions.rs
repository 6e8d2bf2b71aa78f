//! CREATE / ALTER / DROP EVENT SESSION … ON SERVER, read as their "(Transact-SQL)" pages give
//! the grammar, with the Managed Instance's limits ("Extended Events in Azure SQL Database
//! and Azure SQL Managed Instance": "the event_file target always uses blobs in Azure
//! Storage, rather than files on disk"; "Extended Events targets": etw_classic_sync_target
//! and pair_matching are not available on Managed Instance). Message texts are sys.messages' (25xxx family).

use super::event_session_options::options;
use super::session::SessionView;
use crate::instance::{EventSession, FieldValue, Instance, XeEvent, XeOptions, XeTarget};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, closing_paren, near, syntax_error};

type R<T> = Result<T, ServerMessage>;

#[derive(Debug, Clone, PartialEq)]
pub enum XeDdl {
    Create(EventSession),
    Alter {
        name: String,
        add_events: Vec<XeEvent>,
        add_targets: Vec<XeTarget>,
        /// (is_target, package, name)
        drops: Vec<(bool, String, String)>,
        state: Option<bool>,
    },
    Drop(String),
}

/// A statement of this module, or None (database-scoped sessions are not read).
pub fn parse(st: &[Token]) -> Option<R<XeDdl>> {
    let verb = st.first()?;
    if !(st.get(1)?.is("EVENT") && st.get(2)?.is("SESSION")) {
        return None;
    }
    if !(st.get(4)?.is("ON") && st.get(5)?.is("SERVER")) {
        return None;
    }
    let name = match &st[3] {
        Token::Word(w) | Token::Quoted(w) => w.clone(),
        t => return Some(Err(syntax_error(&t.display()))),
    };
    let rest = &st[6..];
    Some(if verb.is("CREATE") {
        create(name, rest)
    } else if verb.is("ALTER") {
        alter(name, rest)
    } else if verb.is("DROP") {
        match rest.first() {
            None => Ok(XeDdl::Drop(name)),
            Some(t) => Err(syntax_error(&t.display())),
        }
    } else {
        Err(syntax_error(&verb.display()))
    })
}

/// `[module.]package.object` at `t[i]`: (package, name) and the index after it.
fn dotted(t: &[Token], i: usize) -> R<((String, String), usize)> {
    let mut parts = Vec::new();
    let mut j = i;
    loop {
        match t.get(j) {
            Some(Token::Word(w) | Token::Quoted(w)) => parts.push(w.clone()),
            _ => return Err(near(&t[j.min(t.len())..])),
        }
        j += 1;
        if !t.get(j).is_some_and(|x| x.is_punct(".")) {
            break;
        }
        j += 1;
    }
    match parts.as_slice() {
        [.., p, n] => Ok(((p.clone(), n.clone()), j)),
        _ => Err(near(&t[i..])),
    }
}

fn value(v: &[Token]) -> R<FieldValue> {
    match v {
        [Token::Str { text, .. }] => Ok(FieldValue::Text(text.clone())),
        [Token::Number(n)] => Ok(n
            .parse()
            .map(FieldValue::Number)
            .unwrap_or_else(|_| FieldValue::Text(n.clone()))),
        [Token::Word(w)] => Ok(FieldValue::Text(w.clone())),
        _ => Err(near(v)),
    }
}

/// `name = value, …` (a SET list).
fn assignments(t: &[Token]) -> R<Vec<(String, FieldValue)>> {
    let mut out = Vec::new();
    for item in t.split(|x| x.is_punct(",")) {
        match item {
            [Token::Word(k) | Token::Quoted(k), eq, v @ ..] if eq.is_punct("=") => {
                out.push((k.clone(), value(v)?))
            }
            _ => return Err(near(item)),
        }
    }
    Ok(out)
}

/// The WHERE predicate written back as text (SQL Server's own normal form is not documented).
fn predicate(t: &[Token]) -> R<String> {
    if t.is_empty() {
        return Err(syntax_error("WHERE"));
    }
    let mut out = String::new();
    for (i, x) in t.iter().enumerate() {
        let glued = x.is_punct(".")
            || x.is_punct(")")
            || (i > 0 && (t[i - 1].is_punct(".") || t[i - 1].is_punct("(")));
        if i > 0 && !glued {
            out.push(' ');
        }
        match x {
            Token::Word(w) | Token::Number(w) | Token::Punct(w) => out.push_str(w),
            Token::Quoted(w) => out.push_str(&format!("[{}]", w.replace(']', "]]"))),
            Token::Str { text, unicode } => out.push_str(&format!(
                "{}'{}'",
                if *unicode { "N" } else { "" },
                text.replace('\'', "''")
            )),
            other => return Err(syntax_error(&other.display())),
        }
    }
    Ok(out)
}

/// ADD EVENT's body: `( [SET …] [ACTION (…)] [WHERE …] )` between `open` and its `)`.
fn event_body(e: &mut XeEvent, t: &[Token]) -> R<()> {
    let mut i = 0;
    while i < t.len() {
        if t[i].is("SET") {
            let end = (i + 1..t.len())
                .find(|&j| t[j].is("ACTION") || t[j].is("WHERE"))
                .unwrap_or(t.len());
            e.fields = assignments(&t[i + 1..end])?;
            i = end;
        } else if t[i].is("ACTION") {
            let close = closing_paren(t, i + 1).ok_or_else(|| near(&t[i..]))?;
            for item in t[i + 2..close].split(|x| x.is_punct(",")) {
                let (pn, end) = dotted(item, 0)?;
                if end != item.len() {
                    return Err(near(&item[end..]));
                }
                e.actions.push(pn);
            }
            i = close + 1;
        } else if t[i].is("WHERE") {
            e.predicate = Some(predicate(&t[i + 1..])?);
            i = t.len();
        } else {
            return Err(near(&t[i..]));
        }
    }
    Ok(())
}

/// The body of an `( … )` at `t[i]` if there is one: its tokens and the index after `)`.
fn body(t: &[Token], i: usize) -> R<(&[Token], usize)> {
    if t.get(i).is_some_and(|x| x.is_punct("(")) {
        let close = closing_paren(t, i).ok_or_else(|| near(&t[i..]))?;
        Ok((&t[i + 1..close], close + 1))
    } else {
        Ok((&[], i))
    }
}

enum Clause {
    AddEvent(XeEvent),
    AddTarget(XeTarget),
    Drop(bool, String, String),
    With(XeOptions),
    State(bool),
}

fn clauses(t: &[Token]) -> R<Vec<Clause>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i].is_punct(",") && !out.is_empty() {
            i += 1;
            continue;
        }
        let kw = &t[i];
        let is_target = t.get(i + 1).is_some_and(|x| x.is("TARGET"));
        let is_event = t.get(i + 1).is_some_and(|x| x.is("EVENT"));
        if (kw.is("ADD") || kw.is("DROP")) && (is_target || is_event) {
            let ((package, name), j) = dotted(t, i + 2)?;
            if kw.is("DROP") {
                out.push(Clause::Drop(is_target, package, name));
                i = j;
                continue;
            }
            let (inner, after) = body(t, j)?;
            if is_event {
                let mut e = XeEvent {
                    package,
                    name,
                    actions: Vec::new(),
                    fields: Vec::new(),
                    predicate: None,
                };
                event_body(&mut e, inner)?;
                out.push(Clause::AddEvent(e));
            } else {
                let fields = match inner {
                    [] => Vec::new(),
                    [set, rest @ ..] if set.is("SET") => assignments(rest)?,
                    _ => return Err(near(inner)),
                };
                out.push(Clause::AddTarget(XeTarget {
                    package,
                    name,
                    fields,
                }));
            }
            i = after;
        } else if kw.is("WITH") {
            let (inner, after) = body(t, i + 1)?;
            out.push(Clause::With(options(inner)?));
            i = after;
        } else if kw.is("STATE") && t.get(i + 1).is_some_and(|x| x.is_punct("=")) {
            match t.get(i + 2) {
                Some(x) if x.is("START") => out.push(Clause::State(true)),
                Some(x) if x.is("STOP") => out.push(Clause::State(false)),
                _ => return Err(near(&t[(i + 2).min(t.len())..])),
            }
            i += 3;
        } else {
            return Err(near(&t[i..]));
        }
    }
    Ok(out)
}

fn create(name: String, t: &[Token]) -> R<XeDdl> {
    let mut s = EventSession {
        name,
        events: Vec::new(),
        targets: Vec::new(),
        options: XeOptions::default(),
    };
    for c in clauses(t)? {
        match c {
            Clause::AddEvent(e) => s.events.push(e),
            Clause::AddTarget(x) => s.targets.push(x),
            Clause::With(o) => s.options = o,
            Clause::Drop(..) | Clause::State(_) => return Err(syntax_error("CREATE")),
        }
    }
    if s.events.is_empty() {
        return Err(syntax_error(&s.name));
    }
    Ok(XeDdl::Create(s))
}

/// ALTER … WITH is not modelled: the emulator reads ADD/DROP and STATE only.
fn alter(name: String, t: &[Token]) -> R<XeDdl> {
    let (mut add_events, mut add_targets, mut drops, mut state) =
        (Vec::new(), Vec::new(), Vec::new(), None);
    for c in clauses(t)? {
        match c {
            Clause::AddEvent(e) => add_events.push(e),
            Clause::AddTarget(x) => add_targets.push(x),
            Clause::Drop(tg, p, n) => drops.push((tg, p, n)),
            Clause::State(on) => state = Some(on),
            Clause::With(_) => return Err(syntax_error("WITH")),
        }
    }
    if add_events.is_empty() && add_targets.is_empty() && drops.is_empty() && state.is_none() {
        return Err(syntax_error(&name));
    }
    Ok(XeDdl::Alter {
        name,
        add_events,
        add_targets,
        drops,
        state,
    })
}

/// Whether a Managed Instance takes `url` as an event_file's blob: an Azure Storage blob URL,
/// or the emulator's own storage (Azurite's path-style form on loopback).
fn is_blob_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") && lower.contains(".blob.core.windows.net/"))
        || (lower.starts_with("http://127.0.0.1:") && lower.contains("/devstoreaccount1/"))
}

fn check_target(t: &XeTarget, mi: bool) -> R<()> {
    let full = format!("{}.{}", t.package, t.name);
    let unavailable = ["etw_classic_sync_target", "pair_matching"];
    if mi && unavailable.iter().any(|n| t.name.eq_ignore_ascii_case(n)) {
        // Message 25749; the targets page's availability table marks both "No" for MI.
        return Err(ServerMessage::error(
            25749,
            16,
            format!("Target '{full}' is not available on SQL Database Managed Instance."),
        ));
    }
    if !t.name.eq_ignore_ascii_case("event_file") {
        return Ok(());
    }
    let file = t
        .fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("filename"));
    let Some((_, FieldValue::Text(file))) = file else {
        // Message 25642: filename is event_file's mandatory attribute.
        return Err(ServerMessage::error(
            25642,
            16,
            format!("Mandatory customizable attributes are missing for target, \"{full}\"."),
        ));
    };
    if mi && !is_blob_url(file) {
        // Message 25741, "The URL specified for %S_MSG "%.*ls", %S_MSG "%.*ls" is invalid. URL
        // must begin with 'https://' ."; the words filling %S_MSG are the emulator's reading,
        // and it also refuses https URLs that are not blob storage (docs: "always uses blobs").
        return Err(ServerMessage::error(
            25741,
            16,
            format!(
                "The URL specified for target \"{full}\", customizable attribute \"filename\" is invalid. URL must begin with 'https://' ."
            ),
        ));
    }
    Ok(())
}

pub fn apply(x: &XeDdl, s: &SessionView<'_>, inst: &mut Instance) -> R<Vec<ServerMessage>> {
    let mi = s.personality.is_managed_instance();
    match x {
        XeDdl::Create(session) => {
            for t in &session.targets {
                check_target(t, mi)?;
            }
            inst.create_event_session(session)?;
        }
        XeDdl::Alter {
            name,
            add_events,
            add_targets,
            drops,
            state,
        } => {
            let (id, _) = inst
                .event_session(name)
                .ok_or_else(|| crate::instance::missing_session("alter", name))?;
            for t in add_targets {
                check_target(t, mi)?;
            }
            for (tg, p, n) in drops {
                inst.drop_xe_object(id, *tg, p, n)?;
            }
            inst.add_xe_objects(id, add_events, add_targets)?;
            if let Some(on) = state {
                inst.set_event_session_state(name, *on)?;
            }
        }
        XeDdl::Drop(name) => inst.drop_event_session(name)?,
    }
    Ok(Vec::new())
}
