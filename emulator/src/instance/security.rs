//! Logins and credentials: `sys.server_principals`, `sys.sql_logins` (with the SQL Server 2012+
//! password hash `LOGINPROPERTY(name, 'PasswordHash')` returns) and `sys.credentials`.
//! Credential secrets are kept apart from every catalog view, as SQL Server keeps them.

use sha2::{Digest, Sha512};

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// SQL Server 2012+ password hash: 0x0200, a 4-byte salt, then SHA-512 of the UTF-16LE password
/// followed by the salt (70 bytes). Documented by its shape in LOGINPROPERTY output and in
/// `CREATE LOGIN … PASSWORD = 0x0200… HASHED`.
pub fn password_hash(password: &str, salt: [u8; 4]) -> Vec<u8> {
    let mut h = Sha512::new();
    for u in password.encode_utf16() {
        h.update(u.to_le_bytes());
    }
    h.update(salt);
    let mut out = vec![0x02, 0x00];
    out.extend_from_slice(&salt);
    out.extend_from_slice(&h.finalize());
    out
}

fn verify(password: &str, hash: &[u8]) -> bool {
    hash.len() == 70
        && hash[..2] == [0x02, 0x00]
        && password_hash(password, [hash[2], hash[3], hash[4], hash[5]]) == hash
}

/// Bytes that differ per call, for salts and SIDs: a hash of a counter and the clock. Not for
/// cryptography — the emulator guards nothing real.
pub(crate) fn unique_bytes(seed: &str, n: usize) -> Vec<u8> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let c = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let d = Sha512::digest(format!("{seed}/{c}/{t}").as_bytes());
    d[..n].to_vec()
}

/// 16 bytes in a GUID's text form.
pub(crate) fn guid_text(b: &[u8]) -> String {
    let mut g = [0u8; 16];
    for (d, s) in g.iter_mut().zip(b) {
        *d = *s;
    }
    crate::protocol::types::text(&crate::protocol::types::Value::Guid(g))
}

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
    /// `FROM EXTERNAL PROVIDER` (type E): Microsoft Entra, MI only.
    External,
}

pub const SCHEMA: &str = r#"
CREATE TABLE "sys.server_principals" (
    name nvarchar(128), principal_id int, sid varbinary(85), type char(1), type_desc nvarchar(60),
    is_disabled bit, create_date datetime2, default_database_name nvarchar(128)
);
CREATE TABLE "sys.sql_logins" (
    name nvarchar(128), principal_id int, sid varbinary(85), type char(1), type_desc nvarchar(60),
    is_disabled bit, default_database_name nvarchar(128), password_hash varbinary(256),
    is_policy_checked bit, is_expiration_checked bit
);
CREATE TABLE "sys.credentials" (
    credential_id int, name nvarchar(128), credential_identity nvarchar(4000), create_date datetime2,
    modify_date datetime2, target_type nvarchar(100), target_id int
);
CREATE TABLE "ferry.credential_secrets" (name nvarchar(128), secret nvarchar(4000));
"#;

const NOW: &str = "2026-01-01 00:00:00.0000000";

impl Instance {
    fn principal_exists(&self, name: &str) -> bool {
        self.conn
            .query_row(
                r#"SELECT 1 FROM "sys.server_principals" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |_| Ok(()),
            )
            .is_ok()
    }

