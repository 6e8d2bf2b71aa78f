//! Schema objects through tiberius: modules, tables with their constraints and indexes, the
//! per-database catalog views, the metadata functions, and the inventory queries the validate
//! plugin runs (methods.md §6).

mod common;

use common::*;
use ferry_emulator::TlsMode;

async fn rows(c: &mut C, sql: &str) -> Vec<tiberius::Row> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A whole number of any width: the emulator types an aggregate by its value (SQL Server's
/// SUM of a bigint is bigint; the emulator's is int while the sum fits).
fn num(r: &tiberius::Row, i: usize) -> i64 {
    r.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| r.get::<i32, _>(i).map(i64::from))
        .unwrap()
}

async fn int(c: &mut C, sql: &str) -> Option<i32> {
    one_row(c, sql).await.get::<i32, _>(0)
}

async fn text(c: &mut C, sql: &str) -> Option<String> {
    one_row(c, sql).await.get::<&str, _>(0).map(str::to_owned)
}

/// The server's message for a failing batch.
async fn error_text(c: &mut C, sql: &str) -> String {
    let err = match c.simple_query(sql).await {
        Err(e) => e,
        Ok(s) => s.into_results().await.map(|_| ()).expect_err(sql),
    };
    match err {
        tiberius::error::Error::Server(e) => e.message().to_owned(),
        other => panic!("{sql}: {other:?}"),
    }
}

