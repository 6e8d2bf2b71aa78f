//! Categories and operators: `sp_add_category`, `sp_add_operator`, `sp_update_operator`,
//! `sp_delete_operator` ("sp_add_operator (Transact-SQL)"), with msdb's sp_verify_category
//! and sp_verify_operator checks.

use super::context::{Ctx, Def};
use super::proc_errors::{exists, invalid, mi_agent_feature, missing};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::sql::outcome::Outcome;

const OPERATOR: &[&str] = &[
    "name",
    "enabled",
    "email_address",
    "pager_address",
    "weekday_pager_start_time",
    "weekday_pager_end_time",
    "saturday_pager_start_time",
    "saturday_pager_end_time",
    "sunday_pager_start_time",
    "sunday_pager_end_time",
    "pager_days",
    "netsend_address",
    "category_name",
];

const UPDATE_OPERATOR: &[&str] = &[
    "name",
    "new_name",
    "enabled",
    "email_address",
    "pager_address",
    "weekday_pager_start_time",
    "weekday_pager_end_time",
    "saturday_pager_start_time",
    "saturday_pager_end_time",
    "sunday_pager_start_time",
    "sunday_pager_end_time",
    "pager_days",
    "netsend_address",
    "category_name",
];

pub(super) const ENTRIES: &[Def] = &[
    ("sp_add_category", &["class", "type", "name"], add_category),
    ("sp_add_operator", OPERATOR, add_operator),
    ("sp_update_operator", UPDATE_OPERATOR, update_operator),
    (
        "sp_delete_operator",
        &["name", "reassign_to_operator"],
        delete_operator,
    ),
];
fn add_category(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let class =
        c.p.text("class")
            .unwrap_or_else(|| "JOB".into())
            .to_ascii_uppercase();
    let ty =
        c.p.text("type")
            .unwrap_or_else(|| "LOCAL".into())
            .to_ascii_uppercase();
    let Some(name) = c.p.text("name") else {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_category' expects parameter '@name', which was not supplied.",
        ));
    };
    // sp_verify_category.
    let class_id = match class.as_str() {
        "JOB" => 1,
        "ALERT" => 2,
        "OPERATOR" => 3,
        _ => return Err(invalid("@class", "JOB, ALERT, OPERATOR")),
    };
    if name.eq_ignore_ascii_case("[DEFAULT]") {
        return Err(super::proc_errors::invalid_plain("@name"));
    }
    let type_id = match (class_id, ty.as_str()) {
        (1, "LOCAL") => 1,
        (1, "MULTI-SERVER") => 2,
        (1, _) => return Err(invalid("@type", "LOCAL, MULTI-SERVER")),
        (_, "NONE") => 3,
        _ => return Err(invalid("@type", "NONE")),
    };
    let taken = c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.syscategories" WHERE name = ?1 COLLATE NOCASE AND category_class = ?2"#,
        &[Value::Text(name.clone()), Value::Int(class_id)],
    )?;
    if taken.is_some() {
        return Err(exists("@name", &name));
    }
    // User categories take ids from 100 on; the lower ones are SQL Server's own.
    let id = c
        .scalar_int(
            r#"SELECT MAX(category_id) FROM msdb."dbo.syscategories""#,
            &[],
        )?
        .unwrap_or(0)
        .max(99)
        + 1;
    c.write(
        "msdb",
        "dbo.syscategories",
        r#"INSERT INTO msdb."dbo.syscategories" VALUES (?1, ?2, ?3, ?4)"#,
        &[
            Value::Int(id),
            Value::Int(class_id),
            Value::Int(type_id),
            Value::Text(name),
        ],
    )?;
    Ok(Vec::new())
}

/// An operator's settings, checked as sp_verify_operator checks them.
fn operator_values(
    c: &mut Ctx<'_, '_>,
    base: Option<&[Value]>,
) -> Result<Vec<Value>, ServerMessage> {
    let p = &c.p;
    let old = |i: usize| base.map(|b| b[i].clone());
    let text = |n: &str, i: usize| {
        if p.given(n) {
            p.text(n).map_or(Value::Null, Value::Text)
        } else {
            old(i).unwrap_or(Value::Null)
        }
    };
    let int = |n: &str, i: usize, d: i64| -> Result<Value, ServerMessage> {
        Ok(match p.int(n)? {
            Some(v) => Value::Int(v),
            None => old(i).unwrap_or(Value::Int(d)),
        })
    };
    let values = vec![
        int("enabled", 0, 1)?,
        text("email_address", 1),
        text("pager_address", 2),
        int("weekday_pager_start_time", 3, 90000)?,
        int("weekday_pager_end_time", 4, 180000)?,
        int("saturday_pager_start_time", 5, 90000)?,
        int("saturday_pager_end_time", 6, 180000)?,
        int("sunday_pager_start_time", 7, 90000)?,
        int("sunday_pager_end_time", 8, 180000)?,
        int("pager_days", 9, 0)?,
        text("netsend_address", 10),
    ];
    if c.mi() && values[10] != Value::Null {
        // msdb on MI (sp_add_operator, sp_update_operator): 41914 'NetSend'.
        return Err(mi_agent_feature("NetSend"));
    }
    if c.mi() && values[2] != Value::Null {
        // Pagers are not supported on MI ("SQL Agent job limitations in SQL Managed
        // Instance"); msdb does not check the address, the emulator refuses it (stricter).
        return Err(mi_agent_feature("Pager"));
    }
    let enabled = crate::protocol::types::int(&values[0]);
    if enabled != 0 && enabled != 1 {
        return Err(invalid("@enabled", "0, 1"));
    }
    let days = crate::protocol::types::int(&values[9]);
    if !(0..=127).contains(&days) {
        return Err(invalid(
            "@pager_days",
            "0..127 [1 = Sunday .. 64 = Saturday]",
        ));
    }
    Ok(values)
}

