//! Server-level permissions (methods.md §5.2): `GRANT`/`DENY` on the server and on logins and
//! server roles. Endpoint and availability group permissions have nothing to land on in a
//! Managed Instance and are reported, not made. `CONNECT SQL` granted to a login is what
//! `CREATE LOGIN` gives it anyway; a denied one is the login's own row.

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use super::principals::{self, Principal, is_system};
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

/// One row of `sys.server_permissions`, with its principals resolved to names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Permission {
    class: i64,
    class_desc: String,
    /// The login or role a class-101 permission is on.
    on: Option<Principal>,
    grantee: Principal,
    permission: String,
    /// G grant, W grant with grant option, D deny.
    state: String,
}

fn read(
    cx: &mut Context<'_, Config>,
    conn: SqlConnection,
    ps: &[Principal],
) -> Result<Vec<Permission>> {
    let t = Table::read(
        cx,
        conn,
        "sys.server_permissions",
        "SELECT class, class_desc, major_id, grantee_principal_id, permission_name, state \
         FROM sys.server_permissions",
        &[],
    )?;
    let find = |id: i64| ps.iter().find(|p| p.id == id).cloned();
    Ok(t.rows()
        .filter_map(|r| {
            let class = r.int("class");
            Some(Permission {
                class,
                class_desc: r.text("class_desc"),
                on: if class == 101 {
                    find(r.int("major_id"))
                } else {
                    None
                },
                grantee: find(r.int("grantee_principal_id"))?,
                permission: r.text("permission_name").trim().to_uppercase(),
                state: r.text("state").trim().to_uppercase(),
            })
        })
        .collect())
}

fn statement(p: &Permission, grantee: &str, on: Option<&str>) -> String {
    let verb = if p.state == "D" { "DENY" } else { "GRANT" };
    let on = match (on, &p.on) {
        (Some(name), Some(target)) if target.kind == "R" => {
            format!(" ON SERVER ROLE::{}", quote_name(name))
        }
        (Some(name), Some(_)) => format!(" ON LOGIN::{}", quote_name(name)),
        _ => String::new(),
    };
    let with = if p.state == "W" {
        " WITH GRANT OPTION"
    } else {
        ""
    };
    format!(
        "{verb} {}{on} TO {}{with}",
        p.permission,
        quote_name(grantee)
    )
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let cfg = cx.config().clone();
    let patterns = cfg.server_permissions.patterns();
    let src_p = principals::read(cx, s.source)?;
    let dst_p = principals::read(cx, s.target)?;
    let src = read(cx, s.source, &src_p)?;
    let dst = read(cx, s.target, &dst_p)?;
    let mut out = Vec::new();
    for p in &src {
        if is_system(&p.grantee) || (p.permission == "CONNECT SQL" && p.class == 100) {
            continue;
        }
        if !patterns.admits(&p.grantee.name) {
            continue;
        }
        let shown = statement(p, &p.grantee.name, p.on.as_ref().map(|o| o.name.as_str()));
        if p.class != 100 && p.class != 101 {
            out.push(Decision::new(
                "server-permission",
                shown,
                Verdict::Skipped {
                    code: "no-such-securable",
                    why: format!(
                        "a permission on an {} : Managed Instance has no user endpoints or \
                         availability groups, so there is nothing to grant it on",
                        p.class_desc
                    ),
                },
            ));
            continue;
        }
        let grantee = match principals::target_name(&cfg, &p.grantee) {
            Ok(n) => n,
            Err(_) => {
                out.push(Decision::new(
                    "server-permission",
                    shown,
                    Verdict::Refused {
                        code: "grantee-not-migrated",
                        why: format!(
                            "`{}` has no login on the MI (see its login row)",
                            p.grantee.name
                        ),
                    },
                ));
                continue;
            }
        };
        let on = match &p.on {
            Some(o) => match principals::target_name(&cfg, o) {
                Ok(n) => Some(n),
                Err(_) => {
                    out.push(Decision::new(
                        "server-permission",
                        shown,
                        Verdict::Refused {
                            code: "securable-not-migrated",
                            why: format!("`{}` has no login on the MI", o.name),
                        },
                    ));
                    continue;
                }
            },
            None if p.class == 101 => continue,
            None => None,
        };
        let present = dst.iter().any(|t| {
            t.class == p.class
                && t.permission == p.permission
                && t.state == p.state
                && t.grantee.name.eq_ignore_ascii_case(&grantee)
                && match (&t.on, &on) {
                    (Some(a), Some(b)) => a.name.eq_ignore_ascii_case(b),
                    (None, None) => true,
                    _ => false,
                }
        });
        let sql = statement(p, &grantee, on.as_deref());
        out.push(Decision::new(
            "server-permission",
            shown,
            if present {
                Verdict::Unchanged
            } else {
                Verdict::Create(vec![Statement::new(sql)])
            },
        ));
    }
    Ok(out)
}
