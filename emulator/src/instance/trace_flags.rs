//! Trace flags: DBCC TRACEON, DBCC TRACEOFF and DBCC TRACESTATUS ("DBCC TRACEON
//! (Transact-SQL)", "DBCC TRACEOFF", "DBCC TRACESTATUS"). "Session trace flags are active for
//! a connection and are visible only to that connection. Global trace flags are set at the
//! server level and are visible to every connection on the server." A flag stays on "until
//! disabled by executing a DBCC TRACEOFF statement" — for the instance's life: flags that must
//! survive a restart come from the -T startup option, which the emulator does not have, so they
//! are kept in the connection's `temp` schema and a restarted instance starts with none.

use super::Instance;
use super::query::sqlite_error;
use crate::protocol::tokens::ServerMessage;

/// spid 0 marks a global flag.
const SCHEMA: &str = r#"CREATE TEMP TABLE IF NOT EXISTS "ferry.trace_flags" (flag INTEGER, spid INTEGER, PRIMARY KEY (flag, spid))"#;

/// One row of DBCC TRACESTATUS: (TraceFlag, Status, Global, Session).
pub type TraceStatus = (i64, bool, bool, bool);

impl Instance {
    /// DBCC TRACEON / TRACEOFF for `flags`, globally or for session `spid`.
    pub fn set_trace_flags(
        &mut self,
        flags: &[i64],
        global: bool,
        spid: u16,
        on: bool,
    ) -> Result<(), ServerMessage> {
        self.conn.execute_batch(SCHEMA).map_err(sqlite_error)?;
        let owner = if global { 0 } else { i64::from(spid) };
        let sql = if on {
            r#"INSERT OR IGNORE INTO temp."ferry.trace_flags" VALUES (?1, ?2)"#
        } else {
            r#"DELETE FROM temp."ferry.trace_flags" WHERE flag = ?1 AND spid = ?2"#
        };
        for f in flags {
            self.conn
                .execute(sql, rusqlite::params![f, owner])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// DBCC TRACESTATUS: for `flags` (every one asked for, on or not), or with none named every
    /// flag on globally and for this session; `global_only` (the -1 argument) "displays the
    /// status of trace flags that are enabled globally".
    pub fn trace_status(
        &mut self,
        flags: &[i64],
        global_only: bool,
        spid: u16,
    ) -> Result<Vec<TraceStatus>, ServerMessage> {
        self.conn.execute_batch(SCHEMA).map_err(sqlite_error)?;
        let mut stmt = self
            .conn
            .prepare(r#"SELECT flag, MAX(spid = 0), MAX(spid = ?1) FROM temp."ferry.trace_flags" WHERE spid IN (0, ?1) GROUP BY flag ORDER BY flag"#)
            .map_err(sqlite_error)?;
        let on: Vec<(i64, bool, bool)> = stmt
            .query_map([i64::from(spid)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sqlite_error)?
            .collect::<Result<_, _>>()
            .map_err(sqlite_error)?;
        let row = |(f, g, s): (i64, bool, bool)| (f, g || s, g, s);
        if flags.is_empty() {
            return Ok(on
                .into_iter()
                .filter(|(_, g, _)| *g || !global_only)
                .map(|(f, g, s)| row((f, g, s && !global_only)))
                .collect());
        }
        Ok(flags
            .iter()
            .map(|f| {
                let (g, s) = on
                    .iter()
                    .find(|(x, _, _)| x == f)
                    .map_or((false, false), |(_, g, s)| (*g, *s && !global_only));
                row((*f, g, s))
            })
            .collect())
    }

    /// A session ended: its session trace flags go with it.
    pub(super) fn forget_trace_flags(&mut self, spid: u16) {
        let _ = self.conn.execute(
            r#"DELETE FROM temp."ferry.trace_flags" WHERE spid = ?1"#,
            [i64::from(spid)],
        );
    }
}

impl Instance {
    /// Whether `login` is in the sysadmin fixed server role (DBCC TRACEON and TRACEOFF:
    /// "Requires membership in the sysadmin fixed server role").
    pub fn is_sysadmin(&self, login: &str) -> bool {
        /// sysadmin's principal_id ("sys.server_principals": the fixed server roles).
        const SYSADMIN: i64 = 3;
        self.principal(login)
            .and_then(|(id, ..)| self.server_roles_of(id))
            .is_some_and(|roles| roles.contains(&SYSADMIN))
    }
}
