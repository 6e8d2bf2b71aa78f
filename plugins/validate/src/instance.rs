//! The instance comparison (`scope = "instance"`, methods.md §6 "Instance objects"): names and
//! counts of logins, server roles and their members, Agent jobs with their step count and
//! subsystems, operators, linked servers, credentials and audits, source against target.
//! Every difference is a row; a family whose view the server lacks (msdb's Agent tables on a
//! server without Agent) is a row saying it was not compared.

use std::collections::BTreeMap;

use ferry_sdk::prelude::*;

use crate::compare::{Named, named};
use crate::config::Config;
use crate::report::{Finding, Tally, Verdict, emit_all};
use crate::sql::{Row, Server, read_if_present};

/// Built-in principals of one server that never move: `##…##` certificate logins, and the
/// Windows service accounts, which Managed Instance has no counterpart for. A role membership
/// (`member in role`) is judged by its member.
fn builtin(name: &str) -> bool {
    let name = member(name);
    (name.starts_with("##") && name.ends_with("##"))
        || name.to_ascii_uppercase().starts_with("NT SERVICE\\")
        || name.to_ascii_uppercase().starts_with("NT AUTHORITY\\")
}

struct Family {
    kind: &'static str,
    plural: &'static str,
    view: &'static str,
    sql: &'static str,
    /// A row's name and what is compared about it.
    entry: fn(&Row<'_>) -> (String, String),
}

const FAMILIES: [Family; 7] = [
    Family {
        kind: "login",
        plural: "logins",
        view: "sys.server_principals",
        sql: "SELECT name, type_desc, is_disabled FROM master.sys.server_principals \
              WHERE type IN ('S', 'U', 'G', 'E', 'X', 'C', 'K')",
        entry: |r| {
            let off = if r.flag("is_disabled") {
                ", disabled"
            } else {
                ""
            };
            (r.text("name"), format!("{}{off}", r.text("type_desc")))
        },
    },
    Family {
        kind: "server-role",
        plural: "user-defined server roles",
        view: "sys.server_principals",
        sql: "SELECT name FROM master.sys.server_principals \
              WHERE type = 'R' AND is_fixed_role = 0 AND name <> 'public'",
        entry: |r| (r.text("name"), "role".into()),
    },
    Family {
        kind: "server-role-member",
        plural: "server role memberships",
        view: "sys.server_role_members",
        sql: "SELECT r.name AS role_name, m.name AS member_name \
              FROM master.sys.server_role_members AS rm \
              JOIN master.sys.server_principals AS r ON r.principal_id = rm.role_principal_id \
              JOIN master.sys.server_principals AS m ON m.principal_id = rm.member_principal_id",
        entry: |r| {
            (
                format!("{} in {}", r.text("member_name"), r.text("role_name")),
                "member".into(),
            )
        },
    },
    Family {
        kind: "agent-operator",
        plural: "Agent operators",
        view: "msdb.dbo.sysoperators",
        sql: "SELECT name, enabled FROM msdb.dbo.sysoperators",
        entry: |r| (r.text("name"), enabled(r.flag("enabled"))),
    },
    Family {
        kind: "linked-server",
        plural: "linked servers",
        view: "sys.servers",
        sql: "SELECT name, product, provider FROM master.sys.servers WHERE is_linked = 1",
        entry: |r| {
            (
                r.text("name"),
                format!("{} through {}", r.text("product"), r.text("provider")),
            )
        },
    },
    Family {
        kind: "credential",
        plural: "credentials",
        view: "sys.credentials",
        sql: "SELECT name, credential_identity FROM master.sys.credentials",
        entry: |r| (r.text("name"), r.text("credential_identity")),
    },
    Family {
        kind: "audit",
        plural: "server audits",
        view: "sys.server_audits",
        sql: "SELECT name, type_desc, is_state_enabled FROM master.sys.server_audits",
        entry: |r| {
            (
                r.text("name"),
                format!(
                    "{}, {}",
                    r.text("type_desc"),
                    enabled(r.flag("is_state_enabled"))
                ),
            )
        },
    },
];

/// The principal a row names: the member of a `member in role` membership, else the name.
fn member(name: &str) -> &str {
    name.split_once(" in ").map_or(name, |(m, _)| m)
}

fn enabled(on: bool) -> String {
    if on { "enabled" } else { "disabled" }.into()
}

const JOBS_SQL: &str = "SELECT j.name AS job_name, j.enabled, s.step_id, s.subsystem \
    FROM msdb.dbo.sysjobs AS j LEFT JOIN msdb.dbo.sysjobsteps AS s ON s.job_id = j.job_id";

/// Jobs → "n step(s): subsystems in step order, enabled/disabled".
fn jobs(rows: &crate::sql::Rows) -> Named {
    let mut steps: BTreeMap<String, (bool, Vec<(i64, String)>)> = BTreeMap::new();
    for r in rows.iter() {
        let e = steps.entry(r.text("job_name")).or_default();
        e.0 = r.flag("enabled");
        if !r.is_null("step_id") {
            e.1.push((r.int("step_id"), r.text("subsystem")));
        }
    }
    steps
        .into_iter()
        .map(|(name, (on, mut s))| {
            s.sort();
            let subsystems: Vec<String> = s.into_iter().map(|(_, x)| x).collect();
            (
                name,
                format!(
                    "{} step(s): {}, {}",
                    subsystems.len(),
                    subsystems.join(", "),
                    enabled(on)
                ),
            )
        })
        .collect()
}

fn side(
    cx: &mut Context<'_, Config>,
    server: Server,
    view: &str,
    sql: &str,
    entry: &dyn Fn(&crate::sql::Rows) -> Named,
) -> Result<Option<Named>> {
    let cfg = cx.config().clone();
    // Excluded logins are left out as logins and as role members.
    let logins = sql.contains("WHERE type IN ('S'") || sql.contains("server_role_members");
    Ok(read_if_present(cx, server, view, sql, &[])?.map(|rows| {
        entry(&rows)
            .into_iter()
            .filter(|(name, _)| {
                let excluded = logins && cfg.login_excluded(member(name));
                !builtin(name) && !excluded
            })
            .collect()
    }))
}

/// A Windows login missing on the target: Managed Instance has none, so say where it went.
fn windows_note(f: &mut Finding) {
    if f.object_type == "login"
        && f.reason_code == "missing-on-target"
        && f.notes.contains("WINDOWS_")
    {
        f.notes.push_str(
            " Managed Instance has no Windows logins: if instance-objects mapped it to a \
             Microsoft Entra login, that one is listed as only on the target; add both to \
             `exclude_logins` once checked.",
        );
    }
}

fn compare(
    cx: &mut Context<'_, Config>,
    kind: &str,
    plural: &str,
    view: &str,
    sql: &str,
    entry: &dyn Fn(&crate::sql::Rows) -> Named,
) -> Result<Vec<Finding>> {
    let s = side(cx, Server::Source, view, sql, entry)?;
    let t = side(cx, Server::Target, view, sql, entry)?;
    Ok(match (s, t) {
        (Some(s), Some(t)) => {
            let mut found = named(kind, plural, &s, &t, &|_, _, _| None);
            found.iter_mut().for_each(windows_note);
            found
        }
        (s, _) => vec![Finding::new(
            kind,
            format!("({plural})"),
            Verdict::NotCompared,
            "view-missing",
            format!(
                "The {} has no {view}: {plural} not compared.",
                if s.is_none() { "source" } else { "target" }
            ),
        )],
    })
}

pub fn run(cx: &mut Context<'_, Config>, tally: &mut Tally) -> Result<()> {
    let mut found = Vec::new();
    for f in &FAMILIES {
        let entry = f.entry;
        let each = move |rows: &crate::sql::Rows| rows.iter().map(|r| entry(&r)).collect();
        found.extend(compare(cx, f.kind, f.plural, f.view, f.sql, &each)?);
    }
    found.extend(compare(
        cx,
        "agent-job",
        "Agent jobs",
        "msdb.dbo.sysjobs",
        JOBS_SQL,
        &jobs,
    )?);
    emit_all(cx, tally, found);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_principals_are_left_out() {
        assert!(builtin("##MS_PolicyTsqlExecutionLogin##"));
        assert!(builtin("NT SERVICE\\SQLSERVERAGENT"));
        assert!(builtin("nt authority\\system"));
        assert!(!builtin("app_login"));
        assert!(!builtin("CONTOSO\\bob"));
        assert!(builtin("##MS_AgentSigningCertificate## in sysadmin"));
        assert!(!builtin("app in sysadmin"));
        assert_eq!(member("app in db in role"), "app");
    }
}
