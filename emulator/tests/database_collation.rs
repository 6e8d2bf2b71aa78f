//! ALTER DATABASE … COLLATE over TDS: the collation shows in sys.databases, an unknown one is
//! refused with error 448, and neither runs inside a transaction (error 226).

mod common;

use common::catalog::error_text;
use common::catalog_rows::{rows, strs};
use common::*;
use ferry_emulator::TlsMode;

/// The error number and message a batch fails with.
async fn refused(c: &mut C, sql: &str) -> (u32, String) {
    (error_code(c, sql).await, error_text(c, sql).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_takes_a_collation_and_refuses_an_unknown_one() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Cs; ALTER DATABASE Cs COLLATE Latin1_General_CS_AS",
    )
    .await;
    let q = "SELECT collation_name FROM sys.databases WHERE name = 'Cs'";
    assert_eq!(
        strs(&rows(&mut c, q).await),
        vec![vec!["Latin1_General_CS_AS"]]
    );
    let e = refused(&mut c, "ALTER DATABASE Cs COLLATE Latin1_General_CI_XX").await;
    assert_eq!(e.0, 448, "{e:?}");
    assert!(
        e.1.contains("Invalid collation 'Latin1_General_CI_XX'"),
        "{e:?}"
    );
    let e = refused(
        &mut c,
        "ALTER DATABASE NoSuchDb COLLATE Latin1_General_CI_AS",
    )
    .await;
    assert_eq!(e.0, 5011, "{e:?}");
    let e = refused(
        &mut c,
        "BEGIN TRANSACTION; ALTER DATABASE Cs COLLATE Latin1_General_CI_AS",
    )
    .await;
    assert_eq!(e.0, 226, "{e:?}");
    exec(&mut c, "IF @@TRANCOUNT > 0 ROLLBACK").await;
    assert_eq!(
        strs(&rows(&mut c, q).await),
        vec![vec!["Latin1_General_CS_AS"]]
    );
    let e = refused(&mut c, "ALTER DATABASE Cs COLLATE").await;
    assert_eq!(e.0, 102, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_database_takes_a_collation_or_creates_nothing() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Bin COLLATE Latin1_General_100_CI_AS_SC_UTF8",
    )
    .await;
    let q =
        "SELECT name, collation_name FROM sys.databases WHERE name IN ('Bin', 'Bad') ORDER BY name";
    let e = refused(&mut c, "CREATE DATABASE Bad COLLATE Klingon_CI_AS").await;
    assert_eq!(e.0, 448, "{e:?}");
    assert_eq!(
        strs(&rows(&mut c, q).await),
        vec![vec!["Bin", "Latin1_General_100_CI_AS_SC_UTF8"]]
    );
    exec(
        &mut c,
        "CREATE TABLE Bin.dbo.T (Id int); INSERT INTO Bin.dbo.T VALUES (1)",
    )
    .await;
    let e = refused(&mut c, "CREATE DATABASE Bin COLLATE Latin1_General_CI_AS").await;
    assert_eq!(e.0, 1801, "{e:?}");
}
