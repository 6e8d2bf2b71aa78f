//! What the MI link engine (crate::hadr) does to the databases of one instance: read a
//! database whole for automatic seeding, create the seeded copy, read and redo the change log
//! by LSN (so both sides keep the same LSNs), refuse writes to a database that is the
//! secondary of a link, and record the MI's automatic backups.

use super::Instance;
use super::change_log::{CHANGE_LOG, DB_MARKER};
use super::query::{q, sqlite_error};
use super::restores::already_exists;
use crate::backup::LogEntry;
use crate::protocol::tokens::ServerMessage;

/// The catalog table naming the databases that are a link's secondary, kept in the instance's
/// catalog so the role survives a restart.
const SECONDARIES: &str = "ferry.link_secondaries";

/// A database as automatic seeding streams it: its file and the LSN it holds.
pub struct SeedingImage {
    pub bytes: Vec<u8>,
    pub lsn: i64,
}

fn no_database(db: &str) -> ServerMessage {
    // SQL Server error 911 (class 16).
    ServerMessage::error(
        911,
        16,
        format!("Database '{db}' does not exist. Make sure that the name is entered correctly."),
    )
}

impl Instance {
    /// The database's file as it is now and the newest LSN in it: every statement commits
    /// under the instance lock, so the file is consistent (as BACKUP DATABASE reads it).
    pub(crate) fn seeding_image(&self, db: &str) -> Result<SeedingImage, ServerMessage> {
        let info = self.database(db).ok_or_else(|| no_database(db))?;
        let file = info.file.clone().ok_or_else(|| {
            ServerMessage::error(50000, 16, format!("database '{db}' has no file to seed"))
        })?;
        let bytes = std::fs::read(&file)
            .map_err(|e| super::backup_devices::os_error(&file.display().to_string(), &e))?;
        Ok(SeedingImage {
            bytes,
            lsn: self.current_lsn(db),
        })
    }

    /// The seeded database as it waits for its data: RESTORING, as "Troubleshoot link" says
    /// the secondary's copy is during initial seeding. Error 1801 if the name is taken.
    pub(crate) fn begin_link_seeding(&mut self, db: &str) -> Result<(), ServerMessage> {
        if self.database(db).is_some() {
            return Err(already_exists(db));
        }
        self.create_database(db)?;
        self.update_database(db, |i| i.restoring = true)?;
        self.set_state(db, true)
    }

    /// Seeding finished: the copy takes the seeded file, still RESTORING until the link
    /// brings it online.
    pub(crate) fn finish_link_seeding(
        &mut self,
        db: &str,
        image: &SeedingImage,
    ) -> Result<(), ServerMessage> {
        if self.database(db).is_some() {
            self.drop_database(db)?;
        }
        let file = self.new_file_path(db);
        std::fs::write(&file, &image.bytes)
            .map_err(|e| super::backup_devices::os_error(&file.display().to_string(), &e))?;
        self.attach(db, Some(file), super::Recovery::Full, false)?;
        self.update_database(db, |i| {
            i.restoring = true;
            i.restored_lsn = image.lsn;
        })?;
        self.set_state(db, true)
    }

    /// Brings a seeded copy online (readable; writes refused while it is a secondary).
    pub(crate) fn open_link_replica(&mut self, db: &str) -> Result<(), ServerMessage> {
        self.update_database(db, |i| i.restoring = false)?;
        self.set_state(db, false)
    }

    /// The change log after `after`, oldest first.
    pub(crate) fn log_after(&self, db: &str, after: i64) -> Result<Vec<LogEntry>, ServerMessage> {
        self.change_entries(db, after, i64::MAX)
    }

    /// Bytes of change log after `after` (the log send queue the primary holds).
    pub(crate) fn log_bytes_after(&self, db: &str, after: i64) -> i64 {
        let sql = format!(
            "SELECT COALESCE(SUM(length(sql)), 0) FROM {}.{} WHERE lsn > ?1",
            q(db),
            q(CHANGE_LOG)
        );
        self.conn
            .query_row(&sql, [after], |r| r.get(0))
            .unwrap_or(0)
    }