fn operator_category(c: &mut Ctx<'_, '_>) -> Result<Option<i64>, ServerMessage> {
    let Some(name) = c.p.text("category_name") else {
        return Ok(None);
    };
    c.scalar_int(
        r#"SELECT category_id FROM msdb."dbo.syscategories" WHERE name = ?1 COLLATE NOCASE AND category_class = 3"#,
        &[Value::Text(name.clone())],
    )?
    .map(Some)
    .ok_or_else(|| missing("@category_name", &name))
}

fn add_operator(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let Some(name) = c.p.text("name") else {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_operator' expects parameter '@name', which was not supplied.",
        ));
    };
    let values = operator_values(c, None)?;
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysoperators" WHERE name = ?1 COLLATE NOCASE"#,
        &[Value::Text(name.clone())],
    )?
    .is_some()
    {
        return Err(exists("@name", &name));
    }
    let category = operator_category(c)?.unwrap_or(99);
    let id = c
        .scalar_int(r#"SELECT MAX(id) FROM msdb."dbo.sysoperators""#, &[])?
        .unwrap_or(0)
        + 1;
    let mut params = vec![Value::Int(id), Value::Text(name)];
    params.extend(values);
    params.push(Value::Int(category));
    c.write(
        "msdb",
        "dbo.sysoperators",
        r#"INSERT INTO msdb."dbo.sysoperators" (id, name, enabled, email_address, pager_address, weekday_pager_start_time,
            weekday_pager_end_time, saturday_pager_start_time, saturday_pager_end_time, sunday_pager_start_time,
            sunday_pager_end_time, pager_days, netsend_address, category_id, last_email_date, last_email_time,
            last_pager_date, last_pager_time, last_netsend_date, last_netsend_time)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, 0, 0, 0, 0, 0)"#,
        &params,
    )?;
    Ok(Vec::new())
}

fn operator_id(c: &mut Ctx<'_, '_>, name: &str) -> Result<i64, ServerMessage> {
    c.scalar_int(
        r#"SELECT id FROM msdb."dbo.sysoperators" WHERE name = ?1 COLLATE NOCASE"#,
        &[Value::Text(name.to_owned())],
    )?
    .ok_or_else(|| missing("@name", name))
}

fn update_operator(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let name = c.p.text("name").unwrap_or_default();
    let id = operator_id(c, &name)?;
    let (_, rows) = c.inst.query(
        r#"SELECT enabled, email_address, pager_address, weekday_pager_start_time, weekday_pager_end_time,
            saturday_pager_start_time, saturday_pager_end_time, sunday_pager_start_time, sunday_pager_end_time,
            pager_days, netsend_address FROM msdb."dbo.sysoperators" WHERE id = ?1"#,
        &[Value::Int(id)],
    )?;
    let values = operator_values(c, rows.first().map(Vec::as_slice))?;
    let new_name = match c.p.text("new_name") {
        Some(n) if !n.eq_ignore_ascii_case(&name) => {
            if c.scalar_int(
                r#"SELECT 1 FROM msdb."dbo.sysoperators" WHERE name = ?1 COLLATE NOCASE"#,
                &[Value::Text(n.clone())],
            )?
            .is_some()
            {
                return Err(exists("@new_name", &n));
            }
            n
        }
        Some(n) => n,
        None => name,
    };
    let category = operator_category(c)?;
    let mut params = vec![Value::Int(id), Value::Text(new_name)];
    params.extend(values);
    params.push(category.map_or(Value::Null, Value::Int));
    c.write(
        "msdb",
        "dbo.sysoperators",
        r#"UPDATE msdb."dbo.sysoperators" SET name = ?2, enabled = ?3, email_address = ?4, pager_address = ?5,
            weekday_pager_start_time = ?6, weekday_pager_end_time = ?7, saturday_pager_start_time = ?8,
            saturday_pager_end_time = ?9, sunday_pager_start_time = ?10, sunday_pager_end_time = ?11,
            pager_days = ?12, netsend_address = ?13, category_id = COALESCE(?14, category_id) WHERE id = ?1"#,
        &params,
    )?;
    Ok(Vec::new())
}

fn delete_operator(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let name = c.p.text("name").unwrap_or_default();
    let id = operator_id(c, &name)?;
    let reassign = match c.p.text("reassign_to_operator") {
        Some(other) => c
            .scalar_int(
                r#"SELECT id FROM msdb."dbo.sysoperators" WHERE name = ?1 COLLATE NOCASE"#,
                &[Value::Text(other.clone())],
            )?
            .ok_or_else(|| missing("@reassign_to_operator", &other))?,
        None => 0,
    };
    // Jobs that notified the operator notify the reassigned one, or nobody (sp_delete_operator).
    for kind in ["email", "netsend", "page"] {
        let sql = format!(
            r#"UPDATE msdb."dbo.sysjobs" SET notify_{kind}_operator_id = ?2,
                notify_level_{kind} = CASE WHEN ?2 = 0 THEN 0 ELSE notify_level_{kind} END
                WHERE notify_{kind}_operator_id = ?1"#
        );
        c.write(
            "msdb",
            "dbo.sysjobs",
            &sql,
            &[Value::Int(id), Value::Int(reassign)],
        )?;
    }
    c.write(
        "msdb",
        "dbo.sysnotifications",
        r#"DELETE FROM msdb."dbo.sysnotifications" WHERE operator_id = ?1"#,
        &[Value::Int(id)],
    )?;
    c.write(
        "msdb",
        "dbo.sysoperators",
        r#"DELETE FROM msdb."dbo.sysoperators" WHERE id = ?1"#,
        &[Value::Int(id)],
    )?;
    Ok(Vec::new())
}
