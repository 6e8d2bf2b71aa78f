//! Job steps: `sp_add_jobstep` and `sp_update_jobstep` ("sp_add_jobstep (Transact-SQL)"),
//! checked as msdb's sp_verify_jobstep and sp_verify_subsystem check them.

use super::context::{Ctx, Def};
use super::job_checks::job_of;
use super::proc_errors::{exists, invalid, invalid_see, invalid_step_ref, mi_parameters, missing};
use super::step_fields::{Step, read_step, values};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value, int, text};
use crate::sql::outcome::Outcome;

const STEP_PARAMS: &[&str] = &[
    "job_id",
    "job_name",
    "step_id",
    "step_name",
    "subsystem",
    "command",
    "additional_parameters",
    "cmdexec_success_code",
    "on_success_action",
    "on_success_step_id",
    "on_fail_action",
    "on_fail_step_id",
    "server",
    "database_name",
    "database_user_name",
    "retry_attempts",
    "retry_interval",
    "os_run_priority",
    "output_file_name",
    "flags",
    "proxy_id",
    "proxy_name",
    "step_uid",
];

pub(super) const ENTRIES: &[Def] = &[
    ("sp_add_jobstep", STEP_PARAMS, add_jobstep),
    ("sp_update_jobstep", STEP_PARAMS, update_jobstep),
];

/// sp_verify_subsystem: the name as syssubsystems spells it ('DTS' is SSIS); 14234 otherwise.
fn subsystem(c: &mut Ctx<'_, '_>, name: &str) -> Result<String, ServerMessage> {
    let name = if name.eq_ignore_ascii_case("DTS") {
        "SSIS"
    } else {
        name
    };
    c.scalar(
        r#"SELECT subsystem FROM msdb."dbo.syssubsystems" WHERE subsystem = ?1 COLLATE NOCASE"#,
        &[Value::Text(name.to_owned())],
    )?
    .map(|v| text(&v))
    .ok_or_else(|| invalid_see("@subsystem", "sp_enum_sqlagent_subsystems"))
}

/// The proxy a step names, by id or name (14262 when there is none); it must be granted the
/// step's subsystem (14600), and a T-SQL step takes none (14517).
fn proxy(c: &mut Ctx<'_, '_>, subsystem: &str) -> Result<Option<i64>, ServerMessage> {
    let id = match (c.p.int("proxy_id")?, c.p.text("proxy_name")) {
        (None, None) => return Ok(None),
        (Some(id), _) => c
            .scalar_int(
                r#"SELECT proxy_id FROM msdb."dbo.sysproxies" WHERE proxy_id = ?1"#,
                &[Value::Int(id)],
            )?
            .ok_or_else(|| missing("@proxy_id", &id.to_string()))?,
        (None, Some(name)) => c
            .scalar_int(
                r#"SELECT proxy_id FROM msdb."dbo.sysproxies" WHERE name = ?1 COLLATE NOCASE"#,
                &[Value::Text(name.clone())],
            )?
            .ok_or_else(|| missing("@proxy_name", &name))?,
    };
    if subsystem.eq_ignore_ascii_case("TSQL") {
        return Err(ServerMessage::error(
            14517,
            16,
            "A proxy account is not allowed for a Transact-SQL subsystem.",
        ));
    }
    let granted = c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysproxysubsystem" p JOIN msdb."dbo.syssubsystems" s ON s.subsystem_id = p.subsystem_id WHERE p.proxy_id = ?1 AND s.subsystem = ?2 COLLATE NOCASE"#,
        &[Value::Int(id), Value::Text(subsystem.to_owned())],
    )?;
    if granted.is_none() {
        let name = c
            .scalar(
                r#"SELECT name FROM msdb."dbo.sysproxies" WHERE proxy_id = ?1"#,
                &[Value::Int(id)],
            )?
            .map(|v| text(&v))
            .unwrap_or_default();
        return Err(ServerMessage::error(
            14600,
            16,
            format!(
                "Proxy \"{name}\" has not been granted permission to use subsystem \"{subsystem}\"."
            ),
        ));
    }
    Ok(Some(id))
}

