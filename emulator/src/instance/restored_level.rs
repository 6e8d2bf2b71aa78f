//! A database's compatibility level across a backup and restore. "ALTER DATABASE (Transact-SQL)
//! compatibility level", learn.microsoft.com: a database restored or attached from an earlier
//! version keeps its level when the new instance supports it, and is raised to the lowest
//! level the instance supports otherwise — so a backup records the database's own level, not
//! the instance's default, and a restore applies it. Every version ferry restores to (SQL
//! Server 2016 and later, Managed Instance) supports 100 and up.

use super::Instance;
use crate::protocol::tokens::ServerMessage;

/// The lowest level the instances a backup is restored to support.
const LOWEST: u8 = 100;

impl Instance {
    /// `db`'s level as sys.databases shows it (the instance's default if it has none).
    pub(super) fn database_compatibility_level(&self, db: &str) -> u8 {
        self.conn
            .query_row(
                r#"SELECT compatibility_level FROM "sys.databases" WHERE name = ?1 COLLATE NOCASE"#,
                [db],
                |r| r.get::<_, Option<u8>>(0),
            )
            .ok()
            .flatten()
            .unwrap_or(self.compatibility_level)
    }

    /// Gives the restored `db` the level its backup recorded, raised to the lowest supported.
    pub(super) fn keep_compatibility_level(
        &self,
        db: &str,
        level: u8,
    ) -> Result<(), ServerMessage> {
        self.set_compatibility_level(db, level.max(LOWEST))
    }
}
