//! When a table's statistics were last updated (UPDATE STATISTICS, sp_updatestats), for
//! STATS_DATE ("STATS_DATE (Transact-SQL)"), and a database's compatibility level ("ALTER
//! DATABASE (Transact-SQL) compatibility level"). The emulator keeps no histograms: a table has
//! one statistics object, stats_id 1 (its clustered index's, as SQL Server numbers them), whose
//! date is the last update recorded here (NULL before one, a stricter reading than SQL Server,
//! which also dates statistics built automatically).

use super::Instance;
use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

const UPDATES: &str = "ferry.stats_updates";

impl Instance {
    fn ensure_stats(&self) -> Result<(), ServerMessage> {
        self.conn
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS main.{} (db TEXT NOT NULL, object_id INTEGER NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (db, object_id))",
                q(UPDATES)
            ))
            .map_err(sqlite_error)
    }

    /// Records that the statistics of table `object_id` in `db` were updated at `now`.
    pub fn record_stats_update(
        &self,
        db: &str,
        object_id: i64,
        now: &str,
    ) -> Result<(), ServerMessage> {
        self.ensure_stats()?;
        self.conn
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO main.{} (db, object_id, updated) VALUES (?1, ?2, ?3)",
                    q(UPDATES)
                ),
                rusqlite::params![db.to_ascii_lowercase(), object_id, now],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// When the statistics `stats_id` of `object_id` in `db` were last updated.
    pub fn stats_date(&self, db: &str, object_id: i64, stats_id: i64) -> Option<String> {
        if stats_id != 1 || self.ensure_stats().is_err() {
            return None;
        }
        self.conn
            .query_row(
                &format!(
                    "SELECT updated FROM main.{} WHERE db = ?1 AND object_id = ?2",
                    q(UPDATES)
                ),
                rusqlite::params![db.to_ascii_lowercase(), object_id],
                |r| r.get(0),
            )
            .ok()
    }

    /// The ids of the user tables of `db`.
    pub fn user_table_ids(&self, db: &str) -> Result<Vec<i64>, ServerMessage> {
        Ok(self
            .checked_tables(db)?
            .iter()
            .map(|t| t.object_id)
            .collect())
    }

    /// Sets a database's compatibility level as sys.databases shows it.
    pub fn set_compatibility_level(&self, db: &str, level: u8) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"UPDATE "sys.databases" SET compatibility_level = ?2 WHERE name = ?1 COLLATE NOCASE"#,
                rusqlite::params![db, level],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
