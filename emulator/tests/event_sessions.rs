//! Server-scoped extended event sessions: defined on SQL Server with a file target, read back
//! from the sys.server_event_session* views, and recreated on a Managed Instance, which takes
//! only blob URLs for event_file and refuses etw_classic_sync_target.

mod common;

use common::*;
use ferry_emulator::TlsMode;

const SESSION: &str = "CREATE EVENT SESSION [LongQueries] ON SERVER \
    ADD EVENT sqlserver.sql_statement_completed (SET collect_statement = 1 \
        ACTION (sqlserver.sql_text, sqlserver.database_name) WHERE duration > 1000000), \
    ADD EVENT sqlserver.error_reported \
    ADD TARGET package0.event_file (SET filename = N'D:\\XE\\long.xel', max_file_size = 50) \
    WITH (MAX_MEMORY = 8 MB, EVENT_RETENTION_MODE = ALLOW_MULTIPLE_EVENT_LOSS, \
          MAX_DISPATCH_LATENCY = 5 SECONDS, STARTUP_STATE = ON)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_reads_back_from_its_views() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, SESSION).await;
    let r = one_row(
        &mut s,
        "SELECT event_session_id, name, event_retention_mode_desc, max_dispatch_latency, max_memory, startup_state \
         FROM sys.server_event_sessions",
    )
    .await;
    let id = r.get::<i32, _>("event_session_id").unwrap();
    assert_eq!(r.get::<&str, _>("name"), Some("LongQueries"));
    assert_eq!(
        r.get::<&str, _>("event_retention_mode_desc"),
        Some("ALLOW_MULTIPLE_EVENT_LOSS")
    );
    assert_eq!(r.get::<i32, _>("max_dispatch_latency"), Some(5000));
    assert_eq!(r.get::<i32, _>("max_memory"), Some(8192));
    assert_eq!(r.get::<bool, _>("startup_state"), Some(true));

    let e = one_row(
        &mut s,
        &format!(
            "SELECT event_id, package, name, predicate FROM sys.server_event_session_events \
             WHERE event_session_id = {id} AND name = N'sql_statement_completed'"
        ),
    )
    .await;
    assert_eq!(e.get::<&str, _>("package"), Some("sqlserver"));
    assert_eq!(e.get::<&str, _>("predicate"), Some("duration > 1000000"));
    let actions = scalar_string(
        &mut s,
        "SELECT CAST(COUNT(*) AS nvarchar(10)) FROM sys.server_event_session_actions",
    )
    .await;
    assert_eq!(actions, "2");
    let t = one_row(
        &mut s,
        "SELECT target_id, package, name FROM sys.server_event_session_targets",
    )
    .await;
    assert_eq!(t.get::<&str, _>("name"), Some("event_file"));
    let tid = t.get::<i32, _>("target_id").unwrap();
    let file = scalar_string(
        &mut s,
        &format!(
            "SELECT CAST(value AS nvarchar(260)) FROM sys.server_event_session_fields \
             WHERE object_id = {tid} AND name = N'filename'"
        ),
    )
    .await;
    assert_eq!(file, "D:\\XE\\long.xel");

    // Created stopped; START lists it as running, a second START is refused.
    let running =
        "SELECT CAST(COUNT(*) AS nvarchar(10)) FROM sys.dm_xe_sessions WHERE name = N'LongQueries'";
    assert_eq!(scalar_string(&mut s, running).await, "0");
    exec(
        &mut s,
        "ALTER EVENT SESSION LongQueries ON SERVER STATE = START",
    )
    .await;
    assert_eq!(scalar_string(&mut s, running).await, "1");
    assert_eq!(
        error_code(
            &mut s,
            "ALTER EVENT SESSION LongQueries ON SERVER STATE = START"
        )
        .await,
        25705
    );
    exec(
        &mut s,
        "ALTER EVENT SESSION LongQueries ON SERVER STATE = STOP",
    )
    .await;
    assert_eq!(
        error_code(
            &mut s,
            "ALTER EVENT SESSION LongQueries ON SERVER STATE = STOP"
        )
        .await,
        25704
    );
    // ADD / DROP of an ALTER.
    exec(
        &mut s,
        "ALTER EVENT SESSION LongQueries ON SERVER DROP EVENT sqlserver.error_reported, ADD TARGET package0.ring_buffer",
    )
    .await;
    let names = scalar_string(
        &mut s,
        "SELECT CAST(COUNT(*) AS nvarchar(10)) FROM sys.server_event_session_targets",
    )
    .await;
    assert_eq!(names, "2");
    assert_eq!(
        error_code(
            &mut s,
            "ALTER EVENT SESSION LongQueries ON SERVER DROP EVENT sqlserver.error_reported"
        )
        .await,
        25653
    );
    exec(&mut s, "DROP EVENT SESSION LongQueries ON SERVER").await;
    let left = scalar_string(
        &mut s,
        "SELECT CAST(COUNT(*) AS nvarchar(10)) FROM sys.server_event_session_fields",
    )
    .await;
    assert_eq!(left, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_statements_answer_with_sql_servers_errors() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, SESSION).await;
    assert_eq!(error_code(&mut s, SESSION).await, 25631);
    assert_eq!(
        error_code(&mut s, "DROP EVENT SESSION nope ON SERVER").await,
        15151
    );
    assert_eq!(
        error_code(&mut s, "ALTER EVENT SESSION LongQueries ON SERVER").await,
        102
    );
    assert_eq!(
        error_code(&mut s, "ALTER EVENT SESSION nope ON SERVER STATE = START").await,
        15151
    );
    assert_eq!(
        error_code(
            &mut s,
            "CREATE EVENT SESSION x ON SERVER ADD EVENT sqlserver.error_reported WITH (MAX_MEMORY = 4 MB, MAX_MEMORY = 8 MB)"
        )
        .await,
        25702
    );
    assert_eq!(
        error_code(
            &mut s,
            "CREATE EVENT SESSION x ON SERVER ADD EVENT sqlserver.error_reported WITH (EVENT_RETENTION_MODE = SOMETIMES)"
        )
        .await,
        25703
    );
    assert_eq!(
        error_code(
            &mut s,
            "CREATE EVENT SESSION x ON SERVER ADD EVENT sqlserver.error_reported ADD TARGET package0.event_file"
        )
        .await,
        25642
    );
    // SQL Server itself takes ETW and files on disk.
    exec(
        &mut s,
        "CREATE EVENT SESSION etw ON SERVER ADD EVENT sqlserver.error_reported ADD TARGET package0.etw_classic_sync_target",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_instance_takes_blob_urls_only() {
    let dst = start(mi(), TlsMode::Required).await;
    let mut d = connect(&dst).await;
    assert_eq!(error_code(&mut d, SESSION).await, 25741);
    assert_eq!(
        error_code(
            &mut d,
            "CREATE EVENT SESSION x ON SERVER ADD EVENT sqlserver.error_reported \
             ADD TARGET package0.event_file (SET filename = N'https://evil.example.com/c/x.xel')"
        )
        .await,
        25741
    );
    assert_eq!(
        error_code(
            &mut d,
            "CREATE EVENT SESSION etw ON SERVER ADD EVENT sqlserver.error_reported ADD TARGET package0.etw_classic_sync_target"
        )
        .await,
        25749
    );
    assert_eq!(
        error_code(
            &mut d,
            "CREATE EVENT SESSION pm ON SERVER ADD EVENT sqlserver.error_reported ADD TARGET package0.pair_matching"
        )
        .await,
        25749
    );
    // The form the instance-objects plugin writes.
    exec(
        &mut d,
        "CREATE EVENT SESSION [LongQueries] ON SERVER ADD EVENT sqlserver.sql_statement_completed \
         (ACTION (sqlserver.sql_text) WHERE ([duration]>(5000000))) \
         ADD TARGET package0.event_file (SET filename = N'https://acct.blob.core.windows.net/xe/long.xel', max_file_size = 100) \
         WITH (MAX_MEMORY = 8192 KB, EVENT_RETENTION_MODE = ALLOW_SINGLE_EVENT_LOSS, \
         MAX_DISPATCH_LATENCY = INFINITE, MAX_EVENT_SIZE = 0 KB, MEMORY_PARTITION_MODE = NONE, \
         TRACK_CAUSALITY = OFF, STARTUP_STATE = ON)",
    )
    .await;
    let r = one_row(
        &mut d,
        "SELECT max_dispatch_latency, max_memory, startup_state FROM sys.server_event_sessions",
    )
    .await;
    assert_eq!(r.get::<i32, _>("max_dispatch_latency"), Some(-1));
    assert_eq!(r.get::<i32, _>("max_memory"), Some(8192));
    exec(
        &mut d,
        "ALTER EVENT SESSION [LongQueries] ON SERVER STATE = START",
    )
    .await;
    exec(
        &mut d,
        "CREATE EVENT SESSION [Local] ON SERVER ADD EVENT sqlserver.error_reported \
         ADD TARGET package0.event_file (SET filename = N'http://127.0.0.1:10000/devstoreaccount1/xe/local.xel')",
    )
    .await;
    // Adding a disk file later is refused the same way.
    assert_eq!(
        error_code(
            &mut d,
            "ALTER EVENT SESSION [Local] ON SERVER ADD TARGET package0.event_file (SET filename = N'C:\\x.xel')"
        )
        .await,
        25741
    );
}