    /// Redoes the primary's changes on the secondary under the same LSNs; returns the newest
    /// LSN the copy holds. Entries it already holds are skipped.
    pub(crate) fn redo(&mut self, db: &str, entries: &[LogEntry]) -> Result<i64, ServerMessage> {
        let info = self.database(db).cloned().ok_or_else(|| no_database(db))?;
        let held = self.current_lsn(&info.name);
        let mut last = held;
        for e in entries.iter().filter(|e| e.lsn > held) {
            let sql = e.sql.replace(DB_MARKER, &q(&info.name));
            self.conn.execute_batch(&sql).map_err(sqlite_error)?;
            let ins = format!(
                "INSERT INTO {}.{} (lsn, sql) VALUES (?1, ?2)",
                q(&info.name),
                q(CHANGE_LOG)
            );
            self.conn
                .execute(&ins, rusqlite::params![e.lsn, e.sql])
                .map_err(sqlite_error)?;
            last = e.lsn;
        }
        Ok(last)
    }

    /// Marks (or unmarks) a database as the secondary of a link.
    pub(crate) fn set_link_secondary(
        &mut self,
        db: &str,
        secondary: bool,
    ) -> Result<(), ServerMessage> {
        let t = q(SECONDARIES);
        self.conn
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (name TEXT PRIMARY KEY COLLATE NOCASE)"
            ))
            .map_err(sqlite_error)?;
        let sql = if secondary {
            format!("INSERT OR IGNORE INTO {t} (name) VALUES (?1)")
        } else {
            format!("DELETE FROM {t} WHERE name = ?1")
        };
        self.conn.execute(&sql, [db]).map_err(sqlite_error)?;
        Ok(())
    }

    pub(crate) fn is_link_secondary(&self, db: &str) -> bool {
        let sql = format!("SELECT 1 FROM {} WHERE name = ?1", q(SECONDARIES));
        self.conn.query_row(&sql, [db], |_| Ok(())).is_ok()
    }

    /// Refuses a write to a link's secondary: a readable secondary answers SQL Server error
    /// 3906 ("Configure read-only access to a secondary replica of an availability group":
    /// read-only; the engine's text for 3906).
    pub(crate) fn refuse_write_on_link_secondary(&self, db: &str) -> Result<(), ServerMessage> {
        if !self.is_link_secondary(db) {
            return Ok(());
        }
        let name = self.database(db).map_or(db, |i| i.name.as_str());
        Err(ServerMessage::error(
            3906,
            16,
            format!("Failed to update database \"{name}\" because the database is read-only."),
        ))
    }

    /// The MI's automatic full backup of a database (msdb.dbo.backupset type D), as "Fail over
    /// link" has the MI take after a failover.
    pub(crate) fn record_automatic_backup(
        &mut self,
        db: &str,
        server_name: &str,
        now: &str,
    ) -> Result<(), ServerMessage> {
        let info = self.database(db).cloned().ok_or_else(|| no_database(db))?;
        let lsn = self.current_lsn(&info.name);
        let media: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(media_set_id), 0) + 1 FROM msdb."dbo.backupset""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        let guid = super::guid_text(&super::unique_bytes(&format!("auto/{db}/{now}"), 16));
        self.conn
            .execute(
                r#"INSERT INTO msdb."dbo.backupset" (backup_set_uuid, media_set_id, name, database_name, type, first_lsn, last_lsn, checkpoint_lsn, database_backup_lsn,
                   is_copy_only, has_backup_checksums, begins_log_chain, backup_size, compressed_backup_size, backup_start_date, backup_finish_date, recovery_model, server_name, family_guid, position)
                   VALUES (?1, ?2, NULL, ?3, 'D', ?4, ?4, ?4, 0, 0, 1, 0, 0, 0, ?5, ?5, 'FULL', ?6, ?7, 1)"#,
                rusqlite::params![guid, media, info.name, lsn, now, server_name, info.family_guid],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
