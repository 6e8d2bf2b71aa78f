//! The checks msdb's job procedures share: sp_verify_job_identifiers (which job a call
//! names), and sp_verify_job's checks of a category, the notification levels and operators,
//! and the owner.

use super::context::Ctx;
use super::proc_errors::{invalid, invalid_see, mi_agent_feature, missing, supply_either};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;

/// sp_verify_job_identifiers: exactly one of @job_id and @job_name, naming one job. Returns
/// (job_id, name).
pub(super) fn job_of(c: &mut Ctx<'_, '_>) -> Result<(String, String), ServerMessage> {
    let id = c.p.guid("job_id")?;
    let name = c.p.text("job_name");
    match (id, name) {
        (Some(id), None) => {
            let name = c.scalar(
                r#"SELECT name FROM msdb."dbo.sysjobs" WHERE job_id = ?1 COLLATE NOCASE"#,
                &[Value::Text(id.clone())],
            )?;
            match name {
                Some(n) => Ok((id, crate::protocol::types::text(&n))),
                None => Err(missing("@job_id", &id)),
            }
        }
        (None, Some(name)) => {
            let (_, rows) = c.inst.query(
                r#"SELECT job_id FROM msdb."dbo.sysjobs" WHERE name = ?1 COLLATE NOCASE"#,
                &[Value::Text(name.clone())],
            )?;
            match rows.len() {
                0 => Err(missing("@job_name", &name)),
                1 => Ok((guid_text(&rows[0][0]), name)),
                // SQL Server error 14293.
                _ => Err(ServerMessage::error(
                    14293,
                    16,
                    format!(
                        "There are two or more jobs named '{name}'. Specify @job_id instead of @job_name to uniquely identify the job."
                    ),
                )),
            }
        }
        _ => Err(supply_either(14294, "@job_id", "@job_name", "")),
    }
}

pub(super) fn guid_text(v: &Value) -> String {
    crate::protocol::types::text(v).to_ascii_uppercase()
}

/// A job category by name (class 1 = job), or the default (0, [Uncategorized (Local)]).
pub(super) fn category(
    c: &mut Ctx<'_, '_>,
    name: Option<&str>,
    id: Option<i64>,
) -> Result<i64, ServerMessage> {
    if let Some(id) = id {
        let found = c.scalar_int(
            r#"SELECT category_id FROM msdb."dbo.syscategories" WHERE category_id = ?1 AND category_class = 1"#,
            &[Value::Int(id)],
        )?;
        return found.ok_or_else(|| missing("@category_id", &id.to_string()));
    }
    let Some(name) = name.filter(|n| !n.eq_ignore_ascii_case("[DEFAULT]")) else {
        return Ok(0);
    };
    let found = c.scalar_int(
        r#"SELECT category_id FROM msdb."dbo.syscategories" WHERE name = ?1 COLLATE NOCASE AND category_class = 1"#,
        &[Value::Text(name.to_owned())],
    )?;
    let id = found.ok_or_else(|| invalid_see("@category_name", "sp_help_category"))?;
    if id == 1 {
        // "Jobs from MSX" is Agent's own (error 14267).
        return Err(ServerMessage::error(
            14267,
            16,
            format!("Cannot add a job to the '{name}' job category."),
        ));
    }
    Ok(id)
}

/// The notification levels and operators of a job, as sp_verify_job checks them: a level is
/// 0..3; an operator must exist (14234) and then needs a non-zero level (14266).
pub(super) struct Notify {
    pub eventlog: i64,
    pub email: (i64, i64),
    pub netsend: (i64, i64),
    pub page: (i64, i64),
}

pub(super) fn notify(
    c: &mut Ctx<'_, '_>,
    current: Option<&Notify>,
) -> Result<Notify, ServerMessage> {
    let mi = c.mi();
    let level =
        |c: &Ctx<'_, '_>, name: &str, old: i64, default: i64| -> Result<i64, ServerMessage> {
            let v =
                c.p.int(name)?
                    .unwrap_or(if current.is_some() { old } else { default });
            if v & 3 != v {
                return Err(invalid(&format!("@{name}"), "0, 1, 2, 3"));
            }
            Ok(v)
        };
    let cur = |f: fn(&Notify) -> (i64, i64)| current.map_or((0, 0), f);
    let mut eventlog = level(
        c,
        "notify_level_eventlog",
        current.map_or(2, |n| n.eventlog),
        2,
    )?;
    let netsend_level = level(c, "notify_level_netsend", cur(|n| n.netsend).0, 0)?;
    let page_level = level(c, "notify_level_page", cur(|n| n.page).0, 0)?;
    if mi {
        // msdb on MI (sp_add_job, EngineEdition 8): net send is refused (41914 'NetSend') and
        // the event log level silently becomes 0. Pagers are not supported either ("SQL Agent
        // job limitations in SQL Managed Instance"); msdb does not check them, the emulator
        // refuses them the same way (the stricter reading).
        if netsend_level != 0 || c.p.text("notify_netsend_operator_name").is_some() {
            return Err(mi_agent_feature("NetSend"));
        }
        if page_level != 0 || c.p.text("notify_page_operator_name").is_some() {
            return Err(mi_agent_feature("Pager"));
        }
        eventlog = 0;
    }
    let email_level = level(c, "notify_level_email", cur(|n| n.email).0, 0)?;
    let email = operator(c, "email", email_level, cur(|n| n.email))?;
    let netsend = operator(c, "netsend", netsend_level, cur(|n| n.netsend))?;
    let page = operator(c, "page", page_level, cur(|n| n.page))?;
    Ok(Notify {
        eventlog,
        email,
        netsend,
        page,
    })
}

pub(super) fn operator(
    c: &mut Ctx<'_, '_>,
    kind: &str,
    level: i64,
    current: (i64, i64),
) -> Result<(i64, i64), ServerMessage> {
    let param = format!("notify_{kind}_operator_name");
    let name = match c.p.text(&param) {
        Some(n) => n,
        None if c.p.given(&param) => return Ok((0, 0)),
        // sp_update_job keeps the operator it had when the name is not passed.
        None if current.1 != 0 => return Ok((level, current.1)),
        None => return Ok((0, 0)),
    };
    let id = c
        .scalar_int(
            r#"SELECT id FROM msdb."dbo.sysoperators" WHERE name = ?1 COLLATE NOCASE"#,
            &[Value::Text(name)],
        )?
        .ok_or_else(|| invalid_see(&format!("@{param}"), "sp_help_operator"))?;
    if level == 0 {
        return Err(invalid(&format!("@notify_level_{kind}"), "1, 2, 3"));
    }
    Ok((level, id))
}

/// The owner's SID: the caller's by default; a login that does not exist (or a Windows group)
/// is refused as sp_verify_job refuses it (14234, valid values from sp_helplogins).
pub(super) fn owner(c: &mut Ctx<'_, '_>) -> Result<Option<Vec<u8>>, ServerMessage> {
    match c.p.raw_text("owner_login_name").filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(name) => match c.login_sid(&name)? {
            Some(sid) if !c.is_group(&sid)? => Ok(Some(sid)),
            _ => Err(invalid_see(
                "@owner_login_name",
                "sp_helplogins [excluding Windows NT groups]",
            )),
        },
    }
}
