//! Database security, source against target (methods.md §6): principals
//! (`sys.database_principals`: type, authentication_type_desc), role members
//! (`sys.database_role_members`), permissions (`sys.database_permissions`), and orphaned users
//! on the target: SQL users (`type = 'S'`) mapped to a login (`authentication_type_desc =
//! 'INSTANCE'`) whose `sid` no login in `sys.server_principals` has, with the fix `ALTER USER
//! [u] WITH LOGIN = [l]` ("ALTER USER (Transact-SQL)", learn.microsoft.com).

use std::collections::{BTreeMap, BTreeSet};

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use crate::compare::{Named, named};
use crate::config::Config;
use crate::report::{Finding, Tally, Verdict, emit_all};
use crate::sql::{CATALOG, Server, read};

/// The principals every database has (public, dbo, guest, INFORMATION_SCHEMA, sys: ids 0–4)
/// and the fixed roles are the same everywhere, so they are left out.
fn principals_sql(d: &str) -> String {
    format!(
        "SELECT name, type, type_desc, authentication_type_desc, sid \
         FROM {d}.sys.database_principals WHERE principal_id > 4 AND is_fixed_role = 0"
    )
}

fn members_sql(d: &str) -> String {
    format!(
        "SELECT r.name AS role_name, m.name AS member_name \
         FROM {d}.sys.database_role_members AS rm \
         JOIN {d}.sys.database_principals AS r ON r.principal_id = rm.role_principal_id \
         JOIN {d}.sys.database_principals AS m ON m.principal_id = rm.member_principal_id"
    )
}

/// Permissions on the database (class 0), objects and columns (1) and schemas (3) by name;
/// other classes by their ids (which a restore keeps).
fn permissions_sql(d: &str) -> String {
    format!(
        "SELECT p.class_desc, p.permission_name, p.state_desc, pr.name AS grantee, \
         CASE p.class WHEN 1 THEN os.name + '.' + o.name WHEN 3 THEN sc.name \
         ELSE CONVERT(nvarchar(20), p.major_id) END AS securable, p.minor_id \
         FROM {d}.sys.database_permissions AS p \
         JOIN {d}.sys.database_principals AS pr ON pr.principal_id = p.grantee_principal_id \
         LEFT JOIN {d}.sys.objects AS o ON p.class = 1 AND o.object_id = p.major_id \
         LEFT JOIN {d}.sys.schemas AS os ON os.schema_id = o.schema_id \
         LEFT JOIN {d}.sys.schemas AS sc ON p.class = 3 AND sc.schema_id = p.major_id"
    )
}

const LOGINS_SQL: &str = "SELECT name, sid FROM master.sys.server_principals";

/// One side's principals: name → "type, authentication", and SQL users' sids.
struct Principals {
    described: Named,
    /// name → (type, authentication_type_desc, sid hex).
    raw: BTreeMap<String, (String, String, String)>,
}

fn principals(cx: &mut Context<'_, Config>, server: Server, d: &str) -> Result<Principals> {
    let rows = read(
        cx,
        server,
        "sys.database_principals",
        &principals_sql(d),
        &[],
        CATALOG,
    )?;
    let mut out = Principals {
        described: Named::new(),
        raw: BTreeMap::new(),
    };
    for r in rows.iter() {
        let name = r.text("name");
        out.described.insert(
            name.clone(),
            format!(
                "{}, {}",
                r.text("type_desc"),
                r.text("authentication_type_desc")
            ),
        );
        out.raw.insert(
            name,
            (
                r.text("type"),
                r.text("authentication_type_desc"),
                r.text("sid"),
            ),
        );
    }
    Ok(out)
}

/// A Windows user or group on the source that is a Microsoft Entra one on the target: Managed
/// Instance has no Windows authentication, and instance-objects' `users` part remaps them.
fn explain_principal(s: &str, t: &str) -> Option<String> {
    let windows = s.starts_with("WINDOWS_USER") || s.starts_with("WINDOWS_GROUP");
    let entra = t.starts_with("EXTERNAL_USER") || t.starts_with("EXTERNAL_GROUP");
    (windows && entra).then(|| {
        "Managed Instance has no Windows authentication: the Windows principal was remapped to \
         Microsoft Entra."
            .to_owned()
    })
}

/// Logins by sid (hex) → name.
fn logins(cx: &mut Context<'_, Config>, server: Server) -> Result<BTreeMap<String, String>> {
    let rows = read(
        cx,
        server,
        "sys.server_principals",
        LOGINS_SQL,
        &[],
        CATALOG,
    )?;
    Ok(rows
        .iter()
        .map(|r| (r.text("sid"), r.text("name")))
        .collect())
}

