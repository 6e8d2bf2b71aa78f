//! The T-SQL clients and DBAs send beyond plain queries: statements without semicolons,
//! IF … ELSE and BEGIN … END, variables, arithmetic with SQL Server's errors, RAISERROR and
//! THROW, EXEC of text and sp_executesql, DB_ID/DB_NAME/OBJECT_ID, sys.objects, the session
//! DMVs and sp_who — each error with SQL Server's number, severity and state.

mod common;

use common::*;
use ferry_emulator::TlsMode;

/// The server error a batch fails with: (number, class, state, message).
async fn server_error(c: &mut C, sql: &str) -> (u32, u8, u8, String) {
    let err = match c.simple_query(sql).await {
        Err(e) => e,
        Ok(s) => s.into_results().await.map(|_| ()).expect_err(sql),
    };
    match err {
        tiberius::error::Error::Server(e) => {
            (e.code(), e.class(), e.state(), e.message().to_owned())
        }
        other => panic!("{sql}: {other:?}"),
    }
}

async fn int(c: &mut C, sql: &str) -> i64 {
    let row = one_row(c, sql).await;
    row.try_get::<i32, _>(0)
        .ok()
        .flatten()
        .map(i64::from)
        .or_else(|| row.try_get::<i64, _>(0).ok().flatten())
        .or_else(|| row.try_get::<i16, _>(0).ok().flatten().map(i64::from))
        .unwrap_or_else(|| panic!("{sql}: no integer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_of_flow_variables_and_arithmetic() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.T (Id int, Qty int)",
    )
    .await;

    // Statements need no semicolons; variables are typed as declared.
    let row = one_row(
        &mut c,
        "DECLARE @a int = 7, @b decimal(5,2) SET @b = 2.5 DECLARE @s nvarchar(3) = N'abcdef' SET @a += 3 SELECT @a * 2 AS twice, @a / 3 AS quotient, @a % 3 AS rest, @b * 2 AS dec, @s AS cut, -@a + 1 AS neg",
    )
    .await;
    assert_eq!(row.get::<i32, _>("twice"), Some(20));
    assert_eq!(row.get::<i32, _>("quotient"), Some(3));
    assert_eq!(row.get::<i32, _>("rest"), Some(1));
    assert_eq!(row.get::<&str, _>("cut"), Some("abc"));
    assert_eq!(row.get::<i32, _>("neg"), Some(-9));

    // IF … ELSE with BEGIN … END, a subquery in the condition, variables in table statements.
    exec(
        &mut c,
        "DECLARE @n int = 3
         IF EXISTS (SELECT 1 FROM Shop.dbo.T) PRINT 'rows'
         ELSE BEGIN
             INSERT INTO Shop.dbo.T VALUES (1, @n)
             INSERT INTO Shop.dbo.T VALUES (2, @n * 2)
         END
         IF @n > 5 INSERT INTO Shop.dbo.T VALUES (99, 0) ELSE IF @n = 3 INSERT INTO Shop.dbo.T VALUES (3, 9)",
    )
    .await;
    assert_eq!(int(&mut c, "SELECT SUM(Qty) FROM Shop.dbo.T").await, 18);
    assert_eq!(
        int(
            &mut c,
            "DECLARE @t int SELECT @t = SUM(Qty) FROM Shop.dbo.T WHERE Id < 3 SELECT @t"
        )
        .await,
        9
    );
    assert_eq!(
        int(&mut c, "DECLARE @c int = (SELECT COUNT(*) FROM Shop.dbo.T) IF @c = 3 AND NOT @c IS NULL SELECT 1 ELSE SELECT 0").await,
        1
    );

    // Divide by zero: 8134, severity 16; the batch goes on after it.
    let (n, class, _, text) = server_error(&mut c, "SELECT 1 / 0").await;
    assert_eq!((n, class), (8134, 16));
    assert_eq!(text, "Divide by zero error encountered.");
    assert_eq!(server_error(&mut c, "SELECT 5 % 0").await.0, 8134);
    let rs = c
        .simple_query("SELECT 1 / 0; SELECT 42")
        .await
        .unwrap()
        .into_results()
        .await;
    assert!(rs.is_err(), "the first statement's error is reported");
    // The same in statements on tables, which SQLite runs (it would answer NULL): the
    // statement fails whole, so an UPDATE that meets a zero divisor in one row changes none.
    assert_eq!(
        server_error(&mut c, "SELECT Id / (Qty - 9) FROM Shop.dbo.T")
            .await
            .0,
        8134
    );
    assert_eq!(
        server_error(&mut c, "SELECT Id FROM Shop.dbo.T WHERE Qty % (Id - 3) = 0")
            .await
            .0,
        8134
    );
    assert_eq!(
        server_error(&mut c, "UPDATE Shop.dbo.T SET Qty = 100 / (Qty - 6)")
            .await
            .0,
        8134
    );
    assert_eq!(int(&mut c, "SELECT SUM(Qty) FROM Shop.dbo.T").await, 18);
    // Divisors that are not zero divide as before (integers stay integers); NULLIF guards.
    assert_eq!(
        int(&mut c, "SELECT SUM(Qty / 2 + Qty % 2) FROM Shop.dbo.T").await,
        10
    );
    assert_eq!(
        int(
            &mut c,
            "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id / NULLIF(Qty - 9, 0) IS NULL"
        )
        .await,
        1
    );
    // Overflow (8115) and a conversion that fails (245, which ends the batch).
    assert_eq!(server_error(&mut c, "SELECT 2147483647 + 1").await.0, 8115);
    assert_eq!(server_error(&mut c, "DECLARE @i int = 'abc'").await.0, 245);
    let after = c
        .simple_query("DECLARE @i int = 'abc'; INSERT INTO Shop.dbo.T VALUES (50, 50)")
        .await;
    drop(after);
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id = 50").await,
        0,
        "a conversion error ends the batch"
    );

    // A variable used before it is declared: 137 when the batch is compiled, nothing runs.
    let (n, class, _, _) = server_error(
        &mut c,
        "INSERT INTO Shop.dbo.T VALUES (60, 60); SELECT @nope",
    )
    .await;
    assert_eq!((n, class), (137, 15));
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id = 60").await,
        0
    );
    assert_eq!(
        server_error(&mut c, "DECLARE @x int; DECLARE @x int")
            .await
            .0,
        134
    );
    // IF … ; ELSE is not T-SQL.
    assert_eq!(
        server_error(&mut c, "IF 1 = 1 SELECT 1; ELSE SELECT 2")
            .await
            .0,
        102
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raiserror_and_throw() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.T (Id int)",
    )
    .await;

    // RAISERROR with a text: error 50000, the given severity and state, printf formatting.
    let (n, class, state, text) = server_error(
        &mut c,
        "DECLARE @db sysname = N'Shop' RAISERROR('%d rows missing in %s (%5.2s)', 16, 3, 42, @db, N'abc')",
    )
    .await;
    assert_eq!((n, class, state), (50000, 16, 3));
    assert_eq!(text, "42 rows missing in Shop (   ab)");
    // Severity 10 and below is a message, not an error; the batch carries on.
    exec(
        &mut c,
        "RAISERROR('just so you know', 10, 1) WITH NOWAIT; INSERT INTO Shop.dbo.T VALUES (1)",
    )
    .await;
    // RAISERROR leaves the batch running; @@ERROR is its number.
    let rs = c
        .simple_query("RAISERROR('e', 16, 1); INSERT INTO Shop.dbo.T VALUES (2)")
        .await;
    drop(rs);
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id = 2").await,
        1
    );
    // A message number needs sp_addmessage (18054); a low one is invalid (2732); severity
    // above 18 needs WITH LOG (2754).
    assert_eq!(
        server_error(&mut c, "RAISERROR(50001, 16, 1)").await.0,
        18054
    );
    assert_eq!(server_error(&mut c, "RAISERROR(5, 16, 1)").await.0, 2732);
    assert_eq!(server_error(&mut c, "RAISERROR('x', 19, 1)").await.0, 2754);

    // THROW raises the number it is given at severity 16, and ends the batch.
    let (n, class, state, text) =
        server_error(&mut c, "THROW 51000, N'The order is late.', 7").await;
    assert_eq!((n, class, state), (51000, 16, 7));
    assert_eq!(text, "The order is late.");
    let rs = c
        .simple_query("INSERT INTO Shop.dbo.T VALUES (3); THROW 50001, 'stop', 1; INSERT INTO Shop.dbo.T VALUES (4)")
        .await;
    drop(rs);
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T WHERE Id IN (3, 4)").await,
        1
    );
    assert_eq!(server_error(&mut c, "THROW 49999, 'low', 1").await.0, 35100);
    assert_eq!(server_error(&mut c, "THROW").await.0, 10704);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_of_text_and_sp_executesql_in_a_batch() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.T (Id int, Name nvarchar(10))",
    )
    .await;

    // sp_executesql as batch text: a statement, its parameters by position and by name, and
    // an OUTPUT parameter copied back.
    exec(
        &mut c,
        "EXEC sp_executesql N'INSERT INTO Shop.dbo.T VALUES (@id, @name)', N'@id int, @name nvarchar(10)', 1, @name = N'one'",
    )
    .await;
    let row = one_row(
        &mut c,
        "DECLARE @n int, @rc int
         EXEC @rc = sys.sp_executesql N'SELECT @out = COUNT(*) FROM Shop.dbo.T WHERE Name = @name', N'@name nvarchar(10), @out int OUTPUT', @name = N'one', @out = @n OUTPUT
         SELECT @n AS n, @rc AS rc",
    )
    .await;
    assert_eq!(row.get::<i32, _>("n"), Some(1));
    assert_eq!(row.get::<i32, _>("rc"), Some(0));
    // Results of the inner statement come back as the procedure's.
    assert_eq!(
        scalar_string(
            &mut c,
            "EXEC sp_executesql N'SELECT Name FROM Shop.dbo.T WHERE Id = @i', N'@i int', @i = 1"
        )
        .await,
        "one"
    );
    // EXEC of text runs it as a batch of its own (the outer variables are not in it).
    exec(
        &mut c,
        "DECLARE @sql nvarchar(100) = N'INSERT INTO Shop.dbo.T VALUES (2, ''two'')' EXEC (@sql)",
    )
    .await;
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM Shop.dbo.T").await, 2);
    assert_eq!(
        server_error(&mut c, "DECLARE @v int = 1 EXEC ('SELECT @v')")
            .await
            .0,
        137
    );
    // sp_executesql wants Unicode text (214); parameters it does not declare are refused
    // (8145); a procedure the emulator has not is 2812.
    assert_eq!(
        server_error(&mut c, "EXEC sp_executesql 'SELECT 1'")
            .await
            .0,
        214
    );
    assert_eq!(
        server_error(&mut c, "EXEC sp_executesql N'SELECT 1', N'@a int', @b = 1")
            .await
            .0,
        8145
    );
    assert_eq!(server_error(&mut c, "EXEC sp_nosuch").await.0, 2812);
    // A transaction begun inside and not ended: 266 after the EXEC.
    assert_eq!(
        server_error(&mut c, "EXEC sp_executesql N'BEGIN TRAN'")
            .await
            .0,
        266
    );
    exec(&mut c, "ROLLBACK").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_functions_objects_and_sessions() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.Orders (Id int)",
    )
    .await;
    let id = int(
        &mut c,
        "SELECT database_id FROM sys.databases WHERE name = N'Shop'",
    )
    .await;
    assert_eq!(int(&mut c, "SELECT DB_ID('Shop')").await, id);
    assert_eq!(int(&mut c, "SELECT DB_ID()").await, 1, "master");
    // A column that is not there: 207 naming it, nothing of the emulator's SQLite rewrite.
    let (n, _, _, text) = server_error(&mut c, "SELECT TOP 1 Nope FROM Shop.dbo.Orders").await;
    assert_eq!((n, text.as_str()), (207, "Invalid column name 'Nope'."));
    assert_eq!(
        scalar_string(&mut c, &format!("SELECT DB_NAME({id})")).await,
        "Shop"
    );
    assert_eq!(
        scalar_string(
            &mut c,
            "SELECT DB_NAME(database_id) FROM sys.databases WHERE name = N'Shop'"
        )
        .await,
        "Shop",
        "DB_NAME of a column"
    );
    let object = int(&mut c, "SELECT OBJECT_ID('Shop.dbo.Orders')").await;
    assert_eq!(
        int(
            &mut c,
            "SELECT object_id FROM Shop.sys.objects WHERE name = N'Orders' AND type = 'U'"
        )
        .await,
        object
    );
    assert_eq!(
        int(&mut c, "USE Shop; SELECT OBJECT_ID(N'dbo.Orders', N'U')").await,
        object
    );
    let none = one_row(&mut c, "SELECT OBJECT_ID('dbo.Nope'), DB_ID('Nope')").await;
    assert_eq!(none.get::<i32, _>(0), None);
    // The DBA's pattern: create when missing.
    exec(
        &mut c,
        "IF OBJECT_ID('Shop.dbo.Orders') IS NULL CREATE TABLE Shop.dbo.Orders (Id int)",
    )
    .await;
    exec(&mut c, "IF DB_ID('Other') IS NULL CREATE DATABASE Other").await;
    assert!(int(&mut c, "SELECT DB_ID('Other')").await > id);

    // The sessions: this one runs, the other sleeps; sp_who lists both.
    let _other = connect(&r).await;
    let spid = int(&mut c, "SELECT @@SPID").await;
    let row = one_row(
        &mut c,
        &format!("SELECT status, login_name, is_user_process FROM sys.dm_exec_sessions WHERE session_id = {spid}"),
    )
    .await;
    assert_eq!(row.get::<&str, _>(0), Some("running"));
    assert_eq!(row.get::<&str, _>(1), Some("sa"));
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM sys.dm_exec_sessions").await,
        2
    );
    let req = one_row(
        &mut c,
        &format!("SELECT command, status FROM sys.dm_exec_requests WHERE session_id = {spid}"),
    )
    .await;
    assert_eq!(req.get::<&str, _>(0), Some("SELECT"));
    let who = c
        .simple_query("EXEC sp_who")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(who.len(), 2);
    let mine = who
        .iter()
        .find(|r| r.get::<i16, _>("spid") == Some(spid as i16))
        .expect("this session");
    assert_eq!(
        mine.get::<&str, _>("status").map(str::trim),
        Some("runnable")
    );
    assert_eq!(mine.get::<&str, _>("dbname").map(str::trim), Some("Shop"));
    let active = c
        .simple_query("EXEC sp_who 'active'")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
}
