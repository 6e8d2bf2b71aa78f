//! Query Store's wait categories: the mapping from a wait type (`sys.dm_os_wait_stats`) to
//! the category `sys.query_store_wait_stats` files it under, by that page's "Wait categories
//! mapping table" (learn.microsoft.com/sql/relational-databases/system-catalog-views/
//! sys-query-store-wait-stats-transact-sql). One table for the emulator, which files the
//! workload generator's waits into Query Store, and the `baseline` plugin, which groups
//! sys.dm_os_wait_stats the same way: two copies could disagree on a category, and then a
//! comparison would be measuring the copies.

/// `wait_category` and `wait_category_desc` of the mapping table.
const CATEGORY_IDS: &[(i64, &str)] = &[
    (1, "CPU"),
    (2, "Worker Thread"),
    (3, "Lock"),
    (4, "Latch"),
    (5, "Buffer Latch"),
    (6, "Buffer IO"),
    (7, "Compilation"),
    (8, "SQL CLR"),
    (9, "Mirroring"),
    (10, "Transaction"),
    (11, "Idle"),
    (12, "Preemptive"),
    (13, "Service Broker"),
    (14, "Tran Log IO"),
    (15, "Network IO"),
    (16, "Parallelism"),
    (17, "Memory"),
    (18, "User Wait"),
    (19, "Tracing"),
    (20, "Full Text Search"),
    (21, "Other Disk IO"),
    (22, "Replication"),
    (23, "Log Rate Governor"),
];

/// The category of a wait type (`wait_category`, `wait_category_desc`), by the documented
/// mapping (`%` there is a prefix here); `(0, "Unknown")` for a type the table does not name.
pub fn wait_category(wait_type: &str) -> (i64, &'static str) {
    let w = wait_type.to_ascii_uppercase();
    let w = w.as_str();
    let any = |names: &[&str]| names.contains(&w);
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| w.starts_with(p));
    // Exceptions first: the table files these under another category than their prefix.
    if w == "BROKER_RECEIVE_WAITFOR" {
        return (18, "User Wait");
    }
    if w == "HADR_THROTTLE_LOG_RATE_GOVERNOR" {
        return (23, "Log Rate Governor");
    }
    if any(&[
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
    ]) || starts(&["SLEEP_"])
    {
        return (11, "Idle");
    }
    let table: &[(&str, &[&str], &[&str])] = &[
        ("CPU", &["SOS_SCHEDULER_YIELD"], &[]),
        ("Worker Thread", &["THREADPOOL"], &[]),
        ("Lock", &[], &["LCK_M_"]),
        ("Latch", &[], &["LATCH_"]),
        ("Buffer Latch", &[], &["PAGELATCH_"]),
        ("Buffer IO", &[], &["PAGEIOLATCH_"]),
        ("Compilation", &["RESOURCE_SEMAPHORE_QUERY_COMPILE"], &[]),
        ("SQL CLR", &[], &["CLR", "SQLCLR"]),
        ("Mirroring", &[], &["DBMIRROR"]),
        (
            "Transaction",
            &["TRANSACTION_MUTEX"],
            &["XACT", "DTC", "TRAN_MARKLATCH_", "MSQL_XACT_"],
        ),
        ("Preemptive", &[], &["PREEMPTIVE_"]),
        ("Service Broker", &[], &["BROKER_"]),
        (
            "Tran Log IO",
            &[
                "LOGMGR",
                "LOGBUFFER",
                "LOGMGR_RESERVE_APPEND",
                "LOGMGR_FLUSH",
                "LOGMGR_PMM_LOG",
                "CHKPT",
                "WRITELOG",
            ],
            &[],
        ),
        (
            "Network IO",
            &[
                "ASYNC_NETWORK_IO",
                "NET_WAITFOR_PACKET",
                "PROXY_NETWORK_IO",
                "EXTERNAL_SCRIPT_NETWORK_IOF",
            ],
            &[],
        ),
        (
            "Parallelism",
            &["CXPACKET", "EXCHANGE"],
            &["HT", "BMP", "BP"],
        ),
        (
            "Memory",
            &[
                "RESOURCE_SEMAPHORE",
                "CMEMTHREAD",
                "CMEMPARTITIONED",
                "EE_PMOLOCK",
                "MEMORY_ALLOCATION_EXT",
                "RESERVED_MEMORY_ALLOCATION_EXT",
                "MEMORY_GRANT_UPDATE",
            ],
            &[],
        ),
        ("User Wait", &["WAITFOR", "WAIT_FOR_RESULTS"], &[]),
        (
            "Tracing",
            &[
                "TRACEWRITE",
                "SQLTRACE_LOCK",
                "SQLTRACE_FILE_BUFFER",
                "SQLTRACE_FILE_WRITE_IO_COMPLETION",
                "SQLTRACE_FILE_READ_IO_COMPLETION",
                "SQLTRACE_PENDING_BUFFER_WRITERS",
                "SQLTRACE_SHUTDOWN",
                "QUERY_TRACEOUT",
                "TRACE_EVTNOTIF",
            ],
            &[],
        ),
        (
            "Full Text Search",
            &[
                "FT_RESTART_CRAWL",
                "FULLTEXT GATHERER",
                "MSSEARCH",
                "FT_METADATA_MUTEX",
                "FT_IFTSHC_MUTEX",
                "FT_IFTSISM_MUTEX",
                "FT_IFTS_RWLOCK",
                "FT_COMPROWSET_RWLOCK",
                "FT_MASTER_MERGE",
                "FT_PROPERTYLIST_CACHE",
                "FT_MASTER_MERGE_COORDINATOR",
                "PWAIT_RESOURCE_SEMAPHORE_FT_PARALLEL_QUERY_SYNC",
            ],
            &[],
        ),
        (
            "Other Disk IO",
            &[
                "ASYNC_IO_COMPLETION",
                "IO_COMPLETION",
                "BACKUPIO",
                "WRITE_COMPLETION",
                "IO_QUEUE_LIMIT",
                "IO_RETRY",
            ],
            &[],
        ),
        (
            "Replication",
            &[
                "REPLICA_WRITES",
                "FCB_REPLICA_WRITE",
                "FCB_REPLICA_READ",
                "PWAIT_HADRSIM",
            ],
            &["SE_REPL_", "REPL_", "HADR_", "PWAIT_HADR_"],
        ),
        (
            "Log Rate Governor",
            &[
                "LOG_RATE_GOVERNOR",
                "POOL_LOG_RATE_GOVERNOR",
                "INSTANCE_LOG_RATE_GOVERNOR",
            ],
            &[],
        ),
    ];
    // Exact names before prefixes: RESOURCE_SEMAPHORE_QUERY_COMPILE is Compilation, not the
    // Memory category's RESOURCE_SEMAPHORE.
    for (cat, names, _) in table {
        if any(names) {
            return (id_of(cat), cat);
        }
    }
    for (cat, _, prefixes) in table {
        if starts(prefixes) {
            return (id_of(cat), cat);
        }
    }
    (0, "Unknown")
}