    /// CREATE LOGIN.
    pub fn create_login(
        &mut self,
        name: &str,
        kind: LoginKind,
        sid: Option<Vec<u8>>,
        default_db: Option<String>,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        if self.principal_exists(name) {
            // SQL Server error 15025 (class 16).
            return Err(ServerMessage::error(
                15025,
                16,
                format!("The server principal '{name}' already exists."),
            ));
        }
        if let Some(sid) = &sid {
            let taken = self
                .conn
                .query_row(
                    r#"SELECT 1 FROM "sys.server_principals" WHERE sid = ?1"#,
                    [sid],
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
        }
        let (ty, desc) = match &kind {
            LoginKind::Sql { .. } => ("S", "SQL_LOGIN"),
            LoginKind::Windows if mi => {
                // methods.md: MI has no Windows logins; they map to Microsoft Entra ones.
                return Err(ServerMessage::error(
                    41901,
                    16,
                    "Windows logins are not supported in this version of SQL Server. Use FROM EXTERNAL PROVIDER.",
                ));
            }
            LoginKind::Windows => ("U", "WINDOWS_LOGIN"),
            LoginKind::External if !mi => {
                return Err(ServerMessage::error(
                    102,
                    15,
                    "Incorrect syntax near 'EXTERNAL'.",
                ));
            }
            LoginKind::External => ("E", "EXTERNAL_LOGIN"),
        };
        let sid = sid.unwrap_or_else(|| unique_bytes(name, 16));
        let db = default_db.unwrap_or_else(|| "master".into());
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(principal_id), 256) + 1 FROM "sys.server_principals""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_principals" VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)"#,
                rusqlite::params![name, id, sid, ty, desc, NOW, db],
            )
            .map_err(sqlite_error)?;
        if let LoginKind::Sql { password, hash } = kind {
            let hash = match (hash, password) {
                (Some(h), _) => h,
                (None, Some(p)) => {
                    password_hash(&p, unique_bytes(name, 4).try_into().unwrap_or([0; 4]))
                }
                (None, None) => {
                    return Err(ServerMessage::error(
                        102,
                        15,
                        "Incorrect syntax near 'PASSWORD'.",
                    ));
                }
            };
            self.conn
                .execute(r#"INSERT INTO "sys.sql_logins" VALUES (?1, ?2, ?3, 'S', 'SQL_LOGIN', 0, ?4, ?5, 1, 0)"#, rusqlite::params![name, id, sid, db, hash])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// A SQL login the server is configured with: created the first time, given the configured
    /// password when it has another one (a restart with a changed password), else left alone.
    pub fn ensure_login(
        &mut self,
        name: &str,
        password: &str,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        if self.authenticate(name, password).is_some() {
            return Ok(());
        }
        if self.principal_exists(name) {
            return self.alter_login(name, Some(Password::Plain(password.to_owned())), None);
        }
        let kind = LoginKind::Sql {
            password: Some(password.to_owned()),
            hash: None,
        };
        self.create_login(name, kind, None, None, mi)
    }

    /// DROP LOGIN.
    pub fn drop_login(&mut self, name: &str) -> Result<(), ServerMessage> {
        self.drop_principal(name, "login", ["sys.server_principals", "sys.sql_logins"])
    }

    /// ALTER LOGIN … WITH PASSWORD / ENABLE / DISABLE.
    pub fn alter_login(
        &mut self,
        name: &str,
        password: Option<Password>,
        disabled: Option<bool>,
    ) -> Result<(), ServerMessage> {
        if !self.principal_exists(name) {
            // SQL Server error 15151 (class 16).
            return Err(ServerMessage::error(
                15151,
                16,
                format!(
                    "Cannot alter the login '{name}', because it does not exist or you do not have permission."
                ),
            ));
        }
        if let Some(d) = disabled {
            for table in ["sys.server_principals", "sys.sql_logins"] {
                self.conn.execute(&format!(r#"UPDATE "{table}" SET is_disabled = ?2 WHERE name = ?1 COLLATE NOCASE"#), rusqlite::params![name, d]).map_err(sqlite_error)?;
            }
        }
        if let Some(p) = password {
            let hash = match p {
                Password::Plain(p) => {
                    password_hash(&p, unique_bytes(name, 4).try_into().unwrap_or([0; 4]))
                }
                Password::Hashed(h) => h,
            };
            self.conn.execute(r#"UPDATE "sys.sql_logins" SET password_hash = ?2 WHERE name = ?1 COLLATE NOCASE"#, rusqlite::params![name, hash]).map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// Checks a SQL login's password; the login's name as stored when it is right and enabled.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<String> {
        let (stored, hash, disabled): (String, Vec<u8>, bool) = self
            .conn
            .query_row(r#"SELECT name, password_hash, is_disabled FROM "sys.sql_logins" WHERE name = ?1 COLLATE NOCASE"#, [name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ok()?;
        (!disabled && verify(password, &hash)).then_some(stored)
    }

    /// LOGINPROPERTY(name, 'PasswordHash').
    pub fn password_hash_of(&self, name: &str) -> Option<Vec<u8>> {
        self.conn
            .query_row(
                r#"SELECT password_hash FROM "sys.sql_logins" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .ok()
    }

    /// CREATE CREDENTIAL.
    pub fn create_credential(
        &mut self,
        name: &str,
        identity: &str,
        secret: Option<&str>,
    ) -> Result<(), ServerMessage> {
        let exists = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.credentials" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |_| Ok(()),
            )
            .is_ok();
        if exists {
            // Guess: SQL Server's exact number for a duplicate credential is not in our
            // references; 15025 is its "already exists" error for principals.
            return Err(ServerMessage::error(
                15025,
                16,
                format!("The credential '{name}' already exists."),
            ));
        }
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(credential_id), 100) + 1 FROM "sys.credentials""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.credentials" VALUES (?1, ?2, ?3, ?4, ?4, NULL, NULL)"#,
                rusqlite::params![id, name, identity, NOW],
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "ferry.credential_secrets" VALUES (?1, ?2)"#,
                rusqlite::params![name, secret],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// DROP CREDENTIAL.
    pub fn drop_credential(&mut self, name: &str) -> Result<(), ServerMessage> {
        self.drop_principal(
            name,
            "credential",
            ["sys.credentials", "ferry.credential_secrets"],
        )
    }

    /// Deletes `name` from a catalog table and its companion; error 15151 (class 16) when the
    /// catalog had no such `what`, as SQL Server answers DROP LOGIN and DROP CREDENTIAL.
    fn drop_principal(
        &mut self,
        name: &str,
        what: &str,
        [catalog, companion]: [&str; 2],
    ) -> Result<(), ServerMessage> {
        let delete = |table: &str| {
            self.conn
                .execute(
                    &format!(r#"DELETE FROM "{table}" WHERE name = ?1 COLLATE NOCASE"#),
                    [name],
                )
                .map_err(sqlite_error)
        };
        let n = delete(catalog)?;
        delete(companion)?;
        if n == 0 {
            return Err(ServerMessage::error(
                15151,
                16,
                format!(
                    "Cannot drop the {what} '{name}', because it does not exist or you do not have permission."
                ),
            ));
        }
        Ok(())
    }

    /// A credential's identity and secret, for BACKUP/RESTORE TO/FROM URL.
    pub fn credential(&self, name: &str) -> Option<(String, Option<String>)> {
        self.conn
            .query_row(
                r#"SELECT c.credential_identity, s.secret FROM "sys.credentials" c JOIN "ferry.credential_secrets" s ON s.name = c.name WHERE c.name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
    }
}

/// A password as CREATE/ALTER LOGIN gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    Plain(String),
    Hashed(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_have_the_2012_shape_and_verify() {
        let h = password_hash("P@ss", [1, 2, 3, 4]);
        assert_eq!(h.len(), 70);
        assert_eq!(&h[..6], &[2, 0, 1, 2, 3, 4]);
        assert!(verify("P@ss", &h));
        assert!(!verify("p@ss", &h));
    }
}
