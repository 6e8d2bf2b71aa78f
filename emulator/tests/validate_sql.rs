//! The T-SQL the `validate` plugin's bisecting diff sends, through TDS: OFFSET … FETCH with a
//! parameter, CAST of binary slices to int, the type of a CASE inside HASHBYTES, and nvarchar's
//! UTF-16 bytes as varbinary — each checked against what "SELECT - ORDER BY Clause", "CAST and
//! CONVERT" and "HASHBYTES" (learn.microsoft.com) say SQL Server returns.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use sha2::Digest;

async fn server_error(c: &mut C, sql: &str, p: i64) -> (u32, String) {
    let err = match c.query(sql, &[&p]).await {
        Err(e) => e,
        Ok(s) => s.into_results().await.map(|_| ()).expect_err(sql),
    };
    match err {
        tiberius::error::Error::Server(e) => (e.code(), e.message().to_owned()),
        other => panic!("{sql}: {other:?}"),
    }
}

/// An integer column, whichever width the emulator types the expression with (it types
/// expressions by their values: a bigint CAST that fits in four bytes arrives as int).
fn int(row: &tiberius::Row, col: &str) -> Option<i64> {
    row.try_get::<i32, _>(col)
        .ok()
        .flatten()
        .map(i64::from)
        .or_else(|| row.try_get::<i64, _>(col).ok().flatten())
}

