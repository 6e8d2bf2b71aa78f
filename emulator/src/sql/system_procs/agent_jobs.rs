//! Jobs: `sp_add_job`, `sp_update_job`, `sp_delete_job`, `sp_add_jobserver` ("sp_add_job
//! (Transact-SQL)" and its sibling pages), with the checks of msdb's sp_verify_job and
//! sp_verify_job_identifiers.

use super::context::{Ctx, Def};
use super::job_checks::{Notify, category, job_of, notify, owner};
use super::proc_errors::{exists, invalid, missing};
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
