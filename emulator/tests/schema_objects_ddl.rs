//! ALTER TABLE on constraints (trust and disabling), CREATE / DROP INDEX, and DDL in a
//! rolled-back transaction, through tiberius.

mod common;

use common::catalog::*;
use common::*;
use ferry_emulator::TlsMode;

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
