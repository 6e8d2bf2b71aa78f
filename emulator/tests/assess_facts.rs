//! The instance and database facts a readiness assessment reads, made by the T-SQL a DBA uses
//! and read back through the documented catalog views: filegroups and files (FILESTREAM,
//! memory-optimized, several log files, sizes in pages), CLR assemblies, Service Broker routes
//! and the broker's state, trace flags, configuration options per version, linked servers to
//! non-SQL providers, and SERVERPROPERTY; and what Managed Instance refuses among them.

mod common;

use common::*;
use ferry_emulator::{Edition, Personality, Release, TlsMode};

fn sql(release: Release) -> Personality {
    Personality::SqlServer {
        release,
        edition: Edition::Enterprise,
        hadr: false,
        name: "OLD".into(),
    }
}

/// Every row of a query, each column as text (NULL as "NULL").
async fn rows(c: &mut C, query: &str) -> Vec<Vec<String>> {
    let rows = c
        .simple_query(query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<&str, _>(i)
                        .ok()
                        .flatten()
                        .map(str::to_owned)
                        .or_else(|| r.try_get::<i64, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| r.try_get::<i32, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| r.try_get::<i16, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| r.try_get::<u8, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| {
                            r.try_get::<bool, _>(i)
                                .ok()
                                .flatten()
                                .map(|v| u8::from(v).to_string())
                        })
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect()
        })
        .collect()
}

fn strs(v: &[Vec<String>]) -> Vec<Vec<&str>> {
    v.iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filegroups_and_files_show_their_kinds_and_sizes_in_pages() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Docs; \
         ALTER DATABASE Docs ADD FILEGROUP Blobs CONTAINS FILESTREAM; \
         ALTER DATABASE Docs ADD FILE (NAME = Blobs1, FILENAME = '/var/opt/mssql/data/blobs1') TO FILEGROUP Blobs; \
         ALTER DATABASE Docs ADD FILEGROUP Mem CONTAINS MEMORY_OPTIMIZED_DATA; \
         ALTER DATABASE Docs ADD FILE (NAME = Mem1, FILENAME = '/var/opt/mssql/data/mem1') TO FILEGROUP Mem; \
         ALTER DATABASE Docs ADD FILE (NAME = Big, FILENAME = '/var/opt/mssql/data/big.ndf', SIZE = 1 GB); \
         ALTER DATABASE Docs ADD LOG FILE (NAME = Docs_log2, FILENAME = '/var/opt/mssql/data/docs_log2.ldf', SIZE = 16MB)",
    )
    .await;
    let groups = rows(
        &mut c,
        "SELECT name, type, type_desc FROM Docs.sys.filegroups ORDER BY data_space_id",
    )
    .await;
    assert_eq!(
        strs(&groups),
        vec![
            vec!["PRIMARY", "FG", "ROWS_FILEGROUP"],
            vec!["Blobs", "FD", "FILESTREAM_DATA_FILEGROUP"],
            vec!["Mem", "FX", "MEMORY_OPTIMIZED_DATA_FILEGROUP"],
        ]
    );
    let files = rows(
        &mut c,
        "SELECT name, type, type_desc, size FROM Docs.sys.database_files ORDER BY file_id",
    )
    .await;
    assert_eq!(
        strs(&files),
        vec![
            vec!["Docs", "0", "ROWS", "1024"],
            vec!["Docs_log", "1", "LOG", "1024"],
            vec!["Blobs1", "2", "FILESTREAM", "1024"],
            vec!["Mem1", "2", "FILESTREAM", "1024"],
            vec!["Big", "0", "ROWS", "131072"],
            vec!["Docs_log2", "1", "LOG", "2048"],
        ]
    );
    let logs = rows(
        &mut c,
        "SELECT COUNT(*) FROM sys.master_files f JOIN sys.databases d ON d.database_id = f.database_id WHERE d.name = 'Docs' AND f.type = 1",
    )
    .await;
    assert_eq!(strs(&logs), vec![vec!["2"]]);
    // A size with a unit SQL Server does not have.
    assert_eq!(
        error_code(
            &mut c,
            "ALTER DATABASE Docs ADD FILE (NAME = Odd, FILENAME = '/o.ndf', SIZE = 3 XB)"
        )
        .await,
        102
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_instance_refuses_filestream_and_a_second_log_file() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Docs").await;
    assert_eq!(
        error_code(
            &mut c,
            "ALTER DATABASE Docs ADD FILEGROUP Blobs CONTAINS FILESTREAM"
        )
        .await,
        5591
    );
    assert_eq!(
        error_code(
            &mut c,
            "ALTER DATABASE Docs ADD LOG FILE (NAME = L2, FILENAME = 'l2.ldf')"
        )
        .await,
        5008
    );
    // A memory-optimized filegroup is MI's own (an XTP container); it is not refused.
    exec(
        &mut c,
        "ALTER DATABASE Docs ADD FILEGROUP Mem CONTAINS MEMORY_OPTIMIZED_DATA",
    )
    .await;
    let kinds = rows(
        &mut c,
        "SELECT type FROM Docs.sys.filegroups ORDER BY data_space_id",
    )
    .await;
    assert_eq!(strs(&kinds), vec![vec!["FG"], vec!["FX"]]);
    let logs = rows(
        &mut c,
        "SELECT COUNT(*) FROM Docs.sys.database_files WHERE type = 1",
    )
    .await;
    assert_eq!(strs(&logs), vec![vec!["1"]]);
}

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

