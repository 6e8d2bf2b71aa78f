//! A small model of the machine an instance runs on and of the work it has done, for the
//! resource DMVs ([`super::resource_dmvs`]): its CPUs and memory (set through the control API,
//! kept in the catalog so a restart keeps them), and cumulative counters since the instance
//! started (kept in `temp`, so a restart clears them as SQL Server's DMVs are cleared when the
//! service restarts: "sys.dm_os_wait_stats": "the contents … are reset when SQL Server
//! restarts"). Counters only grow. What moves them: the workload generator
//! ([`super::query_workload`]) — CPU, waits, file reads and writes, query statistics — and the
//! changes statements make to user databases (the change log), which count as writes to the
//! database's files when the file DMV is read.

use serde::{Deserialize, Serialize};

use super::Instance;
use super::query::sqlite_error;
use crate::personality::Personality;
use crate::protocol::tokens::ServerMessage;

/// The counters and the materialized DMVs, in `temp`. Columns of the DMVs are a subset of the
/// documented ones, in order ("sys.dm_os_wait_stats", "sys.dm_exec_query_stats").
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "ferry.resources" (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS "ferry.counters" (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS "ferry.file_io" (
    database_id INTEGER, file_id INTEGER, num_of_reads INTEGER, num_of_bytes_read INTEGER,
    io_stall_read_ms INTEGER, num_of_writes INTEGER, num_of_bytes_written INTEGER, io_stall_write_ms INTEGER,
    PRIMARY KEY (database_id, file_id)
);
CREATE TEMP TABLE IF NOT EXISTS "ferry.change_log_seen" (database_id INTEGER PRIMARY KEY, lsn INTEGER);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_os_wait_stats" (
    wait_type nvarchar(60) PRIMARY KEY, waiting_tasks_count bigint, wait_time_ms bigint, max_wait_time_ms bigint,
    signal_wait_time_ms bigint
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_exec_query_stats" (
    sql_handle varbinary(64), statement_start_offset int, statement_end_offset int, plan_generation_num bigint,
    plan_handle varbinary(64), creation_time datetime, last_execution_time datetime, execution_count bigint,
    total_worker_time bigint, last_worker_time bigint, min_worker_time bigint, max_worker_time bigint,
    total_physical_reads bigint, last_physical_reads bigint, min_physical_reads bigint, max_physical_reads bigint,
    total_logical_writes bigint, last_logical_writes bigint, min_logical_writes bigint, max_logical_writes bigint,
    total_logical_reads bigint, last_logical_reads bigint, min_logical_reads bigint, max_logical_reads bigint,
    total_elapsed_time bigint, last_elapsed_time bigint, min_elapsed_time bigint, max_elapsed_time bigint,
    query_hash binary(8), query_plan_hash binary(8), total_rows bigint, last_rows bigint, min_rows bigint,
    max_rows bigint
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_exec_sql_text" (
    dbid smallint, objectid int, number smallint, encrypted bit, text nvarchar(-1)
);
"#;

/// The machine: logical CPUs, their ratio to physical cores, and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_count: i64,
    pub hyperthread_ratio: i64,
    pub memory_mb: i64,
    /// What the memory manager may use (`committed_target_kb`).
    pub target_memory_mb: i64,
    /// What it has committed (`committed_kb`).
    pub committed_memory_mb: i64,
}

impl Resources {
    /// A SQL Server on 8 logical CPUs (one socket of 4 hyper-threaded cores) with 32 GB, its memory manager
    /// targeting 90% of it and holding all of that; an MI of 8 vCores with 5.1 GB per vCore
    /// ("Resource limits for Azure SQL Managed Instance", standard-series (Gen5): "5.1 GB RAM per
    /// vCore"). The 90% is a guess: SQL Server's target depends on "max server memory" and the
    /// load, which the docs do not put in a formula.
    pub fn default_for(p: &Personality) -> Resources {
        let memory_mb = if p.is_managed_instance() {
            8 * 5222
        } else {
            32 * 1024
        };
        Resources {
            cpu_count: 8,
            hyperthread_ratio: 8,
            memory_mb,
            target_memory_mb: memory_mb * 9 / 10,
            committed_memory_mb: memory_mb * 9 / 10,
        }
    }
}

