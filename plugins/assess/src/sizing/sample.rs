//! One sample of what SQL Server uses, from three DMVs (learn.microsoft.com):
//! `sys.dm_os_sys_info.ms_ticks` (the clock: milliseconds since the machine started),
//! `sys.dm_os_performance_counters` (`SQLServer:Resource Pool Stats` "CPU usage %" over its
//! base per pool, and `SQLServer:Memory Manager` "Total Server Memory (KB)"), and
//! `sys.dm_io_virtual_file_stats(NULL, NULL)` joined to `sys.master_files` (cumulative reads,
//! writes and bytes per file since start; log files are type 1). Named instances prefix the
//! counters' object_name with `MSSQL$<name>:`, so they are matched by their suffix.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::{SqlConnection, SqlValue};
use serde::{Deserialize, Serialize};

/// One reading. Counters are cumulative; rates come from two samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub at_ms: u64,
    /// CPU SQL Server's resource pools used, percent of the machine (None: not readable).
    pub cpu_percent: Option<f64>,
    pub memory_kb: Option<u64>,
    pub reads: u64,
    pub writes: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub log_bytes_written: u64,
}

fn float(v: Option<&SqlValue>) -> f64 {
    match v {
        Some(SqlValue::Float(f)) => *f,
        other => text(other)
            .trim()
            .parse()
            .unwrap_or_else(|_| int(other) as f64),
    }
}

/// "CPU usage %" is a raw fraction over "CPU usage % base" for each pool; the pools' shares
/// add up to SQL Server's share of the machine.
pub fn cpu_percent(counters: &[(String, String, f64)]) -> Option<f64> {
    let mut total = None;
    let usage = counters
        .iter()
        .filter(|(_, c, _)| c.eq_ignore_ascii_case("CPU usage %"));
    for (pool, _, value) in usage {
        let base = counters
            .iter()
            .find(|(i, c, _)| c.eq_ignore_ascii_case("CPU usage % base") && i == pool)
            .map(|(_, _, b)| *b)
            .filter(|b| *b > 0.0)?;
        *total.get_or_insert(0.0) += value / base * 100.0;
    }
    total
}

/// Reads one sample on the server behind `conn`.
pub fn take<C>(cx: &mut Context<'_, C>, conn: SqlConnection) -> Result<Sample> {
    let mut s = Sample::default();
    if let Some(r) = cx
        .rows_if_present(conn, "SELECT ms_ticks FROM sys.dm_os_sys_info", &[])?
        .and_then(|r| r.into_iter().next())
    {
        s.at_ms = int(r.first()).max(0) as u64;
    }
    let counters = cx.rows_if_present(
        conn,
        "SELECT RTRIM(object_name) AS object_name, RTRIM(counter_name) AS counter_name, \
         RTRIM(instance_name) AS instance_name, cntr_value FROM sys.dm_os_performance_counters \
         WHERE (object_name LIKE N'%:Resource Pool Stats%' AND counter_name IN \
         (N'CPU usage %', N'CPU usage % base')) OR (object_name LIKE N'%:Memory Manager%' \
         AND counter_name = N'Total Server Memory (KB)')",
        &[],
    )?;
    if let Some(rows) = counters {
        // (pool, counter, value) for the CPU counters.
        let cpu: Vec<(String, String, f64)> = rows
            .iter()
            .filter(|r| text(r.first()).contains("Resource Pool Stats"))
            .map(|r| (text(r.get(2)), text(r.get(1)), float(r.get(3))))
            .collect();
        s.cpu_percent = cpu_percent(&cpu);
        s.memory_kb = rows
            .iter()
            .find(|r| text(r.get(1)).eq_ignore_ascii_case("Total Server Memory (KB)"))
            .map(|r| int(r.get(3)).max(0) as u64);
    }
    let io = cx.rows_if_present(
        conn,
        "SELECT SUM(v.num_of_reads) AS reads, SUM(v.num_of_writes) AS writes, \
         SUM(v.num_of_bytes_read) AS bytes_read, SUM(v.num_of_bytes_written) AS bytes_written, \
         SUM(CASE WHEN f.type = 1 THEN v.num_of_bytes_written ELSE 0 END) AS log_bytes_written \
         FROM sys.dm_io_virtual_file_stats(NULL, NULL) v JOIN sys.master_files f \
         ON f.database_id = v.database_id AND f.file_id = v.file_id WHERE v.database_id > 4",
        &[],
    )?;
    if let Some(r) = io.and_then(|r| r.into_iter().next()) {
        let n = |i: usize| int(r.get(i)).max(0) as u64;
        s.reads = n(0);
        s.writes = n(1);
        s.bytes_read = n(2);
        s.bytes_written = n(3);
        s.log_bytes_written = n(4);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_is_each_pool_over_its_base() {
        let c = |i: &str, n: &str, v: f64| (i.to_owned(), n.to_owned(), v);
        let rows = [
            c("internal", "CPU usage %", 10.0),
            c("internal", "CPU usage % base", 100.0),
            c("default", "CPU usage %", 30.0),
            c("default", "CPU usage % base", 100.0),
        ];
        assert_eq!(super::cpu_percent(&rows), Some(40.0));
        assert_eq!(super::cpu_percent(&rows[..1]), None);
        assert_eq!(super::cpu_percent(&[]), None);
    }
}
