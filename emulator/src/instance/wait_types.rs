//! The wait types the emulator counts, and the Query Store wait category each belongs to
//! ("sys.query_store_wait_stats (Transact-SQL)", the wait categories mapping table).

/// The wait types `sys.dm_os_wait_stats` shows (a subset of SQL Server's, all documented on the
/// "sys.dm_os_wait_stats (Transact-SQL)" page); the workload generator accepts these only.
pub const WAIT_TYPES: &[&str] = &[
    "ASYNC_IO_COMPLETION",
    "ASYNC_NETWORK_IO",
    "BACKUPIO",
    "CMEMTHREAD",
    "CXPACKET",
    "DTC",
    "HADR_SYNC_COMMIT",
    "IO_COMPLETION",
    "LATCH_EX",
    "LATCH_SH",
    "LAZYWRITER_SLEEP",
    "LCK_M_IS",
    "LCK_M_IX",
    "LCK_M_S",
    "LCK_M_SCH_M",
    "LCK_M_SCH_S",
    "LCK_M_U",
    "LCK_M_X",
    "LOGBUFFER",
    "PAGEIOLATCH_EX",
    "PAGEIOLATCH_SH",
    "PAGEIOLATCH_UP",
    "PAGELATCH_EX",
    "PAGELATCH_SH",
    "PAGELATCH_UP",
    "PREEMPTIVE_OS_WRITEFILEGATHER",
    "RESOURCE_SEMAPHORE",
    "RESOURCE_SEMAPHORE_QUERY_COMPILE",
    "SLEEP_TASK",
    "SOS_SCHEDULER_YIELD",
    "THREADPOOL",
    "WAITFOR",
    "WRITELOG",
    "WRITE_COMPLETION",
    "XACT_OWN_TRANSACTION",
];

/// The Query Store wait category of `wait_type` (id, `wait_category_desc`), by the mapping
/// table of "sys.query_store_wait_stats" (one table with the `baseline` plugin's, in
/// ferry-tsql).
pub fn category(wait_type: &str) -> (i64, &'static str) {
    ferry_tsql::wait_category(wait_type)
}

/// Whether the whole wait is signal wait: a task that yields its scheduler waits only for the
/// CPU ("SOS_SCHEDULER_YIELD"); for the others the docs give no split, and the emulator counts
/// none of their time as signal wait.
pub fn all_signal(wait_type: &str) -> bool {
    wait_type.eq_ignore_ascii_case("SOS_SCHEDULER_YIELD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_the_mapping_table() {
        assert_eq!(category("PAGEIOLATCH_SH"), (6, "Buffer IO"));
        assert_eq!(category("PAGELATCH_EX"), (5, "Buffer Latch"));
        assert_eq!(category("LATCH_EX"), (4, "Latch"));
        assert_eq!(category("LCK_M_X"), (3, "Lock"));
        assert_eq!(
            category("RESOURCE_SEMAPHORE_QUERY_COMPILE"),
            (7, "Compilation")
        );
        assert_eq!(category("RESOURCE_SEMAPHORE"), (17, "Memory"));
        assert_eq!(category("WRITELOG"), (14, "Tran Log IO"));
        assert_eq!(category("SOS_SCHEDULER_YIELD"), (1, "CPU"));
        assert_eq!(category("HADR_SYNC_COMMIT"), (22, "Replication"));
        assert_eq!(
            category("HADR_THROTTLE_LOG_RATE_GOVERNOR"),
            (23, "Log Rate Governor")
        );
        for w in WAIT_TYPES {
            assert!(!w.is_empty());
        }
    }
}