/// The documented id of a category desc of the table above.
fn id_of(desc: &str) -> i64 {
    CATEGORY_IDS
        .iter()
        .find(|(_, d)| *d == desc)
        .map_or(0, |(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_types_fall_in_the_documented_categories() {
        for (w, id, c) in [
            ("PAGEIOLATCH_SH", 6, "Buffer IO"),
            ("PAGELATCH_EX", 5, "Buffer Latch"),
            ("LATCH_EX", 4, "Latch"),
            ("LCK_M_X", 3, "Lock"),
            ("SOS_SCHEDULER_YIELD", 1, "CPU"),
            ("THREADPOOL", 2, "Worker Thread"),
            ("RESOURCE_SEMAPHORE_QUERY_COMPILE", 7, "Compilation"),
            ("RESOURCE_SEMAPHORE", 17, "Memory"),
            ("BROKER_RECEIVE_WAITFOR", 18, "User Wait"),
            ("WAITFOR", 18, "User Wait"),
            ("BROKER_TASK_STOP", 13, "Service Broker"),
            ("HADR_THROTTLE_LOG_RATE_GOVERNOR", 23, "Log Rate Governor"),
            ("HADR_SYNC_COMMIT", 22, "Replication"),
            ("WRITELOG", 14, "Tran Log IO"),
            ("CXPACKET", 16, "Parallelism"),
            ("ASYNC_NETWORK_IO", 15, "Network IO"),
            ("SQLTRACE_SHUTDOWN", 19, "Tracing"),
            ("MSSEARCH", 20, "Full Text Search"),
            ("IO_COMPLETION", 21, "Other Disk IO"),
            ("DTC", 10, "Transaction"),
            ("PREEMPTIVE_OS_WRITEFILEGATHER", 12, "Preemptive"),
            ("SLEEP_TASK", 11, "Idle"),
            ("LAZYWRITER_SLEEP", 11, "Idle"),
            ("writelog", 14, "Tran Log IO"),
            ("SOMETHING_NEW", 0, "Unknown"),
        ] {
            assert_eq!(wait_category(w), (id, c), "{w}");
        }
    }

    #[test]
    fn every_category_of_the_table_has_its_documented_id() {
        for (id, desc) in CATEGORY_IDS {
            assert_eq!(id_of(desc), *id);
        }
        assert_eq!(CATEGORY_IDS.len(), 23);
    }
}
