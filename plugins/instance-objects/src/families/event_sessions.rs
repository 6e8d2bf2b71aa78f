//! Server-scoped extended event sessions (methods.md §5.8), rebuilt as `CREATE EVENT SESSION`
//! from `sys.server_event_sessions`, `_events`, `_actions`, `_targets` and `_fields`; the
//! running ones (`sys.dm_xe_sessions`) are started after. On Managed Instance the event_file
//! target writes only to Azure Blob storage ("Extended Events in Azure SQL Database and Azure
//! SQL Managed Instance"), so a file on disk is rewritten to the container `audit_storage`
//! names, keeping its file name; etw_classic_sync_target and pair_matching are not available
//! there ("Extended Events targets", the availability table).

mod read;

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{quote_name, quote_text};

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use read::{Fields, Session, dotted, ident, read};

/// Sessions SQL Server makes itself; a Managed Instance has its own.
const BUILT_IN: [&str; 5] = [
    "system_health",
    "AlwaysOn_health",
    "telemetry_xevents",
    "hkenginexesession",
    "sp_server_diagnostics session",
];

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
