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
/// table of "sys.query_store_wait_stats": exact names first, then the documented prefixes.
pub fn category(wait_type: &str) -> (i64, &'static str) {
    let w = wait_type.to_ascii_uppercase();
    let exact: &[(&[&str], i64, &str)] = &[
        (&["SOS_SCHEDULER_YIELD"], 1, "CPU"),
        (&["THREADPOOL"], 2, "Worker Thread"),
        (&["RESOURCE_SEMAPHORE_QUERY_COMPILE"], 7, "Compilation"),
        (&["TRANSACTION_MUTEX"], 10, "Transaction"),
        (
            &[
                "LAZYWRITER_SLEEP",
                "SQLTRACE_BUFFER_FLUSH",
                "SQLTRACE_INCREMENTAL_FLUSH_SLEEP",
                "SQLTRACE_WAIT_ENTRIES",
                "FT_IFTS_SCHEDULER_IDLE_WAIT",
                "XE_DISPATCHER_WAIT",
                "REQUEST_FOR_DEADLOCK_SEARCH",
                "LOGMGR_QUEUE",
                "ONDEMAND_TASK_QUEUE",
                "CHECKPOINT_QUEUE",
                "XE_TIMER_EVENT",
            ],
            11,
            "Idle",
        ),
        (
            &["BROKER_RECEIVE_WAITFOR", "WAITFOR", "WAIT_FOR_RESULTS"],
            18,
            "User Wait",
        ),
        (
            &[
                "LOGMGR",
                "LOGBUFFER",
                "LOGMGR_RESERVE_APPEND",
                "LOGMGR_FLUSH",
                "LOGMGR_PMM_LOG",
                "CHKPT",
                "WRITELOG",
            ],
            14,
            "Tran Log IO",
        ),
        (
            &[
                "ASYNC_NETWORK_IO",
                "NET_WAITFOR_PACKET",
                "PROXY_NETWORK_IO",
                "EXTERNAL_SCRIPT_NETWORK_IOF",
            ],
            15,
            "Network IO",
        ),
        (&["CXPACKET", "EXCHANGE"], 16, "Parallelism"),
        (
            &[
                "RESOURCE_SEMAPHORE",
                "CMEMTHREAD",
                "CMEMPARTITIONED",
                "EE_PMOLOCK",
                "MEMORY_ALLOCATION_EXT",
                "RESERVED_MEMORY_ALLOCATION_EXT",
                "MEMORY_GRANT_UPDATE",
            ],
            17,
            "Memory",
        ),
        (
            &[
                "TRACEWRITE",
                "SQLTRACE_LOCK",
                "SQLTRACE_FILE_BUFFER",
                "TRACE_EVTNOTIF",
            ],
            19,
            "Tracing",
        ),
        (
            &[
                "ASYNC_IO_COMPLETION",
                "IO_COMPLETION",
                "BACKUPIO",
                "WRITE_COMPLETION",
                "IO_QUEUE_LIMIT",
                "IO_RETRY",
            ],
            21,
            "Other Disk IO",
        ),
        (
            &[
                "LOG_RATE_GOVERNOR",
                "POOL_LOG_RATE_GOVERNOR",
                "HADR_THROTTLE_LOG_RATE_GOVERNOR",
                "INSTANCE_LOG_RATE_GOVERNOR",
            ],
            23,
            "Log Rate Governor",
        ),
    ];
    for (names, id, desc) in exact {
        if names.contains(&w.as_str()) {
            return (*id, desc);
        }
    }
    let prefixes: &[(&str, i64, &str)] = &[
        ("LCK_M_", 3, "Lock"),
        ("LATCH_", 4, "Latch"),
        ("PAGELATCH_", 5, "Buffer Latch"),
        ("PAGEIOLATCH_", 6, "Buffer IO"),
        ("CLR", 8, "SQL CLR"),
        ("SQLCLR", 8, "SQL CLR"),
        ("DBMIRROR", 9, "Mirroring"),
        ("XACT", 10, "Transaction"),
        ("DTC", 10, "Transaction"),
        ("TRAN_MARKLATCH_", 10, "Transaction"),
        ("MSQL_XACT_", 10, "Transaction"),
        ("SLEEP_", 11, "Idle"),
        ("PREEMPTIVE_", 12, "Preemptive"),
        ("BROKER_", 13, "Service Broker"),
        ("HT", 16, "Parallelism"),
        ("BMP", 16, "Parallelism"),
        ("BP", 16, "Parallelism"),
        ("FT_", 20, "Full Text Search"),
        ("SE_REPL_", 22, "Replication"),
        ("REPL_", 22, "Replication"),
        ("HADR_", 22, "Replication"),
        ("PWAIT_HADR_", 22, "Replication"),
    ];
    for (prefix, id, desc) in prefixes {
        if w.starts_with(prefix) {
            return (*id, desc);
        }
    }
    (0, "Unknown")
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
