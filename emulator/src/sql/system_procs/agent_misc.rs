//! Categories, operators, proxies and Agent's properties: `sp_add_category`,
//! `sp_add_operator`, `sp_update_operator`, `sp_delete_operator`, `sp_add_proxy`,
//! `sp_grant_proxy_to_subsystem`, `sp_grant_login_to_proxy`, `sp_set_sqlagent_properties`
//! (and the name the MI documentation gives it, `sp_set_agent_properties`).

use super::context::{Ctx, Def};
use super::proc_errors::{exists, invalid, mi_agent_feature, mi_procedure, missing, supply_either};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};
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
    (
        "sp_add_proxy",
        &[
            "proxy_name",
            "enabled",
            "description",
            "credential_name",
            "credential_id",
            "proxy_id",
        ],
        add_proxy,
    ),
    (
        "sp_grant_proxy_to_subsystem",
        &["proxy_id", "proxy_name", "subsystem_id", "subsystem_name"],
        grant_subsystem,
    ),
    (
        "sp_grant_login_to_proxy",
        &[
            "login_name",
            "fixed_server_role",
            "msdb_role",
            "proxy_id",
            "proxy_name",
        ],
        grant_login,
    ),
    (
        "sp_set_sqlagent_properties",
        AGENT_PROPERTIES,
        set_agent_properties,
    ),
    (
        "sp_set_agent_properties",
        AGENT_PROPERTIES,
        set_agent_properties,
    ),
];

