//! Server audits and server audit specifications (methods.md §5.8). Managed Instance writes
//! audits only to Azure Blob storage (`TO URL`) or Azure Monitor (`TO EXTERNAL_MONITOR`), not
//! to files or the Windows logs ("CREATE SERVER AUDIT", "T-SQL differences between SQL Server
//! and Azure SQL Managed Instance", Auditing): a file audit is rewritten to the container the
//! config's `audit_storage` names. AUDIT_GUID is kept, so database audit specifications in
//! restored databases still find their audit. An audit is made disabled (CREATE SERVER AUDIT
//! has no STATE option; a new audit is off) and enabled after, as on the source.

use std::collections::BTreeSet;

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{quote_name, quote_text};

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

#[derive(Debug, Clone)]
struct Audit {
    name: String,
    guid: String,
    /// `type_desc` with `_` for spaces: FILE, SECURITY_LOG, APPLICATION_LOG, URL,
    /// EXTERNAL_MONITOR.
    kind: String,
    on_failure: String,
    queue_delay: i64,
    enabled: bool,
    predicate: String,
    /// `sys.server_file_audits.log_file_path` (a folder, or a URL on the MI).
    path: String,
}

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    audit_guid: String,
    enabled: bool,
    groups: BTreeSet<String>,
}

struct Catalog {
    audits: Vec<Audit>,
    specs: Vec<Spec>,
}

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Catalog> {
    let t = Table::read(
        cx,
        conn,
        "sys.server_file_audits",
        "SELECT audit_id, log_file_path FROM sys.server_file_audits",
        &[],
    )?;
    let paths: Vec<(i64, String)> = t
        .rows()
        .map(|r| (r.int("audit_id"), r.text("log_file_path")))
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_audits",
        "SELECT audit_id, name, audit_guid, type_desc, on_failure_desc, queue_delay, \
         is_state_enabled, predicate FROM sys.server_audits",
        &[],
    )?;
    let audits = t
        .rows()
        .map(|r| {
            let id = r.int("audit_id");
            Audit {
                name: r.text("name"),
                guid: r.text("audit_guid").to_lowercase(),
                kind: r.text("type_desc").trim().to_uppercase().replace(' ', "_"),
                on_failure: r.text("on_failure_desc").trim().to_uppercase(),
                queue_delay: r.int("queue_delay"),
                enabled: r.flag("is_state_enabled"),
                predicate: r.text("predicate"),
                path: paths
                    .iter()
                    .find(|(a, _)| *a == id)
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_audit_specification_details",
        "SELECT server_specification_id, audit_action_name \
         FROM sys.server_audit_specification_details",
        &[],
    )?;
    let details: Vec<(i64, String)> = t
        .rows()
        .map(|r| {
            (
                r.int("server_specification_id"),
                r.text("audit_action_name").trim().to_uppercase(),
            )
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_audit_specifications",
        "SELECT server_specification_id, name, audit_guid, is_state_enabled \
         FROM sys.server_audit_specifications",
        &[],
    )?;
    let specs = t
        .rows()
        .map(|r| {
            let id = r.int("server_specification_id");
            Spec {
                name: r.text("name"),
                audit_guid: r.text("audit_guid").to_lowercase(),
                enabled: r.flag("is_state_enabled"),
                groups: details
                    .iter()
                    .filter(|(s, _)| *s == id)
                    .map(|(_, g)| g.clone())
                    .collect(),
            }
        })
        .collect();
    Ok(Catalog { audits, specs })
}

/// `on_failure_desc` → the ON_FAILURE keyword.
fn on_failure(desc: &str) -> &'static str {
    match desc {
        "SHUTDOWN SERVER INSTANCE" | "SHUTDOWN" => "SHUTDOWN",
        "FAIL OPERATION" | "FAIL_OPERATION" => "FAIL_OPERATION",
        _ => "CONTINUE",
    }
}

/// Where the audit writes on the MI.
struct Destination {
    /// The `TO …` clause.
    to: String,
    /// Its `type_desc` there.
    kind: &'static str,
    url: Option<String>,
    notes: Vec<String>,
}

fn to_url(url: String, notes: Vec<String>) -> Destination {
    Destination {
        to: format!("TO URL (PATH = {})", quote_text(&url)),
        kind: "URL",
        url: Some(url),
        notes,
    }
}

fn destination(
    cx: &mut Context<'_, Config>,
    a: &Audit,
) -> Result<std::result::Result<Destination, Verdict>> {
    Ok(Ok(match a.kind.as_str() {
        "URL" => to_url(a.path.clone(), Vec::new()),
        "EXTERNAL_MONITOR" => Destination {
            to: "TO EXTERNAL_MONITOR".into(),
            kind: "EXTERNAL_MONITOR",
            url: None,
            notes: Vec::new(),
        },
        "FILE" => {
            let Some(label) = cx.config().audit_storage.clone() else {
                return Ok(Err(Verdict::Refused {
                    code: "audit-storage-missing",
                    why: format!(
                        "it writes to files (`{}`); Managed Instance writes audits only to Azure \
                         Blob storage or Azure Monitor: set `audit_storage = \"<storage \
                         label>\"` in the step's config (a container the MI holds a SAS or \
                         managed-identity credential for) to have it rewritten TO URL",
                        a.path
                    ),
                }));
            };
            let container = cx.container(&label)?;
            let url = cx.url(container, "")?;
            let url = url.trim_end_matches('/').to_owned();
            let note = format!(
                "TO FILE `{}` → TO URL `{url}`: Managed Instance writes audits only to Azure \
                 Blob storage or Azure Monitor (file size and rollover options dropped); the \
                 MI needs a credential for that container",
                a.path
            );
            to_url(url, vec![note])
        }
        other => {
            return Ok(Err(Verdict::Refused {
                code: "windows-log-audit",
                why: format!(
                    "it writes to the Windows {} log, which Managed Instance does not have \
                     (only TO URL and TO EXTERNAL_MONITOR): change it to a file audit on the \
                     source and set `audit_storage`, or create it on the MI by hand",
                    if other == "SECURITY_LOG" {
                        "Security"
                    } else {
                        "Application"
                    }
                ),
            }));
        }
    }))
}

fn create_audit(a: &Audit, to: &str) -> Vec<Statement> {
    let q = quote_name(&a.name);
    let mut sql = format!(
        "CREATE SERVER AUDIT {q} {to} WITH (QUEUE_DELAY = {}, ON_FAILURE = {}, AUDIT_GUID = {})",
        a.queue_delay,
        on_failure(&a.on_failure),
        quote_text(&a.guid)
    );
    if !a.predicate.trim().is_empty() {
        sql.push_str(&format!(" WHERE {}", a.predicate.trim()));
    }
    let mut out = vec![Statement::new(sql)];
    if a.enabled {
        out.push(Statement::new(format!(
            "ALTER SERVER AUDIT {q} WITH (STATE = ON)"
        )));
    }
    out
}

fn audit_differs(a: &Audit, kind: &str, to_url: Option<&str>, t: &Audit) -> Option<String> {
    let mut d = Vec::new();
    if t.kind != kind {
        d.push(format!("it writes to {}", t.kind));
    }
    if let Some(url) = to_url {
        let there = t.path.trim_end_matches('/');
        if !there.is_empty() && !there.to_lowercase().starts_with(&url.to_lowercase()) {
            d.push(format!("its path is `{}`", t.path));
        }
    }
    if t.guid != a.guid {
        d.push(format!("its AUDIT_GUID is {}", t.guid));
    }
    if t.queue_delay != a.queue_delay {
        d.push(format!("QUEUE_DELAY = {}", t.queue_delay));
    }
    if on_failure(&t.on_failure) != on_failure(&a.on_failure) {
        d.push(format!("ON_FAILURE = {}", on_failure(&t.on_failure)));
    }
    if t.predicate.trim() != a.predicate.trim() {
        d.push(format!("its filter is `{}`", t.predicate));
    }
    if t.enabled != a.enabled {
        d.push(format!("it is {}", if t.enabled { "on" } else { "off" }));
    }
    (!d.is_empty()).then(|| d.join(", "))
}

fn decide_audit(cx: &mut Context<'_, Config>, a: &Audit, dst: &Catalog) -> Result<Decision> {
    let Destination {
        to,
        kind,
        url,
        notes,
    } = match destination(cx, a)? {
        Ok(x) => x,
        Err(v) => return Ok(Decision::new("server-audit", &a.name, v)),
    };
    let verdict = match dst
        .audits
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(&a.name))
    {
        None => Verdict::Create(create_audit(a, &to)),
        Some(t) => match audit_differs(a, kind, url.as_deref(), t) {
            None => Verdict::Unchanged,
            Some(d) => {
                let q = quote_name(&a.name);
                let mut fix = vec![
                    Statement::new(format!("ALTER SERVER AUDIT {q} WITH (STATE = OFF)")),
                    Statement::new(format!("DROP SERVER AUDIT {q}")),
                ];
                fix.extend(create_audit(a, &to));
                Verdict::Conflict {
                    differs: d,
                    replace: fix,
                }
            }
        },
    };
    let mut d = Decision::new("server-audit", &a.name, verdict);
    d.notes = notes;
    Ok(d)
}

