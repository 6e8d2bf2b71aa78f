//! The seeded source instance (`ferry_emulator::seed`) builds on a SQL Server personality
//! through the documented statements and procedures, and holds what it says.

mod common;

use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeded_instance_has_every_kind_of_object() {
    let r = start(sql2019(), TlsMode::Required).await;
    let dbs = ["SalesDb", "HRDb"];
    r.server
        .set_windows_groups(&ferry_emulator::seed::windows_groups())
        .unwrap();
    for db in dbs {
        r.server
            .run_sql(&format!("CREATE DATABASE [{db}]"))
            .unwrap();
    }
    for (k, batch) in ferry_emulator::seed::instance_objects(&dbs)
        .iter()
        .enumerate()
    {
        if let Err(e) = tokio::task::block_in_place(|| r.server.run_sql(batch)) {
            panic!("seed batch {k} failed: {} {}\n{batch}", e.number, e.text);
        }
    }
    let mut c = connect(&r).await;
    let n = |sql: &'static str| sql;
    for (sql, want) in [
        (
            n(
                "SELECT COUNT(*) FROM sys.server_principals WHERE type IN ('S','U','G','C') AND name NOT LIKE '##%' AND name <> 'sa' AND name NOT LIKE 'NT %' AND name NOT LIKE 'BUILTIN%'",
            ),
            "47",
        ),
        (
            n(
                "SELECT COUNT(*) FROM sys.server_principals WHERE type = 'G' AND name LIKE 'CONTOSO%'",
            ),
            "3",
        ),
        (
            n(
                "SELECT COUNT(*) FROM sys.server_principals p JOIN sys.certificates c ON c.sid = p.sid WHERE p.name = 'code_signer'",
            ),
            "1",
        ),
        (n("SELECT COUNT(*) FROM msdb.dbo.sysjobs"), "31"),
        (n("SELECT COUNT(*) FROM msdb.dbo.sysalerts"), "2"),
        (
            n("SELECT COUNT(*) FROM sys.servers WHERE is_linked = 1"),
            "2",
        ),
        (n("SELECT COUNT(*) FROM sys.server_triggers"), "1"),
        (n("SELECT COUNT(*) FROM sys.server_audits"), "1"),
        (
            n("SELECT COUNT(*) FROM sys.server_event_session_fields WHERE name = 'filename'"),
            "1",
        ),
        (n("SELECT COUNT(*) FROM sys.dm_xe_sessions"), "1"),
        (
            n(
                "SELECT COUNT(*) FROM sys.resource_governor_workload_groups g JOIN sys.resource_governor_resource_pools p ON p.pool_id = g.pool_id WHERE g.name = 'reporting_group' AND p.name = 'reporting_pool' AND p.max_iops_per_volume = 400",
            ),
            "1",
        ),
        (
            n("SELECT COUNT(*) FROM sys.resource_governor_configuration WHERE is_enabled = 1"),
            "1",
        ),
        (
            n(
                "SELECT COUNT(*) FROM sys.dm_database_encryption_keys k JOIN sys.databases d ON d.database_id = k.database_id WHERE d.name = 'HRDb'",
            ),
            "1",
        ),
        (
            n("SELECT COUNT(*) FROM HRDb.sys.database_principals WHERE type IN ('U', 'G')"),
            "2",
        ),
    ] {
        let sql = sql.replacen("SELECT COUNT(*)", "SELECT CAST(COUNT(*) AS varchar(10))", 1);
        assert_eq!(scalar_string(&mut c, &sql).await, want, "{sql}");
    }
}
