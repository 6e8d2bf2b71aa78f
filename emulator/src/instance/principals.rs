//! Logins: `sys.server_principals` and `sys.sql_logins` with the columns their reference pages
//! list, the principals a new instance has, CREATE / ALTER / DROP LOGIN in their documented
//! forms ("CREATE LOGIN (Transact-SQL)", "ALTER LOGIN (Transact-SQL)"), and the checks a TDS
//! login passes after its password.

use super::principal_basics::{NOW, not_found};
use super::security::{password_hash, unique_bytes};
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// How a login authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginKind {
    /// A SQL login: a password (plain) or a hash (`HASHED`).
    Sql {
        password: Option<String>,
        hash: Option<Vec<u8>>,
    },
    /// `FROM WINDOWS` (type U).
    Windows,
    /// `FROM EXTERNAL PROVIDER`: Microsoft Entra, MI only (type E, or X for a group).
    External,
    /// `FROM CERTIFICATE c` (type C).
    Certificate(String),
    /// `FROM ASYMMETRIC KEY k` (type K).
    AsymmetricKey(String),
}

/// A password as CREATE/ALTER LOGIN gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    Plain(String),
    Hashed(Vec<u8>),
}

/// The WITH options of CREATE and ALTER LOGIN; None where the statement leaves one alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginOptions {
    pub password: Option<Password>,
    pub must_change: bool,
    /// ALTER LOGIN … OLD_PASSWORD: accepted, not checked (the caller is an administrator).
    pub sid: Option<Vec<u8>>,
    pub default_database: Option<String>,
    pub default_language: Option<String>,
    pub check_policy: Option<bool>,
    pub check_expiration: Option<bool>,
    pub credential: Option<String>,
    /// ALTER LOGIN … NAME = new.
    pub name: Option<String>,
    /// ALTER LOGIN … NO CREDENTIAL.
    pub no_credential: bool,
}

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.server_principals" (
    name sysname, principal_id int, sid varbinary(85), type char(1), type_desc nvarchar(60),
    is_disabled bit, create_date datetime, modify_date datetime, default_database_name sysname,
    default_language_name sysname, credential_id int, owning_principal_id int, is_fixed_role bit
);
CREATE TABLE IF NOT EXISTS "sys.sql_logins" (
    name sysname, principal_id int, sid varbinary(85), type char(1), type_desc nvarchar(60),
    is_disabled bit, create_date datetime, modify_date datetime, default_database_name sysname,
    default_language_name sysname, credential_id int, owning_principal_id int, is_fixed_role bit,
    is_policy_checked bit, is_expiration_checked bit, password_hash varbinary(256)
);
CREATE TABLE IF NOT EXISTS "sys.server_principal_credentials" (principal_id int, credential_id int);
CREATE TABLE IF NOT EXISTS "ferry.login_flags" (principal_id int PRIMARY KEY, must_change int);
"#;

/// A certificate-mapped login's SID: S-1-9-1 followed by bytes of the certificate. Guess: the
/// real tail is the certificate's thumbprint; the emulator derives bytes from the name.
pub(super) fn certificate_sid(name: &str) -> Vec<u8> {
    use sha2::{Digest, Sha512};
    let mut sid = vec![1, 6, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0];
    sid.extend_from_slice(&Sha512::digest(name.to_ascii_lowercase().as_bytes())[..20]);
    sid
}

pub(super) fn type_desc(ty: &str) -> &'static str {
    match ty {
        "S" => "SQL_LOGIN",
        "U" => "WINDOWS_LOGIN",
        "G" => "WINDOWS_GROUP",
        "R" => "SERVER_ROLE",
        "C" => "CERTIFICATE_MAPPED_LOGIN",
        "K" => "ASYMMETRIC_KEY_MAPPED_LOGIN",
        "E" => "EXTERNAL_LOGIN",
        _ => "EXTERNAL_GROUP",
    }
}

/// A server principal's row: (principal_id, name as stored, sid, type).
pub(crate) type Principal = (i64, String, Vec<u8>, String);

