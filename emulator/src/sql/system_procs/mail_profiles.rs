//! Database Mail profiles: `sysmail_add_profile_sp`, `sysmail_add_profileaccount_sp`,
//! `sysmail_add_principalprofile_sp` and their `sysmail_delete_*_sp` ("Database Mail stored
//! procedures (Transact-SQL)"). For Agent's mail on a Managed Instance the profile must be
//! named `AzureManagedInstance_dbmail_profile` ("SQL Agent job notifications").

use super::context::{Ctx, Def};
use super::mail_checks::{duplicate, err, object, stamp};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[
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