/// The properties msdb's sp_set_sqlagent_properties takes (registry values of the Agent
/// service). The emulator has no Agent service: on SQL Server it accepts them and keeps nothing.
const AGENT_PROPERTIES: &[&str] = &[
    "auto_start",
    "msx_server_name",
    "sqlserver_restart",
    "jobhistory_max_rows",
    "jobhistory_max_rows_per_job",
    "errorlog_file",
    "errorlogging_level",
    "error_recipient",
    "monitor_autostart",
    "local_host_server",
    "job_shutdown_timeout",
    "cmdexec_account",
    "regular_connections",
    "host_login_name",
    "host_login_password",
    "login_timeout",
    "idle_cpu_percent",
    "idle_cpu_duration",
    "oem_errorlog",
    "sysadmin_only",
    "email_profile",
    "email_save_in_sent_folder",
    "cpu_poller_enabled",
    "alert_replace_runtime_tokens",
    "use_databasemail",
    "databasemail_profile",
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

fn add_proxy(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    if c.mi() {
        // "Proxies aren't supported" (SQL Agent job limitations in SQL Managed Instance). The
        // error MI gives is not documented; the emulator answers with msdb's MI error for an
        // Agent feature it lacks (41914).
        return Err(mi_agent_feature("proxy"));
    }
    let Some(name) = c.p.text("proxy_name") else {
        return Err(ServerMessage::error(
            201,
            16,
            "Procedure or function 'sp_add_proxy' expects parameter '@proxy_name', which was not supplied.",
        ));
    };
    let credential = match (c.p.text("credential_name"), c.p.int("credential_id")?) {
        (Some(n), None) => c
            .scalar_int(r#"SELECT credential_id FROM main."sys.credentials" WHERE name = ?1 COLLATE NOCASE"#, &[Value::Text(n.clone())])?
            .ok_or_else(|| missing("@credential_name", &n))?,
        (None, Some(id)) => c
            .scalar_int(r#"SELECT credential_id FROM main."sys.credentials" WHERE credential_id = ?1"#, &[Value::Int(id)])?
            .ok_or_else(|| missing("@credential_id", &id.to_string()))?,
        _ => return Err(supply_either(14524, "@credential_id", "@credential_name", "")),
    };
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysproxies" WHERE name = ?1 COLLATE NOCASE"#,
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
    let id = c
        .scalar_int(r#"SELECT MAX(proxy_id) FROM msdb."dbo.sysproxies""#, &[])?
        .unwrap_or(0)
        + 1;
    let sid = c.caller_sid()?;
    let now = c.now();
    let description = c.p.text("description").map_or(Value::Null, Value::Text);
    c.write(
        "msdb",
        "dbo.sysproxies",
        r#"INSERT INTO msdb."dbo.sysproxies" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"#,
        &[
            Value::Int(id),
            Value::Text(name),
            Value::Int(credential),
            Value::Int(enabled),
            description,
            Value::Binary(sid),
            now,
        ],
    )?;
    c.p.set_output("proxy_id", SqlType::Int, Value::Int(id));
    Ok(Vec::new())
}

fn proxy_of(c: &mut Ctx<'_, '_>) -> Result<i64, ServerMessage> {
    match (c.p.int("proxy_id")?, c.p.text("proxy_name")) {
        (Some(id), None) => c
            .scalar_int(
                r#"SELECT proxy_id FROM msdb."dbo.sysproxies" WHERE proxy_id = ?1"#,
                &[Value::Int(id)],
            )?
            .ok_or_else(|| missing("@proxy_id", &id.to_string())),
        (None, Some(name)) => c
            .scalar_int(
                r#"SELECT proxy_id FROM msdb."dbo.sysproxies" WHERE name = ?1 COLLATE NOCASE"#,
                &[Value::Text(name.clone())],
            )?
            .ok_or_else(|| missing("@proxy_name", &name)),
        _ => Err(supply_either(14524, "@proxy_id", "@proxy_name", "")),
    }
}

fn grant_subsystem(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let proxy = proxy_of(c)?;
    let subsystem = match (c.p.int("subsystem_id")?, c.p.text("subsystem_name")) {
        (Some(id), None) => c.scalar_int(r#"SELECT subsystem_id FROM msdb."dbo.syssubsystems" WHERE subsystem_id = ?1"#, &[Value::Int(id)])?,
        (None, Some(n)) => c.scalar_int(r#"SELECT subsystem_id FROM msdb."dbo.syssubsystems" WHERE subsystem = ?1 COLLATE NOCASE"#, &[Value::Text(n)])?,
        _ => return Err(supply_either(14524, "@subsystem_id", "@subsystem_name", "")),
    }
    .ok_or_else(|| super::proc_errors::invalid_see("@subsystem", "sp_enum_sqlagent_subsystems"))?;
    if subsystem == 1 {
        return Err(ServerMessage::error(
            14530,
            16,
            "The Transact-SQL subsystem cannot be executed under the context of a proxy account.",
        ));
    }
    let key = [Value::Int(subsystem), Value::Int(proxy)];
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysproxysubsystem" WHERE subsystem_id = ?1 AND proxy_id = ?2"#,
        &key,
    )?
    .is_some()
    {
        return Err(ServerMessage::error(
            14531,
            16,
            "Permission to access proxy already granted. Verify current permissions assignments.",
        ));
    }
    c.write(
        "msdb",
        "dbo.sysproxysubsystem",
        r#"INSERT INTO msdb."dbo.sysproxysubsystem" VALUES (?1, ?2)"#,
        &key,
    )?;
    Ok(Vec::new())
}

fn grant_login(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let proxy = proxy_of(c)?;
    let given = ["login_name", "fixed_server_role", "msdb_role"]
        .iter()
        .filter(|n| c.p.text(n).is_some())
        .count();
    if given != 1 {
        return Err(ServerMessage::error(
            14519,
            16,
            "Only one of @login_name, @fixed_server_role, or @msdb_role should be specified.",
        ));
    }
    let Some(login) = c.p.text("login_name") else {
        // Roles are granted by their SIDs in SQL Server; the emulator keeps logins only.
        return Err(ServerMessage::error(
            14521,
            16,
            "ferry-emulator grants proxies to logins only (@login_name).",
        ));
    };
    let sid = c.login_sid(&login)?.ok_or_else(|| {
        ServerMessage::error(14520, 16, format!("{login} is not a valid SQL Server standard login, Windows NT user, Windows NT group, or msdb database role."))
    })?;
    let key = [Value::Int(proxy), Value::Binary(sid)];
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysproxylogin" WHERE proxy_id = ?1 AND sid = ?2"#,
        &key,
    )?
    .is_some()
    {
        return Err(ServerMessage::error(
            14531,
            16,
            "Permission to access proxy already granted. Verify current permissions assignments.",
        ));
    }
    c.write(
        "msdb",
        "dbo.sysproxylogin",
        r#"INSERT INTO msdb."dbo.sysproxylogin" VALUES (?1, ?2, 0)"#,
        &key,
    )?;
    Ok(Vec::new())
}

fn set_agent_properties(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    if c.mi() {
        // "SQL Server Agent settings are read only. The procedure sp_set_agent_properties isn't
        // supported" (T-SQL differences); older revisions of the page quote the error: 41905.
        return Err(mi_procedure(c.proc_name));
    }
    if c.proc_name == "sp_set_agent_properties" {
        // SQL Server's msdb has no procedure of that name (its is sp_set_sqlagent_properties).
        return Err(crate::sql::not_found(c.proc_name));
    }
    Ok(Vec::new())
}
