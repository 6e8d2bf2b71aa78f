//! User-defined server roles and server role membership (methods.md §5.2). The fixed roles
//! exist on the MI already; membership in them carries over like any other.

use std::collections::BTreeSet;

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use super::principals::{self, Principal, is_system};
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

fn members(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<BTreeSet<(i64, i64)>> {
    let t = Table::read(
        cx,
        conn,
        "sys.server_role_members",
        "SELECT role_principal_id, member_principal_id FROM sys.server_role_members",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| (r.int("role_principal_id"), r.int("member_principal_id")))
        .collect())
}

fn by_id(ps: &[Principal], id: i64) -> Option<&Principal> {
    ps.iter().find(|p| p.id == id)
}

fn by_name<'a>(ps: &'a [Principal], name: &str) -> Option<&'a Principal> {
    ps.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let cfg = cx.config().clone();
    let patterns = cfg.server_roles.patterns();
    let logins = cfg.logins.patterns();
    let src = principals::read(cx, s.source)?;
    let dst = principals::read(cx, s.target)?;
    let src_members = members(cx, s.source)?;
    let dst_members = members(cx, s.target)?;
    let mut out = Vec::new();
    for role in src.iter().filter(|p| p.kind == "R" && !p.fixed_role) {
        if !patterns.admits(&role.name) || role.name.eq_ignore_ascii_case("public") {
            continue;
        }
        let verdict = match by_name(&dst, &role.name) {
            Some(t) if t.kind == "R" => Verdict::Unchanged,
            Some(t) => Verdict::Conflict {
                differs: format!("the name belongs to a principal of type {} there", t.kind),
                replace: Vec::new(),
            },
            None => {
                let owner = by_id(&src, role.owner_id)
                    .filter(|o| !is_system(o))
                    .and_then(|o| principals::target_name(&cfg, o).ok());
                let sql = match owner {
                    Some(o) => format!(
                        "CREATE SERVER ROLE {} AUTHORIZATION {}",
                        quote_name(&role.name),
                        quote_name(&o)
                    ),
                    None => format!("CREATE SERVER ROLE {}", quote_name(&role.name)),
                };
                Verdict::Create(vec![Statement::new(sql)])
            }
        };
        out.push(Decision::new("server-role", &role.name, verdict));
    }
    for (role_id, member_id) in &src_members {
        let (Some(role), Some(member)) = (by_id(&src, *role_id), by_id(&src, *member_id)) else {
            continue;
        };
        if !patterns.admits(&role.name) || is_system(member) || !logins.admits(&member.name) {
            continue;
        }
        let name = format!("{} ∋ {}", role.name, member.name);
        let target_member = match principals::target_name(&cfg, member) {
            Ok(n) => n,
            Err(_) => {
                out.push(Decision::new(
                    "server-role-member",
                    name,
                    Verdict::Refused {
                        code: "member-not-migrated",
                        why: format!(
                            "`{}` has no login on the MI (see its login row); map it, then apply again",
                            member.name
                        ),
                    },
                ));
                continue;
            }
        };
        let present = match (by_name(&dst, &role.name), by_name(&dst, &target_member)) {
            (Some(r), Some(m)) => dst_members.contains(&(r.id, m.id)),
            _ => false,
        };
        let verdict = if present {
            Verdict::Unchanged
        } else {
            Verdict::Create(vec![Statement::new(format!(
                "ALTER SERVER ROLE {} ADD MEMBER {}",
                quote_name(&role.name),
                quote_name(&target_member)
            ))])
        };
        out.push(Decision::new("server-role-member", name, verdict));
    }
    Ok(out)
}
