//! The in-process control API: seeding, injected errors and disconnects, the statement log.

mod common;

use common::*;
use ferry_emulator::{Fault, TlsMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_and_disconnects_reach_the_client() {
    let r = start(mi(), TlsMode::Required).await;
    r.server.run_sql("CREATE DATABASE Seeded; CREATE TABLE Seeded.dbo.T (Id int); INSERT INTO Seeded.dbo.T VALUES (1), (2)").unwrap();
    assert_eq!(
        r.server
            .run_sql("CREATE DATABASE Seeded")
            .unwrap_err()
            .number,
        1801
    );
    let mut c = connect(&r).await;
    let row = c
        .simple_query("SELECT COUNT(*) FROM Seeded.dbo.T")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>(0), Some(2));

    r.server
        .inject(Fault::error("restore database", 3101).times(1));
    let err = c
        .execute("RESTORE DATABASE [x] FROM URL = 'https://a/b.bak'", &[])
        .await
        .unwrap_err();
    match err {
        tiberius::error::Error::Server(e) => {
            assert_eq!(e.code(), 3101);
            assert!(
                e.message()
                    .contains("Exclusive access could not be obtained"),
                "{}",
                e.message()
            );
        }
        other => panic!("{other:?}"),
    }
    // Used up: the same statement now gets the emulator's own answer.
    let err = c
        .simple_query("RESTORE DATABASE [x] FROM URL = 'https://a/b.bak'")
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(err, tiberius::error::Error::Server(ref e) if e.code() != 3101),
        "{err:?}"
    );

    r.server.inject(Fault::disconnect("select 42"));
    assert!(
        c.simple_query("SELECT 42").await.is_err(),
        "the connection was dropped"
    );
    r.server.clear_faults();
    let mut c = connect(&r).await;
    assert_eq!(scalar_string(&mut c, "SELECT N'back'").await, "back");

    let log = r.server.statements();
    let restore = log
        .iter()
        .filter(|s| s.text.starts_with("RESTORE DATABASE"))
        .count();
    assert_eq!(
        restore, 1,
        "a statement failed by a fault is not logged as run; the second one is: {log:?}"
    );
    assert!(log.iter().all(|s| s.user == "sa" && s.spid > 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_reply_comes_after_the_statement_has_run() {
    let r = start(mi(), TlsMode::Required).await;
    // Held far longer than the test runs: the client is dropped while it waits.
    let hold = std::time::Duration::from_secs(600);
    r.server
        .inject(Fault::delay_after("create database held", hold).times(1));
    let mut c = connect(&r).await;
    let client =
        tokio::spawn(async move { c.execute("CREATE DATABASE Held", &[]).await.map(|_| ()) });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let rows = r
            .server
            .run_sql("SELECT COUNT(*) FROM sys.databases WHERE name = N'Held'")
            .unwrap();
        if format!("{rows:?}").contains("Int(1)") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never created");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        !client.is_finished(),
        "the database exists while its reply is still held"
    );
    client.abort();
    // The fault is used up: the next statement is answered at once.
    let mut c = connect(&r).await;
    assert_eq!(scalar_string(&mut c, "SELECT N'next'").await, "next");
}
