//! Database Mail configuration: `sysmail_add_account_sp`, `sysmail_add_profile_sp`,
//! `sysmail_add_profileaccount_sp`, `sysmail_add_principalprofile_sp`,
//! `sysmail_update_account_sp` and the `sysmail_delete_*_sp` procedures ("Database Mail stored
//! procedures (Transact-SQL)"), with msdb's sysmail_verify_* checks (14604 … 14615) and the
//! unique constraints msdb declares on its tables (error 2627 naming them).
//!
//! The SMTP password goes to `ferry.mail_secrets`, never to a table T-SQL can read.

use super::context::{Ctx, Def};
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
        "sysmail_add_profile_sp",
        &["profile_name", "description", "profile_id"],
        add_profile,
    ),
    (
        "sysmail_add_profileaccount_sp",
        &[
            "profile_id",
            "profile_name",
            "account_id",
            "account_name",
            "sequence_number",
        ],
        add_profileaccount,
    ),
    (
        "sysmail_add_principalprofile_sp",
        &[
            "principal_id",
            "principal_name",
            "profile_id",
            "profile_name",
            "is_default",
        ],
        add_principalprofile,
    ),
    (
        "sysmail_delete_account_sp",
        &["account_id", "account_name"],
        delete_account,
    ),
    (
        "sysmail_delete_profile_sp",
        &["profile_id", "profile_name", "force_delete"],
        delete_profile,
    ),
    (
        "sysmail_delete_profileaccount_sp",
        &["profile_id", "profile_name", "account_id", "account_name"],
        delete_profileaccount,
    ),
    (
        "sysmail_delete_principalprofile_sp",
        &[
            "principal_id",
            "principal_name",
            "profile_id",
            "profile_name",
        ],
        delete_principalprofile,
    ),
];

fn err(number: i32, text: String) -> ServerMessage {
    ServerMessage::error(number, 16, text)
}

/// SQL Server error 2627 for a row msdb's unique constraint refuses.
fn duplicate(kind: &str, constraint: &str, table: &str, key: &str) -> ServerMessage {
    ServerMessage::error(
        2627,
        14,
        format!(
            "Violation of {kind} constraint '{constraint}'. Cannot insert duplicate key in object 'dbo.{table}'. The duplicate key value is ({key})."
        ),
    )
}

/// sysmail_verify_profile_sp / sysmail_verify_account_sp: an object by id or name (14604 when
/// neither is given, 14605 when they disagree, 14606/14607 when it does not exist).
fn object(
    c: &mut Ctx<'_, '_>,
    kind: &str,
    table: &str,
    id_col: &str,
    allow_none: bool,
) -> Result<Option<i64>, ServerMessage> {
    let id = c.p.int(&format!("{kind}_id"))?;
    let name = c.p.text(&format!("{kind}_name"));
    let sql = format!(r#"SELECT {id_col} FROM msdb."dbo.{table}" WHERE "#);
    let by_id = match id {
        Some(i) => Some(
            c.scalar_int(&format!("{sql}{id_col} = ?1"), &[Value::Int(i)])?
                .ok_or_else(|| err(14606, format!("{kind} id is not valid")))?,
        ),
        None => None,
    };
    let by_name = match &name {
        Some(n) => Some(
            c.scalar_int(
                &format!("{sql}name = ?1 COLLATE NOCASE"),
                &[Value::Text(n.clone())],
            )?
            .ok_or_else(|| err(14607, format!("{kind} name is not valid")))?,
        ),
        None => None,
    };
    match (by_id, by_name) {
        (Some(a), Some(b)) if a != b => Err(err(
            14605,
            format!("Both {kind} parameters (id and name) do not point to the same object"),
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) if allow_none => Ok(None),
        (None, None) => Err(err(
            14604,
            format!("Both {kind} parameters (id and name) cannot be NULL"),
        )),
    }
}

fn stamp(c: &Ctx<'_, '_>) -> [Value; 2] {
    [c.now(), Value::Text(c.s.user.to_owned())]
}

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

fn add_profile(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let Some(name) = c.p.text("profile_name") else {
        return Err(err(
            14618,
            "Parameter '@profile_name' must be specified. This parameter cannot be NULL.".into(),
        ));
    };
    if c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysmail_profile" WHERE name = ?1 COLLATE NOCASE"#,
        &[Value::Text(name.clone())],
    )?
    .is_some()
    {
        return Err(duplicate(
            "UNIQUE KEY",
            "SYSMAIL_PROFILE_NameMustBeUnique",
            "sysmail_profile",
            &name,
        ));
    }
    let id = c
        .scalar_int(
            r#"SELECT MAX(profile_id) FROM msdb."dbo.sysmail_profile""#,
            &[],
        )?
        .unwrap_or(0)
        + 1;
    let description = c.p.text("description").map_or(Value::Null, Value::Text);
    let [now, user] = stamp(c);
    c.write(
        "msdb",
        "dbo.sysmail_profile",
        r#"INSERT INTO msdb."dbo.sysmail_profile" VALUES (?1, ?2, ?3, ?4, ?5)"#,
        &[Value::Int(id), Value::Text(name), description, now, user],
    )?;
    c.p.set_output("profile_id", SqlType::Int, Value::Int(id));
    Ok(Vec::new())
}

fn add_profileaccount(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let profile = object(c, "profile", "sysmail_profile", "profile_id", false)?.unwrap_or(0);
    let account = object(c, "account", "sysmail_account", "account_id", false)?.unwrap_or(0);
    let key = [Value::Int(profile), Value::Int(account)];
    if c.scalar_int(r#"SELECT 1 FROM msdb."dbo.sysmail_profileaccount" WHERE profile_id = ?1 AND account_id = ?2"#, &key)?.is_some() {
        return Err(duplicate("PRIMARY KEY", "SYSMAIL_ACCOUNT_ProfileAccountMustBeUnique", "sysmail_profileaccount", &format!("{profile}, {account}")));
    }
    let seq = c.p.int("sequence_number")?.map_or(Value::Null, Value::Int);
    let [now, user] = stamp(c);
    c.write(
        "msdb",
        "dbo.sysmail_profileaccount",
        r#"INSERT INTO msdb."dbo.sysmail_profileaccount" VALUES (?1, ?2, ?3, ?4, ?5)"#,
        &[key[0].clone(), key[1].clone(), seq, now, user],
    )?;
    Ok(Vec::new())
}

/// sysmail_verify_principal_sp: 'public' (SID 0x00) or a principal with a SID. The emulator
/// knows server principals; SQL Server resolves msdb database principals (users of logins).
fn principal(c: &mut Ctx<'_, '_>) -> Result<Vec<u8>, ServerMessage> {
    let id = c.p.int("principal_id")?;
    let name = c.p.text("principal_name");
    if id == Some(0)
        || name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case("public"))
    {
        return Ok(vec![0]);
    }
    match (id, name) {
        (_, Some(n)) => c
            .login_sid(&n)?
            .ok_or_else(|| err(14607, "principal name is not valid".into())),
        (Some(i), None) => match c.scalar(
            r#"SELECT sid FROM main."sys.server_principals" WHERE principal_id = ?1"#,
            &[Value::Int(i)],
        )? {
            Some(Value::Binary(b)) => Ok(b),
            _ => Err(err(14606, "principal id is not valid".into())),
        },
        (None, None) => Err(err(
            14604,
            "Both principal parameters (id and name) cannot be NULL".into(),
        )),
    }
}

