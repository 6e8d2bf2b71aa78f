//! Database Mail accounts: `sysmail_add_account_sp`, `sysmail_update_account_sp`,
//! `sysmail_delete_account_sp` ("Database Mail stored procedures (Transact-SQL)"), with
//! msdb's sysmail_verify_accountparams_sp checks (14614, 14615) and its unique constraint on
//! account names (error 2627).
//!
//! The SMTP password goes to `ferry.mail_secrets`, never to a table T-SQL can read.

use super::context::{Ctx, Def};
use super::mail_checks::{duplicate, err, object, stamp};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};
use crate::sql::outcome::Outcome;

const ACCOUNT: &[&str] = &[
    "account_name",
    "email_address",
    "display_name",
    "replyto_address",
    "description",
    "mailserver_name",
    "mailserver_type",
    "port",
    "username",
    "password",
    "use_default_credentials",
    "enable_ssl",
    "account_id",
];

const UPDATE_ACCOUNT: &[&str] = &[
    "account_id",
    "account_name",
    "email_address",
    "display_name",
    "replyto_address",
    "description",
    "mailserver_name",
    "mailserver_type",
    "port",
    "username",
    "password",
    "use_default_credentials",
    "enable_ssl",
    "timeout",
    "no_credential_change",
];

pub(super) const ENTRIES: &[Def] = &[
    ("sysmail_add_account_sp", ACCOUNT, add_account),
    ("sysmail_update_account_sp", UPDATE_ACCOUNT, update_account),
    (
        "sysmail_delete_account_sp",
        &["account_id", "account_name"],
        delete_account,
    ),
];
/// (server type, server name, port, username, use_default_credentials, enable_ssl).
type ServerParams = (String, String, i64, Option<String>, i64, i64);

fn server_params(c: &mut Ctx<'_, '_>) -> Result<ServerParams, ServerMessage> {
    let servertype = c.p.text("mailserver_type").unwrap_or_else(|| "SMTP".into());
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysmail_servertype" WHERE servertype = ?1 COLLATE NOCASE"#,
        &[Value::Text(servertype.clone())],
    )?
    .is_none()
    {
        return Err(err(
            14614,
            format!("{servertype} is not a valid mailserver_type"),
        ));
    }
    let username = c.p.text("username");
    if c.p.raw_text("password").is_some() && username.is_none() {
        return Err(err(
            14615,
            "The @username parameter needs to be supplied if the @password is supplied.".into(),
        ));
    }
    // msdb takes the local server when no mail server is named.
    let server =
        c.p.text("mailserver_name")
            .unwrap_or_else(|| c.s.personality.server_name().to_owned());
    Ok((
        servertype,
        server,
        c.p.int_or("port", 25)?,
        username,
        c.p.int_or("use_default_credentials", 0)?,
        c.p.int_or("enable_ssl", 0)?,
    ))
}

fn add_account(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (Some(name), Some(email)) = (c.p.text("account_name"), c.p.text("email_address")) else {
        return Err(err(
            14618,
            "Parameter '@account_name' must be specified. This parameter cannot be NULL.".into(),
        ));
    };
    let (servertype, server, port, username, default_creds, ssl) = server_params(c)?;
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysmail_account" WHERE name = ?1 COLLATE NOCASE"#,
        &[Value::Text(name.clone())],
    )?
    .is_some()
    {
        return Err(duplicate(
            "UNIQUE KEY",
            "SYSMAIL_ACCOUNT_NameMustBeUnique",
            "sysmail_account",
            &name,
        ));
    }
    let id = c
        .scalar_int(
            r#"SELECT MAX(account_id) FROM msdb."dbo.sysmail_account""#,
            &[],
        )?
        .unwrap_or(0)
        + 1;
    let t = |n: &str| c.p.text(n).map_or(Value::Null, Value::Text);
    let [now, user] = stamp(c);
    c.write(
        "msdb",
        "dbo.sysmail_account",
        r#"INSERT INTO msdb."dbo.sysmail_account" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"#,
        &[
            Value::Int(id),
            Value::Text(name),
            t("description"),
            Value::Text(email),
            t("display_name"),
            t("replyto_address"),
            now.clone(),
            user.clone(),
        ],
    )?;
    c.write(
        "msdb",
        "dbo.sysmail_server",
        r#"INSERT INTO msdb."dbo.sysmail_server" VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, 0, NULL, ?8, ?9)"#,
        &[Value::Int(id), Value::Text(servertype), Value::Text(server), Value::Int(port), username.map_or(Value::Null, Value::Text), Value::Int(default_creds), Value::Int(ssl), now, user],
    )?;
    if let Some(pw) = c.p.raw_text("password") {
        c.write(
            "main",
            "ferry.mail_secrets",
            r#"INSERT OR REPLACE INTO main."ferry.mail_secrets" VALUES (?1, ?2)"#,
            &[Value::Int(id), Value::Text(pw)],
        )?;
    }
    c.p.set_output("account_id", SqlType::Int, Value::Int(id));
    Ok(Vec::new())
}

