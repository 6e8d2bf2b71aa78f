//! The statements that make a job on the MI: one batch per procedure call, each naming the job
//! by `@job_name`, so every batch stands alone and the `.sql` file runs top to bottom. A
//! schedule is the one batch with two calls: schedule names are not unique in msdb, so it is
//! attached by the id `sp_add_schedule` returns rather than by a name another schedule may
//! share (error 14371).

use super::model::{Job, Schedule, Step};
use super::rules::Plan;
use crate::decision::Statement;
use crate::msdb::{Arg, exec, text};

fn job_name(job: &Job) -> (&'static str, Arg) {
    ("job_name", text(&job.name))
}

fn step(job: &Job, s: &Step) -> Statement {
    let mut a = vec![
        job_name(job),
        ("step_id", Arg::Int(s.step_id)),
        ("step_name", text(&s.name)),
        ("subsystem", text(&s.subsystem)),
        ("command", text(&s.command)),
    ];
    if !s.database_name.is_empty() {
        a.push(("database_name", text(&s.database_name)));
    }
    if !s.database_user_name.is_empty() {
        a.push(("database_user_name", text(&s.database_user_name)));
    }
    if !s.server.is_empty() {
        a.push(("server", text(&s.server)));
    }
    a.extend([
        ("on_success_action", Arg::Int(s.on_success_action)),
        ("on_success_step_id", Arg::Int(s.on_success_step_id)),
        ("on_fail_action", Arg::Int(s.on_fail_action)),
        ("on_fail_step_id", Arg::Int(s.on_fail_step_id)),
        ("retry_attempts", Arg::Int(s.retry_attempts)),
        ("retry_interval", Arg::Int(s.retry_interval)),
        ("cmdexec_success_code", Arg::Int(s.cmdexec_success_code)),
        ("flags", Arg::Int(s.flags)),
    ]);
    Statement::new(exec("sp_add_jobstep", &a))
}

fn schedule(job: &Job, owner: &str, s: &Schedule) -> Statement {
    let add = exec(
        "sp_add_schedule",
        &[
            ("schedule_name", text(&s.name)),
            ("enabled", Arg::Int(i64::from(s.enabled))),
            ("freq_type", Arg::Int(s.freq_type)),
            ("freq_interval", Arg::Int(s.freq_interval)),
            ("freq_subday_type", Arg::Int(s.freq_subday_type)),
            ("freq_subday_interval", Arg::Int(s.freq_subday_interval)),
            ("freq_relative_interval", Arg::Int(s.freq_relative_interval)),
            ("freq_recurrence_factor", Arg::Int(s.freq_recurrence_factor)),
            ("active_start_date", Arg::Int(s.active_start_date)),
            ("active_end_date", Arg::Int(s.active_end_date)),
            ("active_start_time", Arg::Int(s.active_start_time)),
            ("active_end_time", Arg::Int(s.active_end_time)),
            ("owner_login_name", text(owner)),
            ("schedule_id", Arg::Output("schedule_id")),
        ],
    );
    let attach = exec(
        "sp_attach_schedule",
        &[job_name(job), ("schedule_id", Arg::Var("schedule_id"))],
    );
    Statement::new(format!("DECLARE @schedule_id int;\n{add};\n{attach};"))
}

/// The statements that make `job` as `plan` has it, owned by `owner`.
pub fn create(job: &Job, owner: &str, category: Option<&str>, plan: &Plan) -> Vec<Statement> {
    let mut a = vec![job_name(job), ("enabled", Arg::Int(i64::from(job.enabled)))];
    if !job.description.is_empty() {
        a.push(("description", text(&job.description)));
    }
    if let Some(c) = category {
        a.push(("category_name", text(c)));
    }
    a.extend([
        ("owner_login_name", text(owner)),
        ("notify_level_eventlog", Arg::Int(0)),
        ("delete_level", Arg::Int(job.delete_level)),
    ]);
    let mut out = vec![Statement::new(exec("sp_add_job", &a))];
    out.extend(plan.steps.iter().map(|s| step(job, s)));
    if job.start_step_id > 1 && plan.steps.iter().any(|s| s.step_id == job.start_step_id) {
        out.push(Statement::new(exec(
            "sp_update_job",
            &[
                job_name(job),
                ("start_step_id", Arg::Int(job.start_step_id)),
            ],
        )));
    }
    out.extend(plan.schedules.iter().map(|s| schedule(job, owner, s)));
    if plan.local {
        out.push(Statement::new(exec(
            "sp_add_jobserver",
            &[job_name(job), ("server_name", text("(local)"))],
        )));
    }
    if let Some((level, op)) = &plan.email {
        out.push(Statement::new(exec(
            "sp_update_job",
            &[
                job_name(job),
                ("notify_level_email", Arg::Int(*level)),
                ("notify_email_operator_name", text(op)),
            ],
        )));
    }
    out
}

/// Drops the target's job (and the schedules no other job uses) before it is made again.
pub fn delete(name: &str) -> Statement {
    Statement::new(exec(
        "sp_delete_job",
        &[
            ("job_name", text(name)),
            ("delete_unused_schedule", Arg::Int(1)),
        ],
    ))
}
