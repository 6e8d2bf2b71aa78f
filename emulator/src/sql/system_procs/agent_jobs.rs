//! Jobs: `sp_add_job`, `sp_update_job`, `sp_delete_job`, `sp_add_jobserver` ("sp_add_job
//! (Transact-SQL)" and its sibling pages), with the checks of msdb's sp_verify_job and
//! sp_verify_job_identifiers.

use super::context::{Ctx, Def};
use super::proc_errors::{exists, invalid, invalid_see, mi_agent_feature, missing, supply_either};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[
    (
        "sp_add_job",
        &[
            "job_name",
            "enabled",
            "description",
            "start_step_id",
            "category_name",
            "category_id",
            "owner_login_name",
            "notify_level_eventlog",
            "notify_level_email",
            "notify_level_netsend",
            "notify_level_page",
            "notify_email_operator_name",
            "notify_netsend_operator_name",
            "notify_page_operator_name",
            "delete_level",
            "job_id",
            "originating_server",
        ],
        add_job,
    ),
    (
        "sp_update_job",
        &[
            "job_id",
            "job_name",
            "new_name",
            "enabled",
            "description",
            "start_step_id",
            "category_name",
            "owner_login_name",
            "notify_level_eventlog",
            "notify_level_email",
            "notify_level_netsend",
            "notify_level_page",
            "notify_email_operator_name",
            "notify_netsend_operator_name",
            "notify_page_operator_name",
            "delete_level",
            "automatic_post",
        ],
        update_job,
    ),
    (
        "sp_delete_job",
        &[
            "job_id",
            "job_name",
            "originating_server",
            "delete_history",
            "delete_unused_schedule",
        ],
        delete_job,
    ),
    (
        "sp_add_jobserver",
        &["job_id", "job_name", "server_name", "automatic_post"],
        add_jobserver,
    ),
];

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
fn category(
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

fn operator(
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
fn owner(c: &mut Ctx<'_, '_>) -> Result<Option<Vec<u8>>, ServerMessage> {
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

fn add_job(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let Some(name) = c.p.text("job_name") else {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_job' expects parameter '@job_name', which was not supplied.",
        ));
    };
    if c.p.guid("job_id")?.is_some() {
        // A job id is Agent's to assign (14274 when not called by SQLAgent).
        return Err(ServerMessage::error(
            14274,
            16,
            "Cannot add, update, or delete a job (or its steps or schedules) that originated from an MSX server.",
        ));
    }
    let owner = match owner(c)? {
        Some(sid) => sid,
        None => c.caller_sid()?,
    };
    let description =
        c.p.text("description")
            .unwrap_or_else(|| "No description available.".into());
    let category_name = c.p.text("category_name");
    let category = category(c, category_name.as_deref(), c.p.int("category_id")?)?;
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysjobs" WHERE name = ?1 COLLATE NOCASE"#,
        &[Value::Text(name.clone())],
    )?
    .is_some()
    {
        return Err(exists("@name", &name));
    }
    let enabled = c.p.int_or("enabled", 1)?;
    if enabled != 0 && enabled != 1 {
        return Err(invalid("@enabled", "0, 1"));
    }
    if c.p.int_or("start_step_id", 1)? != 1 {
        return Err(invalid("@start_step_id", "1"));
    }
    let n = notify(c, None)?;
    let delete_level = c.p.int_or("delete_level", 0)?;
    if delete_level & 3 != delete_level {
        return Err(invalid("@delete_level", "0, 1, 2, 3"));
    }
    let id =
        crate::instance::guid_text(&crate::instance::unique_bytes(&name, 16)).to_ascii_uppercase();
    let now = c.now();
    c.write(
        "msdb",
        "dbo.sysjobs",
        r#"INSERT INTO msdb."dbo.sysjobs" VALUES (?1, 0, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1)"#,
        &[
            Value::Text(id.clone()),
            Value::Text(name),
            Value::Int(enabled),
            Value::Text(description),
            Value::Int(category),
            Value::Binary(owner),
            Value::Int(n.eventlog),
            Value::Int(n.email.0),
            Value::Int(n.netsend.0),
            Value::Int(n.page.0),
            Value::Int(n.email.1),
            Value::Int(n.netsend.1),
            Value::Int(n.page.1),
            Value::Int(delete_level),
            now.clone(),
            now,
        ],
    )?;
    let g = crate::protocol::types::parse_guid_text(&id);
    c.p.set_output("job_id", SqlType::UniqueIdentifier, g);
    Ok(Vec::new())
}