fn orphans(
    cx: &mut Context<'_, Config>,
    src: &Principals,
    tgt: &Principals,
) -> Result<Vec<Finding>> {
    let target_logins = logins(cx, Server::Target)?;
    let target_names: BTreeSet<&String> = target_logins.values().collect();
    let mut source_logins: Option<BTreeMap<String, String>> = None;
    let mut out = Vec::new();
    let mut checked = 0;
    for (user, (kind, auth, sid)) in &tgt.raw {
        if kind != "S" || auth != "INSTANCE" {
            continue;
        }
        checked += 1;
        if target_logins.contains_key(sid) {
            continue;
        }
        // The login the user belonged to on the source, by the source user's sid; else a
        // login of the user's own name.
        if source_logins.is_none() {
            source_logins = Some(logins(cx, Server::Source)?);
        }
        let from_source = src
            .raw
            .get(user)
            .and_then(|(_, _, s)| source_logins.as_ref().and_then(|l| l.get(s)))
            .cloned();
        let login = from_source.unwrap_or_else(|| user.clone());
        let exists = if target_names.contains(&login) {
            "exists on the target"
        } else {
            "does not exist on the target yet: create it first (instance-objects moves logins \
             with their sids, which makes this statement unnecessary)"
        };
        out.push(Finding::new(
            "orphaned-user",
            user,
            Verdict::Differs,
            "orphaned-user",
            format!(
                "SQL user whose sid (0x{sid}) matches no login on the target. Login `{login}` \
                 {exists}. Fix: ALTER USER {} WITH LOGIN = {};",
                quote_name(user),
                quote_name(&login)
            ),
        ));
    }
    if out.is_empty() {
        out.push(Finding::new(
            "orphaned-user",
            "(SQL users)",
            Verdict::Same,
            "no-orphans",
            format!("All {checked} SQL users mapped to logins have their login on the target."),
        ));
    }
    Ok(out)
}

fn pairs(
    cx: &mut Context<'_, Config>,
    server: Server,
    what: &str,
    sql: &str,
    name: impl Fn(&crate::sql::Row<'_>) -> (String, String),
) -> Result<Named> {
    let rows = read(cx, server, what, sql, &[], CATALOG)?;
    Ok(rows.iter().map(|r| name(&r)).collect())
}

pub fn run(cx: &mut Context<'_, Config>, tally: &mut Tally) -> Result<()> {
    let db = cx.item().to_owned();
    let (s, t) = (quote_name(&db), quote_name(&cx.config().target_db(&db)));
    let src = principals(cx, Server::Source, &s)?;
    let tgt = principals(cx, Server::Target, &t)?;
    let mut found = named(
        "principal",
        "database principals",
        &src.described,
        &tgt.described,
        &|_, s, t| explain_principal(s, t),
    );
    found.extend(orphans(cx, &src, &tgt)?);
    let member = |r: &crate::sql::Row<'_>| {
        (
            format!("{} in {}", r.text("member_name"), r.text("role_name")),
            "member".to_owned(),
        )
    };
    let sm = pairs(
        cx,
        Server::Source,
        "sys.database_role_members",
        &members_sql(&s),
        member,
    )?;
    let tm = pairs(
        cx,
        Server::Target,
        "sys.database_role_members",
        &members_sql(&t),
        member,
    )?;
    found.extend(named(
        "role-member",
        "role memberships",
        &sm,
        &tm,
        &|_, _, _| None,
    ));
    let permission = |r: &crate::sql::Row<'_>| {
        let minor = r.int("minor_id");
        let column = if minor != 0 {
            format!(" (column {minor})")
        } else {
            String::new()
        };
        (
            format!(
                "{} {} on {} {}{column} to {}",
                r.text("state_desc"),
                r.text("permission_name"),
                r.text("class_desc"),
                r.text("securable"),
                r.text("grantee")
            ),
            "granted".to_owned(),
        )
    };
    let sp = pairs(
        cx,
        Server::Source,
        "sys.database_permissions",
        &permissions_sql(&s),
        permission,
    )?;
    let tp = pairs(
        cx,
        Server::Target,
        "sys.database_permissions",
        &permissions_sql(&t),
        permission,
    )?;
    found.extend(named("permission", "permissions", &sp, &tp, &|_, _, _| {
        None
    }));
    emit_all(cx, tally, found);
    Ok(())
}
