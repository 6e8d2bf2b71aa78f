//! The change log inside each user database's file: every statement that changed the database,
//! by LSN, so differential and log backups can carry the changes and a restore can replay them.

use super::Instance;
use super::query::{q, sqlite_error};
use crate::backup::LogEntry;
use crate::protocol::tokens::ServerMessage;

/// The change log's table in each user database's file.
pub const CHANGE_LOG: &str = "ferry.log";

/// Stands for "this database" in the change log.
pub const DB_MARKER: &str = "\u{1}";

impl Instance {
    /// The newest LSN in a database's change log (0 when nothing changed since it was created).
    pub(crate) fn current_lsn(&self, db: &str) -> i64 {
        let sql = format!(
            "SELECT COALESCE(MAX(lsn), 0) FROM {}.{}",
            q(db),
            q(CHANGE_LOG)
        );
        self.conn.query_row(&sql, [], |r| r.get(0)).unwrap_or(0)
    }

    /// Records a change so differential and log backups can carry it: at once, or when the
    /// transaction it was made in commits.
    pub(crate) fn log_change(&mut self, db: &str, sql: &str) -> Result<(), ServerMessage> {
        if self.defer_change_log(db, sql) {
            return Ok(());
        }
        self.write_change_log(db, sql)
    }

    pub(super) fn write_change_log(&self, db: &str, sql: &str) -> Result<(), ServerMessage> {
        let stmt = format!("INSERT INTO {}.{} (sql) VALUES (?1)", q(db), q(CHANGE_LOG));
        self.conn.execute(&stmt, [sql]).map_err(sqlite_error)?;
        Ok(())
    }

    /// The changes after LSN `after` up to `upto`, for a differential or log backup.
    pub(super) fn change_entries(
        &self,
        db: &str,
        after: i64,
        upto: i64,
    ) -> Result<Vec<LogEntry>, ServerMessage> {
        let sql = format!(
            "SELECT lsn, sql FROM {}.{} WHERE lsn > ?1 AND lsn <= ?2 ORDER BY lsn",
            q(db),
            q(CHANGE_LOG)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(sqlite_error)?;
        let rows = stmt
            .query_map([after, upto], |r| {
                Ok(LogEntry {
                    lsn: r.get(0)?,
                    sql: r.get(1)?,
                })
            })
            .map_err(sqlite_error)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sqlite_error)
    }
}
