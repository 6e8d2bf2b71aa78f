//! Server-scoped extended event sessions (methods.md §5.8), rebuilt as `CREATE EVENT SESSION`
//! from `sys.server_event_sessions`, `_events`, `_actions`, `_targets` and `_fields`; the
//! running ones (`sys.dm_xe_sessions`) are started after. On Managed Instance the event_file
//! target writes only to Azure Blob storage ("Extended Events in Azure SQL Database and Azure
//! SQL Managed Instance"), so a file on disk is rewritten to the container `audit_storage`
//! names, keeping its file name; etw_classic_sync_target and pair_matching are not available
//! there ("Extended Events targets", the availability table).

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{quote_name, quote_text};

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

/// Sessions SQL Server makes itself; a Managed Instance has its own.
const BUILT_IN: [&str; 5] = [
    "system_health",
    "AlwaysOn_health",
    "telemetry_xevents",
    "hkenginexesession",
    "sp_server_diagnostics session",
];

type Fields = Vec<(String, String)>;

#[derive(Debug, Clone)]
struct Event {
    object: String,
    predicate: String,
    actions: Vec<String>,
    fields: Fields,
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
struct Target {
    package: String,
    name: String,
    fields: Fields,
}

#[derive(Debug, Clone)]
struct Session {
    name: String,
    /// The WITH clause, as rebuilt from the session's row.
    options: String,
    events: Vec<Event>,
    targets: Vec<Target>,
    running: bool,
}

/// `package.object` as SSMS scripts it: bare when it is a plain identifier.
fn ident(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        s.to_owned()
    } else {
        quote_name(s)
    }
}

