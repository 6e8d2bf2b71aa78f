//! Transactions through tiberius: T-SQL BEGIN/COMMIT/ROLLBACK/SAVE with @@TRANCOUNT and the
//! ENVCHANGE descriptor the client echoes, transaction manager requests, data that really goes
//! back, and the rules around them (statements a transaction refuses, a table another session's
//! transaction holds, XACT_ABORT, a session that ends, a server that stops).

mod common;

use common::*;
use ferry_emulator::TlsMode;

async fn count(c: &mut C, sql: &str) -> i32 {
    one_row(c, sql).await.get::<i32, _>(0).unwrap()
}

async fn setup(c: &mut C) {
    exec(
        c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.T (Id int PRIMARY KEY, Name nvarchar(20))",
    )
    .await;
    exec(c, "INSERT INTO Shop.dbo.T VALUES (1, N'one')").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_sql_transactions_roll_back_for_real() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    setup(&mut c).await;

    // Inserts, updates and deletes made in a transaction go back with it.
    exec(&mut c, "BEGIN TRAN; INSERT INTO Shop.dbo.T VALUES (2, N'two'); UPDATE Shop.dbo.T SET Name = N'uno' WHERE Id = 1; DELETE FROM Shop.dbo.T WHERE Id = 1").await;
    assert_eq!(count(&mut c, "SELECT @@TRANCOUNT").await, 1);
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await, 1);
    exec(&mut c, "ROLLBACK").await;
    assert_eq!(count(&mut c, "SELECT @@TRANCOUNT").await, 0);
    assert_eq!(
        scalar_string(&mut c, "SELECT Name FROM Shop.dbo.T WHERE Id = 1").await,
        "one",
        "the row deleted in the transaction is back as it was"
    );
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await, 1);

    // Nested BEGINs count; only the outermost COMMIT commits.
    exec(
        &mut c,
        "BEGIN TRAN; BEGIN TRANSACTION; INSERT INTO Shop.dbo.T VALUES (3, N'three')",
    )
    .await;
    assert_eq!(count(&mut c, "SELECT @@TRANCOUNT").await, 2);
    exec(&mut c, "COMMIT").await;
    assert_eq!(count(&mut c, "SELECT @@TRANCOUNT").await, 1);
    exec(&mut c, "COMMIT TRANSACTION").await;
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id = 3").await,
        1
    );

    // A savepoint: the work after it goes, the work before it stays.
    exec(&mut c, "BEGIN TRAN; INSERT INTO Shop.dbo.T VALUES (4, N'four'); SAVE TRAN half; INSERT INTO Shop.dbo.T VALUES (5, N'five'); ROLLBACK TRAN half").await;
    assert_eq!(count(&mut c, "SELECT @@TRANCOUNT").await, 1);
    exec(&mut c, "COMMIT").await;
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id IN (4, 5)").await,
        1
    );

    // Tables created or dropped in a transaction come and go with it.
    exec(&mut c, "BEGIN TRAN; CREATE TABLE Shop.dbo.New (Id int); INSERT INTO Shop.dbo.New VALUES (1); DROP TABLE Shop.dbo.T").await;
    assert_eq!(
        error_code(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await,
        208
    );
    exec(&mut c, "ROLLBACK").await;
    assert_eq!(error_code(&mut c, "SELECT * FROM Shop.dbo.New").await, 208);
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await, 3);

    // COMMIT and ROLLBACK without a transaction: 3902 and 3903; a savepoint needs one (628).
    assert_eq!(error_code(&mut c, "COMMIT").await, 3902);
    assert_eq!(error_code(&mut c, "ROLLBACK").await, 3903);
    assert_eq!(error_code(&mut c, "SAVE TRAN x").await, 628);

    // What a transaction cannot hold: 226, 574, 3021 (with 3013).
    exec(&mut c, "BEGIN TRAN").await;
    assert_eq!(error_code(&mut c, "CREATE DATABASE Other").await, 226);
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE Shop SET RECOVERY SIMPLE").await,
        226
    );
    assert_eq!(error_code(&mut c, "DROP DATABASE Shop").await, 574);
    assert_eq!(
        error_code(&mut c, "BACKUP DATABASE Shop TO DISK = 'shop.bak'").await,
        3021
    );
    assert_eq!(error_code(&mut c, "ROLLBACK TRAN nosuch").await, 6401);
    exec(&mut c, "ROLLBACK").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_manager_requests_and_descriptors() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    setup(&mut c).await;

    // tiberius begins, commits and rolls back with TM requests (MS-TDS 2.2.6.9) and echoes
    // the descriptor of each ENVCHANGE in its later requests.
    c.begin_transaction().await.unwrap();
    exec(&mut c, "INSERT INTO Shop.dbo.T VALUES (2, N'two')").await;
    assert_eq!(count(&mut c, "SELECT @@TRANCOUNT").await, 1);
    c.rollback_transaction().await.unwrap();
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await, 1);
    c.begin_transaction().await.unwrap();
    exec(&mut c, "INSERT INTO Shop.dbo.T VALUES (2, N'two')").await;
    // (A named TM_SAVE_XACT is not used here: tiberius writes the name's length in characters,
    // where MS-TDS and SQL Server read bytes — B_VARBYTE, error 3976 for an odd length.)
    exec(&mut c, "SAVE TRANSACTION sp").await;
    exec(&mut c, "INSERT INTO Shop.dbo.T VALUES (3, N'three')").await;
    exec(&mut c, "ROLLBACK TRAN sp").await;
    c.commit_transaction().await.unwrap();
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await, 2);
    assert_eq!(count(&mut c, "SELECT @@TRANCOUNT").await, 0);

    // A commit with no transaction: 3902. A second begin while one is open is refused.
    match c.commit_transaction().await {
        Err(tiberius::error::Error::Server(e)) => assert_eq!(e.code(), 3902),
        other => panic!("{other:?}"),
    }
    c.begin_transaction().await.unwrap();
    match c.begin_transaction().await {
        Err(tiberius::error::Error::Server(e)) => assert_eq!(e.code(), 3988),
        other => panic!("{other:?}"),
    }
    c.rollback_transaction().await.unwrap();

    // A T-SQL BEGIN TRAN announces its descriptor too; tiberius echoes it, so the batches
    // after it run in the transaction, and a TM commit ends it.
    exec(&mut c, "BEGIN TRAN").await;
    exec(&mut c, "INSERT INTO Shop.dbo.T VALUES (9, N'nine')").await;
    c.commit_transaction().await.unwrap();
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id = 9").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sessions_xact_abort_and_the_end_of_a_session() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut a = connect(&r).await;
    setup(&mut a).await;
    let mut b = connect(&r).await;

    // A table an open transaction changed is not for another session to change (1222).
    exec(
        &mut a,
        "BEGIN TRAN; INSERT INTO Shop.dbo.T VALUES (2, N'two')",
    )
    .await;
    assert_eq!(
        error_code(&mut b, "UPDATE Shop.dbo.T SET Name = N'x'").await,
        1222
    );
    exec(&mut a, "COMMIT").await;
    exec(&mut b, "UPDATE Shop.dbo.T SET Name = N'x' WHERE Id = 2").await;

    // A session that ends with a transaction open: its work is rolled back.
    exec(&mut b, "BEGIN TRAN; DELETE FROM Shop.dbo.T").await;
    drop(b);
    let mut rows = 0;
    for _ in 0..100 {
        rows = count(&mut a, "SELECT COUNT(*) FROM Shop.dbo.T").await;
        if rows == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rows, 2, "the closed session's delete was rolled back");

    // XACT_ABORT ON: a run-time error rolls the whole transaction back and ends the batch.
    let err = error_code(&mut a, "SET XACT_ABORT ON; BEGIN TRAN; INSERT INTO Shop.dbo.T VALUES (3, N'three'); INSERT INTO Shop.dbo.T VALUES (1, N'dup'); INSERT INTO Shop.dbo.T VALUES (4, N'four')").await;
    assert_eq!(err, 2627);
    assert_eq!(count(&mut a, "SELECT @@TRANCOUNT").await, 0);
    assert_eq!(count(&mut a, "SELECT COUNT(*) FROM Shop.dbo.T").await, 2);
    // Without it the failed statement alone ends; the transaction and the batch go on.
    let err = error_code(&mut a, "SET XACT_ABORT OFF; BEGIN TRAN; INSERT INTO Shop.dbo.T VALUES (1, N'dup'); INSERT INTO Shop.dbo.T VALUES (4, N'four')").await;
    assert_eq!(err, 2627);
    assert_eq!(count(&mut a, "SELECT @@TRANCOUNT").await, 1);
    exec(&mut a, "COMMIT").await;
    assert_eq!(count(&mut a, "SELECT COUNT(*) FROM Shop.dbo.T").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_open_when_the_server_stops_is_rolled_back() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    setup(&mut c).await;
    // A relative path is in the server's own backup folder.
    exec(&mut c, "BACKUP DATABASE Shop TO DISK = 'shop.bak'").await;
    exec(&mut c, "BEGIN TRAN; INSERT INTO Shop.dbo.T VALUES (2, N'two'); CREATE TABLE Shop.dbo.Gone (Id int)").await;
    r.server.stop().await;
    r.server.restart().await.unwrap();
    let mut c = connect(&r).await;
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await, 1);
    assert_eq!(error_code(&mut c, "SELECT * FROM Shop.dbo.Gone").await, 208);
    // The change log holds committed work only: a log backup restored onto the full one
    // replays the row inserted after the restart, not the rolled-back one.
    exec(&mut c, "INSERT INTO Shop.dbo.T VALUES (3, N'three')").await;
    exec(&mut c, "BACKUP LOG Shop TO DISK = 'shop.trn'").await;
    exec(&mut c, "RESTORE DATABASE Copy FROM DISK = 'shop.bak' WITH NORECOVERY; RESTORE LOG Copy FROM DISK = 'shop.trn'").await;
    assert_eq!(
        scalar_string(
            &mut c,
            "SELECT CAST(SUM(Id) AS nvarchar(5)) FROM Copy.dbo.T"
        )
        .await,
        "4",
        "rows 1 and 3"
    );
}