/// A change to the resources from the control API; what is left out stays.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceChange {
    pub cpu_count: Option<i64>,
    pub hyperthread_ratio: Option<i64>,
    pub memory_mb: Option<i64>,
    pub target_memory_mb: Option<i64>,
    pub committed_memory_mb: Option<i64>,
}

/// A batch's `sql_handle` (SQL Server's shape: 0x02 and three zero bytes, then the emulator's
/// key of the text: its row in `sys.dm_exec_sql_text`, 8 bytes big-endian, and 12 bytes of the
/// text's hash, padded with zeros to 44 bytes).
pub fn sql_handle(row: i64, digest: &[u8]) -> Vec<u8> {
    let mut h = vec![0x02, 0, 0, 0];
    h.extend_from_slice(&row.to_be_bytes());
    h.extend_from_slice(&digest[..12.min(digest.len())]);
    h.resize(44, 0);
    h
}

/// `ferry_sql_text_row(handle)`: the row of `sys.dm_exec_sql_text` a handle names, NULL for
/// anything that is not one of the emulator's handles (`sys.dm_exec_sql_text` then returns no
/// row, as SQL Server does for a handle no longer cached).
fn register_sql_handle(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "ferry_sql_text_row",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Blob(b) if b.len() == 44 && b[0] == 0x02 => {
                    let mut row = [0u8; 8];
                    row.copy_from_slice(&b[4..12]);
                    Some(i64::from_be_bytes(row))
                }
                _ => None,
            })
        },
    )
}

