//! Database Mail's configuration tables in msdb ("Database Mail Configuration Objects";
//! `sysmail_account`, `sysmail_profile`, `sysmail_profileaccount`, `sysmail_server`,
//! `sysmail_principalprofile`, `sysmail_servertype`), with the columns msdb has.
//!
//! An account's SMTP password is not in any of them: SQL Server keeps it as a credential whose
//! secret no catalog view shows (`sysmail_server.credential_id`). The emulator keeps it in its
//! own table in the catalog (`ferry.mail_secrets`, in `main`, readable by no T-SQL name), and
//! leaves `credential_id` NULL, since it creates no `sys.credentials` row for it.

use rusqlite::Connection;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS msdb."dbo.sysmail_account" (
    account_id INTEGER PRIMARY KEY, name sysname NOT NULL, description nvarchar(256), email_address nvarchar(128) NOT NULL,
    display_name nvarchar(128), replyto_address nvarchar(128), last_mod_datetime datetime NOT NULL,
    last_mod_user sysname NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysmail_profile" (
    profile_id INTEGER PRIMARY KEY, name sysname NOT NULL, description nvarchar(256), last_mod_datetime datetime NOT NULL,
    last_mod_user sysname NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysmail_profileaccount" (
    profile_id int NOT NULL, account_id int NOT NULL, sequence_number int, last_mod_datetime datetime NOT NULL,
    last_mod_user sysname NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysmail_server" (
    account_id int NOT NULL, servertype sysname NOT NULL, servername sysname NOT NULL, port int NOT NULL,
    username nvarchar(128), credential_id int, use_default_credentials bit NOT NULL, enable_ssl bit NOT NULL,
    flags int NOT NULL, timeout int, last_mod_datetime datetime NOT NULL, last_mod_user sysname NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysmail_principalprofile" (
    profile_id int NOT NULL, principal_sid varbinary(85) NOT NULL, is_default bit NOT NULL,
    last_mod_datetime datetime NOT NULL, last_mod_user sysname NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysmail_servertype" (
    servertype sysname NOT NULL, is_incoming bit NOT NULL, is_outgoing bit NOT NULL,
    last_mod_datetime datetime NOT NULL, last_mod_user sysname NOT NULL
);
CREATE TABLE IF NOT EXISTS "ferry.mail_secrets" (account_id int PRIMARY KEY, password nvarchar(4000));
"#;

/// Creates the tables and seeds the one server type msdb ships ("SMTP", outgoing).
pub(super) fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let n: i64 = conn.query_row(
        r#"SELECT COUNT(*) FROM msdb."dbo.sysmail_servertype""#,
        [],
        |r| r.get(0),
    )?;
    if n == 0 {
        conn.execute(
            r#"INSERT INTO msdb."dbo.sysmail_servertype" VALUES ('SMTP', 0, 1, '2026-01-01 00:00:00', 'sa')"#,
            [],
        )?;
    }
    Ok(())
}