impl Instance {
    pub(super) fn insert_sql_login(
        &self,
        id: i64,
        hash: Vec<u8>,
        policy: bool,
        expiration: bool,
    ) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"INSERT INTO "sys.sql_logins" (name, principal_id, sid, type, type_desc, is_disabled, create_date, modify_date, default_database_name, default_language_name, credential_id, owning_principal_id, is_fixed_role, is_policy_checked, is_expiration_checked, password_hash) SELECT name, principal_id, sid, type, type_desc, is_disabled, create_date, modify_date, default_database_name, default_language_name, credential_id, owning_principal_id, is_fixed_role, ?2, ?3, ?4 FROM "sys.server_principals" WHERE principal_id = ?1"#,
                rusqlite::params![id, policy, expiration, hash],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Copies a principal's row into `sys.sql_logins`, which repeats it for SQL logins.
    pub(super) fn sync_sql_login(&self, id: i64) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"UPDATE "sys.sql_logins" SET (name, sid, is_disabled, modify_date, default_database_name, default_language_name, credential_id) = (SELECT name, sid, is_disabled, modify_date, default_database_name, default_language_name, credential_id FROM "sys.server_principals" p WHERE p.principal_id = ?1) WHERE principal_id = ?1"#,
                [id],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// A server principal (login or role) by name.
    pub(crate) fn principal(&self, name: &str) -> Option<Principal> {
        self.conn
            .query_row(
                r#"SELECT principal_id, name, sid, type FROM "sys.server_principals" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .ok()
    }

    /// A server principal by id or by SID (SUSER_NAME, SUSER_SNAME).
    pub(crate) fn principal_where(
        &self,
        column: &str,
        value: rusqlite::types::Value,
    ) -> Option<Principal> {
        let column = if column == "sid" {
            "sid"
        } else {
            "principal_id"
        };
        self.conn
            .query_row(
                &format!(r#"SELECT principal_id, name, sid, type FROM "sys.server_principals" WHERE {column} = ?1"#),
                [value],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .ok()
    }

    pub(super) fn next_principal_id(&self) -> Result<i64, ServerMessage> {
        self.conn
            .query_row(
                r#"SELECT MAX(COALESCE(MAX(principal_id), 0), 262) + 1 FROM "sys.server_principals""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)
    }

    /// CREATE LOGIN. `mi` applies Managed Instance's rules.
    pub fn create_login(
        &mut self,
        name: &str,
        kind: LoginKind,
        o: LoginOptions,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        if self.principal(name).is_some() {
            // SQL Server error 15025 (class 16).
            return Err(ServerMessage::error(
                15025,
                16,
                format!("The server principal '{name}' already exists."),
            ));
        }
        let (ty, sid) = match &kind {
            LoginKind::Sql { .. } => ("S", None),
            LoginKind::Windows if mi => {
                // methods.md: MI has no Windows logins; they map to Microsoft Entra ones.
                return Err(ServerMessage::error(
                    41901,
                    16,
                    "Windows logins are not supported in this version of SQL Server. Use FROM EXTERNAL PROVIDER.",
                ));
            }
            LoginKind::Windows => {
                // "CREATE LOGIN": a Windows name is [domain\login]; error 15407 (class 11).
                let valid = name
                    .split_once('\\')
                    .is_some_and(|(d, u)| !d.is_empty() && !u.is_empty());
                if !valid {
                    return Err(ServerMessage::error(
                        15407,
                        11,
                        format!(
                            "'{name}' is not a valid Windows NT name. Give the complete name: <domain\\username>."
                        ),
                    ));
                }
                // A group is told from a user by the directory: the configured Windows groups
                // (instance/windows_groups.rs) are type G, any other name a user (U); both
                // with a SID of the domain-account shape S-1-5-21-….
                let mut sid = vec![1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0];
                sid.extend_from_slice(&unique_bytes(name, 16));
                let ty = if self.is_windows_group(name) {
                    "G"
                } else {
                    "U"
                };
                (ty, Some(sid))
            }
            LoginKind::External if !mi => {
                return Err(ServerMessage::error(
                    102,
                    15,
                    "Incorrect syntax near 'EXTERNAL'.",
                ));
            }
            LoginKind::External => {
                let (group, object_id) = self.entra_lookup(name)?;
                (if group { "X" } else { "E" }, Some(object_id))
            }
            LoginKind::Certificate(c) => {
                // The login takes the certificate's own SID (sys.certificates.sid), which is
                // how a certificate-mapped login and its certificate are found together.
                let Some(sid) = self.certificate_sid_of(c) else {
                    return Err(not_found("find", "certificate", c));
                };
                ("C", Some(sid))
            }
            LoginKind::AsymmetricKey(k) => {
                // The emulator keeps no asymmetric keys, so none can be found (error 15151).
                return Err(not_found("find", "asymmetric key", k));
            }
        };
        self.check_login_options(ty, &o)?;
        let sid = match (o.sid.clone(), sid) {
            (Some(s), _) => s,
            (None, Some(s)) => s,
            (None, None) => unique_bytes(name, 16),
        };
        let taken = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.server_principals" WHERE sid = ?1"#,
                [&sid],
                |_| Ok(()),
            )
            .is_ok();
        if taken {
            // SQL Server error 15433 (class 16).
            return Err(ServerMessage::error(
                15433,
                16,
                "Supplied parameter sid is in use.",
            ));
        }
        let credential = match &o.credential {
            Some(c) => Some(self.credential_id(c)?),
            None => None,
        };
        let db = o
            .default_database
            .clone()
            .unwrap_or_else(|| "master".into());
        let lang = o
            .default_language
            .clone()
            .unwrap_or_else(|| "us_english".into());
        let id = self.next_principal_id()?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_principals" (name, principal_id, sid, type, type_desc, is_disabled, create_date, modify_date, default_database_name, default_language_name, credential_id, owning_principal_id, is_fixed_role) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, ?7, ?8, ?9, NULL, 0)"#,
                rusqlite::params![name, id, sid, ty, type_desc(ty), NOW, db, lang, credential],
            )
            .map_err(sqlite_error)?;
        if let LoginKind::Sql { password, hash } = kind {
            let hash = match (hash, password) {
                (Some(h), _) => h,
                (None, Some(p)) => new_hash(name, &p),
                (None, None) => return Err(crate::syntax::syntax_error("PASSWORD")),
            };
            // "CREATE LOGIN": CHECK_POLICY defaults to ON, CHECK_EXPIRATION to OFF.
            let policy = o.check_policy.unwrap_or(true);
            let expiration = o.check_expiration.unwrap_or(false) || o.must_change;
            self.insert_sql_login(id, hash, policy, expiration)?;
            self.conn
                .execute(
                    r#"INSERT OR REPLACE INTO "ferry.login_flags" VALUES (?1, ?2)"#,
                    rusqlite::params![id, o.must_change],
                )
                .map_err(sqlite_error)?;
        }
        if credential.is_some() {
            self.map_credential(id, credential)?;
        }
        // "CREATE LOGIN": a new login is granted CONNECT SQL.
        self.grant_connect_sql(id)
    }

    /// The option rules CREATE and ALTER LOGIN share (errors from sys.messages).
    pub(super) fn check_login_options(
        &self,
        ty: &str,
        o: &LoginOptions,
    ) -> Result<(), ServerMessage> {
        let sql_only = [
            ("PASSWORD", o.password.is_some()),
            ("CHECK_POLICY", o.check_policy.is_some()),
            ("CHECK_EXPIRATION", o.check_expiration.is_some()),
            ("SID", o.sid.is_some()),
        ];
        if let Some((param, _)) = sql_only.iter().find(|(_, set)| *set) {
            match ty {
                "U" | "G" => {
                    // 15080: Cannot use parameter %s for a Windows login.
                    return Err(ServerMessage::error(
                        15080,
                        16,
                        format!("Cannot use parameter {param} for a Windows login."),
                    ));
                }
                "C" | "K" => {
                    return Err(ServerMessage::error(
                        15171,
                        16,
                        format!(
                            "Cannot use the parameter \"{param}\" for a certificate or asymmetric key login."
                        ),
                    ));
                }
                _ => {}
            }
        }
        if let Some(db) = &o.default_database
            && self.database(db).is_none()
        {
            return Err(ServerMessage::error(
                15010,
                16,
                format!(
                    "The database '{db}' does not exist. Supply a valid database name. To see available databases, use sys.databases."
                ),
            ));
        }
        if o.check_policy == Some(false) && o.check_expiration == Some(true) {
            return Err(ServerMessage::error(
                15122,
                16,
                "The CHECK_EXPIRATION option cannot be used when CHECK_POLICY is OFF.",
            ));
        }
        if o.must_change && (o.check_policy == Some(false) || o.check_expiration == Some(false)) {
            return Err(ServerMessage::error(
                15128,
                16,
                "The CHECK_POLICY and CHECK_EXPIRATION options cannot be turned OFF when MUST_CHANGE is ON.",
            ));
        }
        Ok(())
    }

    fn certificate_sid_of(&self, name: &str) -> Option<Vec<u8>> {
        self.conn
            .query_row(
                r#"SELECT sid FROM "sys.certificates" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .ok()
            .map(|sid| sid.unwrap_or_else(|| certificate_sid(name)))
    }

    /// A SQL login the server is configured with: created the first time, given the configured
    /// password when it has another one (a restart with a changed password), else left alone.
    /// It administers the server, so it is a member of sysadmin.
    pub fn ensure_login(
        &mut self,
        name: &str,
        password: &str,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        if self.authenticate(name, password).is_none() {
            let o = LoginOptions {
                password: Some(Password::Plain(password.to_owned())),
                ..Default::default()
            };
            if self.principal(name).is_some() {
                self.alter_login(name, o)?;
            } else {
                let kind = LoginKind::Sql {
                    password: Some(password.to_owned()),
                    hash: None,
                };
                self.create_login(name, kind, LoginOptions::default(), mi)?;
            }
        }
        let id = self.principal(name).map_or(1, |p| p.0);
        self.add_role_member_ids(3, id)
    }
}

pub(super) fn new_hash(name: &str, password: &str) -> Vec<u8> {
    password_hash(password, unique_bytes(name, 4).try_into().unwrap_or([0; 4]))
}