fn add_principalprofile(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let sid = principal(c)?;
    let profile = object(c, "profile", "sysmail_profile", "profile_id", false)?.unwrap_or(0);
    let key = [Value::Int(profile), Value::Binary(sid.clone())];
    if c.scalar_int(r#"SELECT 1 FROM msdb."dbo.sysmail_principalprofile" WHERE profile_id = ?1 AND principal_sid = ?2"#, &key)?.is_some() {
        let hex: String = sid.iter().map(|b| format!("{b:02x}")).collect();
        return Err(duplicate("PRIMARY KEY", "SYSMAIL_PRINCIPALPROFILE_ProfilePrincipalMustBeUnique", "sysmail_principalprofile", &format!("{profile}, 0x{hex}")));
    }
    let is_default = c.p.int_or("is_default", 0)?;
    if is_default == 1 {
        // A principal has one default profile (sysmail_add_principalprofile_sp).
        c.write("msdb", "dbo.sysmail_principalprofile", r#"UPDATE msdb."dbo.sysmail_principalprofile" SET is_default = 0 WHERE principal_sid = ?2 AND profile_id <> ?1"#, &key)?;
    }
    let [now, user] = stamp(c);
    c.write(
        "msdb",
        "dbo.sysmail_principalprofile",
        r#"INSERT INTO msdb."dbo.sysmail_principalprofile" VALUES (?1, ?2, ?3, ?4, ?5)"#,
        &[
            key[0].clone(),
            key[1].clone(),
            Value::Int(is_default),
            now,
            user,
        ],
    )?;
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

fn delete_profile(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let id = Value::Int(object(c, "profile", "sysmail_profile", "profile_id", false)?.unwrap_or(0));
    for table in [
        "sysmail_profileaccount",
        "sysmail_principalprofile",
        "sysmail_profile",
    ] {
        let sql = format!(r#"DELETE FROM msdb."dbo.{table}" WHERE profile_id = ?1"#);
        c.write(
            "msdb",
            &format!("dbo.{table}"),
            &sql,
            std::slice::from_ref(&id),
        )?;
    }
    Ok(Vec::new())
}

fn delete_profileaccount(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let profile = object(c, "profile", "sysmail_profile", "profile_id", true)?;
    let account = object(c, "account", "sysmail_account", "account_id", true)?;
    let (sql, params) = match (profile, account) {
        (Some(p), Some(a)) => (
            "profile_id = ?1 AND account_id = ?2",
            vec![Value::Int(p), Value::Int(a)],
        ),
        (Some(p), None) => ("profile_id = ?1", vec![Value::Int(p)]),
        (None, Some(a)) => ("account_id = ?1", vec![Value::Int(a)]),
        (None, None) => {
            return Err(err(
                14608,
                "Either profile or account parameter needs to be supplied".into(),
            ));
        }
    };
    let sql = format!(r#"DELETE FROM msdb."dbo.sysmail_profileaccount" WHERE {sql}"#);
    c.write("msdb", "dbo.sysmail_profileaccount", &sql, &params)?;
    Ok(Vec::new())
}

fn delete_principalprofile(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let sid = principal(c)?;
    let profile = object(c, "profile", "sysmail_profile", "profile_id", true)?;
    let (sql, params) = match profile {
        Some(p) => (
            "principal_sid = ?1 AND profile_id = ?2",
            vec![Value::Binary(sid), Value::Int(p)],
        ),
        None => ("principal_sid = ?1", vec![Value::Binary(sid)]),
    };
    let sql = format!(r#"DELETE FROM msdb."dbo.sysmail_principalprofile" WHERE {sql}"#);
    c.write("msdb", "dbo.sysmail_principalprofile", &sql, &params)?;
    Ok(Vec::new())
}
