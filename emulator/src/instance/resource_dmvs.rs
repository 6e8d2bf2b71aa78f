//! The resource DMVs, filled from the model ([`super::resource_model`]) when a statement reads
//! them: "sys.dm_os_sys_info", "sys.dm_io_virtual_file_stats", "sys.dm_os_performance_counters"
//! and "sys.dm_os_schedulers" (Transact-SQL reference pages). `sys.dm_os_wait_stats` and
//! `sys.dm_exec_query_stats` are kept as they grow.

use super::Instance;
use super::change_log::CHANGE_LOG;
use super::query::{q, sqlite_error};
use super::resource_model::now_us;
use crate::personality::{Personality, Release};
use crate::protocol::tokens::ServerMessage;

/// The DMVs, by the name a statement uses.
pub const RESOURCE_DMVS: &[&str] = &[
    "dm_os_sys_info",
    "dm_io_virtual_file_stats",
    "dm_os_wait_stats",
    "dm_os_performance_counters",
    "dm_os_schedulers",
    "dm_exec_query_stats",
    "dm_exec_sql_text",
    "dm_exec_plan_attributes",
];

/// `sys.dm_os_sys_info` by version. 2008 and 2008 R2 name memory in bytes and buffer-pool
/// pages (`physical_memory_in_bytes`, `bpool_committed`…: "Applies to: SQL Server 2008 through
/// SQL Server 2008 R2"); 2012 on in KB (`physical_memory_kb`, `committed_kb`…); 2016 on add
/// `process_kernel_time_ms`, `process_user_time_ms` and, from 2016 SP2 (the emulated 2016 is
/// SP3), `socket_count`, `cores_per_socket`, `numa_node_count`.
fn sys_info_schema(p: &Personality) -> &'static str {
    match p {
        Personality::SqlServer {
            release: Release::Sql2008 | Release::Sql2008R2,
            ..
        } => {
            r#"CREATE TEMP TABLE "sys.dm_os_sys_info" (
                cpu_ticks bigint, ms_ticks bigint, cpu_count int, hyperthread_ratio int,
                physical_memory_in_bytes bigint, virtual_memory_in_bytes bigint, bpool_committed int,
                bpool_commit_target int, bpool_visible int, max_workers_count int, scheduler_count int,
                scheduler_total_count int, sqlserver_start_time_ms_ticks bigint, sqlserver_start_time datetime)"#
        }
        Personality::SqlServer {
            release: Release::Sql2012 | Release::Sql2014,
            ..
        } => {
            r#"CREATE TEMP TABLE "sys.dm_os_sys_info" (
                cpu_ticks bigint, ms_ticks bigint, cpu_count int, hyperthread_ratio int,
                physical_memory_kb bigint, virtual_memory_kb bigint, committed_kb int,
                committed_target_kb int, visible_target_kb int, max_workers_count int, scheduler_count int,
                scheduler_total_count int, sqlserver_start_time_ms_ticks bigint, sqlserver_start_time datetime)"#
        }
        _ => {
            r#"CREATE TEMP TABLE "sys.dm_os_sys_info" (
                cpu_ticks bigint, ms_ticks bigint, cpu_count int, hyperthread_ratio int,
                physical_memory_kb bigint, virtual_memory_kb bigint, committed_kb int,
                committed_target_kb int, visible_target_kb int, max_workers_count int, scheduler_count int,
                scheduler_total_count int, sqlserver_start_time_ms_ticks bigint, sqlserver_start_time datetime,
                process_kernel_time_ms bigint, process_user_time_ms bigint, socket_count int,
                cores_per_socket int, numa_node_count int)"#
        }
    }
}

/// The machine started a minute before the instance (`ms_ticks` counts from the machine's
/// start, `sqlserver_start_time_ms_ticks` is the instance's start on that scale).
const MACHINE_LEAD_MS: i64 = 60_000;
/// CPU ticks per millisecond: a 2.5 GHz time-stamp counter (the docs say only that the ticks
/// come from the processor's RDTSC counter).
const TICKS_PER_MS: i64 = 2_500_000;
/// Hidden and DAC schedulers besides the visible ones (ids from 1048576: "Schedulers that have
/// IDs greater than or equal to 1048576 are used internally by SQL Server, such as the
/// dedicated administrator connection scheduler").
const INTERNAL_SCHEDULERS: i64 = 2;

/// "Configure the max worker threads": 64-bit, 512 up to 4 CPUs, then 16 more per CPU up to
/// 64 CPUs and 32 more per CPU past that.
fn max_workers(cpus: i64) -> i64 {
    match cpus {
        ..=4 => 512,
        5..=64 => 512 + (cpus - 4) * 16,
        _ => 512 + (cpus - 4) * 32,
    }
}

