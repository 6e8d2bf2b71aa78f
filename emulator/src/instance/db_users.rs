//! Database users: `sys.database_principals` in each database's own file — so a backup carries
//! them and a restore brings them back, orphaned when no login has their SID — and CREATE /
//! ALTER / DROP USER ("CREATE USER", "ALTER USER", "DROP USER", "sys.database_principals").
//! Changes in user databases go to the change log, so differential and log backups carry them.

use super::change_log::DB_MARKER;
use super::principal_basics::{NOW, not_found};
use super::query::q;
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// The table, in the database's schema (`{db}` is replaced).
const TABLE: &str = r#"CREATE TABLE IF NOT EXISTS {db}."sys.database_principals" (
    name sysname, principal_id int, type char(1), type_desc nvarchar(60), default_schema_name sysname,
    create_date datetime, modify_date datetime, owning_principal_id int, sid varbinary(85),
    is_fixed_role bit, authentication_type int, authentication_type_desc nvarchar(60)
)"#;

/// A built-in database principal: name, id, type, type_desc, default schema, owner, SID,
/// fixed role, authentication type and its description.
type SeedUser = (
    String,
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<i64>,
    Option<Vec<u8>>,
    bool,
    i64,
    &'static str,
);

/// Where a new user's identity comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSource {
    /// FOR | FROM LOGIN l; None: the login of the user's own name (CREATE USER x).
    Login(Option<String>),
    WithoutLogin,
    ExternalProvider,
}

/// What ALTER USER changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub login: Option<String>,
    pub name: Option<String>,
    pub default_schema: Option<String>,
}

fn blob_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// A value as a SQLite literal, so a change can be logged as one statement.
fn lit(v: &rusqlite::types::Value) -> String {
    use rusqlite::types::Value as V;
    match v {
        V::Null => "NULL".into(),
        V::Integer(i) => i.to_string(),
        V::Real(f) => f.to_string(),
        V::Text(t) => format!("'{}'", t.replace('\'', "''")),
        V::Blob(b) => format!("X'{}'", blob_hex(b)),
    }
}

/// The user type and authentication type a login's type gives its user.
fn user_type(login_type: &str) -> (&'static str, &'static str, i64, &'static str) {
    match login_type {
        "U" => ("U", "WINDOWS_USER", 3, "WINDOWS"),
        "G" => ("G", "WINDOWS_GROUP", 3, "WINDOWS"),
        "C" => ("C", "CERTIFICATE_MAPPED_USER", 1, "INSTANCE"),
        "K" => ("K", "ASYMMETRIC_KEY_MAPPED_USER", 1, "INSTANCE"),
        "E" => ("E", "EXTERNAL_USER", 4, "EXTERNAL"),
        "X" => ("X", "EXTERNAL_GROUP", 4, "EXTERNAL"),
        _ => ("S", "SQL_USER", 1, "INSTANCE"),
    }
}

/// The fixed database roles and their principal ids, as sys.database_principals lists them in
/// every database ("Database-level roles"; 16388 is not used). Each also owns the schema of its
/// name, with the same id (schema_objects/schemas.rs).
pub(crate) const FIXED_DATABASE_ROLES: &[(&str, i64)] = &[
    ("db_owner", 16384),
    ("db_accessadmin", 16385),
    ("db_securityadmin", 16386),
    ("db_ddladmin", 16387),
    ("db_backupoperator", 16389),
    ("db_datareader", 16390),
    ("db_datawriter", 16391),
    ("db_denydatareader", 16392),
    ("db_denydatawriter", 16393),
];