/// Microseconds since 1970 now (UTC, the clock `SYSUTCDATETIME()` reads in the emulator).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Instance {
    /// Makes the model's tables and starts its counters (the instance starts now).
    pub(super) fn create_resource_model(&mut self) -> Result<(), ServerMessage> {
        self.conn.execute_batch(SCHEMA).map_err(sqlite_error)?;
        register_sql_handle(&self.conn).map_err(sqlite_error)?;
        self.conn
            .execute_batch(super::plan_attributes::SCHEMA)
            .map_err(sqlite_error)?;
        super::plan_attributes::register(&self.conn).map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT OR IGNORE INTO temp."ferry.counters" VALUES ('start_us', ?1)"#,
                [now_us()],
            )
            .map_err(sqlite_error)?;
        for w in super::wait_types::WAIT_TYPES {
            self.conn
                .execute(
                    r#"INSERT OR IGNORE INTO temp."sys.dm_os_wait_stats" VALUES (?1, 0, 0, 0, 0)"#,
                    [w],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// The machine as set, or the personality's default.
    pub fn resources(&mut self, p: &Personality) -> Result<Resources, ServerMessage> {
        self.create_resource_model()?;
        let d = Resources::default_for(p);
        let get = |name: &str, default: i64| -> i64 {
            self.conn
                .query_row(
                    r#"SELECT value FROM main."ferry.resources" WHERE name = ?1"#,
                    [name],
                    |r| r.get(0),
                )
                .unwrap_or(default)
        };
        let memory_mb = get("memory_mb", d.memory_mb);
        let target = get("target_memory_mb", memory_mb * 9 / 10);
        Ok(Resources {
            cpu_count: get("cpu_count", d.cpu_count),
            hyperthread_ratio: get("hyperthread_ratio", d.hyperthread_ratio),
            memory_mb,
            target_memory_mb: target,
            committed_memory_mb: get("committed_memory_mb", target),
        })
    }

    /// Changes the machine. Refused, saying why, when the result would not be a machine: fewer
    /// than 1 or more than 1024 logical CPUs, a ratio outside 1 to the CPU count, less than
    /// 512 MB (the smallest minimum "SQL Server: Hardware and software requirements" names, for
    /// Express; 1 GB for the other editions), or a target above the memory or a commitment above
    /// the target. A memory change
    /// alone moves the target and commitment with it.
    pub fn set_resources(
        &mut self,
        change: &ResourceChange,
        p: &Personality,
    ) -> Result<Resources, String> {
        let now = self.resources(p).map_err(|e| e.text)?;
        let memory_mb = change.memory_mb.unwrap_or(now.memory_mb);
        let moved = change.memory_mb.is_some();
        let target = change.target_memory_mb.unwrap_or(if moved {
            memory_mb * 9 / 10
        } else {
            now.target_memory_mb
        });
        let next = Resources {
            cpu_count: change.cpu_count.unwrap_or(now.cpu_count),
            hyperthread_ratio: change.hyperthread_ratio.unwrap_or(now.hyperthread_ratio),
            memory_mb,
            target_memory_mb: target,
            committed_memory_mb: change.committed_memory_mb.unwrap_or(
                if moved || change.target_memory_mb.is_some() {
                    target
                } else {
                    now.committed_memory_mb
                },
            ),
        };
        if !(1..=1024).contains(&next.cpu_count) {
            return Err(format!("cpu_count {} is outside 1 to 1024", next.cpu_count));
        }
        if !(1..=next.cpu_count).contains(&next.hyperthread_ratio) {
            return Err(format!(
                "hyperthread_ratio {} is outside 1 to cpu_count ({})",
                next.hyperthread_ratio, next.cpu_count
            ));
        }
        if next.memory_mb < 512 {
            return Err(format!("memory_mb {} is below 512", next.memory_mb));
        }
        if !(1..=next.memory_mb).contains(&next.target_memory_mb) {
            return Err(format!(
                "target_memory_mb {} is outside 1 to memory_mb ({})",
                next.target_memory_mb, next.memory_mb
            ));
        }
        if !(1..=next.target_memory_mb).contains(&next.committed_memory_mb) {
            return Err(format!(
                "committed_memory_mb {} is outside 1 to target_memory_mb ({})",
                next.committed_memory_mb, next.target_memory_mb
            ));
        }
        for (name, value) in [
            ("cpu_count", next.cpu_count),
            ("hyperthread_ratio", next.hyperthread_ratio),
            ("memory_mb", next.memory_mb),
            ("target_memory_mb", next.target_memory_mb),
            ("committed_memory_mb", next.committed_memory_mb),
        ] {
            self.conn
                .execute(
                    r#"INSERT OR REPLACE INTO main."ferry.resources" VALUES (?1, ?2)"#,
                    rusqlite::params![name, value],
                )
                .map_err(|e| e.to_string())?;
        }
        Ok(next)
    }

    /// A counter since the instance started.
    pub(super) fn counter(&self, name: &str) -> i64 {
        self.conn
            .query_row(
                r#"SELECT value FROM temp."ferry.counters" WHERE name = ?1"#,
                [name],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }

    pub(super) fn add_counter(&mut self, name: &str, by: i64) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"INSERT INTO temp."ferry.counters" VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value + ?2"#,
                rusqlite::params![name, by.max(0)],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// `n` waits of `ms` each on `wait_type`.
    pub(super) fn add_wait(
        &mut self,
        wait_type: &str,
        n: i64,
        ms: i64,
    ) -> Result<(), ServerMessage> {
        let signal = if super::wait_types::all_signal(wait_type) {
            n.saturating_mul(ms)
        } else {
            0
        };
        self.conn
            .execute(
                r#"UPDATE temp."sys.dm_os_wait_stats" SET waiting_tasks_count = waiting_tasks_count + ?2, wait_time_ms = wait_time_ms + ?3, max_wait_time_ms = MAX(max_wait_time_ms, ?4), signal_wait_time_ms = signal_wait_time_ms + ?5 WHERE wait_type = ?1"#,
                rusqlite::params![wait_type, n, n.saturating_mul(ms), ms, signal],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// File I/O on one file of a database: (reads, bytes, stall ms) and (writes, bytes, stall ms).
    pub(super) fn add_file_io(
        &mut self,
        database_id: i64,
        file_id: i64,
        read: (i64, i64, i64),
        write: (i64, i64, i64),
    ) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"INSERT INTO temp."ferry.file_io" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                   ON CONFLICT(database_id, file_id) DO UPDATE SET num_of_reads = num_of_reads + ?3,
                   num_of_bytes_read = num_of_bytes_read + ?4, io_stall_read_ms = io_stall_read_ms + ?5,
                   num_of_writes = num_of_writes + ?6, num_of_bytes_written = num_of_bytes_written + ?7,
                   io_stall_write_ms = io_stall_write_ms + ?8"#,
                rusqlite::params![
                    database_id,
                    file_id,
                    read.0.max(0),
                    read.1.max(0),
                    read.2.max(0),
                    write.0.max(0),
                    write.1.max(0),
                    write.2.max(0)
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