/// `nchar(128)`: fixed length, padded with spaces as SQL Server returns it.
fn nchar128(s: &str) -> String {
    format!("{s:<128}")
}

impl Instance {
    /// Fills the DMV `view` a statement reads.
    pub(crate) fn refresh_resource_dmv(
        &mut self,
        view: &str,
        p: &Personality,
    ) -> Result<(), ServerMessage> {
        self.create_resource_model()?;
        match view {
            "dm_os_sys_info" => self.refresh_sys_info(p),
            "dm_io_virtual_file_stats" => self.refresh_file_stats(),
            "dm_os_performance_counters" => self.refresh_counters(p),
            "dm_os_schedulers" => self.refresh_schedulers(p),
            _ => Ok(()),
        }
    }

    /// Milliseconds since the instance started.
    fn up_ms(&self) -> i64 {
        (now_us() - self.counter("start_us")).max(0) / 1000
    }

    fn refresh_sys_info(&mut self, p: &Personality) -> Result<(), ServerMessage> {
        let r = self.resources(p)?;
        self.conn
            .execute_batch(&format!(
                r#"DROP TABLE IF EXISTS temp."sys.dm_os_sys_info"; {};"#,
                sys_info_schema(p)
            ))
            .map_err(sqlite_error)?;
        let ms_ticks = self.up_ms() + MACHINE_LEAD_MS;
        let start = super::query_store_record::time_text(self.counter("start_us"));
        let kb = |mb: i64| mb * 1024;
        let workers = max_workers(r.cpu_count);
        let schedulers_total = r.cpu_count + INTERNAL_SCHEDULERS;
        let old = matches!(
            p,
            Personality::SqlServer {
                release: Release::Sql2008 | Release::Sql2008R2,
                ..
            }
        );
        let mid = matches!(
            p,
            Personality::SqlServer {
                release: Release::Sql2012 | Release::Sql2014,
                ..
            }
        );
        let sql = if old {
            // x64: 8 TB of user-mode virtual address space before Windows Server 2012 R2;
            // buffer-pool figures in 8 KB buffers.
            format!(
                r#"INSERT INTO temp."sys.dm_os_sys_info" VALUES ({}, {ms_ticks}, {}, {}, {}, 8796093022208, {}, {}, {}, {workers}, {}, {schedulers_total}, {MACHINE_LEAD_MS}, '{start}')"#,
                ms_ticks * TICKS_PER_MS,
                r.cpu_count,
                r.hyperthread_ratio,
                r.memory_mb * 1024 * 1024,
                kb(r.committed_memory_mb) / 8,
                kb(r.target_memory_mb) / 8,
                kb(r.target_memory_mb) / 8,
                r.cpu_count
            )
        } else {
            // x64: 128 TB of user-mode virtual address space (137438953344 KB, the value SQL
            // Server 2012 and later report on Windows Server 2012 R2 and later).
            let mut values = format!(
                "{}, {ms_ticks}, {}, {}, {}, 137438953344, {}, {}, {}, {workers}, {}, {schedulers_total}, {MACHINE_LEAD_MS}, '{start}'",
                ms_ticks * TICKS_PER_MS,
                r.cpu_count,
                r.hyperthread_ratio,
                kb(r.memory_mb),
                kb(r.committed_memory_mb),
                kb(r.target_memory_mb),
                kb(r.target_memory_mb),
                r.cpu_count
            );
            if !mid {
                // CPU the workload used is user time; the emulator models no kernel time. Two
                // hardware threads per core (a guess: the docs give the ratio per socket only).
                let sockets = (r.cpu_count / r.hyperthread_ratio).max(1);
                let cores = (r.hyperthread_ratio / 2).max(1);
                values.push_str(&format!(
                    ", 0, {}, {sockets}, {cores}, 1",
                    self.counter("cpu_us") / 1000
                ));
            }
            format!(r#"INSERT INTO temp."sys.dm_os_sys_info" VALUES ({values})"#)
        };
        self.conn.execute(&sql, []).map_err(sqlite_error)?;
        Ok(())
    }

    /// Writes the user databases' statements made since the last read count as file writes:
    /// one 8 KB page to the data file and one log block (rounded up to 512 bytes, the smallest
    /// log write) to the log file per logged change.
    fn absorb_change_logs(&mut self) -> Result<(), ServerMessage> {
        let dbs: Vec<(String, i64)> = self
            .databases
            .values()
            .filter(|d| !d.system && !d.restoring)
            .map(|d| (d.name.clone(), d.id))
            .collect();
        for (name, id) in dbs {
            let seen: i64 = self
                .conn
                .query_row(
                    r#"SELECT lsn FROM temp."ferry.change_log_seen" WHERE database_id = ?1"#,
                    [id],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            let sql = format!(
                r#"SELECT COUNT(*), COALESCE(SUM((length(sql) + 511) / 512 * 512), 0), COALESCE(MAX(lsn), ?1) FROM {}.{} WHERE lsn > ?1"#,
                q(&name),
                q(CHANGE_LOG)
            );
            let Ok((n, bytes, lsn)) = self.conn.query_row(&sql, [seen], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            }) else {
                continue;
            };
            if n == 0 {
                continue;
            }
            self.add_file_io(id, 1, (0, 0, 0), (n, n * 8192, 0))?;
            self.add_file_io(id, 2, (0, 0, 0), (n, bytes, 0))?;
            self.conn
                .execute(
                    r#"INSERT OR REPLACE INTO temp."ferry.change_log_seen" VALUES (?1, ?2)"#,
                    [id, lsn],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// Every file of every database with its counters; `size_on_disk_bytes` is the file's size
    /// (`sys.database_files.size`, 8 KB pages), the primary data file at least what the
    /// database's data takes.
    fn refresh_file_stats(&mut self) -> Result<(), ServerMessage> {
        self.absorb_change_logs()?;
        self.conn
            .execute_batch(
                r#"DROP TABLE IF EXISTS temp."sys.dm_io_virtual_file_stats";
                   CREATE TEMP TABLE "sys.dm_io_virtual_file_stats" (
                       database_id smallint, file_id smallint, sample_ms bigint, num_of_reads bigint,
                       num_of_bytes_read bigint, io_stall_read_ms bigint, num_of_writes bigint,
                       num_of_bytes_written bigint, io_stall_write_ms bigint, io_stall bigint,
                       size_on_disk_bytes bigint);"#,
            )
            .map_err(sqlite_error)?;
        let sample = self.up_ms() + MACHINE_LEAD_MS;
        let dbs: Vec<(String, i64)> = self
            .databases
            .values()
            .filter(|d| !d.restoring)
            .map(|d| (d.name.clone(), d.id))
            .collect();
        for (name, id) in dbs {
            let used: i64 = {
                let pragma = |what: &str| -> i64 {
                    self.conn
                        .query_row(&format!("PRAGMA {}.{what}", q(&name)), [], |r| r.get(0))
                        .unwrap_or(0)
                };
                pragma("page_count") * pragma("page_size")
            };
            let sql = format!(
                r#"INSERT INTO temp."sys.dm_io_virtual_file_stats"
                   SELECT ?1, f.file_id, ?2, COALESCE(io.num_of_reads, 0), COALESCE(io.num_of_bytes_read, 0),
                          COALESCE(io.io_stall_read_ms, 0), COALESCE(io.num_of_writes, 0),
                          COALESCE(io.num_of_bytes_written, 0), COALESCE(io.io_stall_write_ms, 0),
                          COALESCE(io.io_stall_read_ms, 0) + COALESCE(io.io_stall_write_ms, 0),
                          CASE WHEN f.file_id = 1 THEN MAX(f.size * 8192, ?3) ELSE f.size * 8192 END
                   FROM {}."sys.database_files" f
                   LEFT JOIN temp."ferry.file_io" io ON io.database_id = ?1 AND io.file_id = f.file_id"#,
                q(&name)
            );
            self.conn
                .execute(&sql, rusqlite::params![id, sample, used])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// A few counters of the documented objects ("Use SQL Server objects"): memory, the buffer
    /// cache's hit ratio from the workload's reads, batch requests, and each database's file
    /// sizes. Object names start `SQLServer:` (a default instance; the docs do not say what
    /// MI shows, and it is kept the same). Types: 65792 (PERF_COUNTER_LARGE_RAWCOUNT),
    /// 272696576 (PERF_COUNTER_BULK_COUNT, cumulative), 537003264/1073939712 (a ratio and its
    /// base). The names are nchar(128), blank-padded; `=` and IN ignore the padding as SQL Server
    /// does ("How SQL Server compares strings with trailing spaces": ANSI SQL-92 pads the
    /// shorter string before comparing), hence SQLite's RTRIM collation on them (it stays
    /// case-sensitive: stricter than a _CI_ collation).
    fn refresh_counters(&mut self, p: &Personality) -> Result<(), ServerMessage> {
        self.absorb_change_logs()?;
        let r = self.resources(p)?;
        self.conn
            .execute_batch(
                r#"DROP TABLE IF EXISTS temp."sys.dm_os_performance_counters";
                   CREATE TEMP TABLE "sys.dm_os_performance_counters" (
                       object_name nchar(128) COLLATE RTRIM, counter_name nchar(128) COLLATE RTRIM,
                       instance_name nchar(128) COLLATE RTRIM, cntr_value bigint, cntr_type int);"#,
            )
            .map_err(sqlite_error)?;
        let logical = self.counter("logical_reads");
        let physical = self.counter("physical_reads").min(logical);
        let mut rows: Vec<(String, String, String, i64, i64)> = vec![
            (
                "Memory Manager",
                "Total Server Memory (KB)",
                "",
                r.committed_memory_mb * 1024,
                65792,
            ),
            (
                "Memory Manager",
                "Target Server Memory (KB)",
                "",
                r.target_memory_mb * 1024,
                65792,
            ),
            (
                "Buffer Manager",
                "Buffer cache hit ratio",
                "",
                logical - physical,
                537003264,
            ),
            (
                "Buffer Manager",
                "Buffer cache hit ratio base",
                "",
                logical,
                1073939712,
            ),
            (
                "SQL Statistics",
                "Batch Requests/sec",
                "",
                self.counter("batch_requests"),
                272696576,
            ),
        ]
        .into_iter()
        .map(|(o, c, i, v, t)| (o.to_owned(), c.to_owned(), i.to_owned(), v, t))
        .collect();
        let dbs: Vec<String> = self
            .databases
            .values()
            .filter(|d| !d.restoring)
            .map(|d| d.name.clone())
            .collect();
        let (mut data_total, mut log_total) = (0, 0);
        for name in dbs {
            let sql = format!(
                r#"SELECT COALESCE(SUM(CASE WHEN type = 1 THEN 0 ELSE size END), 0) * 8, COALESCE(SUM(CASE WHEN type = 1 THEN size ELSE 0 END), 0) * 8 FROM {}."sys.database_files""#,
                q(&name)
            );
            let (data, log): (i64, i64) = self
                .conn
                .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sqlite_error)?;
            data_total += data;
            log_total += log;
            rows.push((
                "Databases".into(),
                "Data File(s) Size (KB)".into(),
                name.clone(),
                data,
                65792,
            ));
            rows.push((
                "Databases".into(),
                "Log File(s) Size (KB)".into(),
                name,
                log,
                65792,
            ));
        }
        rows.push((
            "Databases".into(),
            "Data File(s) Size (KB)".into(),
            "_Total".into(),
            data_total,
            65792,
        ));
        rows.push((
            "Databases".into(),
            "Log File(s) Size (KB)".into(),
            "_Total".into(),
            log_total,
            65792,
        ));
        for (object, counter, instance, value, ty) in rows {
            self.conn
                .execute(
                    r#"INSERT INTO temp."sys.dm_os_performance_counters" VALUES (?1, ?2, ?3, ?4, ?5)"#,
                    rusqlite::params![
                        nchar128(&format!("SQLServer:{object}")),
                        nchar128(&counter),
                        nchar128(&instance),
                        value,
                        ty
                    ],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// One VISIBLE ONLINE scheduler per logical CPU, one HIDDEN ONLINE and the DAC's (node 64).
    fn refresh_schedulers(&mut self, p: &Personality) -> Result<(), ServerMessage> {
        let r = self.resources(p)?;
        self.conn
            .execute_batch(
                r#"DROP TABLE IF EXISTS temp."sys.dm_os_schedulers";
                   CREATE TEMP TABLE "sys.dm_os_schedulers" (
                       parent_node_id int, scheduler_id int, cpu_id int, status nvarchar(60), is_online bit,
                       is_idle bit, current_tasks_count int, runnable_tasks_count int, current_workers_count int,
                       active_workers_count int, work_queue_count bigint, pending_disk_io_count int, load_factor int);"#,
            )
            .map_err(sqlite_error)?;
        let mut rows: Vec<(i64, i64, i64, &str)> = (0..r.cpu_count)
            .map(|i| (0, i, i, "VISIBLE ONLINE"))
            .collect();
        rows.push((0, 1_048_576, 0, "HIDDEN ONLINE"));
        rows.push((64, 1_048_577, 0, "VISIBLE ONLINE (DAC)"));
        for (node, id, cpu, status) in rows {
            self.conn
                .execute(
                    r#"INSERT INTO temp."sys.dm_os_schedulers" VALUES (?1, ?2, ?3, ?4, 1, 1, 0, 0, 1, 0, 0, 0, 0)"#,
                    rusqlite::params![node, id, cpu, status],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_follow_the_documented_formula() {
        assert_eq!(max_workers(4), 512);
        assert_eq!(max_workers(8), 576);
        assert_eq!(max_workers(64), 1472);
        assert_eq!(max_workers(128), 512 + 124 * 32);
    }
}