impl Instance {
    /// The table and the principals every database has: public (0), dbo (1, sa's SID),
    /// guest (2), INFORMATION_SCHEMA (3), sys (4) and the fixed database roles (16384–16393,
    /// "Database-level roles"). A file restored from an older backup gets them too.
    pub(super) fn ensure_database_principals(&self, db: &str) -> Result<(), ServerMessage> {
        let qdb = q(db);
        self.conn
            .execute_batch(&TABLE.replace("{db}", &qdb))
            .map_err(sqlite_error)?;
        let count: i64 = self
            .conn
            .query_row(
                &format!(r#"SELECT COUNT(*) FROM {qdb}."sys.database_principals""#),
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        if count > 0 {
            return Ok(());
        }
        let mut rows: Vec<SeedUser> = vec![
            (
                "public".into(),
                0,
                "R",
                "DATABASE_ROLE",
                None,
                Some(1),
                None,
                false,
                0,
                "NONE",
            ),
            (
                "dbo".into(),
                1,
                "S",
                "SQL_USER",
                Some("dbo"),
                None,
                Some(vec![1]),
                false,
                1,
                "INSTANCE",
            ),
            (
                "guest".into(),
                2,
                "S",
                "SQL_USER",
                Some("guest"),
                None,
                Some(vec![0]),
                false,
                0,
                "NONE",
            ),
            (
                "INFORMATION_SCHEMA".into(),
                3,
                "S",
                "SQL_USER",
                None,
                None,
                None,
                false,
                0,
                "NONE",
            ),
            (
                "sys".into(),
                4,
                "S",
                "SQL_USER",
                None,
                None,
                None,
                false,
                0,
                "NONE",
            ),
        ];
        for &(role, id) in FIXED_DATABASE_ROLES {
            rows.push((
                role.into(),
                id,
                "R",
                "DATABASE_ROLE",
                None,
                Some(1),
                None,
                true,
                0,
                "NONE",
            ));
        }
        let sql = format!(
            r#"INSERT INTO {qdb}."sys.database_principals" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11)"#
        );
        for (name, id, ty, desc, schema, owner, sid, fixed, auth, auth_desc) in rows {
            self.conn
                .execute(
                    &sql,
                    rusqlite::params![
                        name, id, ty, desc, schema, NOW, owner, sid, fixed, auth, auth_desc
                    ],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// Runs a change written against [`DB_MARKER`] in `db` and logs it for backups.
    fn change_users(&mut self, db: &str, sql: String) -> Result<(), ServerMessage> {
        self.conn
            .execute_batch(&sql.replace(DB_MARKER, &q(db)))
            .map_err(sqlite_error)?;
        if self.database(db).is_some_and(|d| !d.system) {
            self.log_change(db, &sql)?;
        }
        Ok(())
    }

    /// A user of `db`: (principal_id, name, type).
    fn user(&self, db: &str, name: &str) -> Option<(i64, String, String)> {
        self.conn
            .query_row(
                &format!(r#"SELECT principal_id, name, type FROM {}."sys.database_principals" WHERE name = ?1 COLLATE NOCASE"#, q(db)),
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok()
    }

    fn user_with_sid(&self, db: &str, sid: &[u8]) -> Option<String> {
        self.conn
            .query_row(
                &format!(
                    r#"SELECT name FROM {}."sys.database_principals" WHERE sid = ?1"#,
                    q(db)
                ),
                [sid],
                |r| r.get(0),
            )
            .ok()
    }

    fn usable_database(&self, db: &str) -> Result<(), ServerMessage> {
        match self.database(db) {
            Some(info) => info.usable(),
            None => Err(ServerMessage::error(
                911,
                16,
                format!(
                    "Database '{db}' does not exist. Make sure that the name is entered correctly."
                ),
            )),
        }
    }

    /// CREATE USER in database `db`. `mi` applies Managed Instance's rules.
    pub fn create_user(
        &mut self,
        db: &str,
        name: &str,
        source: UserSource,
        default_schema: Option<String>,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        self.usable_database(db)?;
        if self.user(db, name).is_some() {
            return Err(ServerMessage::error(
                15023,
                16,
                format!("User, group, or role '{name}' already exists in the current database."),
            ));
        }
        let (sid, login_type) = match source {
            UserSource::Login(login) => {
                let login = login.unwrap_or_else(|| name.to_owned());
                let Some((_, _, sid, ty)) = self.principal(&login).filter(|p| p.3 != "R") else {
                    return Err(ServerMessage::error(
                        15007,
                        16,
                        format!("'{login}' is not a valid login or you do not have permission."),
                    ));
                };
                (sid, ty)
            }
            UserSource::WithoutLogin => {
                // A user without login gets a SID of the S-1-9-3 shape ("CREATE USER").
                let mut sid = vec![1, 5, 0, 0, 0, 0, 0, 9, 3, 0, 0, 0];
                sid.extend_from_slice(&super::unique_bytes(name, 16));
                (sid, "S".to_owned())
            }
            UserSource::ExternalProvider if !mi => {
                return Err(crate::syntax::syntax_error("EXTERNAL"));
            }
            UserSource::ExternalProvider => {
                let (group, oid) = self.entra_lookup(name)?;
                (oid, if group { "X" } else { "E" }.to_owned())
            }
        };
        if self.user_with_sid(db, &sid).is_some() {
            return Err(ServerMessage::error(
                15063,
                16,
                "The login already has an account under a different user name.",
            ));
        }
        let (ty, desc, auth, auth_desc) = user_type(&login_type);
        let (auth, auth_desc) = if sid.starts_with(&[1, 5, 0, 0, 0, 0, 0, 9, 3]) {
            (0, "NONE")
        } else {
            (auth, auth_desc)
        };
        let schema = default_schema.unwrap_or_else(|| "dbo".into());
        let id: i64 = self
            .conn
            .query_row(
                &format!(r#"SELECT MAX(COALESCE(MAX(principal_id), 0), 4) + 1 FROM {}."sys.database_principals" WHERE principal_id < 16384"#, q(db)),
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        use rusqlite::types::Value as V;
        let values = [
            V::Text(name.to_owned()),
            V::Integer(id),
            V::Text(ty.into()),
            V::Text(desc.into()),
            V::Text(schema),
            V::Text(NOW.into()),
            V::Text(NOW.into()),
            V::Null,
            V::Blob(sid),
            V::Integer(0),
            V::Integer(auth),
            V::Text(auth_desc.into()),
        ];
        let list: Vec<String> = values.iter().map(lit).collect();
        let sql = format!(
            r#"INSERT INTO {DB_MARKER}."sys.database_principals" VALUES ({})"#,
            list.join(", ")
        );
        self.change_users(db, sql)
    }

    /// ALTER USER … WITH LOGIN = l, NAME = n, DEFAULT_SCHEMA = s. WITH LOGIN remaps the user to
    /// the login's SID and kind: a restored `DOMAIN\user` becomes a Microsoft Entra user on MI
    /// ("ALTER USER": "Remaps a user to another login by changing the user's SID to match the
    /// login's SID"; "Migrate SQL Server Windows users and groups to Azure SQL Managed Instance").
    pub fn alter_user(
        &mut self,
        db: &str,
        name: &str,
        change: UserChange,
    ) -> Result<(), ServerMessage> {
        self.usable_database(db)?;
        let Some((id, stored, _)) = self.user(db, name).filter(|u| u.2 != "R") else {
            return Err(not_found("alter", "user", name));
        };
        if id <= 4 {
            return Err(ServerMessage::error(
                15150,
                16,
                format!("Cannot alter the user '{stored}'."),
            ));
        }
        let mut sets: Vec<String> = Vec::new();
        if let Some(login) = &change.login {
            let Some((_, _, sid, ty)) = self.principal(login).filter(|p| p.3 != "R") else {
                return Err(ServerMessage::error(
                    15007,
                    16,
                    format!("'{login}' is not a valid login or you do not have permission."),
                ));
            };
            if self
                .user_with_sid(db, &sid)
                .is_some_and(|u| !u.eq_ignore_ascii_case(&stored))
            {
                return Err(ServerMessage::error(
                    15063,
                    16,
                    "The login already has an account under a different user name.",
                ));
            }
            let (ty, desc, auth, auth_desc) = user_type(&ty);
            sets.push(format!("sid = X'{}'", blob_hex(&sid)));
            sets.push(format!("type = '{ty}', type_desc = '{desc}'"));
            sets.push(format!(
                "authentication_type = {auth}, authentication_type_desc = '{auth_desc}'"
            ));
        }
        if let Some(new) = &change.name {
            if self.user(db, new).is_some_and(|u| u.0 != id) {
                return Err(ServerMessage::error(
                    15023,
                    16,
                    format!("User, group, or role '{new}' already exists in the current database."),
                ));
            }
            sets.push(format!("name = '{}'", new.replace('\'', "''")));
        }
        if let Some(s) = &change.default_schema {
            sets.push(format!("default_schema_name = '{}'", s.replace('\'', "''")));
        }
        if sets.is_empty() {
            return Ok(());
        }
        sets.push(format!("modify_date = '{NOW}'"));
        let sql = format!(
            r#"UPDATE {DB_MARKER}."sys.database_principals" SET {} WHERE principal_id = {id}"#,
            sets.join(", ")
        );
        self.change_users(db, sql)
    }

    /// DROP USER. The built-in users cannot go (15150, "Cannot drop the user 'dbo'.").
    pub fn drop_user(&mut self, db: &str, name: &str) -> Result<(), ServerMessage> {
        self.usable_database(db)?;
        let Some((id, stored, _)) = self.user(db, name).filter(|u| u.2 != "R") else {
            return Err(not_found("drop", "user", name));
        };
        if id <= 4 {
            return Err(ServerMessage::error(
                15150,
                16,
                format!("Cannot drop the user '{stored}'."),
            ));
        }
        let sql = format!(
            r#"DELETE FROM {DB_MARKER}."sys.database_principals" WHERE principal_id = {id}"#
        );
        self.change_users(db, sql)
    }
}
