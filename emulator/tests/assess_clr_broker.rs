//! The facts of CLR, Service Broker and trace flags a readiness assessment reads, made by the
//! T-SQL a DBA uses and read back through the documented views: assemblies and their
//! permission sets, routes and the broker's state per database, trace flags global and per
//! session (Managed Instance's own list), and what a restart keeps of them.

mod common;

use common::catalog_rows::{rows, strs};
use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assemblies_show_their_permission_sets_and_drop() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Clr; USE Clr; \
         CREATE ASSEMBLY Plain FROM 0x4D5A9000; \
         CREATE ASSEMBLY Files AUTHORIZATION dbo FROM 0x4D5A9001 WITH PERMISSION_SET = EXTERNAL_ACCESS; \
         CREATE ASSEMBLY Native FROM 0x4D5A9002 WITH PERMISSION_SET = UNSAFE",
    )
    .await;
    let a = rows(
        &mut c,
        "SELECT name, permission_set, permission_set_desc, is_user_defined, clr_name FROM Clr.sys.assemblies ORDER BY assembly_id",
    )
    .await;
    assert_eq!(a.len(), 4, "{a:?}");
    // The system assembly every database holds.
    assert_eq!(a[0][0], "Microsoft.SqlServer.Types");
    assert_eq!(a[0][3], "0");
    assert!(
        a[0][4].starts_with("microsoft.sqlserver.types, version=15.0.0.0"),
        "{a:?}"
    );
    assert_eq!(
        strs(&a[1..].iter().map(|r| r[..4].to_vec()).collect::<Vec<_>>()),
        vec![
            vec!["Plain", "1", "SAFE_ACCESS", "1"],
            vec!["Files", "2", "EXTERNAL_ACCESS", "1"],
            vec!["Native", "3", "UNSAFE_ACCESS", "1"],
        ]
    );
    assert!(
        a[1][4].starts_with("plain, version=0.0.0.0, culture=neutral"),
        "{a:?}"
    );
    let ids = rows(
        &mut c,
        "SELECT MIN(assembly_id) FROM sys.assemblies WHERE is_user_defined = 1",
    )
    .await;
    assert_eq!(strs(&ids), vec![vec!["65536"]]);
    // Another database does not see them.
    let other = rows(
        &mut c,
        "SELECT COUNT(*) FROM master.sys.assemblies WHERE is_user_defined = 1",
    )
    .await;
    assert_eq!(strs(&other), vec![vec!["0"]]);
    assert_eq!(
        error_code(&mut c, "CREATE ASSEMBLY Plain FROM 0x4D5A").await,
        2714
    );
    assert_eq!(
        error_code(&mut c, "CREATE ASSEMBLY FromDisk FROM 'C:\\clr\\x.dll'").await,
        6501
    );
    assert_eq!(
        error_code(
            &mut c,
            "CREATE ASSEMBLY Bad FROM 0x4D5A WITH PERMISSION_SET = ALL"
        )
        .await,
        102
    );
    exec(
        &mut c,
        "DROP ASSEMBLY Plain, Files; DROP ASSEMBLY IF EXISTS Gone",
    )
    .await;
    assert_eq!(error_code(&mut c, "DROP ASSEMBLY Gone").await, 15151);
    assert_eq!(
        error_code(&mut c, "DROP ASSEMBLY [Microsoft.SqlServer.Types]").await,
        15151
    );
    let left = rows(
        &mut c,
        "SELECT name FROM sys.assemblies WHERE is_user_defined = 1",
    )
    .await;
    assert_eq!(strs(&left), vec![vec!["Native"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_list_the_local_route_and_the_ones_made() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Broker; USE Broker; \
         CREATE ROUTE ToBilling WITH SERVICE_NAME = '//contoso/billing', \
         BROKER_INSTANCE = 'D8D4D268-02A3-4C62-8F91-634B89C1E315', LIFETIME = 3600, \
         ADDRESS = 'TCP://billing.contoso.com:4022'; \
         CREATE ROUTE Local2 WITH ADDRESS = 'LOCAL'",
    )
    .await;
    let routes = rows(
        &mut c,
        "SELECT name, remote_service_name, broker_instance, address, CASE WHEN lifetime IS NULL THEN 0 ELSE 1 END FROM sys.routes ORDER BY route_id",
    )
    .await;
    assert_eq!(
        strs(&routes),
        vec![
            vec!["AutoCreatedLocal", "NULL", "NULL", "LOCAL", "0"],
            vec![
                "ToBilling",
                "//contoso/billing",
                "D8D4D268-02A3-4C62-8F91-634B89C1E315",
                "TCP://billing.contoso.com:4022",
                "1"
            ],
            vec!["Local2", "NULL", "NULL", "LOCAL", "0"],
        ]
    );
    // Every database has the local route.
    let m = rows(&mut c, "SELECT name, address FROM master.sys.routes").await;
    assert_eq!(strs(&m), vec![vec!["AutoCreatedLocal", "LOCAL"]]);
    assert_eq!(
        error_code(&mut c, "CREATE ROUTE Local2 WITH ADDRESS = 'LOCAL'").await,
        2714
    );
    assert_eq!(
        error_code(&mut c, "CREATE ROUTE NoAddress WITH SERVICE_NAME = 's'").await,
        102
    );
    exec(&mut c, "DROP ROUTE Local2").await;
    assert_eq!(error_code(&mut c, "DROP ROUTE Local2").await, 15151);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_is_enabled_and_disabled_per_database() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Queues; CREATE DATABASE Quiet").await;
    exec(&mut c, "ALTER DATABASE Quiet SET DISABLE_BROKER").await;
    let b = rows(
        &mut c,
        "SELECT name, is_broker_enabled FROM sys.databases WHERE name IN ('master', 'msdb', 'Queues', 'Quiet') ORDER BY database_id",
    )
    .await;
    assert_eq!(
        strs(&b),
        vec![
            vec!["master", "0"],
            vec!["msdb", "1"],
            vec!["Queues", "1"],
            vec!["Quiet", "0"],
        ]
    );
    exec(&mut c, "ALTER DATABASE Quiet SET ENABLE_BROKER").await;
    let q = rows(
        &mut c,
        "SELECT is_broker_enabled FROM sys.databases WHERE name = 'Quiet'",
    )
    .await;
    assert_eq!(strs(&q), vec![vec!["1"]]);
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE Nowhere SET ENABLE_BROKER").await,
        5011
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_flags_are_global_or_for_the_session() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let mut other = connect(&r).await;
    exec(&mut c, "DBCC TRACEON (3604); DBCC TRACEON (1117, 1118, -1)").await;
    let mine = rows(&mut c, "DBCC TRACESTATUS").await;
    assert_eq!(
        strs(&mine),
        vec![
            vec!["1117", "1", "1", "0"],
            vec!["1118", "1", "1", "0"],
            vec!["3604", "1", "0", "1"],
        ]
    );
    let theirs = rows(&mut other, "DBCC TRACESTATUS WITH NO_INFOMSGS").await;
    assert_eq!(
        strs(&theirs),
        vec![vec!["1117", "1", "1", "0"], vec!["1118", "1", "1", "0"]]
    );
    // -1: the global ones only; named flags: every one named, on or not.
    let global = rows(&mut c, "DBCC TRACESTATUS (-1)").await;
    assert_eq!(global.len(), 2, "{global:?}");
    let named = rows(&mut c, "DBCC TRACESTATUS (3604, 9999)").await;
    assert_eq!(
        strs(&named),
        vec![vec!["3604", "1", "0", "1"], vec!["9999", "0", "0", "0"]]
    );
    exec(&mut other, "DBCC TRACEOFF (1118, -1)").await;
    let after = rows(&mut c, "DBCC TRACESTATUS (-1)").await;
    assert_eq!(strs(&after), vec![vec!["1117", "1", "1", "0"]]);
    assert_eq!(error_code(&mut c, "DBCC TRACEON").await, 102);
    assert_eq!(error_code(&mut c, "DBCC TRACEON (abc)").await, 102);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_instance_takes_only_its_global_trace_flags() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert_eq!(error_code(&mut c, "DBCC TRACEON (460)").await, 40517);
    assert_eq!(error_code(&mut c, "DBCC TRACEON (1117, -1)").await, 40517);
    exec(&mut c, "DBCC TRACEON (460, 2453, -1)").await;
    let s = rows(&mut c, "DBCC TRACESTATUS (-1)").await;
    assert_eq!(
        strs(&s),
        vec![vec!["460", "1", "1", "0"], vec!["2453", "1", "1", "0"]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_assemblies_routes_and_the_broker_but_not_trace_flags() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Kept; USE Kept; CREATE ASSEMBLY Tools FROM 0x4D5A WITH PERMISSION_SET = UNSAFE; \
         CREATE ROUTE Away WITH ADDRESS = 'TCP://10.0.0.5:4022'; USE master; \
         ALTER DATABASE Kept SET DISABLE_BROKER; DBCC TRACEON (1117, -1)",
    )
    .await;
    drop(c);
    r.server.stop().await;
    r.server.restart().await.unwrap();
    let mut c = connect(&r).await;
    let a = rows(
        &mut c,
        "SELECT name, permission_set_desc FROM Kept.sys.assemblies WHERE is_user_defined = 1",
    )
    .await;
    assert_eq!(strs(&a), vec![vec!["Tools", "UNSAFE_ACCESS"]]);
    let route = rows(
        &mut c,
        "SELECT address FROM Kept.sys.routes WHERE name = 'Away'",
    )
    .await;
    assert_eq!(strs(&route), vec![vec!["TCP://10.0.0.5:4022"]]);
    let b = rows(
        &mut c,
        "SELECT is_broker_enabled FROM sys.databases WHERE name = 'Kept'",
    )
    .await;
    assert_eq!(strs(&b), vec![vec!["0"]]);
    // Flags set by DBCC TRACEON last until the instance stops (startup flags come from -T).
    let flags = rows(&mut c, "DBCC TRACESTATUS (-1)").await;
    assert!(flags.is_empty(), "{flags:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_sysadmin_turns_trace_flags_on_and_anyone_reads_them() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE LOGIN [reader] WITH PASSWORD = N'Reader#Pa55word', CHECK_POLICY = OFF; DBCC TRACEON (1117, -1)",
    )
    .await;
    let mut low = connect_with(
        &r,
        tiberius::AuthMethod::sql_server("reader", "Reader#Pa55word"),
        tiberius::EncryptionLevel::Required,
    )
    .await
    .unwrap();
    assert_eq!(error_code(&mut low, "DBCC TRACEON (3604)").await, 2571);
    assert_eq!(error_code(&mut low, "DBCC TRACEOFF (1117, -1)").await, 2571);
    let s = rows(&mut low, "DBCC TRACESTATUS (-1)").await;
    assert_eq!(strs(&s), vec![vec!["1117", "1", "1", "0"]]);
}
