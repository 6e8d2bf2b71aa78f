//! The sessions connected to the instance, for `sys.dm_exec_sessions`, `sys.dm_exec_requests`
//! and `sp_who`. They live in memory: a server started again has no sessions, as SQL Server
//! has none after a restart. The views are temporary tables in the connection's `temp` schema,
//! filled from memory when a statement reads them.

use std::collections::BTreeMap;

use super::Instance;
use super::query::sqlite_error;
use super::session_state::SessionInfo;
use crate::protocol::tokens::ServerMessage;

/// What the sessions' views are, in `temp`. Columns follow "sys.dm_exec_sessions" and
/// "sys.dm_exec_requests" (Transact-SQL reference), a subset of them in SQL Server's order;
/// `sys.dm_exec_requests` also shows the background restores of [`super::operations`].
pub(super) const SCHEMA: &str = r#"
CREATE TEMP TABLE "sys.dm_exec_sessions" (
    session_id smallint, login_time datetime2, host_name nvarchar(128), program_name nvarchar(128),
    login_name nvarchar(128), status nvarchar(30), cpu_time int, memory_usage int, total_elapsed_time int,
    last_request_start_time datetime2, reads bigint, writes bigint, logical_reads bigint, is_user_process bit,
    transaction_isolation_level smallint, lock_timeout int, row_count bigint, original_login_name nvarchar(128),
    database_id smallint, open_transaction_count int
);
CREATE TEMP TABLE "ferry.running_requests" (
    session_id smallint, request_id int, start_time datetime2, status nvarchar(30), command nvarchar(32),
    database_id smallint, blocking_session_id smallint, wait_type nvarchar(60), open_transaction_count int,
    percent_complete float, estimated_completion_time bigint, total_elapsed_time int
);
CREATE TEMP VIEW "sys.dm_exec_requests" AS
    SELECT session_id, request_id, start_time, status, command, database_id, blocking_session_id, wait_type,
           open_transaction_count, percent_complete, estimated_completion_time, total_elapsed_time
    FROM temp."ferry.running_requests"
    UNION ALL
    SELECT session_id, request_id, start_time, status, command, database_id, 0, NULL, 0,
           percent_complete, estimated_completion_time, total_elapsed_time
    FROM main."ferry.operation_requests";
"#;

impl Instance {
    /// A session logged in.
    pub fn session_opened(&mut self, info: SessionInfo) {
        self.sessions.insert(info.spid, info);
    }

    /// A session's current database changed (USE).
    pub fn session_database(&mut self, spid: u16, database: &str) {
        if let Some(s) = self.sessions.get_mut(&spid) {
            s.database = database.to_owned();
        }
    }

    pub(super) fn forget_session(&mut self, spid: u16) {
        self.sessions.remove(&spid);
        self.forget_trace_flags(spid);
    }

    /// The logged-in sessions, by session id.
    pub fn sessions(&self) -> &BTreeMap<u16, SessionInfo> {
        &self.sessions
    }

    /// Fills the sessions' views for a statement of `running`, whose request runs `command`.
    pub fn refresh_session_views(
        &mut self,
        running: u16,
        command: &str,
        now: &str,
    ) -> Result<(), ServerMessage> {
        self.conn
            .execute_batch(
                r#"DELETE FROM temp."sys.dm_exec_sessions"; DELETE FROM temp."ferry.running_requests";"#,
            )
            .map_err(sqlite_error)?;
        let rows: Vec<(SessionInfo, i64, u32)> = self
            .sessions
            .values()
            .map(|s| {
                let db = self.database(&s.database).map_or(1, |d| d.id);
                (s.clone(), db, self.transaction_count(s.spid))
            })
            .collect();
        for (s, db, trancount) in rows {
            let status = if s.spid == running {
                "running"
            } else {
                "sleeping"
            };
            self.conn
                .execute(
                    r#"INSERT INTO temp."sys.dm_exec_sessions" VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0, ?7, 0, 0, 0, 1, 2, -1, 0, ?5, ?8, ?9)"#,
                    rusqlite::params![s.spid, s.login_time, s.host, s.program, s.login, status, now, db, trancount],
                )
                .map_err(sqlite_error)?;
            if s.spid == running {
                self.conn
                    .execute(
                        r#"INSERT INTO temp."ferry.running_requests" VALUES (?1, 0, ?2, 'running', ?3, ?4, 0, NULL, ?5, 0.0, 0, 0)"#,
                        rusqlite::params![s.spid, now, command, db, trancount],
                    )
                    .map_err(sqlite_error)?;
            }
        }
        Ok(())
    }
}