fn dotted(package: &str, name: &str) -> String {
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

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Session>> {
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

/// A field's value: numbers bare, text quoted (the view gives both as text).
fn value(v: &str) -> String {
    if !v.is_empty() && v.parse::<i64>().is_ok() {
        v.to_owned()
    } else {
        quote_text(v)
    }
}

fn set_list(f: &Fields) -> String {
    let items: Vec<String> = f
        .iter()
        .map(|(n, v)| format!("{} = {}", ident(n), value(v)))
        .collect();
    items.join(", ")
}

fn create(s: &Session) -> Statement {
    let mut parts = Vec::new();
    for e in &s.events {
        let mut body = Vec::new();
        if !e.fields.is_empty() {
            body.push(format!("SET {}", set_list(&e.fields)));
        }
        if !e.actions.is_empty() {
            body.push(format!("ACTION ({})", e.actions.join(", ")));
        }
        if !e.predicate.is_empty() {
            body.push(format!("WHERE {}", e.predicate));
        }
        parts.push(if body.is_empty() {
            format!("ADD EVENT {}", e.object)
        } else {
            format!("ADD EVENT {} ({})", e.object, body.join(" "))
        });
    }
    let mut sql = format!(
        "CREATE EVENT SESSION {} ON SERVER {}",
        quote_name(&s.name),
        parts.join(", ")
    );
    let targets: Vec<String> = s
        .targets
        .iter()
        .map(|t| {
            let o = dotted(&t.package, &t.name);
            if t.fields.is_empty() {
                format!("ADD TARGET {o}")
            } else {
                format!("ADD TARGET {o} (SET {})", set_list(&t.fields))
            }
        })
        .collect();
    if !targets.is_empty() {
        sql.push(' ');
        sql.push_str(&targets.join(", "));
    }
    sql.push(' ');
    sql.push_str(&s.options);
    Statement::new(sql)
}

fn statements(s: &Session) -> Vec<Statement> {
    let mut out = vec![create(s)];
    if s.running {
        out.push(Statement::new(format!(
            "ALTER EVENT SESSION {} ON SERVER STATE = START",
            quote_name(&s.name)
        )));
    }
    out
}

fn is_blob_url(f: &str) -> bool {
    let l = f.to_ascii_lowercase();
    l.starts_with("https://") || l.starts_with("http://")
}

/// The source session as the MI takes it, with its notes, or why it cannot be moved.
fn for_mi(
    cx: &mut Context<'_, Config>,
    s: &Session,
) -> Result<std::result::Result<(Session, Vec<String>), Verdict>> {
    let mut out = s.clone();
    let mut notes = Vec::new();
    for t in &mut out.targets {
        let n = t.name.to_ascii_lowercase();
        if n == "etw_classic_sync_target" || n == "pair_matching" {
            return Ok(Err(Verdict::Refused {
                code: if n == "pair_matching" {
                    "pair-matching-target"
                } else {
                    "etw-target"
                },
                why: format!(
                    "its target {}.{} is not available on Managed Instance (event_file, \
                     ring_buffer, event_stream, histogram and event_counter are): drop that \
                     target on the source or create the session on the MI by hand",
                    t.package, t.name
                ),
            }));
        }
        if n != "event_file" {
            continue;
        }
        let Some(at) = t.fields.iter().position(|(k, _)| k == "filename") else {
            continue;
        };
        let file = t.fields[at].1.clone();
        if is_blob_url(&file) {
            continue;
        }
        let Some(label) = cx.config().audit_storage.clone() else {
            return Ok(Err(Verdict::Refused {
                code: "xe-storage-missing",
                why: format!(
                    "its event_file target writes to `{file}` on disk; Managed Instance writes \
                     event files only to Azure Blob storage: set `audit_storage = \"<storage \
                     label>\"` in the step's config (a container the MI holds a SAS or \
                     managed-identity credential for) to have it rewritten to a blob URL"
                ),
            }));
        };
        let container = cx.container(&label)?;
        let base = cx.url(container, "")?;
        let leaf = file.rsplit(['\\', '/']).next().unwrap_or(&file).to_owned();
        let url = format!("{}/{leaf}", base.trim_end_matches('/'));
        notes.push(format!(
            "event_file `{file}` → `{url}`: Managed Instance writes event files only to Azure \
             Blob storage; the MI needs a credential for that container"
        ));
        t.fields[at].1 = url;
        if let Some(m) = t.fields.iter().position(|(k, _)| k == "metadatafile") {
            t.fields.remove(m);
            notes.push("event_file metadatafile dropped: blob event files carry none".into());
        }
    }
    Ok(Ok((out, notes)))
}

fn differs(a: &Session, t: &Session) -> Option<String> {
    let mut d = Vec::new();
    if a.options != t.options {
        d.push(format!("its options are `{}`", t.options));
    }
    if a.events != t.events {
        let names: Vec<&str> = t.events.iter().map(|e| e.object.as_str()).collect();
        d.push(format!("its events ({}) differ", names.join(", ")));
    }
    if a.targets != t.targets {
        let names: Vec<String> = t
            .targets
            .iter()
            .map(|x| format!("{}.{}", x.package, x.name))
            .collect();
        d.push(format!("its targets ({}) differ", names.join(", ")));
    }
    if a.running != t.running {
        d.push(format!(
            "it is {}",
            if t.running { "running" } else { "stopped" }
        ));
    }
    (!d.is_empty()).then(|| d.join(", "))
}

fn decide_one(cx: &mut Context<'_, Config>, s: &Session, dst: &[Session]) -> Result<Decision> {
    if BUILT_IN.iter().any(|b| b.eq_ignore_ascii_case(&s.name)) {
        return Ok(Decision::new(
            "event-session",
            &s.name,
            Verdict::Skipped {
                code: "built-in-session",
                why: "SQL Server makes this session itself; Managed Instance has its own".into(),
            },
        ));
    }
    let (want, notes) = match for_mi(cx, s)? {
        Ok(x) => x,
        Err(v) => return Ok(Decision::new("event-session", &s.name, v)),
    };
    let verdict = match dst.iter().find(|t| t.name.eq_ignore_ascii_case(&s.name)) {
        None => Verdict::Create(statements(&want)),
        Some(t) => match differs(&want, t) {
            None => Verdict::Unchanged,
            Some(d) => {
                let mut fix = vec![Statement::new(format!(
                    "DROP EVENT SESSION {} ON SERVER",
                    quote_name(&s.name)
                ))];
                fix.extend(statements(&want));
                Verdict::Conflict {
                    differs: d,
                    replace: fix,
                }
            }
        },
    };
    let mut d = Decision::new("event-session", &s.name, verdict);
    d.notes = notes;
    Ok(d)
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().event_sessions.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let mut out = Vec::new();
    for x in src.iter().filter(|x| patterns.admits(&x.name)) {
        out.push(decide_one(cx, x, &dst)?);
    }
    Ok(out)
}