fn update_account(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let Some(id) = object(c, "account", "sysmail_account", "account_id", false)? else {
        return Ok(Vec::new());
    };
    let key = Value::Int(id);
    let [now, user] = stamp(c);
    for col in [
        "email_address",
        "display_name",
        "replyto_address",
        "description",
    ] {
        if c.p.given(col) {
            let v = c.p.text(col).map_or(Value::Null, Value::Text);
            let sql = format!(
                r#"UPDATE msdb."dbo.sysmail_account" SET {col} = ?2, last_mod_datetime = ?3, last_mod_user = ?4 WHERE account_id = ?1"#
            );
            c.write(
                "msdb",
                "dbo.sysmail_account",
                &sql,
                &[key.clone(), v, now.clone(), user.clone()],
            )?;
        }
    }
    if let (Some(new_name), Some(_)) = (c.p.text("account_name"), c.p.int("account_id")?) {
        c.write(
            "msdb",
            "dbo.sysmail_account",
            r#"UPDATE msdb."dbo.sysmail_account" SET name = ?2 WHERE account_id = ?1"#,
            &[key.clone(), Value::Text(new_name)],
        )?;
    }
    for (col, is_text) in [
        ("mailserver_name", true),
        ("port", false),
        ("username", true),
        ("use_default_credentials", false),
        ("enable_ssl", false),
        ("timeout", false),
    ] {
        if !c.p.given(col) {
            continue;
        }
        let v = if is_text {
            c.p.text(col).map_or(Value::Null, Value::Text)
        } else {
            c.p.int(col)?.map_or(Value::Null, Value::Int)
        };
        let target = if col == "mailserver_name" {
            "servername"
        } else {
            col
        };
        let sql = format!(
            r#"UPDATE msdb."dbo.sysmail_server" SET {target} = ?2, last_mod_datetime = ?3, last_mod_user = ?4 WHERE account_id = ?1"#
        );
        c.write(
            "msdb",
            "dbo.sysmail_server",
            &sql,
            &[key.clone(), v, now.clone(), user.clone()],
        )?;
    }
    if c.p.int_or("no_credential_change", 0)? == 0 && c.p.given("password") {
        match c.p.raw_text("password") {
            Some(pw) => c.write(
                "main",
                "ferry.mail_secrets",
                r#"INSERT OR REPLACE INTO main."ferry.mail_secrets" VALUES (?1, ?2)"#,
                &[key, Value::Text(pw)],
            )?,
            None => c.write(
                "main",
                "ferry.mail_secrets",
                r#"DELETE FROM main."ferry.mail_secrets" WHERE account_id = ?1"#,
                &[key],
            )?,
        };
    }
    Ok(Vec::new())
}

fn delete_account(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let id = Value::Int(object(c, "account", "sysmail_account", "account_id", false)?.unwrap_or(0));
    for table in [
        "sysmail_profileaccount",
        "sysmail_server",
        "sysmail_account",
    ] {
        let sql = format!(r#"DELETE FROM msdb."dbo.{table}" WHERE account_id = ?1"#);
        c.write(
            "msdb",
            &format!("dbo.{table}"),
            &sql,
            std::slice::from_ref(&id),
        )?;
    }
    c.write(
        "main",
        "ferry.mail_secrets",
        r#"DELETE FROM main."ferry.mail_secrets" WHERE account_id = ?1"#,
        &[id],
    )?;
    Ok(Vec::new())
}
