//! DATEADD, SYSUTCDATETIME and GETUTCDATE in statements over tables, through TDS ("DATEADD
//! (Transact-SQL)", "SYSUTCDATETIME", "GETUTCDATE" on learn.microsoft.com): the window filters
//! a Query Store read is made of.

mod common;

use common::*;
use ferry_emulator::TlsMode;

async fn count(c: &mut C, sql: &str) -> i64 {
    let row = one_row(c, sql).await;
    row.try_get::<i64, _>(0)
        .ok()
        .flatten()
        .or_else(|| row.try_get::<i32, _>(0).ok().flatten().map(i64::from))
        .unwrap_or_else(|| panic!("no count: {sql}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dateadd_filters_rows_and_follows_the_docs() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Sales; CREATE TABLE Sales.dbo.T (Id int PRIMARY KEY, At datetime2); \
         INSERT INTO Sales.dbo.T VALUES (1, '2024-01-31 10:00:00'), (2, '2024-01-01 11:45:00'), \
         (3, '2024-01-01 12:10:00'), (4, '9999-06-01 00:00:00')",
    )
    .await;
    // Rows from half an hour before noon to a day after it: 11:45 and 12:10.
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM Sales.dbo.T WHERE At > DATEADD(MINUTE, -30, N'2024-01-01 12:00:00') \
             AND At < DATEADD(DAY, 1, N'2024-01-01 12:00:00')"
        )
        .await,
        2
    );
    // Abbreviations are the documented ones (mi = minute, dd = day).
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM Sales.dbo.T WHERE At < DATEADD(dd, 1, DATEADD(mi, 0, N'2024-01-01 00:00:00'))"
        )
        .await,
        2
    );
    // A month without the day gives the month's last day.
    assert!(
        scalar_string(
            &mut c,
            "SELECT DATEADD(month, 1, At) FROM Sales.dbo.T WHERE Id = 1"
        )
        .await
        .starts_with("2024-02-29 10:00:00")
    );
    // The clock: now is after yesterday, and the three functions agree to the day.
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM sys.databases WHERE SYSUTCDATETIME() > DATEADD(DAY, -1, GETUTCDATE()) AND database_id = 1"
        )
        .await,
        1
    );
    // What SQL Server refuses: an unknown datepart (155), a wrong count of arguments (174), a
    // result past 9999-12-31 (517).
    assert_eq!(
        error_code(
            &mut c,
            "SELECT COUNT(*) FROM Sales.dbo.T WHERE At > DATEADD(fortnight, 1, At)"
        )
        .await,
        155
    );
    assert_eq!(
        error_code(&mut c, "SELECT DATEADD(day, 1) FROM Sales.dbo.T").await,
        174
    );
    assert_eq!(
        error_code(
            &mut c,
            "SELECT DATEADD(year, 1, At) FROM Sales.dbo.T WHERE Id = 4"
        )
        .await,
        517
    );
}
