//! Aggregates come back in the T-SQL type SQL Server gives them, whatever their value ("SUM
//! (Transact-SQL)" and "COUNT_BIG (Transact-SQL)", Return types): a client that reads a column
//! as the type SQL Server sends (tiberius: `i64` only from bigint, `i32` only from int) must
//! read the emulator's the same way.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use tiberius::ColumnType;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sums_and_counts_have_sql_server_types_and_an_int_sum_overflows() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Agg").await;
    exec(
        &mut c,
        "CREATE TABLE Agg.dbo.T (Id int NOT NULL PRIMARY KEY, Big bigint NOT NULL, Small smallint NOT NULL)",
    )
    .await;
    exec(
        &mut c,
        "INSERT INTO Agg.dbo.T VALUES (1, 10, 1), (2, 20, 2), (2147483647, 30, 3)",
    )
    .await;

    // Small totals: still bigint for SUM(bigint) and COUNT_BIG, int for COUNT and SUM(smallint).
    let row = one_row(
        &mut c,
        "SELECT SUM(Big) AS s, COUNT_BIG(*) AS n, COUNT(*) AS k, SUM(Small) AS m, MAX(Big) AS x FROM Agg.dbo.T",
    )
    .await;
    let types: Vec<ColumnType> = row.columns().iter().map(|c| c.column_type()).collect();
    assert_eq!(
        types,
        vec![
            ColumnType::Int8,
            ColumnType::Int8,
            ColumnType::Int4,
            ColumnType::Int4,
            ColumnType::Int8
        ]
    );
    assert_eq!(row.get::<i64, _>("s"), Some(60));
    assert_eq!(row.get::<i64, _>("n"), Some(3));
    assert_eq!(row.get::<i32, _>("k"), Some(3));
    assert_eq!(row.get::<i64, _>("x"), Some(30));

    // An int total past 2^31 - 1 is an error in SQL Server, not a bigint.
    assert_eq!(
        error_code(&mut c, "SELECT SUM(Id) FROM Agg.dbo.T").await,
        8115
    );
    // Summing bigint casts, as a careful client does, gives the total.
    let row = one_row(
        &mut c,
        "SELECT SUM(CAST(Id AS bigint)) AS s FROM Agg.dbo.T WHERE Id > 0",
    )
    .await;
    assert_eq!(row.get::<i64, _>("s"), Some(2147483650));
}
