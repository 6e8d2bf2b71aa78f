//! Which Windows names are groups, for `CREATE LOGIN [DOMAIN\name] FROM WINDOWS` on a SQL
//! Server: a real server asks Active Directory, and records a group as type G
//! (WINDOWS_GROUP) and a user as type U ("sys.server_principals"). The emulator has no
//! directory, so the groups are configured ([`crate::Server::set_windows_groups`], the CLI's
//! `--windows-group`); any other valid `DOMAIN\name` is a user. Kept in the catalog, so it
//! survives a restart.

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "ferry.windows_groups" (name TEXT PRIMARY KEY COLLATE NOCASE);
"#;

impl Instance {
    /// Replaces the Windows groups (`DOMAIN\name`).
    pub fn set_windows_groups(&self, groups: &[String]) -> Result<(), ServerMessage> {
        self.conn
            .execute(r#"DELETE FROM "ferry.windows_groups""#, [])
            .map_err(sqlite_error)?;
        for g in groups {
            self.conn
                .execute(
                    r#"INSERT OR REPLACE INTO "ferry.windows_groups" VALUES (?1)"#,
                    [g],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// Whether `name` is a configured Windows group.
    pub(crate) fn is_windows_group(&self, name: &str) -> bool {
        self.conn
            .query_row(
                r#"SELECT 1 FROM "ferry.windows_groups" WHERE name = ?1"#,
                [name],
                |_| Ok(()),
            )
            .is_ok()
    }
}