async fn shop(c: &mut C) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_are_kept_with_their_text_and_types() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    shop(&mut c).await;
    let view = "CREATE VIEW dbo.BigOrders AS SELECT Id, Total FROM dbo.Orders WHERE Total > 100\n";
    exec(&mut c, &format!("-- leading comment\n{view}")).await;
    exec(
        &mut c,
        "CREATE PROCEDURE dbo.GetOrder @Id int AS SELECT * FROM dbo.Orders WHERE Id = @Id",
    )
    .await;
    exec(
        &mut c,
        "CREATE FUNCTION dbo.Twice (@x int) RETURNS int AS BEGIN RETURN @x * 2 END",
    )
    .await;
    exec(&mut c, "CREATE FUNCTION dbo.OrdersOf (@c int) RETURNS TABLE AS RETURN SELECT * FROM dbo.Orders WHERE CustomerId = @c").await;
    exec(&mut c, "CREATE FUNCTION dbo.Totals () RETURNS @t TABLE (Total decimal(10,2)) AS BEGIN INSERT @t SELECT Total FROM dbo.Orders RETURN END").await;
    exec(
        &mut c,
        "CREATE TRIGGER dbo.OrdersAudit ON dbo.Orders AFTER INSERT, UPDATE AS SELECT 1",
    )
    .await;
    let types: Vec<(String, String)> = rows(&mut c, "SELECT name, type FROM sys.objects WHERE type IN ('V', 'P', 'FN', 'IF', 'TF', 'TR') ORDER BY name")
        .await
        .iter()
        .map(|r| (r.get::<&str, _>(0).unwrap().to_owned(), r.get::<&str, _>(1).unwrap().trim().to_owned()))
        .collect();
    assert_eq!(
        types,
        [
            ("BigOrders", "V"),
            ("GetOrder", "P"),
            ("OrdersAudit", "TR"),
            ("OrdersOf", "IF"),
            ("Totals", "TF"),
            ("Twice", "FN")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    // The definition is the batch from CREATE on.
    let definition = text(&mut c, "SELECT m.definition FROM sys.sql_modules m JOIN sys.views v ON v.object_id = m.object_id WHERE v.name = 'BigOrders'").await;
    assert_eq!(definition.as_deref(), Some(view));
    // The trigger hangs off its table.
    let row = one_row(&mut c, "SELECT t.parent_id, OBJECT_ID('dbo.Orders'), t.is_instead_of_trigger, t.is_disabled, t.parent_class_desc FROM sys.triggers t WHERE t.name = 'OrdersAudit'").await;
    assert_eq!(row.get::<i32, _>(0), row.get::<i32, _>(1));
    assert_eq!(row.get::<bool, _>(2), Some(false));
    assert_eq!(row.get::<&str, _>(4), Some("OBJECT_OR_COLUMN"));
    assert_eq!(
        int(
            &mut c,
            "SELECT COUNT(*) FROM sys.procedures WHERE name = 'GetOrder'"
        )
        .await,
        Some(1)
    );

    // 2714 for a name taken; 3701 for a drop of nothing; 8197 for a trigger on no table; 208
    // for ALTER of nothing; 111 when not first in the batch.
    assert_eq!(
        error_code(&mut c, "CREATE VIEW dbo.BigOrders AS SELECT 1 AS x").await,
        2714
    );
    assert_eq!(
        error_text(&mut c, "CREATE PROCEDURE Orders AS SELECT 1").await,
        "There is already an object named 'Orders' in the database."
    );
    assert_eq!(
        error_text(&mut c, "DROP PROCEDURE dbo.Nope").await,
        "Cannot drop the procedure 'dbo.Nope', because it does not exist or you do not have permission."
    );
    assert_eq!(
        error_code_or_zero(&mut c, "DROP VIEW IF EXISTS dbo.Nope").await,
        0
    );
    assert_eq!(
        error_text(
            &mut c,
            "CREATE TRIGGER t1 ON dbo.Missing AFTER INSERT AS SELECT 1"
        )
        .await,
        "The object 'dbo.Missing' does not exist or is invalid for this operation."
    );
    assert_eq!(
        error_code(&mut c, "ALTER PROCEDURE dbo.Missing AS SELECT 1").await,
        208
    );
    assert_eq!(
        error_text(&mut c, "SELECT 1\nCREATE PROCEDURE p2 AS SELECT 1").await,
        "'CREATE/ALTER PROCEDURE' must be the first statement in a query batch."
    );
    assert_eq!(
        error_code(&mut c, "CREATE VIEW nope.V AS SELECT 1 AS x").await,
        2760
    );

    // ALTER and CREATE OR ALTER keep the object's id and change its text.
    let id = int(&mut c, "SELECT OBJECT_ID('dbo.GetOrder')")
        .await
        .unwrap();
    exec(
        &mut c,
        "ALTER PROCEDURE dbo.GetOrder @Id int AS SELECT Id FROM dbo.Orders WHERE Id = @Id",
    )
    .await;
    exec(
        &mut c,
        "CREATE OR ALTER FUNCTION dbo.Twice (@x int) RETURNS TABLE AS RETURN SELECT @x * 2 AS y",
    )
    .await;
    assert_eq!(
        int(&mut c, "SELECT OBJECT_ID('dbo.GetOrder', 'P')").await,
        Some(id)
    );
    assert_eq!(
        text(
            &mut c,
            "SELECT definition FROM sys.sql_modules WHERE object_id = OBJECT_ID('dbo.GetOrder')"
        )
        .await
        .as_deref(),
        Some("ALTER PROCEDURE dbo.GetOrder @Id int AS SELECT Id FROM dbo.Orders WHERE Id = @Id")
    );
    assert_eq!(
        text(&mut c, "SELECT type FROM sys.objects WHERE name = 'Twice'")
            .await
            .as_deref()
            .map(str::trim),
        Some("IF")
    );

    // Drops, and a table's triggers go with it.
    exec(&mut c, "DROP VIEW dbo.BigOrders; DROP FUNCTION IF EXISTS dbo.Twice, dbo.Nope; DROP PROC dbo.GetOrder").await;
    exec(&mut c, "CREATE TABLE dbo.Scratch (Id int); ").await;
    exec(
        &mut c,
        "CREATE TRIGGER ScratchTrg ON dbo.Scratch INSTEAD OF DELETE AS SELECT 1",
    )
    .await;
    exec(&mut c, "DROP TABLE dbo.Scratch").await;
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM sys.objects WHERE name IN ('BigOrders', 'Twice', 'GetOrder', 'ScratchTrg', 'Scratch')").await, Some(0));
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM sys.triggers").await,
        Some(1)
    );
}

