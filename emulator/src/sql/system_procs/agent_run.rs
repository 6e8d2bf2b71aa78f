//! `sp_start_job` ("sp_start_job (Transact-SQL)"): the emulated Agent runs a job's steps at
//! once and records them as Agent does — `sysjobhistory` (one row per step, then the job
//! outcome as step 0), `sysjobactivity` (start and stop), `sysjobstepslogs` for steps whose
//! flags log to a table (8 overwrite, 16 append) — so the link's connectivity recipes
//! ("Prepare environment for link") read their results where the docs read them. The only
//! command it runs is PowerShell `tnc` (hadr::tnc), answered from the emulated network; any
//! other step fails with a message saying so.
//!
//! SQL Server starts the job and returns; the emulator finishes it before returning, which a
//! script that polls for the outcome cannot tell apart.

use super::context::{Ctx, Def};
use super::job_checks::{guid_text, job_of};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[(
    "sp_start_job",
    &[
        "job_name",
        "job_id",
        "error_flag",
        "server_name",
        "step_name",
        "output_flag",
    ],
    start_job,
)];

struct Step {
    id: i64,
    name: String,
    subsystem: String,
    command: String,
    flags: i64,
    on_success: (i64, i64),
    on_fail: (i64, i64),
    uid: String,
}

fn t(v: &Value) -> String {
    crate::protocol::types::text(v)
}

fn n(v: &Value) -> i64 {
    crate::protocol::types::int(v)
}

/// (yyyymmdd, hhmmss) of now, UTC, as sysjobhistory's run_date and run_time hold them.
fn run_stamp() -> (i64, i64, String) {
    let now = crate::protocol::types::now_text();
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let date = digits(&now[..10]).parse().unwrap_or(0);
    let time = digits(&now[11..19]).parse().unwrap_or(0);
    (date, time, now)
}

fn start_job(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, name) = job_of(c)?;
    let key = Value::Text(job.clone());
    let servers = c.scalar_int(
        r#"SELECT COUNT(*) FROM msdb."dbo.sysjobservers" WHERE job_id = ?1 COLLATE NOCASE"#,
        std::slice::from_ref(&key),
    )?;
    if servers.unwrap_or(0) == 0 {
        // SQL Server error 14256.
        return Err(ServerMessage::error(
            14256,
            16,
            format!(
                "Cannot start the job \"{name}\" (ID {job}) because it does not have any job server or servers defined. Associate the job with a job server by calling sp_add_jobserver."
            ),
        ));
    }
    let start = c
        .scalar_int(
            r#"SELECT start_step_id FROM msdb."dbo.sysjobs" WHERE job_id = ?1 COLLATE NOCASE"#,
            std::slice::from_ref(&key),
        )?
        .unwrap_or(1);
    let (_, rows) = c.inst.query(
        r#"SELECT step_id, step_name, subsystem, command, flags, on_success_action, on_success_step_id,
                  on_fail_action, on_fail_step_id, step_uid
           FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE ORDER BY step_id"#,
        std::slice::from_ref(&key),
    )?;
    let steps: Vec<Step> = rows
        .iter()
        .map(|r| Step {
            id: n(&r[0]),
            name: t(&r[1]),
            subsystem: t(&r[2]),
            command: t(&r[3]),
            flags: n(&r[4]),
            on_success: (n(&r[5]), n(&r[6])),
            on_fail: (n(&r[7]), n(&r[8])),
            uid: guid_text(&r[9]),
        })
        .collect();
    let (date, time, started) = run_stamp();
    let server = c.s.personality.server_name().to_owned();
    let mut at = steps.iter().position(|s| s.id == start);
    let mut last: Option<&Step> = None;
    let mut job_ok = !steps.is_empty();
    // Each step runs at most once per start, which also ends any goto loop.
    let mut ran = vec![false; steps.len()];
    while let Some(k) = at {
        if ran[k] {
            break;
        }
        ran[k] = true;
        let step = &steps[k];
        last = Some(step);
        let (ok, output) = run_step(c, step);
        let message = format!(
            "Executed as user: NT Service\\SQLSERVERAGENT. {}  Process Exit Code {}.  The step {}.",
            output.trim_end().replace('\n', " "),
            i32::from(!ok),
            if ok { "succeeded" } else { "failed" }
        );
        history(
            c,
            &job,
            step.id,
            &step.name,
            &message,
            ok,
            (date, time),
            &server,
        )?;
        if step.flags & (8 | 16) != 0 {
            if step.flags & 16 == 0 {
                c.inst.execute(
                    r#"DELETE FROM msdb."dbo.sysjobstepslogs" WHERE step_uid = ?1 COLLATE NOCASE"#,
                    &[Value::Text(step.uid.clone())],
                )?;
            }
            c.inst.execute(
                r#"INSERT INTO msdb."dbo.sysjobstepslogs" (log, date_created, date_modified, log_size, step_uid)
                   VALUES (?1, ?2, ?2, ?3, ?4)"#,
                &[
                    Value::Text(output.clone()),
                    Value::Text(started.clone()),
                    Value::Int(output.len() as i64),
                    Value::Text(step.uid.clone()),
                ],
            )?;
        }
        // on_*_action: 1 quit reporting success, 2 quit reporting failure, 3 next step,
        // 4 go to the step named ("sp_add_jobstep").
        let (action, goto) = if ok { step.on_success } else { step.on_fail };
        at = match action {
            1 => {
                job_ok = true;
                None
            }
            3 => {
                job_ok = ok;
                (k + 1 < steps.len()).then_some(k + 1)
            }
            4 => {
                job_ok = ok;
                steps.iter().position(|s| s.id == goto)
            }
            _ => {
                job_ok = false;
                None
            }
        };
    }
    let outcome = match last {
        Some(s) => format!(
            "The job {}.  The Job was invoked by User {}.  The last step to run was step {} ({}).",
            if job_ok { "succeeded" } else { "failed" },
            c.s.user,
            s.id,
            s.name
        ),
        None => "The job failed.  The job has no steps to run.".to_owned(),
    };
    let history_id = history(
        c,
        &job,
        0,
        "(Job outcome)",
        &outcome,
        job_ok,
        (date, time),
        &server,
    )?;
    let (_, _, stopped) = run_stamp();
    c.inst.execute(
        r#"INSERT INTO msdb."dbo.sysjobactivity" VALUES (1, ?1, ?2, 'ferry-emulator', ?2, ?2, ?3, ?4, ?4, ?5, NULL)"#,
        &[
            key.clone(),
            Value::Text(started),
            last.map_or(Value::Null, |s| Value::Int(s.id)),
            Value::Text(stopped),
            Value::Int(history_id),
        ],
    )?;
    c.inst.execute(
        r#"UPDATE msdb."dbo.sysjobservers" SET last_run_outcome = ?2, last_outcome_message = ?3, last_run_date = ?4, last_run_time = ?5
           WHERE job_id = ?1 COLLATE NOCASE"#,
        &[key, Value::Int(i64::from(job_ok)), Value::Text(outcome), Value::Int(date), Value::Int(time)],
    )?;
    Ok(vec![Outcome::Info(ServerMessage {
        class: 0,
        ..ServerMessage::error(0, 0, format!("Job '{name}' started successfully."))
    })])
}