async fn seeded() -> (Running, C) {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE V; CREATE TABLE V.dbo.T (Id int NOT NULL PRIMARY KEY, Name nvarchar(20) NULL, H varbinary(8) NULL); \
         INSERT INTO V.dbo.T VALUES (1, N'one', 0x0000000AFFFFFFFE), (2, N'two', NULL), (3, NULL, NULL), (4, N'four', NULL), (5, N'five', NULL)",
    )
    .await;
    (r, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_fetch_pages_in_key_order_and_refuses_what_sql_server_refuses() {
    let (_r, mut c) = seeded().await;
    let sql = "SELECT Id FROM V.dbo.T WHERE Id > 1 ORDER BY Id DESC OFFSET @P1 ROWS FETCH NEXT 1 ROWS ONLY";
    for (offset, want) in [(0i64, Some(5)), (2, Some(3)), (3, Some(2)), (4, None)] {
        let rows = c
            .query(sql, &[&offset])
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        assert_eq!(
            rows.first().and_then(|r| r.get::<i32, _>(0)),
            want,
            "offset {offset}"
        );
    }
    let rows = c
        .query(
            "SELECT Id FROM V.dbo.T ORDER BY Id OFFSET @P1 ROWS",
            &[&3i64],
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "OFFSET alone skips and returns the rest");

    let (n, m) = server_error(&mut c, sql, -1).await;
    assert_eq!(
        (n, m.as_str()),
        (
            10742,
            "The offset specified in a OFFSET clause may not be negative."
        )
    );
    let fetch0 = "SELECT Id FROM V.dbo.T ORDER BY Id OFFSET 0 ROWS FETCH NEXT @P1 ROWS ONLY";
    assert_eq!(server_error(&mut c, fetch0, 0).await.0, 10744);
    assert_eq!(
        error_code(&mut c, "SELECT Id FROM V.dbo.T OFFSET 1 ROWS").await,
        102,
        "OFFSET is part of ORDER BY"
    );
    assert_eq!(
        error_code(
            &mut c,
            "SELECT Id FROM V.dbo.T ORDER BY Id FETCH NEXT 1 ROWS ONLY"
        )
        .await,
        102,
        "FETCH needs OFFSET"
    );
    assert_eq!(
        error_code(
            &mut c,
            "SELECT TOP 2 Id FROM V.dbo.T ORDER BY Id OFFSET 1 ROWS"
        )
        .await,
        10741
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_slices_cast_to_int_big_endian_and_signed() {
    let (_r, mut c) = seeded().await;
    let row = one_row(
        &mut c,
        "SELECT CAST(CAST(SUBSTRING(H, 1, 4) AS int) AS bigint) AS a, CAST(SUBSTRING(H, 5, 4) AS int) AS b, \
         SUM(CAST(CAST(SUBSTRING(H, 5, 4) AS int) AS bigint)) AS s FROM V.dbo.T WHERE Id = 1 GROUP BY H",
    )
    .await;
    assert_eq!(int(&row, "a"), Some(10));
    assert_eq!(int(&row, "b"), Some(-2));
    assert_eq!(int(&row, "s"), Some(-2));
    // Numbers and text cast as before.
    let row = one_row(
        &mut c,
        "SELECT CAST(Id AS bigint) AS i, CAST('42' AS int) AS t FROM V.dbo.T WHERE Id = 2",
    )
    .await;
    assert_eq!(int(&row, "i"), Some(2));
    assert_eq!(int(&row, "t"), Some(42));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_hash_over_case_and_utf16_hex_is_sql_servers() {
    let (_r, mut c) = seeded().await;
    // nvarchar to varbinary keeps its UTF-16LE bytes; style 2 writes them as hex without 0x.
    let row = one_row(
        &mut c,
        "SELECT CONVERT(varchar(max), CONVERT(varbinary(max), CONVERT(nvarchar(max), Name)), 2) AS x FROM V.dbo.T WHERE Id = 1",
    )
    .await;
    assert_eq!(row.get::<&str, _>("x"), Some("6F006E006500"));
    // The plugin's row hash: a varchar CONCAT of CASE expressions, hashed as its bytes.
    let row = one_row(
        &mut c,
        "SELECT HASHBYTES('SHA2_256', CONCAT(\
         CASE WHEN [Id] IS NULL THEN 'n' ELSE 'v' + CONVERT(varchar(64), [Id]) END, '|', \
         CASE WHEN [Name] IS NULL THEN 'n' ELSE 'v' + CONVERT(varchar(max), CONVERT(varbinary(max), CONVERT(nvarchar(max), [Name])), 2) END, '|')) AS h \
         FROM V.dbo.T WHERE Id = 1",
    )
    .await;
    let want = sha2::Sha256::digest(b"v1|v6F006E006500|");
    assert_eq!(row.get::<&[u8], _>("h"), Some(&want[..]));
    let row = one_row(
        &mut c,
        "SELECT HASHBYTES('SHA2_256', CONCAT(CASE WHEN [Name] IS NULL THEN 'n' ELSE 'v' END, '|')) AS h FROM V.dbo.T WHERE Id = 3",
    )
    .await;
    assert_eq!(
        row.get::<&[u8], _>("h"),
        Some(&sha2::Sha256::digest(b"n|")[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_reads_the_comparison_makes() {
    let (_r, mut c) = seeded().await;
    // "TYPE_NAME": the system types by their ids.
    let rows = c
        .simple_query(
            "SELECT TYPE_NAME(c.system_type_id) AS t FROM V.sys.columns AS c \
             WHERE c.object_id = OBJECT_ID('V.dbo.T') ORDER BY c.column_id",
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let types: Vec<&str> = rows.iter().filter_map(|r| r.get::<&str, _>("t")).collect();
    assert_eq!(types, ["int", "nvarchar", "varbinary"]);
    // "sys.databases": a new database's snapshot and page-verify settings.
    let row = one_row(
        &mut c,
        "SELECT is_read_committed_snapshot_on, snapshot_isolation_state_desc, page_verify_option_desc \
         FROM sys.databases WHERE name = 'V'",
    )
    .await;
    assert_eq!(row.get::<bool, _>(0), Some(false));
    assert_eq!(row.get::<&str, _>(1), Some("OFF"));
    assert_eq!(row.get::<&str, _>(2), Some("CHECKSUM"));
    // "sys.database_role_members": dbo in db_owner; no permission rows modelled.
    let row = one_row(
        &mut c,
        "SELECT r.name AS role_name, m.name AS member_name FROM V.sys.database_role_members AS rm \
         JOIN V.sys.database_principals AS r ON r.principal_id = rm.role_principal_id \
         JOIN V.sys.database_principals AS m ON m.principal_id = rm.member_principal_id",
    )
    .await;
    assert_eq!(row.get::<&str, _>("role_name"), Some("db_owner"));
    assert_eq!(row.get::<&str, _>("member_name"), Some("dbo"));
    let row = one_row(
        &mut c,
        "SELECT COUNT(*) AS n FROM V.sys.database_permissions",
    )
    .await;
    assert_eq!(row.get::<i32, _>("n"), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_keeps_the_databases_compatibility_level() {
    let share = tempfile::tempdir().unwrap();
    let r = start(sql2019(), TlsMode::Required).await;
    r.server.allow_backup_directory(share.path()).unwrap();
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Old; ALTER DATABASE Old SET COMPATIBILITY_LEVEL = 120",
    )
    .await;
    let bak = share.path().join("old.bak");
    exec(
        &mut c,
        &format!("BACKUP DATABASE Old TO DISK = '{}'", bak.display()),
    )
    .await;
    exec(
        &mut c,
        &format!("RESTORE DATABASE Again FROM DISK = '{}'", bak.display()),
    )
    .await;
    let row = one_row(
        &mut c,
        "SELECT compatibility_level FROM sys.databases WHERE name = 'Again'",
    )
    .await;
    assert_eq!(row.get::<u8, _>(0), Some(120));
}
