//! The SQL Server 2012+ password hash logins keep (principals.rs), credentials
//! (`sys.credentials`) and the logins mapped to them (`sys.server_principal_credentials`).
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

pub(super) fn verify(password: &str, hash: &[u8]) -> bool {
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

pub const SCHEMA: &str = r#"
CREATE TABLE "sys.credentials" (
    credential_id int, name nvarchar(128), credential_identity nvarchar(4000), create_date datetime2,
    modify_date datetime2, target_type nvarchar(100), target_id int
);
CREATE TABLE "ferry.credential_secrets" (name nvarchar(128), secret nvarchar(4000));
"#;

const NOW: &str = "2026-01-01 00:00:00.0000000";

impl Instance {
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

    /// A credential's id; error 15151 when there is none (ALTER LOGIN … ADD CREDENTIAL).
    pub(super) fn credential_id(&self, name: &str) -> Result<i64, ServerMessage> {
        self.conn
            .query_row(
                r#"SELECT credential_id FROM "sys.credentials" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .map_err(|_| super::principal_basics::not_found("find", "credential", name))
    }

    /// Maps a login to a credential ("sys.server_principal_credentials"), or unmaps it.
    pub(super) fn map_credential(
        &self,
        principal: i64,
        credential: Option<i64>,
    ) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"DELETE FROM "sys.server_principal_credentials" WHERE principal_id = ?1"#,
                [principal],
            )
            .map_err(sqlite_error)?;
        if let Some(c) = credential {
            self.conn
                .execute(
                    r#"INSERT INTO "sys.server_principal_credentials" VALUES (?1, ?2)"#,
                    [principal, c],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// ALTER LOGIN … ADD CREDENTIAL c (true) | DROP CREDENTIAL c: more than one credential may
    /// be mapped to a login this way ("ALTER LOGIN (Transact-SQL)").
    pub fn login_credential(
        &mut self,
        login: &str,
        credential: &str,
        add: bool,
    ) -> Result<(), ServerMessage> {
        let Some((id, ..)) = self.principal(login).filter(|p| p.3 != "R") else {
            return Err(super::principal_basics::not_found("alter", "login", login));
        };
        let c = self.credential_id(credential)?;
        if add {
            self.conn
                .execute(r#"INSERT INTO "sys.server_principal_credentials" SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM "sys.server_principal_credentials" WHERE principal_id = ?1 AND credential_id = ?2)"#, [id, c])
                .map_err(sqlite_error)?;
        } else {
            self.conn
                .execute(r#"DELETE FROM "sys.server_principal_credentials" WHERE principal_id = ?1 AND credential_id = ?2"#, [id, c])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// DROP CREDENTIAL: not while a login is mapped to it (error 15541).
    pub fn drop_credential(&mut self, name: &str) -> Result<(), ServerMessage> {
        if let Ok(c) = self.credential_id(name) {
            let used = self
                .conn
                .query_row(
                    r#"SELECT 1 FROM "sys.server_principal_credentials" WHERE credential_id = ?1"#,
                    [c],
                    |_| Ok(()),
                )
                .is_ok();
            if used {
                return Err(ServerMessage::error(
                    15541,
                    16,
                    format!(
                        "Cannot drop the credential '{name}' because it is used by a server principal."
                    ),
                ));
            }
        }
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
