//! Helpers for the schema-object tests (schema_objects*.rs): queries, and a small shop
//! database with keys, a foreign key, a check and a default.

use super::{C, exec, one_row};

pub async fn rows(c: &mut C, sql: &str) -> Vec<tiberius::Row> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A whole number of any width: the emulator types an aggregate by its value (SQL Server's
/// SUM of a bigint is bigint; the emulator's is int while the sum fits).
pub fn num(r: &tiberius::Row, i: usize) -> i64 {
    r.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| r.get::<i32, _>(i).map(i64::from))
        .unwrap()
}

pub async fn int(c: &mut C, sql: &str) -> Option<i32> {
    one_row(c, sql).await.get::<i32, _>(0)
}

pub async fn text(c: &mut C, sql: &str) -> Option<String> {
    one_row(c, sql).await.get::<&str, _>(0).map(str::to_owned)
}

/// The server's message for a failing batch.
pub async fn error_text(c: &mut C, sql: &str) -> String {
    let err = match c.simple_query(sql).await {
        Err(e) => e,
        Ok(s) => s.into_results().await.map(|_| ()).expect_err(sql),
    };
    match err {
        tiberius::error::Error::Server(e) => e.message().to_owned(),
        other => panic!("{sql}: {other:?}"),
    }
}

pub async fn shop(c: &mut C) {
    exec(c, "CREATE DATABASE Shop").await;
    exec(c, "USE Shop").await;
    exec(
        c,
        "CREATE TABLE dbo.Customers (Id int NOT NULL PRIMARY KEY, Name nvarchar(100) NOT NULL, Email varchar(200) NULL UNIQUE)",
    )
    .await;
    exec(
        c,
        "CREATE TABLE dbo.Orders (Id int IDENTITY(1,1) NOT NULL, CustomerId int NOT NULL CONSTRAINT FK_Orders_Customers REFERENCES dbo.Customers (Id) ON DELETE CASCADE, \
         Total decimal(10,2) NOT NULL CONSTRAINT CK_Orders_Total CHECK (Total >= 0), Status char(1) NOT NULL DEFAULT 'N', \
         Placed datetime2(3) NULL, CONSTRAINT PK_Orders PRIMARY KEY CLUSTERED (Id))",
    )
    .await;
}