fn create_spec(s: &Spec, audit: &str) -> Vec<Statement> {
    let adds: Vec<String> = s.groups.iter().map(|g| format!("ADD ({g})")).collect();
    vec![Statement::new(format!(
        "CREATE SERVER AUDIT SPECIFICATION {} FOR SERVER AUDIT {} {} WITH (STATE = {})",
        quote_name(&s.name),
        quote_name(audit),
        adds.join(", "),
        if s.enabled { "ON" } else { "OFF" }
    ))]
}

fn decide_spec(s: &Spec, src: &Catalog, dst: &Catalog, landed: &[String]) -> Decision {
    let Some(audit) = src.audits.iter().find(|a| a.guid == s.audit_guid) else {
        return Decision::new(
            "server-audit-specification",
            &s.name,
            Verdict::Skipped {
                code: "audit-missing",
                why: "no server audit on the source has its AUDIT_GUID".into(),
            },
        );
    };
    if !landed.iter().any(|n| n == &audit.name) {
        return Decision::new(
            "server-audit-specification",
            &s.name,
            Verdict::Skipped {
                code: "audit-not-moved",
                why: format!("its audit `{}` is not moved (see that row)", audit.name),
            },
        );
    }
    let verdict = match dst
        .specs
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(&s.name))
    {
        None => Verdict::Create(create_spec(s, &audit.name)),
        Some(t)
            if t.audit_guid == s.audit_guid && t.groups == s.groups && t.enabled == s.enabled =>
        {
            Verdict::Unchanged
        }
        Some(t) => {
            let q = quote_name(&s.name);
            let mut fix = vec![
                Statement::new(format!(
                    "ALTER SERVER AUDIT SPECIFICATION {q} WITH (STATE = OFF)"
                )),
                Statement::new(format!("DROP SERVER AUDIT SPECIFICATION {q}")),
            ];
            fix.extend(create_spec(s, &audit.name));
            let groups: Vec<&str> = t.groups.iter().map(String::as_str).collect();
            Verdict::Conflict {
                differs: format!(
                    "there it audits {} for audit {} and is {}",
                    groups.join(", "),
                    t.audit_guid,
                    if t.enabled { "on" } else { "off" }
                ),
                replace: fix,
            }
        }
    };
    Decision::new("server-audit-specification", &s.name, verdict)
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().audits.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let mut out = Vec::new();
    let mut landed = Vec::new();
    for a in src.audits.iter().filter(|a| patterns.admits(&a.name)) {
        let d = decide_audit(cx, a, &dst)?;
        if d.lands() || matches!(d.verdict, Verdict::Conflict { .. }) {
            landed.push(a.name.clone());
        }
        out.push(d);
    }
    for sp in src.specs.iter().filter(|sp| patterns.admits(&sp.name)) {
        out.push(decide_spec(sp, &src, &dst, &landed));
    }
    Ok(out)
}
