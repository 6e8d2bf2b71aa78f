//! Background operations (an MI's RESTORE … FROM URL): their rows in `sys.dm_exec_requests` and
//! `sys.dm_operation_status`, and the emulator's own record of how far each has come in
//! virtual time, so that a server started again carries them on.

use std::time::Duration;

use super::query::sqlite_error;
use super::security::{guid_text, unique_bytes};
use super::{Instance, Recovery};
use crate::protocol::tokens::ServerMessage;

/// Server-level views of requests and operations, in `main`, and the emulator's progress
/// record. `operation_id` links a request row to its dm_operation_status row (an emulator
/// column; SQL Server has no such link).
pub const SCHEMA: &str = r#"
CREATE TABLE "sys.dm_exec_requests" (
    session_id smallint, request_id int, start_time datetime2, status nvarchar(30), command nvarchar(32),
    database_id smallint, percent_complete float, estimated_completion_time bigint, total_elapsed_time int,
    operation_id nvarchar(36)
);
CREATE TABLE "sys.dm_operation_status" (
    session_activity_id uniqueidentifier, resource_type int, resource_type_desc nvarchar(2048),
    major_resource_id nvarchar(128), minor_resource_id nvarchar(128), operation nvarchar(60), state tinyint,
    state_desc nvarchar(120), percent_complete int, error_code int, error_desc nvarchar(2048),
    error_severity int, error_state int, start_time datetime2, last_modify_time datetime2
);
CREATE TABLE "ferry.operations" (
    id TEXT PRIMARY KEY, database TEXT NOT NULL, session INTEGER NOT NULL, size INTEGER NOT NULL,
    total_ms INTEGER, elapsed_ms INTEGER NOT NULL
);
"#;

/// A long operation the server drives over virtual time.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationStart {
    pub id: String,
    pub database: String,
    pub session: i64,
    pub size: u64,
}

/// How long an operation takes and how much of it is done, in virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationProgress {
    pub total: Duration,
    pub elapsed: Duration,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Instance {
    /// Starts a background restore of `db`: the database shows RESTORING, and a request and an
    /// operation row appear.
    pub(super) fn start_operation(
        &mut self,
        db: &str,
        session: i64,
        size: u64,
        now: &str,
    ) -> Result<OperationStart, ServerMessage> {
        self.update_database(db, |i| i.restoring = true)?;
        self.set_state(db, true)?;
        // MI sets FULL recovery on every restored database (methods.md §7.5).
        self.set_recovery(db, Recovery::Full)?;
        let id = guid_text(&unique_bytes(db, 16));
        let db_id = self.database(db).map_or(0, |d| d.id);
        self.conn
            .execute(
                r#"INSERT INTO "sys.dm_operation_status" VALUES (?1, 0, 'Database', ?2, NULL, 'RESTORE DATABASE', 1, 'IN_PROGRESS', 0, 0, NULL, 0, 0, ?3, ?3)"#,
                rusqlite::params![id, db, now],
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.dm_exec_requests" VALUES (?1, 0, ?2, 'running', 'RESTORE DATABASE', ?3, 0.0, NULL, 0, ?4)"#,
                rusqlite::params![session, now, db_id, id],
            )
            .map_err(sqlite_error)?;
        // Recorded with the restore itself, so a server stopped before it drives the
        // operation still finds it at its next start (its duration is set by `operation_begin`).
        self.conn
            .execute(
                r#"INSERT INTO "ferry.operations" VALUES (?1, ?2, ?3, ?4, NULL, 0)"#,
                rusqlite::params![id, db, session, i64::try_from(size).unwrap_or(i64::MAX)],
            )
            .map_err(sqlite_error)?;
        Ok(OperationStart {
            id,
            database: db.to_owned(),
            session,
            size,
        })
    }

    /// Records how long an operation that has not begun yet will take.
    pub fn operation_begin(
        &mut self,
        op: &OperationStart,
        progress: &OperationProgress,
    ) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"UPDATE "ferry.operations" SET total_ms = ?2, elapsed_ms = ?3 WHERE id = ?1"#,
                rusqlite::params![op.id, millis(progress.total), millis(progress.elapsed)],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Moves a background operation on: `fraction` done, as far as `progress` says.
    pub fn operation_progress(
        &mut self,
        op: &OperationStart,
        fraction: f64,
        progress: &OperationProgress,
        now: &str,
    ) {
        let pct = (fraction * 100.0).clamp(0.0, 100.0);
        let remaining = millis(progress.total.saturating_sub(progress.elapsed));
        let elapsed = millis(progress.elapsed);
        let _ = self.conn.execute(
            r#"UPDATE "sys.dm_operation_status" SET percent_complete = ?2, last_modify_time = ?3 WHERE session_activity_id = ?1"#,
            rusqlite::params![op.id, pct as i64, now],
        );
        let _ = self.conn.execute(
            r#"UPDATE "sys.dm_exec_requests" SET percent_complete = ?2, estimated_completion_time = ?3, total_elapsed_time = ?4 WHERE operation_id = ?1"#,
            rusqlite::params![op.id, pct, remaining, elapsed],
        );
        let _ = self.conn.execute(
            r#"UPDATE "ferry.operations" SET elapsed_ms = ?2 WHERE id = ?1"#,
            rusqlite::params![op.id, elapsed],
        );
    }

    /// Finishes a background restore: the database comes online.
    pub fn operation_done(&mut self, op: &OperationStart, now: &str) {
        let _ = self.update_database(&op.database, |i| i.restoring = false);
        let _ = self.set_state(&op.database, false);
        let _ = self.conn.execute(
            r#"UPDATE "sys.dm_operation_status" SET state = 2, state_desc = 'COMPLETED', percent_complete = 100, last_modify_time = ?2 WHERE session_activity_id = ?1"#,
            rusqlite::params![op.id, now],
        );
        let _ = self.conn.execute(
            r#"DELETE FROM "sys.dm_exec_requests" WHERE operation_id = ?1"#,
            [&op.id],
        );
        let _ = self
            .conn
            .execute(r#"DELETE FROM "ferry.operations" WHERE id = ?1"#, [&op.id]);
    }

    /// The operations that were running when the instance was last closed, and how far each
    /// had come (None: it had not begun).
    pub fn operations_in_flight(&self) -> Vec<(OperationStart, Option<OperationProgress>)> {
        let Ok(mut stmt) = self.conn.prepare(
            r#"SELECT id, database, session, size, total_ms, elapsed_ms FROM "ferry.operations""#,
        ) else {
            return vec![];
        };
        let rows = stmt.query_map([], |r| {
            let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
            let total: Option<i64> = r.get(4)?;
            Ok((
                OperationStart {
                    id: r.get(0)?,
                    database: r.get(1)?,
                    session: r.get(2)?,
                    size: r.get::<_, i64>(3)?.max(0) as u64,
                },
                match total {
                    Some(t) => Some(OperationProgress {
                        total: ms(t),
                        elapsed: ms(r.get(5)?),
                    }),
                    None => None,
                },
            ))
        });
        rows.map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }
}