/// (name, configuration_id, minimum, maximum, value) of the options a readiness rule reads.
const RULE_OPTIONS: &str = "SELECT name, configuration_id, CAST(minimum AS int), CAST(maximum AS int), CAST(value AS int) FROM sys.configurations WHERE name IN ('xp_cmdshell', 'Ole Automation Procedures', 'Database Mail XPs', 'SQL Mail XPs', 'clr enabled', 'clr strict security', 'cross db ownership chaining', 'remote access', 'contained database authentication') ORDER BY configuration_id";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_options_rules_read_exist_per_version() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let now = rows(&mut c, RULE_OPTIONS).await;
    assert_eq!(
        strs(&now),
        vec![
            vec!["remote access", "117", "0", "1", "1"],
            vec!["cross db ownership chaining", "400", "0", "1", "0"],
            vec!["clr enabled", "1562", "0", "1", "0"],
            vec!["clr strict security", "1587", "0", "1", "1"],
            vec!["Database Mail XPs", "16386", "0", "1", "0"],
            vec!["Ole Automation Procedures", "16388", "0", "1", "0"],
            vec!["xp_cmdshell", "16390", "0", "1", "0"],
            vec!["contained database authentication", "16393", "0", "1", "0"],
        ]
    );
    let r = start(sql(Release::Sql2008R2), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let old: Vec<String> = rows(&mut c, RULE_OPTIONS)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        old,
        [
            "remote access",
            "cross db ownership chaining",
            "clr enabled",
            "SQL Mail XPs",
            "Database Mail XPs",
            "Ole Automation Procedures",
            "xp_cmdshell"
        ]
    );
    exec(
        &mut c,
        "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; EXEC sp_configure 'SQL Mail XPs', 1; RECONFIGURE",
    )
    .await;
    let on = rows(
        &mut c,
        "SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE configuration_id = 16385",
    )
    .await;
    assert_eq!(strs(&on), vec![vec!["1"]]);
    let r = start(sql(Release::Sql2012), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let gone = rows(
        &mut c,
        "SELECT COUNT(*) FROM sys.configurations WHERE name = 'SQL Mail XPs'",
    )
    .await;
    assert_eq!(strs(&gone), vec![vec!["0"]]);
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let mi_names: Vec<String> = rows(&mut c, RULE_OPTIONS)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(
        !mi_names
            .iter()
            .any(|n| n == "xp_cmdshell" || n == "remote access"),
        "{mi_names:?}"
    );
    assert!(mi_names.iter().any(|n| n == "clr enabled"), "{mi_names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_servers_to_other_providers_show_their_provider() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "EXEC sp_addlinkedserver @server = N'ODBC_DSN', @srvproduct = N'ODBC', @provider = N'MSDASQL', @datasrc = N'LegacyDsn'; \
         EXEC sp_addlinkedserver @server = N'EXCEL', @srvproduct = N'ACE 12.0', @provider = N'Microsoft.ACE.OLEDB.12.0', @datasrc = N'C:\\data\\book.xlsx', @provstr = N'Excel 12.0'",
    )
    .await;
    let s = rows(
        &mut c,
        "SELECT name, provider, data_source FROM sys.servers WHERE is_linked = 1 ORDER BY name",
    )
    .await;
    assert_eq!(
        strs(&s),
        vec![
            vec!["EXCEL", "Microsoft.ACE.OLEDB.12.0", "C:\\data\\book.xlsx"],
            vec!["ODBC_DSN", "MSDASQL", "LegacyDsn"],
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_properties_follow_the_filestream_level() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let q = "SELECT CAST(SERVERPROPERTY('FilestreamConfiguredLevel') AS int), CAST(SERVERPROPERTY('FilestreamEffectiveLevel') AS int), CAST(SERVERPROPERTY('IsFullTextInstalled') AS int), CAST(SERVERPROPERTY('EngineEdition') AS int)";
    assert_eq!(strs(&rows(&mut c, q).await), vec![vec!["0", "0", "1", "3"]]);
    exec(&mut c, "EXEC sp_configure 'filestream access level', 2").await;
    // Configured, not yet in use.
    assert_eq!(strs(&rows(&mut c, q).await), vec![vec!["2", "0", "1", "3"]]);
    exec(&mut c, "RECONFIGURE").await;
    assert_eq!(strs(&rows(&mut c, q).await), vec![vec!["2", "2", "1", "3"]]);
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert_eq!(strs(&rows(&mut c, q).await), vec![vec!["0", "0", "1", "8"]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assessment_seed_leaves_one_of_each_fact() {
    use ferry_emulator::seed_assess as seed;
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    for batch in seed::batches() {
        exec(&mut c, &batch).await;
    }
    let fd = rows(
        &mut c,
        &format!(
            "SELECT COUNT(*) FROM [{}].sys.filegroups WHERE type = 'FD'",
            seed::FILESTREAM_DATABASE
        ),
    )
    .await;
    assert_eq!(strs(&fd), vec![vec!["1"]]);
    let ft = rows(
        &mut c,
        &format!(
            "SELECT directory_name FROM [{}].sys.filetables",
            seed::FILESTREAM_DATABASE
        ),
    )
    .await;
    assert_eq!(strs(&ft), vec![vec![seed::FILETABLE]]);
    let fx = rows(
        &mut c,
        &format!(
            "SELECT COUNT(*) FROM [{}].sys.filegroups WHERE type = 'FX'",
            seed::IN_MEMORY_DATABASE
        ),
    )
    .await;
    assert_eq!(strs(&fx), vec![vec!["1"]]);
    let logs = rows(
        &mut c,
        &format!(
            "SELECT COUNT(*), MAX(size) FROM [{}].sys.database_files WHERE type = 1",
            seed::TWO_LOGS_DATABASE
        ),
    )
    .await;
    assert_eq!(strs(&logs), vec![vec!["2", "8192"]]);
    let contained = rows(
        &mut c,
        &format!(
            "SELECT containment_desc FROM sys.databases WHERE name = '{}'",
            seed::CONTAINED_DATABASE
        ),
    )
    .await;
    assert_eq!(strs(&contained), vec![vec!["PARTIAL"]]);
    let unsafe_ones = rows(
        &mut c,
        &format!(
            "SELECT name FROM [{}].sys.assemblies WHERE is_user_defined = 1 AND permission_set = 3",
            seed::CLR_DATABASE
        ),
    )
    .await;
    assert_eq!(strs(&unsafe_ones), vec![vec!["FileWatcher"]]);
    let route = rows(
        &mut c,
        &format!(
            "SELECT address FROM [{}].sys.routes WHERE name = '{}'",
            seed::BROKER_DATABASE,
            seed::ROUTE.0
        ),
    )
    .await;
    assert_eq!(strs(&route), vec![vec![seed::ROUTE.1]]);
    let flags = rows(&mut c, "DBCC TRACESTATUS (-1) WITH NO_INFOMSGS").await;
    assert_eq!(flags.len(), seed::TRACE_FLAGS.len());
    let on = rows(&mut c, "SELECT COUNT(*) FROM sys.configurations WHERE name IN ('xp_cmdshell', 'Ole Automation Procedures', 'clr enabled', 'cross db ownership chaining') AND CAST(value_in_use AS int) = 1").await;
    assert_eq!(strs(&on), vec![vec!["4"]]);
    let links = rows(&mut c, "SELECT COUNT(*) FROM sys.servers WHERE provider IN ('MSDASQL', 'Microsoft.ACE.OLEDB.12.0')").await;
    assert_eq!(strs(&links), vec![vec!["2"]]);
    let level = rows(
        &mut c,
        "SELECT CAST(SERVERPROPERTY('FilestreamEffectiveLevel') AS int)",
    )
    .await;
    assert_eq!(strs(&level), vec![vec!["2"]]);
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
async fn filetables_need_a_filestream_filegroup_and_show_in_sys_filetables() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Ft; USE Ft").await;
    assert_eq!(
        error_code(&mut c, "CREATE TABLE Docs AS FILETABLE").await,
        1969
    );
    exec(
        &mut c,
        "ALTER DATABASE Ft ADD FILEGROUP Blobs CONTAINS FILESTREAM; \
         ALTER DATABASE Ft ADD FILE (NAME = Blobs1, FILENAME = '/var/opt/mssql/data/ft_blobs') TO FILEGROUP Blobs; \
         CREATE TABLE Docs AS FILETABLE WITH (FILETABLE_DIRECTORY = 'Documents', FILETABLE_COLLATE_FILENAME = database_default); \
         CREATE TABLE dbo.Scans AS FILETABLE; \
         CREATE TABLE Plain (Id int)",
    )
    .await;
    let ft = rows(
        &mut c,
        "SELECT t.name, f.is_enabled, f.directory_name, f.filename_collation_name FROM sys.filetables f JOIN sys.tables t ON t.object_id = f.object_id ORDER BY t.name",
    )
    .await;
    assert_eq!(
        strs(&ft),
        vec![
            vec!["Docs", "1", "Documents", "SQL_Latin1_General_CP1_CI_AS"],
            vec!["Scans", "1", "Scans", "SQL_Latin1_General_CP1_CI_AS"],
        ]
    );
    let cols = rows(
        &mut c,
        "SELECT COUNT(*) FROM Ft.dbo.Docs WHERE is_directory = 1",
    )
    .await;
    assert_eq!(strs(&cols), vec![vec!["0"]]);
    assert_eq!(
        error_code(&mut c, "CREATE TABLE Docs AS FILETABLE").await,
        2714
    );
    assert_eq!(
        error_code(
            &mut c,
            "CREATE TABLE Odd AS FILETABLE WITH (FILETABLE_SIZE = 1)"
        )
        .await,
        102
    );
    // On Managed Instance there is no FILESTREAM filegroup to hold one.
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Ft").await;
    assert_eq!(
        error_code(&mut c, "CREATE TABLE Ft.dbo.Docs AS FILETABLE").await,
        1969
    );
}
