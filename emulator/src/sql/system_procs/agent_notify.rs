//! Alerts and their notifications: `sp_add_alert` and `sp_add_notification` ("sp_add_alert
//! (Transact-SQL)", "sp_add_notification"), with msdb's sp_verify_alert and
//! sp_verify_notification checks. On a Managed Instance msdb refuses alerts ("Alerts aren't
//! yet supported": sp_add_alert raises 41914 'alerting' when EngineEdition is 8) and net send.

use super::context::{Ctx, Def};
use super::job_checks::job_of;
use super::proc_errors::{exists, invalid, mi_agent_feature, missing};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[
    (
        "sp_add_alert",
        &[
            "name",
            "message_id",
            "severity",
            "enabled",
            "delay_between_responses",
            "notification_message",
            "include_event_description_in",
            "database_name",
            "event_description_keyword",
            "job_id",
            "job_name",
            "raise_snmp_trap",
            "performance_condition",
            "category_name",
            "wmi_namespace",
            "wmi_query",
        ],
        add_alert,
    ),
    (
        "sp_add_notification",
        &["alert_name", "operator_name", "notification_method"],
        add_notification,
    ),
];

fn add_alert(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    if c.mi() {
        return Err(mi_agent_feature("alerting"));
    }
    let Some(name) = c.p.text("name") else {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_alert' expects parameter '@name', which was not supplied.",
        ));
    };
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysalerts" WHERE name = ?1 COLLATE NOCASE"#,
        &[Value::Text(name.clone())],
    )?
    .is_some()
    {
        return Err(exists("@name", &name));
    }
    let message_id = c.p.int_or("message_id", 0)?;
    let severity = c.p.int_or("severity", 0)?;
    let perf = c.p.text("performance_condition");
    let wmi = c.p.text("wmi_namespace").is_some() && c.p.text("wmi_query").is_some();
    let conditions = [message_id != 0, severity != 0, perf.is_some(), wmi]
        .iter()
        .filter(|b| **b)
        .count();
    if conditions != 1 {
        return Err(ServerMessage::error(
            14500,
            16,
            "Supply either a non-zero message ID, non-zero severity, non-null performance condition, or non-null WMI namespace and query.",
        ));
    }
    if !(0..=25).contains(&severity) {
        return Err(invalid("@severity", "0..25"));
    }
    // sp_verify_alert looks the message up in sys.messages; the emulator's holds the
    // user-defined messages only, so system message ids are taken on trust.
    if message_id > 50000
        && c.scalar_int(
            r#"SELECT 1 FROM main."sys.messages" WHERE message_id = ?1"#,
            &[Value::Int(message_id)],
        )?
        .is_none()
    {
        return Err(missing("@message_id", &message_id.to_string()));
    }
    let enabled = c.p.int_or("enabled", 1)?;
    if enabled != 0 && enabled != 1 {
        return Err(invalid("@enabled", "0, 1"));
    }
    let job = if c.p.given("job_id") || c.p.given("job_name") {
        if c.p.guid("job_id")?.is_none() && c.p.text("job_name").is_none() {
            "00000000-0000-0000-0000-000000000000".to_owned()
        } else {
            job_of(c)?.0
        }
    } else {
        "00000000-0000-0000-0000-000000000000".to_owned()
    };
    let category = match c.p.text("category_name") {
        Some(n) => c
            .scalar_int(r#"SELECT category_id FROM msdb."dbo.syscategories" WHERE name = ?1 COLLATE NOCASE AND category_class = 2"#, &[Value::Text(n.clone())])?
            .ok_or_else(|| missing("@category_name", &n))?,
        None => 98,
    };
    let id = c
        .scalar_int(r#"SELECT MAX(id) FROM msdb."dbo.sysalerts""#, &[])?
        .unwrap_or(0)
        + 1;
    let t = |n: &str| c.p.text(n).map_or(Value::Null, Value::Text);
    let params = vec![
        Value::Int(id),
        Value::Text(name),
        Value::Int(message_id),
        Value::Int(severity),
        Value::Int(enabled),
        Value::Int(c.p.int_or("delay_between_responses", 0)?),
        t("notification_message"),
        Value::Int(c.p.int_or("include_event_description_in", 5)?),
        t("database_name"),
        t("event_description_keyword"),
        Value::Text(job),
        perf.map_or(Value::Null, Value::Text),
        Value::Int(category),
    ];
    c.write(
        "msdb",
        "dbo.sysalerts",
        r#"INSERT INTO msdb."dbo.sysalerts" (id, name, event_source, message_id, severity, enabled, delay_between_responses,
            notification_message, include_event_description, database_name, event_description_keyword, job_id,
            performance_condition, category_id, last_occurrence_date, last_occurrence_time, last_response_date,
            last_response_time, occurrence_count, count_reset_date, count_reset_time, has_notification, flags)
            VALUES (?1, ?2, 'MSSQLServer', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, 0, 0, 0, 0, 0, 0, 0, 0)"#,
        &params,
    )?;
    Ok(Vec::new())
}

fn add_notification(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let method = c.p.int_or("notification_method", 0)?;
    if c.mi() && method & 4 == 4 {
        return Err(mi_agent_feature("NetSend"));
    }
    let alert_name = c.p.text("alert_name").unwrap_or_default();
    let operator_name = c.p.text("operator_name").unwrap_or_default();
    let alert = c
        .scalar_int(
            r#"SELECT id FROM msdb."dbo.sysalerts" WHERE name = ?1 COLLATE NOCASE"#,
            &[Value::Text(alert_name.clone())],
        )?
        .ok_or_else(|| missing("@alert_name", &alert_name))?;
    let operator = c
        .scalar_int(
            r#"SELECT id FROM msdb."dbo.sysoperators" WHERE name = ?1 COLLATE NOCASE"#,
            &[Value::Text(operator_name.clone())],
        )?
        .ok_or_else(|| missing("@operator_name", &operator_name))?;
    if !(1..=7).contains(&method) {
        return Err(invalid(
            "@notification_method",
            "1..7 [1 = E-mail, 2 = Pager, 4 = NetSend]",
        ));
    }
    let key = [Value::Int(alert), Value::Int(operator)];
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysnotifications" WHERE alert_id = ?1 AND operator_id = ?2"#,
        &key,
    )?
    .is_some()
    {
        return Err(exists(
            "notification",
            &format!("{alert_name} / {operator_name}"),
        ));
    }
    c.write(
        "msdb",
        "dbo.sysnotifications",
        r#"INSERT INTO msdb."dbo.sysnotifications" VALUES (?1, ?2, ?3)"#,
        &[Value::Int(alert), Value::Int(operator), Value::Int(method)],
    )?;
    c.write(
        "msdb",
        "dbo.sysalerts",
        r#"UPDATE msdb."dbo.sysalerts" SET has_notification = has_notification + 1 WHERE id = ?1"#,
        &[Value::Int(alert)],
    )?;
    Ok(Vec::new())
}
