//! Proxies and Agent's properties: `sp_add_proxy`, `sp_grant_proxy_to_subsystem`,
//! `sp_grant_login_to_proxy` ("sp_add_proxy (Transact-SQL)"), `sp_set_sqlagent_properties`
//! (and the name the MI documentation gives it, `sp_set_agent_properties`).

use super::context::{Ctx, Def};
use super::proc_errors::{exists, invalid, mi_agent_feature, mi_procedure, missing, supply_either};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[
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
        // msdb's sp_set_sqlagent_properties raises 41905 naming itself when EngineEdition is 8;
        // the documentation ("SQL Server Agent settings are read only. The procedure
        // sp_set_agent_properties isn't supported", T-SQL differences; older revisions quote
        // the 41905 text with that name) uses the other name, refused the same way.
        return Err(mi_procedure(c.proc_name));
    }
    if c.proc_name == "sp_set_agent_properties" {
        // SQL Server's msdb has no procedure of that name (its is sp_set_sqlagent_properties).
        return Err(crate::sql::not_found(c.proc_name));
    }
    Ok(Vec::new())
}
