//! The inventory queries the validate plugin runs (methods.md §6) as written, partition
//! figures, INFORMATION_SCHEMA, schemas, and memory-optimized tables in sys.tables.

mod common;

use common::catalog::*;
use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_queries_run_as_written() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    shop(&mut c).await;
    exec(&mut c, "CREATE SCHEMA sales").await;
    exec(
        &mut c,
        "CREATE TABLE sales.Leads (Id int PRIMARY KEY, Note nvarchar(200))",
    )
    .await;
    exec(&mut c, "CREATE INDEX IX_Note ON sales.Leads (Note)").await;
    for i in 0..50 {
        exec(
            &mut c,
            &format!(
                "INSERT INTO sales.Leads VALUES ({i}, N'{}')",
                "x".repeat(100)
            ),
        )
        .await;
    }
    exec(
        &mut c,
        "INSERT INTO dbo.Customers (Id, Name) VALUES (1, N'Ann'), (2, N'Bob')",
    )
    .await;
    exec(&mut c, "USE master").await;
    // methods.md §6, row counts (run in the database, three-part names from master).
    let counts: Vec<(String, String, i64)> = rows(
        &mut c,
        "SELECT s.name AS schema_name, t.name AS table_name, SUM(p.rows) AS row_count
         FROM [Shop].sys.tables t JOIN [Shop].sys.schemas s ON s.schema_id = t.schema_id
         JOIN [Shop].sys.partitions p ON p.object_id = t.object_id AND p.index_id IN (0,1)
         GROUP BY s.name, t.name ORDER BY s.name, t.name;",
    )
    .await
    .iter()
    .map(|r| {
        (
            r.get::<&str, _>(0).unwrap().to_owned(),
            r.get::<&str, _>(1).unwrap().to_owned(),
            num(r, 2),
        )
    })
    .collect();
    assert_eq!(
        counts,
        [
            ("dbo", "Customers", 2),
            ("dbo", "Orders", 0),
            ("sales", "Leads", 50)
        ]
        .map(|(a, b, n)| (a.to_owned(), b.to_owned(), n))
    );
    exec(&mut c, "USE Shop").await;
    let stats = one_row(&mut c, "SELECT SUM(row_count), SUM(used_page_count), SUM(reserved_page_count), COUNT(*) FROM sys.dm_db_partition_stats WHERE object_id = OBJECT_ID('sales.Leads')").await;
    assert_eq!(num(&stats, 0), 100);
    assert_eq!(num(&stats, 3), 2);
    // 50 rows of 200 bytes: Row_Size = 200 + 2 + 2 + 4 + (2 + 1) + 4 = 215 (+ the int key) →
    // 36 a page → 2 data pages + the IAM page in each index.
    let used = num(&stats, 1);
    let reserved = num(&stats, 2);
    assert!((4..=8).contains(&used), "{used}");
    assert_eq!(reserved % 8, 0);
    assert_eq!(
        int(
            &mut c,
            "SELECT schema_id FROM sys.schemas WHERE name = 'sales'"
        )
        .await,
        Some(5)
    );
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM Shop.sys.objects o JOIN Shop.sys.schemas s ON s.schema_id = o.schema_id WHERE s.name = 'sales' AND o.is_ms_shipped = 0").await, Some(2));
    assert_eq!(error_code(&mut c, "DROP SCHEMA sales").await, 3729);
    assert_eq!(
        error_code(&mut c, "CREATE TABLE nope.T (a int)").await,
        2760
    );
    let partition = one_row(&mut c, "SELECT partition_id, hobt_id, partition_number, data_compression_desc FROM sys.partitions WHERE object_id = OBJECT_ID('dbo.Orders') AND index_id = 1").await;
    assert_eq!(partition.get::<i64, _>(0), partition.get::<i64, _>(1));
    assert_eq!(partition.get::<i32, _>(2), Some(1));
    assert_eq!(partition.get::<&str, _>(3), Some("NONE"));
    // INFORMATION_SCHEMA.
    let t = rows(&mut c, "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES ORDER BY TABLE_SCHEMA, TABLE_NAME").await;
    assert_eq!(t.len(), 3);
    assert_eq!(
        (
            t[2].get::<&str, _>(0),
            t[2].get::<&str, _>(1),
            t[2].get::<&str, _>(2),
            t[2].get::<&str, _>(3)
        ),
        (
            Some("Shop"),
            Some("sales"),
            Some("Leads"),
            Some("BASE TABLE")
        )
    );
    let col = one_row(&mut c, "SELECT DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE, ORDINAL_POSITION FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'Leads' AND COLUMN_NAME = 'Note'").await;
    assert_eq!(
        (
            col.get::<&str, _>(0),
            num(&col, 1),
            col.get::<&str, _>(2),
            num(&col, 3)
        ),
        (Some("nvarchar"), 200, Some("YES"), 2)
    );
    // The integrity inventory: foreign keys and checks with their trust.
    let n = rows(&mut c, "SELECT OBJECT_SCHEMA_NAME(parent_object_id), OBJECT_NAME(parent_object_id), name, is_disabled, is_not_trusted FROM sys.foreign_keys UNION ALL SELECT OBJECT_SCHEMA_NAME(parent_object_id), OBJECT_NAME(parent_object_id), name, is_disabled, is_not_trusted FROM sys.check_constraints").await;
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].get::<&str, _>(1), Some("Orders"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_optimized_tables_show_in_sys_tables() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Xtp").await;
    exec(
        &mut c,
        "ALTER DATABASE Xtp ADD FILEGROUP xtp CONTAINS MEMORY_OPTIMIZED_DATA",
    )
    .await;
    exec(&mut c, "ALTER DATABASE Xtp ADD FILE (NAME = 'xtp1', FILENAME = '/var/opt/mssql/data/xtp1') TO FILEGROUP xtp").await;
    exec(&mut c, "USE Xtp").await;
    exec(&mut c, "CREATE TABLE dbo.Hot (Id int NOT NULL PRIMARY KEY NONCLUSTERED HASH WITH (BUCKET_COUNT = 1024), V int) WITH (MEMORY_OPTIMIZED = ON, DURABILITY = SCHEMA_ONLY)").await;
    exec(&mut c, "CREATE TABLE dbo.Cold (Id int NOT NULL)").await;
    let rows = rows(&mut c, "SELECT name, is_memory_optimized, durability, durability_desc, temporal_type_desc FROM sys.tables ORDER BY name").await;
    assert_eq!(rows[0].get::<&str, _>(0), Some("Cold"));
    assert_eq!(rows[0].get::<bool, _>(1), Some(false));
    assert_eq!(rows[0].get::<&str, _>(3), Some("SCHEMA_AND_DATA"));
    assert_eq!(rows[1].get::<bool, _>(1), Some(true));
    assert_eq!(rows[1].get::<u8, _>(2), Some(1));
    assert_eq!(rows[1].get::<&str, _>(3), Some("SCHEMA_ONLY"));
    assert_eq!(rows[1].get::<&str, _>(4), Some("NON_TEMPORAL_TABLE"));
    // The nonclustered primary key leaves the table a heap.
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM sys.indexes WHERE object_id = OBJECT_ID('dbo.Hot') AND type_desc IN ('HEAP', 'NONCLUSTERED')").await, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filetables_are_tables_with_is_filetable() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Ft").await;
    exec(
        &mut c,
        "ALTER DATABASE Ft ADD FILEGROUP Blobs CONTAINS FILESTREAM",
    )
    .await;
    exec(&mut c, "ALTER DATABASE Ft ADD FILE (NAME = Blobs1, FILENAME = '/var/opt/mssql/data/ft_blobs') TO FILEGROUP Blobs").await;
    exec(&mut c, "USE Ft").await;
    exec(&mut c, "CREATE TABLE Docs AS FILETABLE").await;
    exec(&mut c, "CREATE TABLE Plain (Id int)").await;
    let t = rows(&mut c, "SELECT t.name, t.is_filetable, f.directory_name FROM sys.tables t LEFT JOIN sys.filetables f ON f.object_id = t.object_id ORDER BY t.name").await;
    assert_eq!(
        (
            t[0].get::<&str, _>(0),
            t[0].get::<bool, _>(1),
            t[0].get::<&str, _>(2)
        ),
        (Some("Docs"), Some(true), Some("Docs"))
    );
    assert_eq!(
        (t[1].get::<&str, _>(0), t[1].get::<bool, _>(1)),
        (Some("Plain"), Some(false))
    );
}
