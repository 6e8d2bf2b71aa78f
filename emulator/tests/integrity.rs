//! DBCC CHECKDB's messages, the control API's corruption mark that makes it fail, and the
//! tamper hook that changes rows on one server without the change log hearing of it.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use ferry_emulator::sql::Outcome;

/// (number, class, text) of every message a batch run as the server produced.
fn messages(r: &Running, sql: &str) -> Vec<(i32, u8, String)> {
    let out = tokio::task::block_in_place(|| r.server.run_sql(sql));
    let out = match out {
        Ok(o) => o,
        Err(e) => return vec![(e.number, e.class, e.text)],
    };
    out.into_iter()
        .filter_map(|o| match o {
            Outcome::Info(m) | Outcome::Error(m) => Some((m.number, m.class, m.text)),
            _ => None,
        })
        .collect()
}

fn numbers(m: &[(i32, u8, String)]) -> Vec<i32> {
    m.iter().map(|x| x.0).collect()
}

async fn int(c: &mut C, sql: &str) -> i64 {
    let row = one_row(c, sql).await;
    row.try_get::<i32, _>(0)
        .ok()
        .flatten()
        .map(i64::from)
        .or_else(|| row.try_get::<i64, _>(0).ok().flatten())
        .or_else(|| row.try_get::<u8, _>(0).ok().flatten().map(i64::from))
        .unwrap_or_else(|| panic!("{sql}: no integer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkdb_reports_a_healthy_database_and_a_corrupt_table() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.Orders (Id int, Qty int); INSERT INTO Shop.dbo.Orders VALUES (1, 5), (2, 6)",
    )
    .await;

    // "DBCC CHECKDB (Transact-SQL)": informational messages, then 8989 and 2528.
    let m = messages(&r, "DBCC CHECKDB (Shop)");
    assert_eq!(numbers(&m), [2536, 2536, 2593, 8989, 2528]);
    assert_eq!(
        m[3].2,
        "CHECKDB found 0 allocation errors and 0 consistency errors in database 'Shop'."
    );
    assert_eq!(m[2].2, "There are 2 rows in 1 pages for object \"Orders\".");
    assert_eq!(
        m[4].2,
        "DBCC execution completed. If DBCC printed error messages, contact your system administrator."
    );
    // NO_INFOMSGS silences all of it; the other options are accepted.
    assert!(messages(&r, "DBCC CHECKDB ([Shop]) WITH NO_INFOMSGS, ALL_ERRORMSGS").is_empty());
    assert!(
        messages(
            &r,
            "DBCC CHECKDB ('Shop', NOINDEX) WITH PHYSICAL_ONLY, NO_INFOMSGS, TABLOCK"
        )
        .is_empty()
    );
    exec(
        &mut c,
        "USE Shop; DBCC CHECKDB WITH NO_INFOMSGS, DATA_PURITY",
    )
    .await;

    // Unknown database: 2520. Repair: 7919 (no single-user mode, and MI allows no repair).
    assert_eq!(error_code(&mut c, "DBCC CHECKDB (Nope)").await, 2520);
    assert_eq!(
        error_code(&mut c, "DBCC CHECKDB (Shop, REPAIR_ALLOW_DATA_LOSS)").await,
        7919
    );
    assert_eq!(
        error_code(&mut c, "DBCC CHECKDB (Shop) WITH BOGUS").await,
        102
    );

    // The control API marks the table corrupt: 8939 and 8928, the table's count, 8989 at
    // severity 16 and the minimum repair level.
    let (base, http) = control_api(&r).await;
    let (status, _) = post_json(
        &http,
        &format!("{base}/tables/Shop/dbo/Orders/corrupt"),
        r#"{"corrupt": true}"#,
    )
    .await;
    assert_eq!(status, 204);
    // run_sql stops at the first error, which is the page's 8939 (state 98, as SQL Server).
    let m = messages(&r, "DBCC CHECKDB (Shop) WITH NO_INFOMSGS, ALL_ERRORMSGS");
    assert_eq!(numbers(&m), [8939]);
    assert_eq!(m[0].1, 16);
    assert!(
        m[0].2.starts_with("Table error: Object ID ")
            && m[0].2.ends_with(
                "Test (IS_OFF (BUF_IOERR, pBUF->bstat)) failed. Values are 133129 and -4."
            ),
        "{}",
        m[0].2
    );
    assert_eq!(
        error_code(&mut c, "DBCC CHECKDB (Shop) WITH NO_INFOMSGS").await,
        8939
    );
    let (status, body) = post_json(
        &http,
        &format!("{base}/tables/Shop/dbo/Missing/corrupt"),
        r#"{"corrupt": true}"#,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    post_json(
        &http,
        &format!("{base}/tables/Shop/dbo/Orders/corrupt"),
        r#"{"corrupt": false}"#,
    )
    .await;
    assert!(messages(&r, "DBCC CHECKDB (Shop) WITH NO_INFOMSGS").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_changes_rows_past_the_change_log() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.Orders (Id int, Qty int); INSERT INTO Shop.dbo.Orders VALUES (1, 1), (7, 7), (9, 9)",
    )
    .await;
    let log = "SELECT COUNT(*) FROM Shop.ferry.log";
    let before = int(&mut c, log).await;
    // A statement through TDS is logged (so the check below can fail) …
    exec(&mut c, "UPDATE Shop.dbo.Orders SET Qty = Qty WHERE Id = 1").await;
    assert_eq!(int(&mut c, log).await, before + 1);

    // … the tamper hook is not.
    let (base, http) = control_api(&r).await;
    let url = format!("{base}/tables/Shop/dbo/Orders/tamper");
    let (status, body) = post_json(
        &http,
        &url,
        r#"{"update": {"set": "Qty = Qty + 1", "where": "Id IN (7, 9)"}}"#,
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"rows":2}"#));
    assert_eq!(
        int(&mut c, "SELECT SUM(Qty) FROM Shop.dbo.Orders").await,
        1 + 8 + 10
    );
    let (status, body) = post_json(&http, &url, r#"{"delete_where": "Id = 1"}"#).await;
    assert_eq!((status, body.as_str()), (200, r#"{"rows":1}"#));
    let (status, body) = post_json(&http, &url, r#"{"insert": "VALUES (11, 11)"}"#).await;
    assert_eq!((status, body.as_str()), (200, r#"{"rows":1}"#));
    assert_eq!(
        int(&mut c, "SELECT COUNT_BIG(*) FROM Shop.dbo.Orders").await,
        3
    );
    assert_eq!(int(&mut c, log).await, before + 1);

    // Bad requests say what is wrong.
    let (status, _) = post_json(
        &http,
        &url,
        r#"{"delete_where": "Id = 1", "insert": "VALUES (1, 1)"}"#,
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = post_json(&http, &url, r#"{"update": {"set": "Nope = 1"}}"#).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post_json(
        &http,
        &format!("{base}/tables/Shop/dbo/Missing/tamper"),
        r#"{"delete_where": "1 = 1"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("208"), "{body}");
    // One statement only: a second one is refused, not run.
    let (status, _) = post_json(&http, &url, r#"{"delete_where": "1 = 1; DROP TABLE x"}"#).await;
    assert_eq!(status, 422);
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM Shop.dbo.Orders").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_updates_are_recorded_and_compatibility_levels_checked() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.Orders (Id int); CREATE TABLE Shop.dbo.Lines (Id int); USE Shop",
    )
    .await;
    let date = "SELECT CASE WHEN STATS_DATE(OBJECT_ID('dbo.Orders'), 1) IS NULL THEN 0 ELSE 1 END";
    assert_eq!(int(&mut c, date).await, 0);
    exec(&mut c, "UPDATE STATISTICS dbo.Orders WITH FULLSCAN").await;
    assert_eq!(int(&mut c, date).await, 1);
    let lines = "SELECT CASE WHEN STATS_DATE(OBJECT_ID('dbo.Lines'), 1) IS NULL THEN 0 ELSE 1 END";
    assert_eq!(int(&mut c, lines).await, 0);
    exec(&mut c, "EXEC sp_updatestats").await;
    assert_eq!(int(&mut c, lines).await, 1);
    // "UPDATE STATISTICS": a table that is not there is SQL Server's 1088.
    assert_eq!(error_code(&mut c, "UPDATE STATISTICS dbo.Nope").await, 1088);

    // ALTER DATABASE … SET COMPATIBILITY_LEVEL: sys.databases follows; SQL Server 2019 takes
    // 100 to 150 and answers 15048 otherwise.
    exec(&mut c, "ALTER DATABASE Shop SET COMPATIBILITY_LEVEL = 130").await;
    assert_eq!(
        int(
            &mut c,
            "SELECT compatibility_level FROM sys.databases WHERE name = 'Shop'"
        )
        .await,
        130
    );
    let m = messages(&r, "ALTER DATABASE Shop SET COMPATIBILITY_LEVEL = 160");
    assert_eq!(
        m,
        [(
            15048,
            16,
            "Valid values of the database compatibility level are 100, 110, 120, 130, 140, or 150."
                .to_owned()
        )]
    );
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE Nope SET COMPATIBILITY_LEVEL = 150").await,
        911
    );
}
