//! Background operations (an MI's RESTORE … FROM URL): their rows in `sys.dm_exec_requests` and
//! `sys.dm_operation_status`, and the emulator's own record of each — what it restores, from
//! which blobs, how far it has come in virtual time — so that a server started again carries
//! them on.

use std::time::Duration;

use super::Instance;
use super::query::sqlite_error;
use crate::protocol::tokens::ServerMessage;

/// The operations' rows of `sys.dm_exec_requests` (the view is in [`super::sessions`]),
/// `sys.dm_operation_status` ("sys.dm_operation_status (Azure SQL Database)" columns), and the
/// emulator's record, in `main`. `operation_id` links a request row to its operation (an
/// emulator column; SQL Server has no such link).
pub const SCHEMA: &str = r#"
CREATE TABLE "ferry.operation_requests" (
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
    id TEXT PRIMARY KEY, database TEXT NOT NULL, target TEXT NOT NULL, devices TEXT NOT NULL,
    session INTEGER NOT NULL, size INTEGER NOT NULL, total_ms INTEGER, elapsed_ms INTEGER NOT NULL
);
"#;

/// A restore the server drives over virtual time: into database `database` (a GUID name until
/// it completes), then renamed to `target`; read from `devices` (URL and size of each stripe).
#[derive(Debug, Clone, PartialEq)]
pub struct OperationStart {
    pub id: String,
    pub database: String,
    pub target: String,
    pub devices: Vec<(String, u64)>,
    pub session: i64,
    /// Bytes to read, all stripes.
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
    /// Records a background restore of `op.target` into `op.database`: a request and an
    /// operation row appear, the operation naming its target (the database's GUID name is
    /// what sys.databases shows meanwhile, methods.md §4.4).
    pub(super) fn start_operation(
        &mut self,
        op: &OperationStart,
        now: &str,
    ) -> Result<(), ServerMessage> {
        let db_id = self.database(&op.database).map_or(0, |d| d.id);
        self.conn
            .execute(
                r#"INSERT INTO "sys.dm_operation_status" VALUES (?1, 0, 'Database', ?2, NULL, 'RESTORE DATABASE', 1, 'IN_PROGRESS', 0, 0, NULL, 0, 0, ?3, ?3)"#,
                rusqlite::params![op.id, op.target, now],
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "ferry.operation_requests" VALUES (?1, 0, ?2, 'running', 'RESTORE DATABASE', ?3, 0.0, NULL, 0, ?4)"#,
                rusqlite::params![op.session, now, db_id, op.id],
            )
            .map_err(sqlite_error)?;
        // Recorded with the restore itself, so a server stopped before it drives the
        // operation still finds it at its next start (its duration is set by `operation_begin`).
        let devices = serde_json::to_string(&op.devices).unwrap_or_default();
        self.conn
            .execute(
                r#"INSERT INTO "ferry.operations" VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 0)"#,
                rusqlite::params![
                    op.id,
                    op.database,
                    op.target,
                    devices,
                    op.session,
                    i64::try_from(op.size).unwrap_or(i64::MAX)
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Whether a restore to `target` is under way.
    pub(super) fn restore_in_flight(&self, target: &str) -> bool {
        self.conn
            .query_row(
                r#"SELECT COUNT(*) FROM "ferry.operations" WHERE target = ?1 COLLATE NOCASE"#,
                [target],
                |r| r.get::<_, i64>(0),
            )
            .is_ok_and(|n| n > 0)
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
        // Restores report 1–99 while they run (methods.md §4.4).
        let pct = (fraction * 100.0).clamp(1.0, 99.0);
        let remaining = millis(progress.total.saturating_sub(progress.elapsed));
        let elapsed = millis(progress.elapsed);
        let _ = self.conn.execute(
            r#"UPDATE "sys.dm_operation_status" SET percent_complete = ?2, last_modify_time = ?3 WHERE session_activity_id = ?1"#,
            rusqlite::params![op.id, pct as i64, now],
        );
        let _ = self.conn.execute(
            r#"UPDATE "ferry.operation_requests" SET percent_complete = ?2, estimated_completion_time = ?3, total_elapsed_time = ?4 WHERE operation_id = ?1"#,
            rusqlite::params![op.id, pct, remaining, elapsed],
        );
        let _ = self.conn.execute(
            r#"UPDATE "ferry.operations" SET elapsed_ms = ?2 WHERE id = ?1"#,
            rusqlite::params![op.id, elapsed],
        );
    }

    /// An operation ended: COMPLETED, or FAILED with the error it failed with.
    pub(super) fn operation_ended(
        &mut self,
        op: &OperationStart,
        error: Option<&ServerMessage>,
        now: &str,
    ) {
        let _ = match error {
            None => self.conn.execute(
                r#"UPDATE "sys.dm_operation_status" SET state = 2, state_desc = 'COMPLETED', percent_complete = 100, last_modify_time = ?2 WHERE session_activity_id = ?1"#,
                rusqlite::params![op.id, now],
            ),
            Some(e) => self.conn.execute(
                r#"UPDATE "sys.dm_operation_status" SET state = 3, state_desc = 'FAILED', error_code = ?3, error_desc = ?4, error_severity = ?5, error_state = ?6, last_modify_time = ?2 WHERE session_activity_id = ?1"#,
                rusqlite::params![op.id, now, e.number, e.text, e.class, e.state],
            ),
        };
        let _ = self.conn.execute(
            r#"DELETE FROM "ferry.operation_requests" WHERE operation_id = ?1"#,
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
            r#"SELECT id, database, target, devices, session, size, total_ms, elapsed_ms FROM "ferry.operations""#,
        ) else {
            return vec![];
        };
        let rows = stmt.query_map([], |r| {
            let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
            let total: Option<i64> = r.get(6)?;
            let devices: String = r.get(3)?;
            Ok((
                OperationStart {
                    id: r.get(0)?,
                    database: r.get(1)?,
                    target: r.get(2)?,
                    devices: serde_json::from_str(&devices).unwrap_or_default(),
                    session: r.get(4)?,
                    size: r.get::<_, i64>(5)?.max(0) as u64,
                },
                match total {
                    Some(t) => Some(OperationProgress {
                        total: ms(t),
                        elapsed: ms(r.get(7)?),
                    }),
                    None => None,
                },
            ))
        });
        rows.map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }
}