async fn error_code_or_zero(c: &mut C, sql: &str) -> u32 {
    match c.simple_query(sql).await {
        Err(tiberius::error::Error::Server(e)) => e.code(),
        Err(e) => panic!("{sql}: {e}"),
        Ok(s) => match s.into_results().await {
            Ok(_) => 0,
            Err(tiberius::error::Error::Server(e)) => e.code(),
            Err(e) => panic!("{sql}: {e}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_show_their_columns_constraints_and_indexes() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    shop(&mut c).await;
    // sys.columns by the type pages.
    type Col = (String, u8, i16, u8, u8, bool, bool, Option<String>);
    let cols: Vec<Col> = rows(
        &mut c,
        "SELECT c.name, c.system_type_id, c.max_length, c.precision, c.scale, c.is_nullable, c.is_identity, c.collation_name FROM sys.columns c JOIN sys.tables t ON t.object_id = c.object_id WHERE t.name = 'Orders' ORDER BY c.column_id",
    )
    .await
    .iter()
    .map(|r| {
        (
            r.get::<&str, _>(0).unwrap().to_owned(),
            r.get::<u8, _>(1).unwrap(),
            r.get::<i16, _>(2).unwrap(),
            r.get::<u8, _>(3).unwrap(),
            r.get::<u8, _>(4).unwrap(),
            r.get::<bool, _>(5).unwrap(),
            r.get::<bool, _>(6).unwrap(),
            r.get::<&str, _>(7).map(str::to_owned),
        )
    })
    .collect();
    let latin = Some("SQL_Latin1_General_CP1_CI_AS".to_owned());
    assert_eq!(
        cols,
        [
            ("Id".to_owned(), 56, 4, 10, 0, false, true, None),
            ("CustomerId".to_owned(), 56, 4, 10, 0, false, false, None),
            ("Total".to_owned(), 106, 9, 10, 2, false, false, None),
            ("Status".to_owned(), 175, 1, 0, 0, false, false, latin),
            ("Placed".to_owned(), 42, 7, 23, 3, true, false, None),
        ]
    );
    assert_eq!(
        text(
            &mut c,
            "SELECT name FROM sys.types WHERE system_type_id = 231 AND user_type_id = 231"
        )
        .await
        .as_deref(),
        Some("nvarchar")
    );

    // Keys: named and generated (PK__Customer__<hex>), their indexes.
    let keys: Vec<(String, String, i32)> = rows(&mut c, "SELECT k.name, k.type, k.unique_index_id FROM sys.key_constraints k ORDER BY k.parent_object_id, k.type")
        .await
        .iter()
        .map(|r| (r.get::<&str, _>(0).unwrap().to_owned(), r.get::<&str, _>(1).unwrap().trim().to_owned(), r.get::<i32, _>(2).unwrap()))
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(
        keys[0].0.starts_with("PK__Customer__") && keys[0].0.len() == "PK__Customer__".len() + 16,
        "{keys:?}"
    );
    assert_eq!((keys[0].1.as_str(), keys[0].2), ("PK", 1));
    assert!(keys[1].0.starts_with("UQ__Customer__"), "{keys:?}");
    assert_eq!(keys[1].2, 2);
    assert_eq!((keys[2].0.as_str(), keys[2].2), ("PK_Orders", 1));
    type Ix = (Option<String>, i32, u8, String, bool, bool, bool);
    let idx: Vec<Ix> = rows(&mut c, "SELECT i.name, i.index_id, i.type, i.type_desc, i.is_unique, i.is_primary_key, i.is_unique_constraint FROM sys.indexes i WHERE i.object_id = OBJECT_ID('dbo.Customers') ORDER BY i.index_id")
        .await
        .iter()
        .map(|r| (r.get::<&str, _>(0).map(str::to_owned), r.get::<i32, _>(1).unwrap(), r.get::<u8, _>(2).unwrap(), r.get::<&str, _>(3).unwrap().to_owned(), r.get::<bool, _>(4).unwrap(), r.get::<bool, _>(5).unwrap(), r.get::<bool, _>(6).unwrap()))
        .collect();
    assert_eq!(idx[0].1, 1);
    assert_eq!((idx[0].3.as_str(), idx[0].5), ("CLUSTERED", true));
    assert_eq!(
        (idx[1].1, idx[1].3.as_str(), idx[1].6),
        (2, "NONCLUSTERED", true)
    );

    // Foreign key, check and default.
    let fk = one_row(&mut c, "SELECT f.referenced_object_id, OBJECT_ID('dbo.Customers'), f.delete_referential_action_desc, f.is_disabled, f.is_not_trusted, fc.parent_column_id, fc.referenced_column_id FROM sys.foreign_keys f JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = f.object_id WHERE f.name = 'FK_Orders_Customers'").await;
    assert_eq!(fk.get::<i32, _>(0), fk.get::<i32, _>(1));
    assert_eq!(fk.get::<&str, _>(2), Some("CASCADE"));
    assert_eq!(
        (fk.get::<bool, _>(3), fk.get::<bool, _>(4)),
        (Some(false), Some(false))
    );
    assert_eq!(
        (fk.get::<i32, _>(5), fk.get::<i32, _>(6)),
        (Some(2), Some(1))
    );
    assert_eq!(
        text(
            &mut c,
            "SELECT definition FROM sys.check_constraints WHERE name = 'CK_Orders_Total'"
        )
        .await
        .as_deref(),
        Some("([Total]>=(0))")
    );
    let df = one_row(&mut c, "SELECT d.name, d.definition, d.parent_column_id, c.default_object_id, d.object_id FROM sys.default_constraints d JOIN sys.columns c ON c.object_id = d.parent_object_id AND c.column_id = d.parent_column_id").await;
    assert!(
        df.get::<&str, _>(0)
            .unwrap()
            .starts_with("DF__Orders__Status__")
    );
    assert_eq!(df.get::<&str, _>(1), Some("('N')"));
    assert_eq!(df.get::<i32, _>(3), df.get::<i32, _>(4));
    // SQLite enforces keys declared in CREATE TABLE, and the CHECK.
    exec(
        &mut c,
        "INSERT INTO dbo.Customers (Id, Name) VALUES (1, N'Ann')",
    )
    .await;
    assert_eq!(
        error_code(
            &mut c,
            "INSERT INTO dbo.Customers (Id, Name) VALUES (1, N'Bob')"
        )
        .await,
        2627
    );

    // Counts by type, as the validate plugin takes them.
    let counts: Vec<(String, i32)> = rows(&mut c, "SELECT type, COUNT(*) AS n FROM sys.objects WHERE is_ms_shipped = 0 GROUP BY type ORDER BY type")
        .await
        .iter()
        .map(|r| (r.get::<&str, _>(0).unwrap().trim().to_owned(), r.get::<i32, _>(1).unwrap()))
        .collect();
    assert_eq!(
        counts,
        [("C", 1), ("D", 1), ("F", 1), ("PK", 2), ("U", 2), ("UQ", 1)]
            .map(|(a, b)| (a.to_owned(), b))
    );
    // 3726: a table a foreign key references cannot be dropped.
    assert_eq!(
        error_text(&mut c, "DROP TABLE dbo.Customers").await,
        "Could not drop object 'dbo.Customers' because it is referenced by a FOREIGN KEY constraint."
    );
    // Metadata functions.
    let row = one_row(&mut c, "SELECT OBJECT_NAME(OBJECT_ID('dbo.Orders')), OBJECT_SCHEMA_NAME(OBJECT_ID('dbo.Orders')), OBJECTPROPERTY(OBJECT_ID('dbo.Orders'), 'IsUserTable'), OBJECTPROPERTY(OBJECT_ID('PK_Orders'), 'IsUserTable'), OBJECT_NAME(42)").await;
    assert_eq!(row.get::<&str, _>(0), Some("Orders"));
    assert_eq!(row.get::<&str, _>(1), Some("dbo"));
    assert_eq!(
        (row.get::<i32, _>(2), row.get::<i32, _>(3)),
        (Some(1), Some(0))
    );
    assert_eq!(row.get::<&str, _>(4), None);
    let names: Vec<String> = rows(&mut c, "SELECT OBJECT_NAME(i.object_id) + '.' + i.name FROM sys.indexes i WHERE i.index_id = 1 AND OBJECTPROPERTY(i.object_id, 'IsUserTable') = 1 ORDER BY 1")
        .await
        .iter()
        .map(|r| r.get::<&str, _>(0).unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names[1] == "Orders.PK_Orders", "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constraints_change_trust_and_indexes_come_and_go() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    shop(&mut c).await;
    let trust = |name: &'static str| {
        format!(
            "SELECT CAST(is_disabled AS int) * 10 + CAST(is_not_trusted AS int) FROM sys.foreign_keys WHERE name = '{name}' UNION ALL SELECT CAST(is_disabled AS int) * 10 + CAST(is_not_trusted AS int) FROM sys.check_constraints WHERE name = '{name}'"
        )
    };
    exec(
        &mut c,
        "ALTER TABLE dbo.Orders NOCHECK CONSTRAINT FK_Orders_Customers",
    )
    .await;
    assert_eq!(int(&mut c, &trust("FK_Orders_Customers")).await, Some(11));
    exec(
        &mut c,
        "ALTER TABLE dbo.Orders CHECK CONSTRAINT FK_Orders_Customers",
    )
    .await;
    assert_eq!(int(&mut c, &trust("FK_Orders_Customers")).await, Some(1));
    exec(
        &mut c,
        "ALTER TABLE dbo.Orders WITH CHECK CHECK CONSTRAINT ALL",
    )
    .await;
    assert_eq!(int(&mut c, &trust("FK_Orders_Customers")).await, Some(0));
    assert_eq!(int(&mut c, &trust("CK_Orders_Total")).await, Some(0));
    exec(
        &mut c,
        "ALTER TABLE dbo.Orders WITH NOCHECK ADD CONSTRAINT CK_Status CHECK (Status IN ('N', 'S'))",
    )
    .await;
    assert_eq!(int(&mut c, &trust("CK_Status")).await, Some(1));
    exec(&mut c, "ALTER TABLE dbo.Orders ADD CONSTRAINT DF_Placed DEFAULT SYSDATETIME() FOR Placed, CONSTRAINT UQ_Orders UNIQUE (CustomerId, Id)").await;
    assert_eq!(
        text(
            &mut c,
            "SELECT definition FROM sys.default_constraints WHERE name = 'DF_Placed'"
        )
        .await
        .as_deref(),
        Some("(sysdatetime())")
    );
    assert_eq!(
        int(
            &mut c,
            "SELECT unique_index_id FROM sys.key_constraints WHERE name = 'UQ_Orders'"
        )
        .await,
        Some(2)
    );
    assert_eq!(
        error_code(&mut c, "ALTER TABLE dbo.Orders NOCHECK CONSTRAINT Nope").await,
        4917
    );
    assert_eq!(
        error_code(
            &mut c,
            "ALTER TABLE dbo.Orders ADD CONSTRAINT CK_Status CHECK (Total > 1)"
        )
        .await,
        2714
    );
    assert_eq!(
        error_code(
            &mut c,
            "ALTER TABLE dbo.Orders ADD CONSTRAINT PK2 PRIMARY KEY (CustomerId)"
        )
        .await,
        1779
    );
    assert_eq!(
        error_code(
            &mut c,
            "ALTER TABLE dbo.Nope ADD CONSTRAINT X CHECK (A > 1)"
        )
        .await,
        4902
    );
    assert_eq!(
        error_code(&mut c, "ALTER TABLE dbo.Orders DROP CONSTRAINT Nope").await,
        3728
    );
    exec(
        &mut c,
        "ALTER TABLE dbo.Orders DROP CONSTRAINT CK_Status, DF_Placed",
    )
    .await;
    assert_eq!(
        int(
            &mut c,
            "SELECT COUNT(*) FROM sys.objects WHERE name IN ('CK_Status', 'DF_Placed')"
        )
        .await,
        Some(0)
    );
    assert_eq!(int(&mut c, "SELECT default_object_id FROM sys.columns WHERE object_id = OBJECT_ID('dbo.Orders') AND name = 'Placed'").await, Some(0));

    // Indexes.
    exec(&mut c, "CREATE NONCLUSTERED INDEX IX_Orders_Customer ON dbo.Orders (CustomerId DESC) INCLUDE (Total) WHERE Status = 'N'").await;
    let ix = one_row(&mut c, "SELECT index_id, has_filter, filter_definition FROM sys.indexes WHERE name = 'IX_Orders_Customer'").await;
    assert_eq!(ix.get::<i32, _>(0), Some(3));
    assert_eq!(ix.get::<bool, _>(1), Some(true));
    assert_eq!(ix.get::<&str, _>(2), Some("([Status]='N')"));
    let cols: Vec<(i32, u8, bool, bool)> = rows(&mut c, "SELECT ic.column_id, ic.key_ordinal, ic.is_descending_key, ic.is_included_column FROM sys.index_columns ic JOIN sys.indexes i ON i.object_id = ic.object_id AND i.index_id = ic.index_id WHERE i.name = 'IX_Orders_Customer' ORDER BY ic.index_column_id")
        .await
        .iter()
        .map(|r| (r.get::<i32, _>(0).unwrap(), r.get::<u8, _>(1).unwrap(), r.get::<bool, _>(2).unwrap(), r.get::<bool, _>(3).unwrap()))
        .collect();
    assert_eq!(cols, [(2, 1, true, false), (3, 0, false, true)]);
    assert_eq!(
        error_code(
            &mut c,
            "CREATE INDEX IX_Orders_Customer ON dbo.Orders (Total)"
        )
        .await,
        1913
    );
    assert_eq!(
        error_code(&mut c, "CREATE CLUSTERED INDEX CX ON dbo.Orders (Total)").await,
        1902
    );
    assert_eq!(
        error_code(&mut c, "CREATE INDEX IX2 ON dbo.Nope (Total)").await,
        1088
    );
    assert_eq!(
        error_code(&mut c, "CREATE INDEX IX2 ON dbo.Orders (Nope)").await,
        1911
    );
    assert_eq!(
        error_code(&mut c, "DROP INDEX PK_Orders ON dbo.Orders").await,
        3723
    );
    assert_eq!(
        error_code(&mut c, "DROP INDEX Nope ON dbo.Orders").await,
        3701
    );
    exec(
        &mut c,
        "DROP INDEX IX_Orders_Customer ON dbo.Orders; DROP INDEX IF EXISTS Nope ON dbo.Orders",
    )
    .await;
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM sys.index_columns WHERE object_id = OBJECT_ID('dbo.Orders') AND index_id = 3").await, Some(0));
    // A heap gains a clustered index, and becomes a heap again when it goes.
    exec(
        &mut c,
        "CREATE TABLE dbo.Log (At datetime2, Msg nvarchar(max))",
    )
    .await;
    assert_eq!(
        text(
            &mut c,
            "SELECT type_desc FROM sys.indexes WHERE object_id = OBJECT_ID('Log')"
        )
        .await
        .as_deref(),
        Some("HEAP")
    );
    exec(&mut c, "CREATE CLUSTERED INDEX CX_Log ON dbo.Log (At)").await;
    assert_eq!(
        int(
            &mut c,
            "SELECT MIN(index_id) FROM sys.indexes WHERE object_id = OBJECT_ID('Log')"
        )
        .await,
        Some(1)
    );
    exec(&mut c, "DROP INDEX dbo.Log.CX_Log").await;
    assert_eq!(
        int(
            &mut c,
            "SELECT MIN(index_id) FROM sys.indexes WHERE object_id = OBJECT_ID('Log')"
        )
        .await,
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_queries_run_as_written() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    shop(&mut c).await;
    exec(&mut c, "CREATE SCHEMA sales").await;
    exec(
        &mut c,
        "CREATE TABLE sales.Leads (Id int PRIMARY KEY, Note nvarchar(200))",
    )
    .await;
    exec(&mut c, "CREATE INDEX IX_Note ON sales.Leads (Note)").await;
    for i in 0..50 {
        exec(
            &mut c,
            &format!(
                "INSERT INTO sales.Leads VALUES ({i}, N'{}')",
                "x".repeat(100)
            ),
        )
        .await;
    }
    exec(
        &mut c,
        "INSERT INTO dbo.Customers (Id, Name) VALUES (1, N'Ann'), (2, N'Bob')",
    )
    .await;
    exec(&mut c, "USE master").await;
    // methods.md §6, row counts (run in the database, three-part names from master).
    let counts: Vec<(String, String, i64)> = rows(
        &mut c,
        "SELECT s.name AS schema_name, t.name AS table_name, SUM(p.rows) AS row_count
         FROM [Shop].sys.tables t JOIN [Shop].sys.schemas s ON s.schema_id = t.schema_id
         JOIN [Shop].sys.partitions p ON p.object_id = t.object_id AND p.index_id IN (0,1)
         GROUP BY s.name, t.name ORDER BY s.name, t.name;",
    )
    .await
    .iter()
    .map(|r| {
        (
            r.get::<&str, _>(0).unwrap().to_owned(),
            r.get::<&str, _>(1).unwrap().to_owned(),
            num(r, 2),
        )
    })
    .collect();
    assert_eq!(
        counts,
        [
            ("dbo", "Customers", 2),
            ("dbo", "Orders", 0),
            ("sales", "Leads", 50)
        ]
        .map(|(a, b, n)| (a.to_owned(), b.to_owned(), n))
    );
    exec(&mut c, "USE Shop").await;
    let stats = one_row(&mut c, "SELECT SUM(row_count), SUM(used_page_count), SUM(reserved_page_count), COUNT(*) FROM sys.dm_db_partition_stats WHERE object_id = OBJECT_ID('sales.Leads')").await;
    assert_eq!(num(&stats, 0), 100);
    assert_eq!(num(&stats, 3), 2);
    // 50 rows of 200 bytes: Row_Size = 200 + 2 + 2 + 4 + (2 + 1) + 4 = 215 (+ the int key) →
    // 36 a page → 2 data pages + the IAM page in each index.
    let used = num(&stats, 1);
    let reserved = num(&stats, 2);
    assert!((4..=8).contains(&used), "{used}");
    assert_eq!(reserved % 8, 0);
    assert_eq!(
        int(
            &mut c,
            "SELECT schema_id FROM sys.schemas WHERE name = 'sales'"
        )
        .await,
        Some(5)
    );
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM Shop.sys.objects o JOIN Shop.sys.schemas s ON s.schema_id = o.schema_id WHERE s.name = 'sales' AND o.is_ms_shipped = 0").await, Some(2));
    assert_eq!(error_code(&mut c, "DROP SCHEMA sales").await, 3729);
    assert_eq!(
        error_code(&mut c, "CREATE TABLE nope.T (a int)").await,
        2760
    );
    let partition = one_row(&mut c, "SELECT partition_id, hobt_id, partition_number, data_compression_desc FROM sys.partitions WHERE object_id = OBJECT_ID('dbo.Orders') AND index_id = 1").await;
    assert_eq!(partition.get::<i64, _>(0), partition.get::<i64, _>(1));
    assert_eq!(partition.get::<i32, _>(2), Some(1));
    assert_eq!(partition.get::<&str, _>(3), Some("NONE"));
    // INFORMATION_SCHEMA.
    let t = rows(&mut c, "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES ORDER BY TABLE_SCHEMA, TABLE_NAME").await;
    assert_eq!(t.len(), 3);
    assert_eq!(
        (
            t[2].get::<&str, _>(0),
            t[2].get::<&str, _>(1),
            t[2].get::<&str, _>(2),
            t[2].get::<&str, _>(3)
        ),
        (
            Some("Shop"),
            Some("sales"),
            Some("Leads"),
            Some("BASE TABLE")
        )
    );
    let col = one_row(&mut c, "SELECT DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE, ORDINAL_POSITION FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'Leads' AND COLUMN_NAME = 'Note'").await;
    assert_eq!(
        (
            col.get::<&str, _>(0),
            num(&col, 1),
            col.get::<&str, _>(2),
            num(&col, 3)
        ),
        (Some("nvarchar"), 200, Some("YES"), 2)
    );
    // The integrity inventory: foreign keys and checks with their trust.
    let n = rows(&mut c, "SELECT OBJECT_SCHEMA_NAME(parent_object_id), OBJECT_NAME(parent_object_id), name, is_disabled, is_not_trusted FROM sys.foreign_keys UNION ALL SELECT OBJECT_SCHEMA_NAME(parent_object_id), OBJECT_NAME(parent_object_id), name, is_disabled, is_not_trusted FROM sys.check_constraints").await;
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].get::<&str, _>(1), Some("Orders"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_optimized_tables_show_in_sys_tables() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Xtp").await;
    exec(
        &mut c,
        "ALTER DATABASE Xtp ADD FILEGROUP xtp CONTAINS MEMORY_OPTIMIZED_DATA",
    )
    .await;
    exec(&mut c, "ALTER DATABASE Xtp ADD FILE (NAME = 'xtp1', FILENAME = '/var/opt/mssql/data/xtp1') TO FILEGROUP xtp").await;
    exec(&mut c, "USE Xtp").await;
    exec(&mut c, "CREATE TABLE dbo.Hot (Id int NOT NULL PRIMARY KEY NONCLUSTERED HASH WITH (BUCKET_COUNT = 1024), V int) WITH (MEMORY_OPTIMIZED = ON, DURABILITY = SCHEMA_ONLY)").await;
    exec(&mut c, "CREATE TABLE dbo.Cold (Id int NOT NULL)").await;
    let rows = rows(&mut c, "SELECT name, is_memory_optimized, durability, durability_desc, temporal_type_desc FROM sys.tables ORDER BY name").await;
    assert_eq!(rows[0].get::<&str, _>(0), Some("Cold"));
    assert_eq!(rows[0].get::<bool, _>(1), Some(false));
    assert_eq!(rows[0].get::<&str, _>(3), Some("SCHEMA_AND_DATA"));
    assert_eq!(rows[1].get::<bool, _>(1), Some(true));
    assert_eq!(rows[1].get::<u8, _>(2), Some(1));
    assert_eq!(rows[1].get::<&str, _>(3), Some("SCHEMA_ONLY"));
    assert_eq!(rows[1].get::<&str, _>(4), Some("NON_TEMPORAL_TABLE"));
    // The nonclustered primary key leaves the table a heap.
    assert_eq!(int(&mut c, "SELECT COUNT(*) FROM sys.indexes WHERE object_id = OBJECT_ID('dbo.Hot') AND type_desc IN ('HEAP', 'NONCLUSTERED')").await, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_transaction_takes_its_ddl_with_it() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    shop(&mut c).await;
    exec(&mut c, "BEGIN TRAN").await;
    exec(&mut c, "CREATE VIEW dbo.V1 AS SELECT 1 AS x").await;
    exec(&mut c, "CREATE TABLE dbo.T1 (Id int PRIMARY KEY)").await;
    exec(&mut c, "ALTER TABLE dbo.Orders NOCHECK CONSTRAINT ALL").await;
    assert_eq!(
        int(
            &mut c,
            "SELECT COUNT(*) FROM sys.objects WHERE name IN ('V1', 'T1')"
        )
        .await,
        Some(2)
    );
    exec(&mut c, "ROLLBACK").await;
    assert_eq!(
        int(
            &mut c,
            "SELECT COUNT(*) FROM sys.objects WHERE name IN ('V1', 'T1')"
        )
        .await,
        Some(0)
    );
    assert_eq!(
        int(
            &mut c,
            "SELECT COUNT(*) FROM sys.foreign_keys WHERE is_disabled = 1"
        )
        .await,
        Some(0)
    );
}
