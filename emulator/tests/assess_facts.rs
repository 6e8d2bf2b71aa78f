//! The instance and database facts a readiness assessment reads, made by the T-SQL a DBA uses
//! and read back through the documented catalog views: filegroups and files (FILESTREAM,
//! memory-optimized, several log files, sizes in pages), FileTables, configuration options per
//! version, linked servers to non-SQL providers, SERVERPROPERTY, and the assessment seed; and
//! what Managed Instance refuses among them. CLR, Service Broker and trace flags:
//! assess_clr_broker.rs.

mod common;

use common::catalog_rows::{rows, strs};
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
