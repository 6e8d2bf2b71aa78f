//! What a job step is made of (the columns of sysjobsteps from `step_name` on), read from a
//! call's parameters over sp_add_jobstep's defaults or over the step being updated.

use super::context::Ctx;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;

/// The columns of sysjobsteps a step is made of, in table order from `step_name` on.
pub(super) struct Step {
    pub(super) step_name: String,
    pub(super) subsystem: String,
    pub(super) command: Option<String>,
    pub(super) flags: i64,
    pub(super) additional_parameters: Option<String>,
    pub(super) cmdexec_success_code: i64,
    pub(super) on_success_action: i64,
    pub(super) on_success_step_id: i64,
    pub(super) on_fail_action: i64,
    pub(super) on_fail_step_id: i64,
    pub(super) server: Option<String>,
    pub(super) database_name: Option<String>,
    pub(super) database_user_name: Option<String>,
    pub(super) retry_attempts: i64,
    pub(super) retry_interval: i64,
    pub(super) os_run_priority: i64,
    pub(super) output_file_name: Option<String>,
    pub(super) proxy_id: Option<i64>,
}

pub(super) fn read_step(c: &Ctx<'_, '_>, base: Option<Step>) -> Result<Step, ServerMessage> {
    let p = &c.p;
    let text_or = |name: &str, old: Option<String>| if p.given(name) { p.text(name) } else { old };
    let int_or =
        |name: &str, old: i64| -> Result<i64, ServerMessage> { Ok(p.int(name)?.unwrap_or(old)) };
    let b = base.unwrap_or(Step {
        step_name: String::new(),
        subsystem: "TSQL".into(),
        command: None,
        flags: 0,
        additional_parameters: None,
        cmdexec_success_code: 0,
        on_success_action: 1,
        on_success_step_id: 0,
        on_fail_action: 2,
        on_fail_step_id: 0,
        server: None,
        database_name: None,
        database_user_name: None,
        retry_attempts: 0,
        retry_interval: 0,
        os_run_priority: 0,
        output_file_name: None,
        proxy_id: None,
    });
    Ok(Step {
        step_name: p.text("step_name").unwrap_or(b.step_name),
        subsystem: p.text("subsystem").unwrap_or(b.subsystem),
        command: if p.given("command") {
            p.raw_text("command")
        } else {
            b.command
        },
        flags: int_or("flags", b.flags)?,
        additional_parameters: if p.given("additional_parameters") {
            p.raw_text("additional_parameters")
        } else {
            b.additional_parameters
        },
        cmdexec_success_code: int_or("cmdexec_success_code", b.cmdexec_success_code)?,
        on_success_action: int_or("on_success_action", b.on_success_action)?,
        on_success_step_id: int_or("on_success_step_id", b.on_success_step_id)?,
        on_fail_action: int_or("on_fail_action", b.on_fail_action)?,
        on_fail_step_id: int_or("on_fail_step_id", b.on_fail_step_id)?,
        server: text_or("server", b.server),
        database_name: text_or("database_name", b.database_name),
        database_user_name: text_or("database_user_name", b.database_user_name),
        retry_attempts: int_or("retry_attempts", b.retry_attempts)?,
        retry_interval: int_or("retry_interval", b.retry_interval)?,
        os_run_priority: int_or("os_run_priority", b.os_run_priority)?,
        output_file_name: text_or("output_file_name", b.output_file_name),
        proxy_id: b.proxy_id,
    })
}

pub(super) fn opt(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::Text)
}

pub(super) fn values(s: &Step) -> Vec<Value> {
    vec![
        Value::Text(s.step_name.clone()),
        Value::Text(s.subsystem.clone()),
        opt(&s.command),
        Value::Int(s.flags),
        opt(&s.additional_parameters),
        Value::Int(s.cmdexec_success_code),
        Value::Int(s.on_success_action),
        Value::Int(s.on_success_step_id),
        Value::Int(s.on_fail_action),
        Value::Int(s.on_fail_step_id),
        opt(&s.server),
        opt(&s.database_name),
        opt(&s.database_user_name),
        Value::Int(s.retry_attempts),
        Value::Int(s.retry_interval),
        Value::Int(s.os_run_priority),
        opt(&s.output_file_name),
        s.proxy_id.map_or(Value::Null, Value::Int),
    ]
}
