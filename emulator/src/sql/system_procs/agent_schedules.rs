//! Schedules: `sp_add_schedule`, `sp_attach_schedule`, `sp_add_jobschedule`,
//! `sp_delete_schedule` ("sp_add_schedule (Transact-SQL)"), with msdb's sp_verify_schedule
//! checks of the freq_* values, their defaults and their reasons (14278 with 14572 … 14577).

use super::agent_steps::touch_job;
use super::context::{Ctx, Def};
use super::job_checks::job_of;
use super::proc_errors::{invalid_plain, missing, supply_either};
use super::schedule_checks::{FREQ, verify};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[
    (
        "sp_add_schedule",
        &[
            "schedule_name",
            "enabled",
            "freq_type",
            "freq_interval",
            "freq_subday_type",
            "freq_subday_interval",
            "freq_relative_interval",
            "freq_recurrence_factor",
            "active_start_date",
            "active_end_date",
            "active_start_time",
            "active_end_time",
            "owner_login_name",
            "schedule_uid",
            "schedule_id",
            "originating_server",
        ],
        add_schedule,
    ),
    (
        "sp_add_jobschedule",
        &[
            "job_id",
            "job_name",
            "name",
            "enabled",
            "freq_type",
            "freq_interval",
            "freq_subday_type",
            "freq_subday_interval",
            "freq_relative_interval",
            "freq_recurrence_factor",
            "active_start_date",
            "active_end_date",
            "active_start_time",
            "active_end_time",
            "schedule_id",
            "automatic_post",
            "schedule_uid",
        ],
        add_jobschedule,
    ),
    (
        "sp_attach_schedule",
        &[
            "job_id",
            "job_name",
            "schedule_id",
            "schedule_name",
            "automatic_post",
        ],
        attach_schedule,
    ),
    (
        "sp_update_schedule",
        &[
            "schedule_id",
            "name",
            "new_name",
            "enabled",
            "freq_type",
            "freq_interval",
            "freq_subday_type",
            "freq_subday_interval",
            "freq_relative_interval",
            "freq_recurrence_factor",
            "active_start_date",
            "active_end_date",
            "active_start_time",
            "active_end_time",
            "owner_login_name",
            "automatic_post",
        ],
        update_schedule,
    ),
    (
        "sp_delete_schedule",
        &[
            "schedule_id",
            "schedule_name",
            "force_delete",
            "automatic_post",
        ],
        delete_schedule,
    ),
];

/// Stores a verified schedule; returns its id and uid.
fn insert(
    c: &mut Ctx<'_, '_>,
    name: &str,
    owner: Vec<u8>,
    f: [i64; 11],
) -> Result<(i64, String), ServerMessage> {
    if name.eq_ignore_ascii_case("ALL") {
        return Err(invalid_plain("@name"));
    }
    // A uid the caller passes is kept (scripted jobs pass the source's), else a new one.
    let uid = match c.p.guid("schedule_uid")? {
        Some(u) => u,
        None => crate::instance::guid_text(&crate::instance::unique_bytes(name, 16))
            .to_ascii_uppercase(),
    };
    let now = c.now();
    let mut params = vec![
        Value::Text(uid.clone()),
        Value::Text(name.to_owned()),
        Value::Binary(owner),
    ];
    params.extend(f.iter().map(|v| Value::Int(*v)));
    params.push(now.clone());
    params.push(now);
    c.write(
        "msdb",
        "dbo.sysschedules",
        &format!(
            r#"INSERT INTO msdb."dbo.sysschedules" (schedule_uid, originating_server_id, name, owner_sid, {}, date_created, date_modified, version_number)
               VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1)"#,
            FREQ.join(", ")
        ),
        &params,
    )?;
    let id = c
        .scalar_int(
            r#"SELECT MAX(schedule_id) FROM msdb."dbo.sysschedules""#,
            &[],
        )?
        .unwrap_or(1);
    Ok((id, uid))
}

fn outputs(c: &mut Ctx<'_, '_>, id: i64, uid: &str) {
    c.p.set_output("schedule_id", SqlType::Int, Value::Int(id));
    c.p.set_output(
        "schedule_uid",
        SqlType::UniqueIdentifier,
        crate::protocol::types::parse_guid_text(uid),
    );
}

fn add_schedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let Some(name) = c.p.text("schedule_name") else {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_schedule' expects parameter '@schedule_name', which was not supplied.",
        ));
    };
    let f = verify(c, 0, None)?;
    let owner = match c.p.raw_text("owner_login_name").filter(|n| !n.is_empty()) {
        Some(login) => c
            .login_sid(&login)?
            .ok_or_else(|| missing("@owner_login_name", &login))?,
        None => c.caller_sid()?,
    };
    let (id, uid) = insert(c, &name, owner, f)?;
    outputs(c, id, &uid);
    Ok(Vec::new())
}

fn attach(c: &mut Ctx<'_, '_>, job: &str, schedule: i64) -> Result<(), ServerMessage> {
    let key = [Value::Text(job.to_owned()), Value::Int(schedule)];
    let already = c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysjobschedules" WHERE job_id = ?1 COLLATE NOCASE AND schedule_id = ?2"#,
        &key,
    )?;
    if already.is_none() {
        c.write(
            "msdb",
            "dbo.sysjobschedules",
            r#"INSERT INTO msdb."dbo.sysjobschedules" VALUES (?2, ?1, 0, 0)"#,
            &key,
        )?;
    }
    touch_job(c, job)
}