/// sp_verify_jobstep's checks of a step about to be stored as `step_id` of a job whose last
/// step is `max`; warnings (14236) are returned as messages.
fn verify(
    c: &mut Ctx<'_, '_>,
    job: &str,
    step_id: i64,
    max: i64,
    s: &mut Step,
    renamed: bool,
) -> Result<Vec<Outcome>, ServerMessage> {
    s.subsystem = subsystem(c, &s.subsystem)?;
    s.proxy_id = match proxy(c, &s.subsystem)? {
        Some(p) => Some(p),
        None if c.p.given("proxy_id") || c.p.given("proxy_name") => None,
        None => s.proxy_id,
    };
    if c.mi() && s.output_file_name.is_some() {
        // "SQL Managed Instance can't access external resources" (T-SQL differences, SQL Server
        // Agent): a step's output file has nowhere to go. What MI answers is not documented;
        // the emulator refuses it with MI's documented error for unsupported parameters.
        return Err(mi_parameters("@output_file_name"));
    }
    if renamed {
        let dup = c.scalar_int(
            r#"SELECT 1 FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE AND step_name = ?2 AND step_id <> ?3"#,
            &[Value::Text(job.to_owned()), Value::Text(s.step_name.clone()), Value::Int(step_id)],
        )?;
        if dup.is_some() {
            return Err(exists("@step_name", &s.step_name));
        }
    }
    let mut out = Vec::new();
    for (action, target, pname, tname) in [
        (
            s.on_success_action,
            s.on_success_step_id,
            "@on_success_action",
            "@on_success_step",
        ),
        (
            s.on_fail_action,
            s.on_fail_step_id,
            "@on_failure_action",
            "@on_failure_step",
        ),
    ] {
        if !(1..=4).contains(&action) {
            return Err(invalid(pname, "1, 2, 3, 4"));
        }
        if action == 4 && (target < 1 || target == step_id) {
            return Err(invalid_step_ref(tname, step_id));
        }
        if action == 4 && target > max {
            // Forward references are allowed, with a warning (14236, severity 10).
            let param = if pname == "@on_success_action" {
                "@on_success_step_id"
            } else {
                "@on_fail_step_id"
            };
            out.push(Outcome::Info(ServerMessage::info(
                14236,
                format!("Warning: Non-existent step referenced by {param}."),
            )));
        }
    }
    if ![-15, -1, 0, 1, 15].contains(&s.os_run_priority) {
        return Err(invalid("@os_run_priority", "-15, -1, 0, 1, 15"));
    }
    if !(0..=114).contains(&s.flags) {
        return Err(invalid("@flags", "0..114"));
    }
    let sub = s.subsystem.to_ascii_uppercase();
    if sub == "CMDEXEC" {
        s.database_name = None;
        s.database_user_name = None;
    }
    if sub != "TSQL" {
        s.database_user_name = None;
    } else {
        s.server = None;
        let db = s
            .database_name
            .get_or_insert_with(|| "master".into())
            .clone();
        if c.inst.database(&db).is_none() {
            return Err(missing("@database_name", &db));
        }
    }
    Ok(out)
}

fn max_step(c: &mut Ctx<'_, '_>, job: &str) -> Result<i64, ServerMessage> {
    Ok(c.scalar_int(
        r#"SELECT MAX(step_id) FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE"#,
        &[Value::Text(job.to_owned())],
    )?
    .unwrap_or(0))
}

fn add_jobstep(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, _) = job_of(c)?;
    if c.p.text("step_name").is_none() {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_jobstep' expects parameter '@step_name', which was not supplied.",
        ));
    }
    let max = max_step(c, &job)?;
    let step_id = c.p.int("step_id")?.unwrap_or(max + 1);
    if step_id < 1 || step_id > max + 1 {
        return Err(invalid("@step_id", &format!("1..{}", max + 1)));
    }
    let mut s = read_step(c, None)?;
    let out = verify(c, &job, step_id, max, &mut s, true)?;
    let key = Value::Text(job.clone());
    if step_id <= max {
        // Inserting before existing steps moves them (and the steps that jump to them) up one.
        c.write(
            "msdb",
            "dbo.sysjobsteps",
            r#"UPDATE msdb."dbo.sysjobsteps" SET step_id = step_id + 1,
                on_success_step_id = CASE WHEN on_success_step_id >= ?2 THEN on_success_step_id + 1 ELSE on_success_step_id END,
                on_fail_step_id = CASE WHEN on_fail_step_id >= ?2 THEN on_fail_step_id + 1 ELSE on_fail_step_id END
                WHERE job_id = ?1 COLLATE NOCASE AND step_id >= ?2"#,
            &[key.clone(), Value::Int(step_id)],
        )?;
    }
    // A step uid the caller passes is kept, else a new one (sp_add_jobstep_internal).
    let uid = match c.p.guid("step_uid")? {
        Some(u) => u,
        None => crate::instance::guid_text(&crate::instance::unique_bytes(&s.step_name, 16))
            .to_ascii_uppercase(),
    };
    let mut params = vec![key.clone(), Value::Int(step_id)];
    params.extend(values(&s));
    params.push(Value::Text(uid.clone()));
    c.write(
        "msdb",
        "dbo.sysjobsteps",
        r#"INSERT INTO msdb."dbo.sysjobsteps" (job_id, step_id, step_name, subsystem, command, flags, additional_parameters,
            cmdexec_success_code, on_success_action, on_success_step_id, on_fail_action, on_fail_step_id, server,
            database_name, database_user_name, retry_attempts, retry_interval, os_run_priority, output_file_name, proxy_id,
            step_uid, last_run_outcome, last_run_duration, last_run_retries, last_run_date, last_run_time)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, 0, 0, 0, 0, 0)"#,
        &params,
    )?;
    touch_job(c, &job)?;
    c.p.set_output(
        "step_uid",
        SqlType::UniqueIdentifier,
        crate::protocol::types::parse_guid_text(&uid),
    );
    Ok(out)
}