fn update_job(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (id, name) = job_of(c)?;
    let key = [Value::Text(id.clone())];
    let (_, rows) = c.inst.query(
        r#"SELECT notify_level_eventlog, notify_level_email, notify_email_operator_id, notify_level_netsend, notify_netsend_operator_id, notify_level_page, notify_page_operator_id FROM msdb."dbo.sysjobs" WHERE job_id = ?1 COLLATE NOCASE"#,
        &key,
    )?;
    let r: Vec<i64> = rows[0].iter().map(crate::protocol::types::int).collect();
    let current = Notify {
        eventlog: r[0],
        email: (r[1], r[2]),
        netsend: (r[3], r[4]),
        page: (r[5], r[6]),
    };
    let n = notify(c, Some(&current))?;
    let mut sets: Vec<(&str, Value)> = vec![
        ("notify_level_eventlog", Value::Int(n.eventlog)),
        ("notify_level_email", Value::Int(n.email.0)),
        ("notify_email_operator_id", Value::Int(n.email.1)),
        ("notify_level_netsend", Value::Int(n.netsend.0)),
        ("notify_netsend_operator_id", Value::Int(n.netsend.1)),
        ("notify_level_page", Value::Int(n.page.0)),
        ("notify_page_operator_id", Value::Int(n.page.1)),
    ];
    if let Some(new_name) = c.p.text("new_name") {
        let taken = c.scalar_int(
            r#"SELECT 1 FROM msdb."dbo.sysjobs" WHERE name = ?1 COLLATE NOCASE AND job_id <> ?2 COLLATE NOCASE"#,
            &[Value::Text(new_name.clone()), Value::Text(id.clone())],
        )?;
        if taken.is_some() {
            return Err(exists("@name", &new_name));
        }
        sets.push(("name", Value::Text(new_name)));
    }
    if let Some(enabled) = c.p.int("enabled")? {
        if enabled != 0 && enabled != 1 {
            return Err(invalid("@enabled", "0, 1"));
        }
        sets.push(("enabled", Value::Int(enabled)));
    }
    if let Some(d) = c.p.raw_text("description") {
        sets.push(("description", Value::Text(d.trim().to_owned())));
    }
    if let Some(step) = c.p.int("start_step_id")? {
        let max = c
            .scalar_int(
                r#"SELECT MAX(step_id) FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE"#,
                &key,
            )?
            .unwrap_or(0);
        if step < 1 || step > max + 1 {
            return Err(invalid("@start_step_id", &format!("1..{}", max + 1)));
        }
        sets.push(("start_step_id", Value::Int(step)));
    }
    if c.p.text("category_name").is_some() {
        let cat_name = c.p.text("category_name");
        let cat = category(c, cat_name.as_deref(), None)?;
        sets.push(("category_id", Value::Int(cat)));
    }
    if let Some(login) = c.p.text("owner_login_name") {
        // sp_update_job: an owner that is not a login is error 14262.
        let sid = c
            .login_sid(&login)?
            .ok_or_else(|| missing("@owner_login_name", &login))?;
        sets.push(("owner_sid", Value::Binary(sid)));
    }
    if let Some(level) = c.p.int("delete_level")? {
        if level & 3 != level {
            return Err(invalid("@delete_level", "0, 1, 2, 3"));
        }
        sets.push(("delete_level", Value::Int(level)));
    }
    sets.push(("date_modified", c.now()));
    let assignments: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, (col, _))| format!("{col} = ?{}", i + 2))
        .collect();
    let sql = format!(
        r#"UPDATE msdb."dbo.sysjobs" SET {}, version_number = version_number + 1 WHERE job_id = ?1 COLLATE NOCASE"#,
        assignments.join(", ")
    );
    let mut params = vec![Value::Text(id)];
    params.extend(sets.into_iter().map(|(_, v)| v));
    c.write("msdb", "dbo.sysjobs", &sql, &params)?;
    let _ = name;
    Ok(Vec::new())
}

fn delete_job(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (id, _) = job_of(c)?;
    let key = [Value::Text(id.clone())];
    let unused = c.p.int_or("delete_unused_schedule", 1)? != 0;
    let (_, schedules) = c.inst.query(
        r#"SELECT schedule_id FROM msdb."dbo.sysjobschedules" WHERE job_id = ?1 COLLATE NOCASE"#,
        &key,
    )?;
    for (table, col) in [
        ("dbo.sysjobsteps", "job_id"),
        ("dbo.sysjobschedules", "job_id"),
        ("dbo.sysjobservers", "job_id"),
        ("dbo.sysjobs", "job_id"),
    ] {
        let sql = format!(r#"DELETE FROM msdb."{table}" WHERE {col} = ?1 COLLATE NOCASE"#);
        c.write("msdb", table, &sql, &key)?;
    }
    // Alerts that ran the job no longer do (sp_delete_job).
    c.write(
        "msdb",
        "dbo.sysalerts",
        r#"UPDATE msdb."dbo.sysalerts" SET job_id = '00000000-0000-0000-0000-000000000000' WHERE job_id = ?1 COLLATE NOCASE"#,
        &key,
    )?;
    if unused {
        // @delete_unused_schedule (default 1): the job's schedules that no other job uses go too.
        for row in schedules {
            let sid = row.into_iter().next().unwrap_or(Value::Null);
            let others = c.scalar_int(
                r#"SELECT COUNT(*) FROM msdb."dbo.sysjobschedules" WHERE schedule_id = ?1"#,
                std::slice::from_ref(&sid),
            )?;
            if others.unwrap_or(0) == 0 {
                c.write(
                    "msdb",
                    "dbo.sysschedules",
                    r#"DELETE FROM msdb."dbo.sysschedules" WHERE schedule_id = ?1"#,
                    &[sid],
                )?;
            }
        }
    }
    Ok(Vec::new())
}

fn add_jobserver(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (id, name) = job_of(c)?;
    let server = c.p.text("server_name").unwrap_or_else(|| "(LOCAL)".into());
    let local = server.eq_ignore_ascii_case("(local)")
        || server.eq_ignore_ascii_case(c.s.personality.server_name());
    if !local {
        // A target server must be enlisted (MSX/TSX); the emulator has none, and MI does not
        // support multi-server administration.
        return Err(missing("@server_name", &server));
    }
    let key = [Value::Text(id)];
    if c
        .scalar_int(
            r#"SELECT 1 FROM msdb."dbo.sysjobservers" WHERE job_id = ?1 COLLATE NOCASE AND server_id = 0"#,
            &key,
        )?
        .is_some()
    {
        return Err(ServerMessage::error(
            14269,
            16,
            format!("Job '{name}' is already targeted at server '{server}'."),
        ));
    }
    c.write(
        "msdb",
        "dbo.sysjobservers",
        r#"INSERT INTO msdb."dbo.sysjobservers" VALUES (?1, 0, 5, NULL, 0, 0, 0)"#,
        &key,
    )?;
    Ok(Vec::new())
}