fn add_jobschedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, _) = job_of(c)?;
    let Some(name) = c.p.text("name") else {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_jobschedule' expects parameter '@name', which was not supplied.",
        ));
    };
    let f = verify(c, 1, None)?;
    // The new schedule belongs to the job's owner (sp_add_jobschedule).
    let owner = match c.scalar(
        r#"SELECT owner_sid FROM msdb."dbo.sysjobs" WHERE job_id = ?1 COLLATE NOCASE"#,
        &[Value::Text(job.clone())],
    )? {
        Some(Value::Binary(b)) => b,
        _ => c.caller_sid()?,
    };
    let (id, uid) = insert(c, &name, owner, f)?;
    attach(c, &job, id)?;
    outputs(c, id, &uid);
    Ok(Vec::new())
}

/// sp_verify_schedule_identifiers: exactly one of the id and the name, naming one schedule.
fn schedule_of(c: &mut Ctx<'_, '_>, name_param: &str) -> Result<(i64, String), ServerMessage> {
    match (c.p.int("schedule_id")?, c.p.text(name_param)) {
        (Some(id), None) => c
            .scalar(
                r#"SELECT name FROM msdb."dbo.sysschedules" WHERE schedule_id = ?1"#,
                &[Value::Int(id)],
            )?
            .map(|n| (id, crate::protocol::types::text(&n)))
            .ok_or_else(|| missing("@schedule_id", &id.to_string())),
        (None, Some(name)) => {
            let (_, rows) = c.inst.query(
                r#"SELECT schedule_id FROM msdb."dbo.sysschedules" WHERE name = ?1 COLLATE NOCASE"#,
                &[Value::Text(name.clone())],
            )?;
            match rows.len() {
                0 => Err(missing(&format!("@{name_param}"), &name)),
                1 => Ok((crate::protocol::types::int(&rows[0][0]), name)),
                _ => Err(ServerMessage::error(
                    14371,
                    16,
                    format!(
                        "There are two or more schedules named \"{name}\". Specify @schedule_id instead of @schedule_name to uniquely identify the schedule."
                    ),
                )),
            }
        }
        _ => Err(supply_either(
            14373,
            "@schedule_id",
            &format!("@{name_param}"),
            "",
        )),
    }
}

fn attach_schedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, _) = job_of(c)?;
    let (schedule, _) = schedule_of(c, "schedule_name")?;
    attach(c, &job, schedule)?;
    Ok(Vec::new())
}

fn delete_schedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (id, _) = schedule_of(c, "schedule_name")?;
    let used = c
        .scalar_int(
            r#"SELECT COUNT(*) FROM msdb."dbo.sysjobschedules" WHERE schedule_id = ?1"#,
            &[Value::Int(id)],
        )?
        .unwrap_or(0);
    if used > 0 && c.p.int_or("force_delete", 0)? == 0 {
        return Err(ServerMessage::error(
            14372,
            16,
            "The schedule was not deleted because it is being used by one or more jobs.",
        ));
    }
    c.write(
        "msdb",
        "dbo.sysjobschedules",
        r#"DELETE FROM msdb."dbo.sysjobschedules" WHERE schedule_id = ?1"#,
        &[Value::Int(id)],
    )?;
    c.write(
        "msdb",
        "dbo.sysschedules",
        r#"DELETE FROM msdb."dbo.sysschedules" WHERE schedule_id = ?1"#,
        &[Value::Int(id)],
    )?;
    Ok(Vec::new())
}

/// sp_update_schedule: what the call passes changes, the rest is kept; the result is checked
/// as a new schedule is.
fn update_schedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (id, _) = schedule_of(c, "name")?;
    let (_, rows) = c.inst.query(
        &format!(
            r#"SELECT {} FROM msdb."dbo.sysschedules" WHERE schedule_id = ?1"#,
            FREQ.join(", ")
        ),
        &[Value::Int(id)],
    )?;
    let mut base = [0i64; 11];
    for (b, v) in base.iter_mut().zip(rows.first().into_iter().flatten()) {
        *b = crate::protocol::types::int(v);
    }
    let f = verify(c, base[1], Some(base))?;
    let mut params: Vec<Value> = vec![Value::Int(id)];
    params.extend(f.iter().map(|v| Value::Int(*v)));
    params.push(c.now());
    let sets: Vec<String> = FREQ
        .iter()
        .enumerate()
        .map(|(i, col)| format!("{col} = ?{}", i + 2))
        .collect();
    let mut sql = format!(
        r#"UPDATE msdb."dbo.sysschedules" SET {}, date_modified = ?13, version_number = version_number + 1"#,
        sets.join(", ")
    );
    if let Some(new_name) = c.p.text("new_name") {
        params.push(Value::Text(new_name));
        sql += &format!(", name = ?{}", params.len());
    }
    if let Some(login) = c.p.text("owner_login_name") {
        let sid = c
            .login_sid(&login)?
            .ok_or_else(|| missing("@owner_login_name", &login))?;
        params.push(Value::Binary(sid));
        sql += &format!(", owner_sid = ?{}", params.len());
    }
    sql += " WHERE schedule_id = ?1";
    c.write("msdb", "dbo.sysschedules", &sql, &params)?;
    Ok(Vec::new())
}