fn update_jobstep(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, _) = job_of(c)?;
    let Some(step_id) = c.p.int("step_id")? else {
        return Err(missing("@step_id", ""));
    };
    let key = Value::Text(job.clone());
    let (_, rows) = c.inst.query(
        r#"SELECT step_name, subsystem, command, flags, additional_parameters, cmdexec_success_code, on_success_action,
            on_success_step_id, on_fail_action, on_fail_step_id, server, database_name, database_user_name,
            retry_attempts, retry_interval, os_run_priority, output_file_name, proxy_id
            FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE AND step_id = ?2"#,
        &[key.clone(), Value::Int(step_id)],
    )?;
    let Some(r) = rows.into_iter().next() else {
        return Err(missing("@step_id", &step_id.to_string()));
    };
    let t = |i: usize| (r[i] != Value::Null).then(|| text(&r[i]));
    let base = Step {
        step_name: text(&r[0]),
        subsystem: text(&r[1]),
        command: t(2),
        flags: int(&r[3]),
        additional_parameters: t(4),
        cmdexec_success_code: int(&r[5]),
        on_success_action: int(&r[6]),
        on_success_step_id: int(&r[7]),
        on_fail_action: int(&r[8]),
        on_fail_step_id: int(&r[9]),
        server: t(10),
        database_name: t(11),
        database_user_name: t(12),
        retry_attempts: int(&r[13]),
        retry_interval: int(&r[14]),
        os_run_priority: int(&r[15]),
        output_file_name: t(16),
        proxy_id: (r[17] != Value::Null).then(|| int(&r[17])),
    };
    let old_name = base.step_name.clone();
    let mut s = read_step(c, Some(base))?;
    let max = max_step(c, &job)?;
    let renamed = !s.step_name.eq_ignore_ascii_case(&old_name);
    let out = verify(c, &job, step_id, max, &mut s, renamed)?;
    let mut params = vec![key, Value::Int(step_id)];
    params.extend(values(&s));
    c.write(
        "msdb",
        "dbo.sysjobsteps",
        r#"UPDATE msdb."dbo.sysjobsteps" SET step_name = ?3, subsystem = ?4, command = ?5, flags = ?6,
            additional_parameters = ?7, cmdexec_success_code = ?8, on_success_action = ?9, on_success_step_id = ?10,
            on_fail_action = ?11, on_fail_step_id = ?12, server = ?13, database_name = ?14, database_user_name = ?15,
            retry_attempts = ?16, retry_interval = ?17, os_run_priority = ?18, output_file_name = ?19, proxy_id = ?20
            WHERE job_id = ?1 COLLATE NOCASE AND step_id = ?2"#,
        &params,
    )?;
    touch_job(c, &job)?;
    Ok(out)
}

/// A change to a job's steps or schedules is a change to the job (date_modified and
/// version_number, as sp_add_jobstep and its siblings update them).
pub(super) fn touch_job(c: &mut Ctx<'_, '_>, job: &str) -> Result<(), ServerMessage> {
    let now = c.now();
    c.write(
        "msdb",
        "dbo.sysjobs",
        r#"UPDATE msdb."dbo.sysjobs" SET date_modified = ?2, version_number = version_number + 1 WHERE job_id = ?1 COLLATE NOCASE"#,
        &[Value::Text(job.to_owned()), now],
    )?;
    Ok(())
}
