//! A database's modules, indexes and constraints travel with its backups: a full backup carries
//! them in the database's file, a log backup carries the DDL run after it, and the restored
//! database (under another name, on another server) shows the same inventory.

mod common;

use common::*;
use ferry_emulator::{Edition, Personality, Release, TlsMode};

/// The object inventory the validate plugin compares: (type, name, definition or trust).
async fn inventory(c: &mut C, db: &str) -> Vec<String> {
    let queries = [
        format!(
            "SELECT o.type, o.name, m.definition FROM [{db}].sys.objects o LEFT JOIN [{db}].sys.sql_modules m ON m.object_id = o.object_id WHERE o.is_ms_shipped = 0"
        ),
        format!("SELECT 'IX', i.name, '' FROM [{db}].sys.indexes i WHERE i.name IS NOT NULL"),
        format!(
            "SELECT 'FK', f.name, CASE WHEN f.is_disabled = 1 THEN 'disabled' ELSE 'enabled' END FROM [{db}].sys.foreign_keys f"
        ),
    ];
    let mut out = Vec::new();
    for sql in queries {
        for r in c
            .simple_query(sql)
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap()
        {
            out.push(format!(
                "{} {} {}",
                r.get::<&str, _>(0).unwrap().trim(),
                r.get::<&str, _>(1).unwrap(),
                r.try_get::<&str, _>(2).ok().flatten().unwrap_or("")
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_carry_modules_indexes_and_constraints() {
    let share = tempfile::tempdir().unwrap();
    let bak = |f: &str| share.path().join(f).display().to_string();
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(
        Personality::SqlServer {
            release: Release::Sql2022,
            edition: Edition::Standard,
            hadr: false,
            name: "DST".into(),
        },
        TlsMode::Required,
    )
    .await;
    src.server.allow_backup_directory(share.path()).unwrap();
    dst.server.allow_backup_directory(share.path()).unwrap();
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE DATABASE Shop").await;
    exec(&mut s, "USE Shop").await;
    exec(&mut s, "CREATE TABLE dbo.Customers (Id int NOT NULL CONSTRAINT PK_Customers PRIMARY KEY, Name nvarchar(50))").await;
    exec(&mut s, "CREATE TABLE dbo.Orders (Id int NOT NULL PRIMARY KEY, CustomerId int CONSTRAINT FK_O_C REFERENCES dbo.Customers (Id), Total int CHECK (Total > 0))").await;
    exec(
        &mut s,
        "CREATE INDEX IX_Orders_Customer ON dbo.Orders (CustomerId)",
    )
    .await;
    exec(&mut s, "CREATE VIEW dbo.V AS SELECT Id FROM dbo.Orders").await;
    exec(
        &mut s,
        &format!(
            "BACKUP DATABASE Shop TO DISK = '{}' WITH CHECKSUM",
            bak("full.bak")
        ),
    )
    .await;
    // After the full backup: a procedure, a disabled foreign key, a new index, a dropped view.
    exec(&mut s, "CREATE PROCEDURE dbo.P AS SELECT 1").await;
    exec(&mut s, "ALTER TABLE dbo.Orders NOCHECK CONSTRAINT FK_O_C").await;
    exec(&mut s, "CREATE INDEX IX_Total ON dbo.Orders (Total)").await;
    exec(&mut s, "DROP VIEW dbo.V").await;
    exec(
        &mut s,
        &format!("BACKUP LOG Shop TO DISK = '{}'", bak("log.trn")),
    )
    .await;
    let source = inventory(&mut s, "Shop").await;
    assert!(
        source
            .iter()
            .any(|r| r == "P P CREATE PROCEDURE dbo.P AS SELECT 1"),
        "{source:?}"
    );
    assert!(
        source.iter().any(|r| r == "FK FK_O_C disabled"),
        "{source:?}"
    );

    let mut d = connect(&dst).await;
    // The full backup alone: the objects as they were then.
    exec(
        &mut d,
        &format!(
            "RESTORE DATABASE ShopCopy FROM DISK = '{}'",
            bak("full.bak")
        ),
    )
    .await;
    let at_full = inventory(&mut d, "ShopCopy").await;
    assert!(
        at_full
            .iter()
            .any(|r| r == "V V CREATE VIEW dbo.V AS SELECT Id FROM dbo.Orders"),
        "{at_full:?}"
    );
    assert!(
        at_full.iter().any(|r| r == "FK FK_O_C enabled"),
        "{at_full:?}"
    );
    assert!(!at_full.iter().any(|r| r.contains("IX_Total")));
    // Full and log: the same inventory as the source.
    exec(
        &mut d,
        &format!(
            "RESTORE DATABASE ShopLog FROM DISK = '{}' WITH NORECOVERY",
            bak("full.bak")
        ),
    )
    .await;
    exec(
        &mut d,
        &format!(
            "RESTORE LOG ShopLog FROM DISK = '{}' WITH RECOVERY",
            bak("log.trn")
        ),
    )
    .await;
    assert_eq!(inventory(&mut d, "ShopLog").await, source);
    // Object ids survive, as OBJECT_ID shows.
    let id = |db: &str| format!("SELECT OBJECT_ID('{db}.dbo.Orders')");
    let a = one_row(&mut s, &id("Shop")).await.get::<i32, _>(0);
    let b = one_row(&mut d, &id("ShopLog")).await.get::<i32, _>(0);
    assert!(a.is_some());
    assert_eq!(a, b);
}
