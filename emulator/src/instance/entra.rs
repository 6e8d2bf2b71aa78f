//! The emulated Microsoft Entra directory a Managed Instance resolves `FROM EXTERNAL PROVIDER`
//! names in: user principal names and group display names. A name it lacks gets the error MI
//! gives, 33130 ("Principal '%ls' could not be found or this principal type is not
//! supported.", sys.messages). Kept in the catalog, so it survives a restart; set through
//! [`crate::Server::set_entra_directory`], the control API (`PUT /entra-directory`) and the
//! CLI (`--entra-user`, `--entra-group`).

use sha2::{Digest, Sha512};

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "ferry.entra_directory" (name TEXT PRIMARY KEY COLLATE NOCASE, is_group INTEGER NOT NULL);
"#;

/// The directory a new instance has: the names the emulator's and ferry's tests use for
/// access tokens and Entra logins (admin@, ferry@), three users, and two groups.
pub const DEFAULT_USERS: &[&str] = &[
    "admin@contoso.com",
    "alice@contoso.com",
    "bob@contoso.com",
    "jdoe@contoso.com",
    "ferry@contoso.com",
];
pub const DEFAULT_GROUPS: &[&str] = &["SQL Admins", "Data Readers"];

/// A directory object's id, stable for its name: MI gives an Entra login or user the object id
/// as its SID (16 bytes), so a login and a user made for one name match.
pub fn object_id(name: &str) -> Vec<u8> {
    Sha512::digest(format!("entra/{}", name.to_lowercase()).as_bytes())[..16].to_vec()
}

impl Instance {
    pub(super) fn seed_entra_directory(&self) -> Result<(), ServerMessage> {
        let empty = self
            .conn
            .query_row(r#"SELECT COUNT(*) FROM "ferry.entra_directory""#, [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(sqlite_error)?
            == 0;
        if empty {
            let users: Vec<String> = DEFAULT_USERS.iter().map(|s| (*s).to_owned()).collect();
            let groups: Vec<String> = DEFAULT_GROUPS.iter().map(|s| (*s).to_owned()).collect();
            self.set_entra_directory(&users, &groups)?;
        }
        Ok(())
    }

    /// Replaces the directory with these users (UPNs) and groups (display names).
    pub fn set_entra_directory(
        &self,
        users: &[String],
        groups: &[String],
    ) -> Result<(), ServerMessage> {
        self.conn
            .execute(r#"DELETE FROM "ferry.entra_directory""#, [])
            .map_err(sqlite_error)?;
        for (names, group) in [(users, false), (groups, true)] {
            for n in names {
                self.conn
                    .execute(
                        r#"INSERT OR REPLACE INTO "ferry.entra_directory" VALUES (?1, ?2)"#,
                        rusqlite::params![n, group],
                    )
                    .map_err(sqlite_error)?;
            }
        }
        Ok(())
    }

    /// The directory: (users, groups).
    pub fn entra_directory(&self) -> Result<(Vec<String>, Vec<String>), ServerMessage> {
        let mut stmt = self
            .conn
            .prepare(r#"SELECT name, is_group FROM "ferry.entra_directory" ORDER BY name"#)
            .map_err(sqlite_error)?;
        let rows: Vec<(String, bool)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sqlite_error)?
            .collect::<Result<_, _>>()
            .map_err(sqlite_error)?;
        let (groups, users): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.1);
        Ok((
            users.into_iter().map(|r| r.0).collect(),
            groups.into_iter().map(|r| r.0).collect(),
        ))
    }

    /// A name in the directory: (is a group, its object id); error 33130 otherwise.
    pub(crate) fn entra_lookup(&self, name: &str) -> Result<(bool, Vec<u8>), ServerMessage> {
        self.conn
            .query_row(
                r#"SELECT is_group FROM "ferry.entra_directory" WHERE name = ?1"#,
                [name],
                |r| r.get::<_, bool>(0),
            )
            .map(|g| (g, object_id(name)))
            .map_err(|_| {
                ServerMessage::error(
                    33130,
                    16,
                    format!("Principal '{name}' could not be found or this principal type is not supported."),
                )
            })
    }
}
