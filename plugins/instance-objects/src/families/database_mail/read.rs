//! Database Mail's configuration in msdb ("Database Mail Configuration Objects":
//! `sysmail_account`, `sysmail_server`, `sysmail_profile`, `sysmail_profileaccount`,
//! `sysmail_principalprofile`), each read with its own query. An account's SMTP password is in
//! none of them: SQL Server keeps it as a credential no view reveals.

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;

use crate::config::Config;
use crate::table::Table;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub servertype: String,
    pub servername: String,
    pub port: i64,
    pub username: String,
    pub use_default_credentials: bool,
    pub enable_ssl: bool,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub email: String,
    pub display_name: String,
    pub replyto: String,
    pub server: Option<Server>,
}

impl Account {
    /// Everything compared between two servers (the password cannot be).
    pub fn fields(&self) -> (String, String, String, String, Option<Server>) {
        (
            self.email.to_lowercase(),
            self.display_name.clone(),
            self.replyto.to_lowercase(),
            self.description.clone(),
            self.server.clone().map(|mut s| {
                s.servername = s.servername.to_lowercase();
                s.servertype = s.servertype.to_uppercase();
                s
            }),
        )
    }

    /// Whether the SMTP server takes a user name and password (a secret to supply).
    pub fn needs_password(&self) -> bool {
        self.server
            .as_ref()
            .is_some_and(|s| !s.username.is_empty() && !s.use_default_credentials)
    }
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub id: i64,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Default)]
pub struct Mail {
    pub accounts: Vec<Account>,
    pub profiles: Vec<Profile>,
    /// (profile id, account id, sequence number).
    pub links: Vec<(i64, i64, i64)>,
    /// (profile id, principal SID, is default); SID 0x00 is `public`.
    pub principals: Vec<(i64, Vec<u8>, bool)>,
}

impl Mail {
    pub fn account(&self, id: i64) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// A profile's accounts as (lower-case name, sequence number), sorted.
    pub fn accounts_of(&self, profile: i64) -> Vec<(String, i64)> {
        let mut v: Vec<_> = self
            .links
            .iter()
            .filter(|(p, _, _)| *p == profile)
            .filter_map(|(_, a, seq)| Some((self.account(*a)?.name.clone(), *seq)))
            .collect();
        v.sort_by_key(|(name, seq)| (*seq, name.to_lowercase()));
        v
    }

    pub fn profile_named(&self, name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

pub fn mail(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Mail> {
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysmail_server",
        "SELECT account_id, servertype, servername, port, username, use_default_credentials, \
         enable_ssl FROM msdb.dbo.sysmail_server",
        &[],
    )?;
    let servers: Vec<(i64, Server)> = t
        .rows()
        .map(|r| {
            (
                r.int("account_id"),
                Server {
                    servertype: r.text("servertype"),
                    servername: r.text("servername"),
                    port: r.int("port"),
                    username: r.text("username"),
                    use_default_credentials: r.flag("use_default_credentials"),
                    enable_ssl: r.flag("enable_ssl"),
                },
            )
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysmail_account",
        "SELECT account_id, name, description, email_address, display_name, replyto_address \
         FROM msdb.dbo.sysmail_account",
        &[],
    )?;
    let accounts = t
        .rows()
        .map(|r| {
            let id = r.int("account_id");
            Account {
                id,
                name: r.text("name"),
                description: r.text("description"),
                email: r.text("email_address"),
                display_name: r.text("display_name"),
                replyto: r.text("replyto_address"),
                server: servers
                    .iter()
                    .find(|(a, _)| *a == id)
                    .map(|(_, s)| s.clone()),
            }
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysmail_profile",
        "SELECT profile_id, name, description FROM msdb.dbo.sysmail_profile",
        &[],
    )?;
    let profiles = t
        .rows()
        .map(|r| Profile {
            id: r.int("profile_id"),
            name: r.text("name"),
            description: r.text("description"),
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysmail_profileaccount",
        "SELECT profile_id, account_id, sequence_number FROM msdb.dbo.sysmail_profileaccount",
        &[],
    )?;
    let links = t
        .rows()
        .map(|r| {
            (
                r.int("profile_id"),
                r.int("account_id"),
                r.int("sequence_number"),
            )
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysmail_principalprofile",
        "SELECT profile_id, principal_sid, is_default FROM msdb.dbo.sysmail_principalprofile",
        &[],
    )?;
    let principals = t
        .rows()
        .map(|r| {
            (
                r.int("profile_id"),
                r.bytes("principal_sid").unwrap_or_default(),
                r.flag("is_default"),
            )
        })
        .collect();
    Ok(Mail {
        accounts,
        profiles,
        links,
        principals,
    })
}

/// SQL Agent's mail settings, which it keeps in the registry, not msdb (SSMS reads them with
/// xp_instance_regread; msdb.dbo.sp_get_sqlagent_properties does not return them): whether
/// Agent mails at all, and through which profile.
pub fn agent_profile(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Option<String>> {
    let t = Table::read(
        cx,
        conn,
        "SQL Agent's mail profile (registry)",
        "SET NOCOUNT ON; DECLARE @use int, @profile nvarchar(256); \
         EXEC master.dbo.xp_instance_regread N'HKEY_LOCAL_MACHINE', \
         N'SOFTWARE\\Microsoft\\MSSQLServer\\SQLServerAgent', N'UseDatabaseMail', @use OUTPUT, \
         N'no_output'; \
         EXEC master.dbo.xp_instance_regread N'HKEY_LOCAL_MACHINE', \
         N'SOFTWARE\\Microsoft\\MSSQLServer\\SQLServerAgent', N'DatabaseMailProfile', \
         @profile OUTPUT, N'no_output'; \
         SELECT @use AS use_databasemail, @profile AS databasemail_profile",
        &[],
    )?;
    Ok(t.rows()
        .next()
        .filter(|r| r.flag("use_databasemail"))
        .map(|r| r.text("databasemail_profile"))
        .filter(|p| !p.trim().is_empty()))
}
