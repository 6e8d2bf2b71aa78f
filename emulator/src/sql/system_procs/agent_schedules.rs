//! Schedules: `sp_add_schedule`, `sp_attach_schedule`, `sp_add_jobschedule`,
//! `sp_delete_schedule` ("sp_add_schedule (Transact-SQL)"), with msdb's sp_verify_schedule
//! checks of the freq_* values, their defaults and their reasons (14278 with 14572 … 14577).

use super::agent_jobs::job_of;
use super::agent_steps::touch_job;
use super::context::{Ctx, Def};
use super::proc_errors::{
    bad_schedule, invalid, invalid_plain, mi_agent_feature, missing, supply_either,
};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};
use crate::sql::outcome::Outcome;

const FREQ: &[&str] = &[
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
];

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

/// A schedule's values after sp_verify_schedule (defaults filled, unused ones zeroed), in
/// FREQ's order.
fn verify(c: &Ctx<'_, '_>, default_freq_type: i64) -> Result<[i64; 11], ServerMessage> {
    let g = |n: &str, d: i64| -> Result<i64, ServerMessage> { c.p.int_or(n, d) };
    let freq_type = g("freq_type", default_freq_type)?;
    if c.mi() && freq_type == 0x80 {
        // msdb on MI (sp_add_schedule, sp_verify_schedule): "start when the CPU is idle" is
        // refused ("Job schedule trigger based on an idle CPU is not supported").
        return Err(mi_agent_feature("Schedule job ONIDLE"));
    }
    let enabled = g("enabled", 1)?;
    let mut interval = g("freq_interval", 0)?;
    let mut subday_type = g("freq_subday_type", 0)?;
    let mut subday_interval = g("freq_subday_interval", 0)?;
    let mut relative = g("freq_relative_interval", 0)?;
    let mut recurrence = g("freq_recurrence_factor", 0)?;
    let today = {
        let t = crate::protocol::types::now_text();
        t[..10].replace('-', "").parse().unwrap_or(20260101)
    };
    let start_date =
        c.p.int("active_start_date")?
            .filter(|d| *d != 0)
            .unwrap_or(today);
    let end_date =
        c.p.int("active_end_date")?
            .filter(|d| *d != 0)
            .unwrap_or(99991231);
    let start_time = g("active_start_time", 0)?;
    let end_time =
        c.p.int("active_end_time")?
            .filter(|t| *t != 0)
            .unwrap_or(235959);
    if enabled != 0 && enabled != 1 {
        return Err(invalid("@enabled", "0, 1"));
    }
    if freq_type == 0x2 {
        return Err(ServerMessage::error(
            14295,
            16,
            "Frequency Type 0x2 (OnDemand) is no longer supported.",
        ));
    }
    if ![0x1, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80].contains(&freq_type) {
        return Err(invalid("@freq_type", "1, 4, 8, 16, 32, 64, 128"));
    }
    if subday_type != 0 && ![1, 2, 4, 8].contains(&subday_type) {
        return Err(invalid("@freq_subday_type", "0x1, 0x2, 0x4, 0x8"));
    }
    for (d, name) in [
        (end_date, "@active_end_date"),
        (start_date, "@active_start_date"),
    ] {
        if !(19900101..=99991231).contains(&d) || !valid_date(d) {
            return Err(invalid(name, "19900101..99991231"));
        }
    }
    if end_date < start_date {
        return Err(ServerMessage::error(
            14288,
            16,
            "@active_end_date cannot be before @active_start_date.",
        ));
    }
    for (t, name) in [
        (end_time, "@active_end_time"),
        (start_time, "@active_start_time"),
    ] {
        if !(0..=235959).contains(&t) {
            return Err(invalid(name, "000000..235959"));
        }
        for (part, v, max) in [
            ("hour", t / 10000, 23),
            ("minute", t / 100 % 100, 59),
            ("second", t % 100, 59),
        ] {
            if v > max {
                return Err(ServerMessage::error(
                    14287,
                    16,
                    format!("The '{name}' supplied has an invalid {part}."),
                ));
            }
        }
    }
    if start_time == end_time && [2, 4, 8].contains(&subday_type) {
        return Err(invalid(
            "@active_end_time",
            "before or after @active_start_time",
        ));
    }
    if [0x1, 0x40, 0x80].contains(&freq_type) {
        (interval, subday_type, subday_interval, relative, recurrence) = (0, 0, 0, 0, 0);
    } else {
        if subday_type == 0 {
            subday_type = 1;
        }
        if (subday_type != 1 && subday_interval < 1) || (subday_type == 2 && subday_interval < 10) {
            return Err(bad_schedule(
                "The specified '@freq_subday_interval' is invalid.",
            ));
        }
        match freq_type {
            0x4 => {
                recurrence = 0;
                if interval < 1 {
                    return Err(bad_schedule(
                        "@freq_interval must be at least 1 for a daily job.",
                    ));
                }
            }
            0x8 if !(1..=127).contains(&interval) => {
                return Err(bad_schedule(
                    "@freq_interval must be a valid day of the week bitmask [Sunday = 1 .. Saturday = 64] for a weekly job.",
                ));
            }
            0x10 if !(1..=31).contains(&interval) => {
                return Err(bad_schedule(
                    "@freq_interval must be between 1 and 31 for a monthly job.",
                ));
            }
            0x20 if ![1, 2, 4, 8, 16].contains(&relative) => {
                return Err(bad_schedule(
                    "@freq_relative_interval must be one of 1st (0x1), 2nd (0x2), 3rd [0x4], 4th (0x8) or Last (0x10).",
                ));
            }
            0x20 if !(1..=10).contains(&interval) => {
                return Err(bad_schedule(
                    "@freq_interval must be between 1 and 10 (1 = Sunday .. 7 = Saturday, 8 = Day, 9 = Weekday, 10 = Weekend-day) for a monthly-relative job.",
                ));
            }
            _ => {}
        }
        if [0x8, 0x10, 0x20].contains(&freq_type) && recurrence < 1 {
            return Err(bad_schedule("@freq_recurrence_factor must be at least 1."));
        }
    }
    Ok([
        enabled,
        freq_type,
        interval,
        subday_type,
        subday_interval,
        relative,
        recurrence,
        start_date,
        end_date,
        start_time,
        end_time,
    ])
}

fn valid_date(d: i64) -> bool {
    let (y, m, day) = (d / 10000, d / 100 % 100, d % 100);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

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
    let f = verify(c, 0)?;
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
    let f = verify(c, 1)?;
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
fn schedule_of(c: &mut Ctx<'_, '_>) -> Result<(i64, String), ServerMessage> {
    match (c.p.int("schedule_id")?, c.p.text("schedule_name")) {
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
                0 => Err(missing("@schedule_name", &name)),
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
        _ => Err(supply_either(14373, "@schedule_id", "@schedule_name", "")),
    }
}

fn attach_schedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, _) = job_of(c)?;
    let (schedule, _) = schedule_of(c)?;
    attach(c, &job, schedule)?;
    Ok(Vec::new())
}

fn delete_schedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (id, _) = schedule_of(c)?;
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
