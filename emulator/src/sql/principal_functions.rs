//! SUSER_ID, SUSER_SID, SUSER_SNAME / SUSER_NAME with an argument, IS_SRVROLEMEMBER and
//! HAS_PERMS_BY_NAME on the server (their Transact-SQL reference pages), and the procedures
//! sp_addsrvrolemember and sp_dropsrvrolemember.

use super::env::{Env, Typed};
use super::outcome::Outcome;
use super::procedures::Arg;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, SqlType, Value};

fn text(t: Option<&Typed>) -> Option<String> {
    match t.map(|t| &t.1) {
        None | Some(Value::Null) => None,
        Some(v) => Some(types::text(v)),
    }
}

/// The function `name` (lower case) with its arguments.
pub fn call(name: &str, args: &[Typed], env: &Env<'_>) -> Result<Typed, ServerMessage> {
    let inst = env.inst;
    let me = env.s.user;
    let login = |a: Option<&Typed>| match a {
        None => inst.principal(me),
        Some(_) => text(a).and_then(|n| inst.principal(&n)),
    };
    Ok(match name {
        // SUSER_ID(['login']): the principal_id, NULL when there is none.
        "suser_id" => (
            SqlType::Int,
            login(args.first()).map_or(Value::Null, |p| Value::Int(p.0)),
        ),
        // SUSER_SID(['login']): the SID.
        "suser_sid" => (
            SqlType::VarBinary(Some(85)),
            login(args.first()).map_or(Value::Null, |p| Value::Binary(p.2)),
        ),
        // SUSER_SNAME(sid) / SUSER_NAME(id): the login's name.
        "suser_sname" | "suser_name" => {
            let p = match args.first().map(|a| &a.1) {
                Some(Value::Binary(b)) if name == "suser_sname" => {
                    inst.principal_where("sid", rusqlite::types::Value::Blob(b.clone()))
                }
                Some(Value::Null) | None => None,
                Some(v) => inst.principal_where(
                    "principal_id",
                    rusqlite::types::Value::Integer(types::int(v)),
                ),
            };
            (
                SqlType::NVarChar(Some(128)),
                p.map_or(Value::Null, |p| Value::Text(p.1)),
            )
        }
        // HAS_PERMS_BY_NAME(NULL, NULL, 'permission'): the caller's effective server
        // permission (instance/effective_permissions.rs). Other securable classes are not
        // modelled: refused by name rather than answered wrongly.
        "has_perms_by_name" => {
            if args.len() < 3 || text(args.first()).is_some() || text(args.get(1)).is_some() {
                return Err(ServerMessage::error(
                    50000,
                    16,
                    "ferry-emulator models HAS_PERMS_BY_NAME only for the server (securable and securable_class NULL)",
                ));
            }
            let permission = text(args.get(2)).unwrap_or_default();
            let r = inst.has_server_permission(me, &permission);
            (
                SqlType::Int,
                r.map_or(Value::Null, |b| Value::Int(i64::from(b))),
            )
        }
        // IS_SRVROLEMEMBER('role' [, 'login']): 1, 0, or NULL for a role or login that is
        // not valid.
        _ => {
            let role = text(args.first()).unwrap_or_default();
            let who = match args.get(1) {
                Some(a) => text(Some(a)).unwrap_or_default(),
                None => me.to_owned(),
            };
            let r = inst.is_srvrolemember(&role, &who);
            (
                SqlType::Int,
                r.map_or(Value::Null, |b| Value::Int(i64::from(b))),
            )
        }
    })
}

/// sp_addsrvrolemember / sp_dropsrvrolemember [@loginame =] 'login', [@rolename =] 'role';
/// None for any other procedure.
pub fn procedure(
    name: &str,
    args: &[Arg<'_>],
    values: &[Typed],
    inst: &mut Instance,
) -> Option<Result<Vec<Outcome>, ServerMessage>> {
    let add = match name {
        "sp_addsrvrolemember" => true,
        "sp_dropsrvrolemember" => false,
        _ => return None,
    };
    let mut login = None;
    let mut role = None;
    for (i, (a, v)) in args.iter().zip(values).enumerate() {
        let slot = match a.name.map(str::to_ascii_lowercase).as_deref() {
            Some("loginame") => 0,
            Some("rolename") => 1,
            Some(other) => {
                // SQL Server error 8145 (severity 16).
                return Some(Err(ServerMessage::error(
                    8145,
                    16,
                    format!("@{other} is not a parameter for procedure {name}."),
                )));
            }
            None => i,
        };
        if slot == 0 {
            login = text(Some(v));
        } else {
            role = text(Some(v));
        }
    }
    let (Some(login), Some(role)) = (login, role) else {
        // SQL Server error 201 (severity 16).
        let missing = if args.is_empty() {
            "@loginame"
        } else {
            "@rolename"
        };
        return Some(Err(ServerMessage::error(
            201,
            16,
            format!(
                "Procedure or function '{name}' expects parameter '{missing}', which was not supplied."
            ),
        )));
    };
    Some(
        inst.srvrolemember_procedure(&login, &role, add)
            .map(|()| Vec::new()),
    )
}
