//! The event sessions as the catalog views give them, one query per view, in a form two
//! servers' sessions compare in (events and targets sorted, predicates without spacing).

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use crate::config::Config;
use crate::table::Table;

pub(super) type Fields = Vec<(String, String)>;

#[derive(Debug, Clone)]
pub(super) struct Event {
    pub(super) object: String,
    pub(super) predicate: String,
    pub(super) actions: Vec<String>,
    pub(super) fields: Fields,
}

/// A predicate without the spaces outside its string literals: each server writes back its
/// own normal form, which the pages do not give.
fn squeezed(p: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in p.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if quoted || !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

impl PartialEq for Event {
    fn eq(&self, o: &Self) -> bool {
        self.object == o.object
            && squeezed(&self.predicate) == squeezed(&o.predicate)
            && self.actions == o.actions
            && self.fields == o.fields
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Target {
    pub(super) package: String,
    pub(super) name: String,
    pub(super) fields: Fields,
}

#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) name: String,
    /// The WITH clause, as rebuilt from the session's row.
    pub(super) options: String,
    pub(super) events: Vec<Event>,
    pub(super) targets: Vec<Target>,
    pub(super) running: bool,
}

/// `package.object` as SSMS scripts it: bare when it is a plain identifier.
pub(super) fn ident(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        s.to_owned()
    } else {
        quote_name(s)
    }
}

pub(super) fn dotted(package: &str, name: &str) -> String {
    format!("{}.{}", ident(package), ident(name))
}

fn options(r: &crate::table::Row<'_>) -> String {
    let latency = match r.int("max_dispatch_latency") {
        // "sys.server_event_sessions": milliseconds, -1 infinite (0 read as infinite too:
        // older releases' pages call it seconds, and no session dispatches at 0).
        ms if ms <= 0 => "INFINITE".to_owned(),
        ms => format!("{} SECONDS", (ms + 999) / 1000),
    };
    let on = |c: &str| if r.flag(c) { "ON" } else { "OFF" };
    format!(
        "WITH (MAX_MEMORY = {} KB, EVENT_RETENTION_MODE = {}, MAX_DISPATCH_LATENCY = {latency}, \
         MAX_EVENT_SIZE = {} KB, MEMORY_PARTITION_MODE = {}, TRACK_CAUSALITY = {}, \
         STARTUP_STATE = {})",
        r.int("max_memory"),
        r.text("event_retention_mode_desc").trim().to_uppercase(),
        r.int("max_event_size"),
        r.text("memory_partition_mode_desc").trim().to_uppercase(),
        on("track_causality"),
        on("startup_state"),
    )
}

pub(super) fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Session>> {
    let t = Table::read(
        cx,
        conn,
        "sys.server_event_session_fields",
        "SELECT event_session_id, object_id, name, CAST(value AS nvarchar(4000)) AS value \
         FROM sys.server_event_session_fields",
        &[],
    )?;
    let fields: Vec<(i64, i64, String, String)> = t
        .rows()
        .map(|r| {
            (
                r.int("event_session_id"),
                r.int("object_id"),
                r.text("name").to_lowercase(),
                r.text("value"),
            )
        })
        .collect();
    let of = |s: i64, o: i64| -> Fields {
        let mut f: Fields = fields
            .iter()
            .filter(|(a, b, _, _)| *a == s && *b == o)
            .map(|(_, _, n, v)| (n.clone(), v.clone()))
            .collect();
        f.sort();
        f
    };
    let t = Table::read(
        cx,
        conn,
        "sys.server_event_session_actions",
        "SELECT event_session_id, event_id, package, name FROM sys.server_event_session_actions",
        &[],
    )?;
    let actions: Vec<(i64, i64, String)> = t
        .rows()
        .map(|r| {
            let a = dotted(&r.text("package"), &r.text("name"));
            (r.int("event_session_id"), r.int("event_id"), a)
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_event_session_events",
        "SELECT event_session_id, event_id, package, name, predicate \
         FROM sys.server_event_session_events",
        &[],
    )?;
    let events: Vec<(i64, Event)> = t
        .rows()
        .map(|r| {
            let (s, e) = (r.int("event_session_id"), r.int("event_id"));
            let mut acts: Vec<String> = actions
                .iter()
                .filter(|(a, b, _)| *a == s && *b == e)
                .map(|(_, _, n)| n.clone())
                .collect();
            acts.sort();
            let event = Event {
                object: dotted(&r.text("package"), &r.text("name")),
                predicate: r.text("predicate").trim().to_owned(),
                actions: acts,
                fields: of(s, e),
            };
            (s, event)
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_event_session_targets",
        "SELECT event_session_id, target_id, package, name FROM sys.server_event_session_targets",
        &[],
    )?;
    let targets: Vec<(i64, Target)> = t
        .rows()
        .map(|r| {
            let s = r.int("event_session_id");
            let target = Target {
                package: r.text("package"),
                name: r.text("name"),
                fields: of(s, r.int("target_id")),
            };
            (s, target)
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.dm_xe_sessions",
        "SELECT name FROM sys.dm_xe_sessions",
        &[],
    )?;
    let running: Vec<String> = t.rows().map(|r| r.text("name")).collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_event_sessions",
        "SELECT event_session_id, name, event_retention_mode_desc, max_dispatch_latency, \
         max_memory, max_event_size, memory_partition_mode_desc, track_causality, startup_state \
         FROM sys.server_event_sessions",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| {
            let id = r.int("event_session_id");
            let name = r.text("name");
            let mut ev: Vec<Event> = events
                .iter()
                .filter(|(s, _)| *s == id)
                .map(|(_, e)| e.clone())
                .collect();
            ev.sort_by(|a, b| a.object.cmp(&b.object));
            let mut tg: Vec<Target> = targets
                .iter()
                .filter(|(s, _)| *s == id)
                .map(|(_, t)| t.clone())
                .collect();
            tg.sort_by(|a, b| (&a.package, &a.name).cmp(&(&b.package, &b.name)));
            Session {
                running: running.iter().any(|n| n.eq_ignore_ascii_case(&name)),
                options: options(&r),
                name,
                events: ev,
                targets: tg,
            }
        })
        .collect())
}