/// Runs one step: (succeeded, its output).
fn run_step(c: &mut Ctx<'_, '_>, step: &Step) -> (bool, String) {
    if !step.subsystem.eq_ignore_ascii_case("PowerShell") {
        return (
            false,
            format!(
                "ferry-emulator runs only PowerShell steps (tnc); step '{}' uses the {} subsystem.",
                step.name, step.subsystem
            ),
        );
    }
    match crate::hadr::tnc::parse(&step.command) {
        Err(why) => (false, why),
        // Test-NetConnection exits 0 whether or not the port answered.
        Ok(tnc) => (true, crate::hadr::tnc::run(&tnc, c.inst).output),
    }
}

#[allow(clippy::too_many_arguments)]
fn history(
    c: &mut Ctx<'_, '_>,
    job: &str,
    step_id: i64,
    step_name: &str,
    message: &str,
    ok: bool,
    (date, time): (i64, i64),
    server: &str,
) -> Result<i64, ServerMessage> {
    c.inst.execute(
        r#"INSERT INTO msdb."dbo.sysjobhistory" (job_id, step_id, step_name, sql_message_id, sql_severity, message,
               run_status, run_date, run_time, run_duration, operator_id_emailed, operator_id_netsent,
               operator_id_paged, retries_attempted, server)
           VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6, ?7, 0, 0, 0, 0, 0, ?8)"#,
        &[
            Value::Text(job.to_owned()),
            Value::Int(step_id),
            Value::Text(step_name.to_owned()),
            Value::Text(message.to_owned()),
            Value::Int(i64::from(ok)),
            Value::Int(date),
            Value::Int(time),
            Value::Text(server.to_owned()),
        ],
    )?;
    c.scalar_int(
        r#"SELECT MAX(instance_id) FROM msdb."dbo.sysjobhistory""#,
        &[],
    )
    .map(|v| v.unwrap_or(0))
}
