//! Reads msdb's Agent tables, each with its own query and only the documented columns.

use std::collections::BTreeMap;

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;

use super::model::{Agent, Job, Schedule, Step};
use crate::config::Config;
use crate::msdb;
use crate::table::Table;

fn jobs(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Job>> {
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysjobs",
        "SELECT job_id, originating_server_id, name, enabled, description, start_step_id, \
         category_id, owner_sid, notify_level_eventlog, notify_level_email, \
         notify_level_netsend, notify_level_page, notify_email_operator_id, delete_level \
         FROM msdb.dbo.sysjobs",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Job {
            id: r.text("job_id").to_uppercase(),
            name: r.text("name"),
            enabled: r.flag("enabled"),
            description: r.text("description"),
            start_step_id: r.int("start_step_id"),
            category_id: r.int("category_id"),
            owner_sid: r.bytes("owner_sid").unwrap_or_default(),
            originating_server_id: r.int("originating_server_id"),
            notify_level_eventlog: r.int("notify_level_eventlog"),
            notify_level_email: r.int("notify_level_email"),
            notify_level_netsend: r.int("notify_level_netsend"),
            notify_level_page: r.int("notify_level_page"),
            notify_email_operator_id: r.int("notify_email_operator_id"),
            delete_level: r.int("delete_level"),
        })
        .collect())
}

fn steps(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<BTreeMap<String, Vec<Step>>> {
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysjobsteps",
        "SELECT job_id, step_id, step_name, subsystem, command, flags, cmdexec_success_code, \
         on_success_action, on_success_step_id, on_fail_action, on_fail_step_id, server, \
         database_name, database_user_name, retry_attempts, retry_interval, output_file_name, \
         proxy_id FROM msdb.dbo.sysjobsteps",
        &[],
    )?;
    let mut out: BTreeMap<String, Vec<Step>> = BTreeMap::new();
    for r in t.rows() {
        out.entry(r.text("job_id").to_uppercase())
            .or_default()
            .push(Step {
                step_id: r.int("step_id"),
                name: r.text("step_name"),
                subsystem: r.text("subsystem"),
                command: r.text("command"),
                database_name: r.text("database_name"),
                database_user_name: r.text("database_user_name"),
                server: r.text("server"),
                on_success_action: r.int("on_success_action"),
                on_success_step_id: r.int("on_success_step_id"),
                on_fail_action: r.int("on_fail_action"),
                on_fail_step_id: r.int("on_fail_step_id"),
                retry_attempts: r.int("retry_attempts"),
                retry_interval: r.int("retry_interval"),
                output_file_name: r.text("output_file_name"),
                flags: r.int("flags"),
                cmdexec_success_code: r.int("cmdexec_success_code"),
                proxy_id: (!r.is_null("proxy_id")).then(|| r.int("proxy_id")),
            });
    }
    for steps in out.values_mut() {
        steps.sort_by_key(|s| s.step_id);
    }
    Ok(out)
}

fn schedules(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<BTreeMap<i64, Schedule>> {
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysschedules",
        "SELECT schedule_id, name, enabled, freq_type, freq_interval, freq_subday_type, \
         freq_subday_interval, freq_relative_interval, freq_recurrence_factor, \
         active_start_date, active_end_date, active_start_time, active_end_time \
         FROM msdb.dbo.sysschedules",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| {
            (
                r.int("schedule_id"),
                Schedule {
                    name: r.text("name"),
                    enabled: r.flag("enabled"),
                    freq_type: r.int("freq_type"),
                    freq_interval: r.int("freq_interval"),
                    freq_subday_type: r.int("freq_subday_type"),
                    freq_subday_interval: r.int("freq_subday_interval"),
                    freq_relative_interval: r.int("freq_relative_interval"),
                    freq_recurrence_factor: r.int("freq_recurrence_factor"),
                    active_start_date: r.int("active_start_date"),
                    active_end_date: r.int("active_end_date"),
                    active_start_time: r.int("active_start_time"),
                    active_end_time: r.int("active_end_time"),
                },
            )
        })
        .collect())
}

fn pairs(
    cx: &mut Context<'_, Config>,
    conn: SqlConnection,
    table: &str,
    column: &str,
) -> Result<Vec<(String, i64)>> {
    let t = Table::read(
        cx,
        conn,
        &format!("msdb.dbo.{table}"),
        &format!("SELECT job_id, {column} FROM msdb.dbo.{table}"),
        &[],
    )?;
    Ok(t.rows()
        .map(|r| (r.text("job_id").to_uppercase(), r.int(column)))
        .collect())
}

fn names(
    cx: &mut Context<'_, Config>,
    conn: SqlConnection,
    table: &str,
    id: &str,
) -> Result<BTreeMap<i64, String>> {
    let t = Table::read(
        cx,
        conn,
        &format!("msdb.dbo.{table}"),
        &format!("SELECT {id}, name FROM msdb.dbo.{table}"),
        &[],
    )?;
    Ok(t.rows().map(|r| (r.int(id), r.text("name"))).collect())
}

pub fn agent(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Agent> {
    Ok(Agent {
        jobs: jobs(cx, conn)?,
        steps: steps(cx, conn)?,
        schedules: schedules(cx, conn)?,
        attached: pairs(cx, conn, "sysjobschedules", "schedule_id")?,
        servers: pairs(cx, conn, "sysjobservers", "server_id")?,
        operators: names(cx, conn, "sysoperators", "id")?,
        proxies: names(cx, conn, "sysproxies", "proxy_id")?,
        categories: msdb::categories(cx, conn)?,
    })
}

/// One row of `msdb.dbo.sysalerts`, with the operators `sysnotifications` says it notifies.
pub struct Alert {
    pub name: String,
    pub job_id: String,
    pub operators: Vec<i64>,
}

pub fn alerts(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Alert>> {
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysalerts",
        "SELECT id, name, job_id FROM msdb.dbo.sysalerts",
        &[],
    )?;
    let alerts: Vec<(i64, String, String)> = t
        .rows()
        .map(|r| (r.int("id"), r.text("name"), r.text("job_id").to_uppercase()))
        .collect();
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let n = Table::read(
        cx,
        conn,
        "msdb.dbo.sysnotifications",
        "SELECT alert_id, operator_id FROM msdb.dbo.sysnotifications",
        &[],
    )?;
    let notified: Vec<(i64, i64)> = n
        .rows()
        .map(|r| (r.int("alert_id"), r.int("operator_id")))
        .collect();
    Ok(alerts
        .into_iter()
        .map(|(id, name, job_id)| Alert {
            name,
            job_id,
            operators: notified
                .iter()
                .filter(|(a, _)| *a == id)
                .map(|(_, o)| *o)
                .collect(),
        })
        .collect())
}
