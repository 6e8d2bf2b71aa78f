//! Server-level DDL and logon triggers (methods.md §5.5): the definition as the source stores
//! it, then `DISABLE TRIGGER … ON ALL SERVER` when disabled. A server trigger that fails rolls
//! back the statement or logon that fired it, so a body calling what Managed Instance lacks is
//! refused rather than made ("T-SQL differences between SQL Server and Azure SQL Managed
//! Instance": no `xp_cmdshell`, no Windows logins, no local file system; the `sp_configure`
//! options it does not support).

use std::collections::BTreeSet;

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use super::configuration::UNSUPPORTED;
use super::principals::{self, Principal};
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

struct Trigger {
    name: String,
    disabled: bool,
    definition: String,
    /// `execute_as_principal_id`: NULL (caller), -2 (owner) or a server principal.
    execute_as: Option<i64>,
    events: BTreeSet<String>,
}

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Trigger>> {
    let t = Table::read(
        cx,
        conn,
        "sys.server_sql_modules",
        "SELECT object_id, definition, execute_as_principal_id FROM sys.server_sql_modules",
        &[],
    )?;
    let modules: Vec<(i64, String, Option<i64>)> = t
        .rows()
        .map(|r| {
            let who =
                (!r.is_null("execute_as_principal_id")).then(|| r.int("execute_as_principal_id"));
            (r.int("object_id"), r.text("definition"), who)
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_trigger_events",
        "SELECT object_id, type_desc FROM sys.server_trigger_events",
        &[],
    )?;
    let events: Vec<(i64, String)> = t
        .rows()
        .map(|r| (r.int("object_id"), r.text("type_desc").to_uppercase()))
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_triggers",
        "SELECT object_id, name, is_disabled, is_ms_shipped FROM sys.server_triggers",
        &[],
    )?;
    Ok(t.rows()
        .filter(|r| !r.flag("is_ms_shipped"))
        .map(|r| {
            let id = r.int("object_id");
            let module = modules.iter().find(|(m, _, _)| *m == id);
            Trigger {
                name: r.text("name"),
                disabled: r.flag("is_disabled"),
                definition: module.map(|m| m.1.clone()).unwrap_or_default(),
                execute_as: module.and_then(|m| m.2),
                events: events
                    .iter()
                    .filter(|(o, _)| *o == id)
                    .map(|(_, e)| e.clone())
                    .collect(),
            }
        })
        .collect())
}

/// The definition with whitespace runs made one space, for comparing.
fn normalised(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the body calls that Managed Instance lacks: (findings that stop it working, notes).
fn review(t: &Trigger, principals: &[Principal]) -> (Vec<String>, Vec<String>) {
    // ASCII lower case keeps byte offsets, so a match's offset indexes the definition too.
    let body = t.definition.to_ascii_lowercase();
    let mut fatal = Vec::new();
    let mut notes = Vec::new();
    if body.contains("xp_cmdshell") {
        fatal.push("it calls xp_cmdshell, which Managed Instance does not have".to_owned());
    }
    if let Some(p) = t
        .execute_as
        .filter(|id| *id > 0)
        .and_then(|id| principals.iter().find(|p| p.id == id))
        .filter(|p| matches!(p.kind.as_str(), "U" | "G"))
    {
        fatal.push(format!(
            "it runs WITH EXECUTE AS the Windows login `{}`, and Managed Instance has no \
             Windows logins",
            p.name
        ));
    }
    for (i, _) in body.match_indices("execute as login") {
        let rest: String = t.definition[i..].chars().take(80).collect();
        if rest.contains('\\') {
            fatal.push(format!(
                "it switches to a Windows login (`{}`), which Managed Instance does not have",
                rest.lines().next().unwrap_or_default().trim()
            ));
        }
    }
    let paths = [":\\", "\\\\"];
    if paths.iter().any(|p| t.definition.contains(p)) {
        notes.push(
            "its body names a local or UNC file path; Managed Instance has no file system \
             access (BULK INSERT/OPENROWSET read Azure Blob storage only): review it"
                .to_owned(),
        );
    }
    if body.contains("sp_configure") {
        for o in UNSUPPORTED.iter().filter(|(o, _, _)| body.contains(*o)) {
            notes.push(format!(
                "it sets sp_configure `{}`, which Managed Instance refuses: review it",
                o.0
            ));
        }
    }
    (fatal, notes)
}

fn create(t: &Trigger) -> Vec<Statement> {
    let mut out = vec![Statement::new(t.definition.trim().to_owned())];
    if t.disabled {
        out.push(Statement::new(format!(
            "DISABLE TRIGGER {} ON ALL SERVER",
            quote_name(&t.name)
        )));
    }
    out
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().server_triggers.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let principals = principals::read(cx, s.source)?;
    let mut out = Vec::new();
    for t in src.iter().filter(|t| patterns.admits(&t.name)) {
        let (fatal, notes) = review(t, &principals);
        let verdict = if t.definition.trim().is_empty() {
            Verdict::Refused {
                code: "definition-unreadable",
                why: "sys.server_sql_modules gave no definition (the reading login needs VIEW \
                      ANY DEFINITION); grant it and apply again"
                    .into(),
            }
        } else if !fatal.is_empty() {
            Verdict::Refused {
                code: "trigger-cannot-work",
                why: format!(
                    "{}; a server trigger that fails rolls back what fired it. Rewrite it for \
                     Managed Instance and create it by hand",
                    fatal.join("; ")
                ),
            }
        } else {
            match dst.iter().find(|x| x.name.eq_ignore_ascii_case(&t.name)) {
                None => Verdict::Create(create(t)),
                Some(x)
                    if normalised(&x.definition) == normalised(&t.definition)
                        && x.disabled == t.disabled =>
                {
                    Verdict::Unchanged
                }
                Some(x) => {
                    let mut fix = vec![Statement::new(format!(
                        "DROP TRIGGER {} ON ALL SERVER",
                        quote_name(&t.name)
                    ))];
                    fix.extend(create(t));
                    let differs = if normalised(&x.definition) != normalised(&t.definition) {
                        let ev: Vec<&str> = x.events.iter().map(String::as_str).collect();
                        format!("its definition differs (it fires on {})", ev.join(", "))
                    } else {
                        format!("it is {}", if x.disabled { "disabled" } else { "enabled" })
                    };
                    Verdict::Conflict {
                        differs,
                        replace: fix,
                    }
                }
            }
        };
        let mut d = Decision::new("server-trigger", &t.name, verdict);
        d.notes = notes;
        out.push(d);
    }
    Ok(out)
}
