//! User databases and tables on SQLite, through tiberius: DDL, DML, typed results, joins,
//! three-part names, catalog views and the checksum validation compares.

mod common;

use common::*;
use ferry_emulator::TlsMode;

async fn exec(
    c: &mut tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>>,
    sql: &str,
) -> u64 {
    c.execute(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .total()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_round_trip_with_their_declared_types() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE [Sales]").await;
    exec(&mut c, "USE Sales").await;
    exec(
        &mut c,
        "CREATE TABLE dbo.Orders ([Order Id] int NOT NULL PRIMARY KEY, Customer nvarchar(100) NOT NULL, Notes nvarchar(max) NULL, \
         Code varchar(10), Total decimal(10,2), Weight float, Paid bit, Big bigint, Blob varbinary(max), Small varbinary(16), \
         Placed datetime2, Due date, Ref uniqueidentifier) ON [PRIMARY]",
    )
    .await;
    let n = exec(
        &mut c,
        "INSERT INTO Sales.dbo.Orders VALUES (1, N'Zoë', N'first', 'A1', 12.50, 1.5, 1, 9000000000, 0x00FF, 0x0102, '2026-11-26 13:45:07.1234567', '2026-12-01', '6F9619FF-8B86-D011-B42D-00C04FC964FF'), \
         (2, N'Bob', NULL, 'B2', 7.25, 2.0, 0, 1, NULL, NULL, NULL, NULL, NULL)",
    )
    .await;
    assert_eq!(n, 2);
    // Parameters through sp_executesql go into tables too.
    let n = c
        .execute(
            "INSERT INTO [dbo].[Orders] ([Order Id], Customer, Total) VALUES (@P1, @P2, @P3)",
            &[
                &3i32,
                &"Carla",
                &tiberius::numeric::Numeric::new_with_scale(1999, 2),
            ],
        )
        .await
        .unwrap()
        .total();
    assert_eq!(n, 1);

    let row = c
        .simple_query("SELECT TOP 1 * FROM Orders ORDER BY [Order Id]")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>("Order Id"), Some(1));
    assert_eq!(row.get::<&str, _>("Customer"), Some("Zoë"));
    assert_eq!(row.get::<&str, _>("Notes"), Some("first"));
    assert_eq!(row.get::<&str, _>("Code"), Some("A1"));
    assert_eq!(
        row.get::<tiberius::numeric::Numeric, _>("Total")
            .map(|n| n.to_string()),
        Some("12.50".into())
    );
    assert_eq!(row.get::<f64, _>("Weight"), Some(1.5));
    assert_eq!(row.get::<bool, _>("Paid"), Some(true));
    assert_eq!(row.get::<i64, _>("Big"), Some(9_000_000_000));
    assert_eq!(row.get::<&[u8], _>("Blob"), Some(&[0x00u8, 0xFF][..]));
    assert_eq!(row.get::<&[u8], _>("Small"), Some(&[1u8, 2][..]));
    let cell = |name: &str| {
        row.cells()
            .find(|(c, _)| c.name() == name)
            .map(|(_, d)| d.clone())
            .unwrap()
    };
    match cell("Placed") {
        tiberius::ColumnData::DateTime2(Some(dt)) => {
            assert_eq!(dt.time().increments(), 495_071_234_567);
            assert_eq!(
                dt.date().days(),
                739_945,
                "2026-11-26 is day 739945 since 0001-01-01 (Python: date(2026,11,26) - date(1,1,1))"
            );
        }
        other => panic!("datetime2 expected, got {other:?}"),
    }
    match cell("Due") {
        tiberius::ColumnData::Date(Some(d)) => assert_eq!(d.days(), 739_950),
        other => panic!("date expected, got {other:?}"),
    }
    assert_eq!(
        row.get::<tiberius::Uuid, _>("Ref")
            .map(|u| u.to_string().to_uppercase()),
        Some("6F9619FF-8B86-D011-B42D-00C04FC964FF".into())
    );

    let rows = c
        .simple_query("SELECT Customer, Total FROM Orders WHERE Total > 7.5 ORDER BY Total DESC")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let names: Vec<_> = rows
        .iter()
        .map(|r| r.get::<&str, _>("Customer").unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Carla", "Zoë"]);
    assert_eq!(
        exec(
            &mut c,
            "UPDATE Orders SET Paid = 1 WHERE Paid = 0 OR Paid IS NULL"
        )
        .await,
        2
    );
    assert_eq!(
        exec(&mut c, "DELETE FROM Orders WHERE [Order Id] = 3").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_group_by_three_part_names_and_checksums() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    for db in ["HR", "Archive"] {
        exec(&mut c, &format!("CREATE DATABASE {db}")).await;
        exec(
            &mut c,
            &format!(
                "CREATE TABLE {db}.dbo.Staff (Id int PRIMARY KEY, Dept nvarchar(20), Salary int)"
            ),
        )
        .await;
        exec(&mut c, &format!("INSERT INTO {db}.dbo.Staff VALUES (1, N'Ops', 100), (2, N'Ops', 200), (3, N'Dev', 300)")).await;
    }
    exec(
        &mut c,
        "CREATE TABLE HR.dbo.Depts (Name nvarchar(20), Floor int)",
    )
    .await;
    exec(
        &mut c,
        "INSERT INTO HR.dbo.Depts VALUES (N'Ops', 1), (N'Dev', 2)",
    )
    .await;
    // Still in master: three-part names reach into both databases.
    let rows = c
        .simple_query("SELECT s.Dept, COUNT(*) AS n, SUM(s.Salary) AS total, d.Floor FROM HR.dbo.Staff s JOIN HR.dbo.Depts AS d ON d.Name = s.Dept GROUP BY s.Dept, d.Floor ORDER BY s.Dept")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].get::<&str, _>("Dept"), Some("Ops"));
    assert_eq!(rows[1].get::<i32, _>("n"), Some(2));
    assert_eq!(rows[1].get::<i32, _>("total"), Some(300));
    assert_eq!(rows[1].get::<i32, _>("Floor"), Some(1));

    let unnamed = c
        .simple_query("SELECT COUNT(*) FROM HR.dbo.Staff")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        unnamed.columns()[0].name(),
        "",
        "an unaliased expression has no column name, as on SQL Server"
    );
    let checksum = |db: &str| {
        format!("SELECT COUNT(*) AS n, CHECKSUM_AGG(BINARY_CHECKSUM(*)) AS c FROM {db}.dbo.Staff")
    };
    let hr = c
        .simple_query(checksum("HR"))
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    let ar = c
        .simple_query(checksum("Archive"))
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hr.get::<i32, _>("n"), Some(3));
    assert_eq!(
        hr.get::<i32, _>("c"),
        ar.get::<i32, _>("c"),
        "equal rows, equal checksums"
    );
    exec(
        &mut c,
        "UPDATE Archive.dbo.Staff SET Salary = 201 WHERE Id = 2",
    )
    .await;
    let ar = c
        .simple_query(checksum("Archive"))
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        hr.get::<i32, _>("c"),
        ar.get::<i32, _>("c"),
        "one changed value changes the checksum"
    );

    let tables = c
        .simple_query("SELECT name FROM HR.sys.tables ORDER BY name")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(
        tables
            .iter()
            .map(|r| r.get::<&str, _>(0).unwrap())
            .collect::<Vec<_>>(),
        ["Depts", "Staff"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_in_the_catalog_and_their_errors() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Inventory").await;
    // On Managed Instance the recovery model is FULL and stays so ("T-SQL differences …",
    // ALTER DATABASE): SIMPLE is refused with 5008.
    match c
        .execute("ALTER DATABASE Inventory SET RECOVERY SIMPLE", &[])
        .await
    {
        Err(tiberius::error::Error::Server(e)) => assert_eq!(e.code(), 5008),
        other => panic!("{:?}", other.map(|_| ())),
    }
    let row = c
        .simple_query("SELECT name, state_desc, recovery_model_desc, compatibility_level, collation_name, is_encrypted FROM sys.databases WHERE name = N'Inventory'")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<&str, _>("state_desc"), Some("ONLINE"));
    assert_eq!(row.get::<&str, _>("recovery_model_desc"), Some("FULL"));
    assert_eq!(row.get::<u8, _>("compatibility_level"), Some(160));
    assert_eq!(
        row.get::<&str, _>("collation_name"),
        Some("SQL_Latin1_General_CP1_CI_AS")
    );
    assert_eq!(row.get::<bool, _>("is_encrypted"), Some(false));
    let all = c
        .simple_query("SELECT name FROM master.sys.databases ORDER BY database_id")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|r| r.get::<&str, _>(0).unwrap())
            .collect::<Vec<_>>(),
        ["master", "tempdb", "model", "msdb", "Inventory"]
    );

    let code = |e: tiberius::error::Error| match e {
        tiberius::error::Error::Server(e) => e.code(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(
            c.execute("CREATE DATABASE inventory", &[])
                .await
                .unwrap_err()
        ),
        1801
    );
    assert_eq!(
        code(
            c.execute("SELECT * FROM Inventory.dbo.Nope", &[])
                .await
                .map(|_| ())
                .unwrap_err()
        ),
        208
    );
    assert_eq!(
        code(
            c.execute("SELECT * FROM Nowhere.dbo.T", &[])
                .await
                .map(|_| ())
                .unwrap_err()
        ),
        911
    );
    exec(
        &mut c,
        "CREATE TABLE Inventory.dbo.T (Id int PRIMARY KEY, Name nvarchar(10) NOT NULL)",
    )
    .await;
    assert_eq!(
        code(
            c.execute("CREATE TABLE Inventory.dbo.T (Id int)", &[])
                .await
                .unwrap_err()
        ),
        2714
    );
    assert_eq!(
        code(
            c.execute("INSERT INTO Inventory.dbo.T VALUES (1, NULL)", &[])
                .await
                .unwrap_err()
        ),
        515
    );
    exec(&mut c, "INSERT INTO Inventory.dbo.T VALUES (1, N'a')").await;
    assert_eq!(
        code(
            c.execute("INSERT INTO Inventory.dbo.T VALUES (1, N'b')", &[])
                .await
                .unwrap_err()
        ),
        2627
    );
    assert_eq!(
        code(
            c.execute("SELECT Nope FROM Inventory.dbo.T", &[])
                .await
                .map(|_| ())
                .unwrap_err()
        ),
        207
    );
    exec(&mut c, "DROP DATABASE Inventory").await;
    assert_eq!(
        code(c.execute("DROP DATABASE Inventory", &[]).await.unwrap_err()),
        3701
    );
    assert_eq!(
        code(c.execute("USE Inventory", &[]).await.unwrap_err()),
        911
    );
}
