//! Schema objects through tiberius: modules (views, procedures, functions, triggers) and tables
//! with their columns, constraints and indexes in the per-database catalog views.

mod common;

use common::catalog::*;
use common::*;
use ferry_emulator::TlsMode;

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
