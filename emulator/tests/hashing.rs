//! HASHBYTES, CHECKSUM, BINARY_CHECKSUM, CHECKSUM_AGG, CONCAT_WS and COUNT_BIG through TDS, with
//! the values Microsoft or public sources publish for the same inputs.

mod common;

use common::*;
use ferry_emulator::TlsMode;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

async fn rows(c: &mut C, sql: &str) -> Vec<tiberius::Row> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn bytes_col(c: &mut C, sql: &str) -> Vec<Option<String>> {
    let rows = rows(c, sql).await;
    rows.iter().map(|r| r.get::<&[u8], _>(0).map(hex)).collect()
}

async fn ints(c: &mut C, sql: &str) -> Vec<Option<i64>> {
    let rows = rows(c, sql).await;
    rows.iter()
        .map(|r| {
            r.try_get::<i32, _>(0)
                .ok()
                .flatten()
                .map(i64::from)
                .or_else(|| r.try_get::<i64, _>(0).ok().flatten())
        })
        .collect()
}

async fn server_error(c: &mut C, sql: &str) -> (u32, String) {
    let err = match c.simple_query(sql).await {
        Err(e) => e,
        Ok(s) => s.into_results().await.map(|_| ()).expect_err(sql),
    };
    match err {
        tiberius::error::Error::Server(e) => (e.code(), e.message().to_owned()),
        other => panic!("{sql}: {other:?}"),
    }
}

const SHA256_ABC: &str = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
/// SHA-256 of "abc" as UTF-16LE (61 00 62 00 63 00), what N'abc' hashes.
const SHA256_N_ABC: &str = "13E228567E8249FCE53337F25D7970DE3BD68AB2653424C7B8F9FD05E33CAEDF";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashbytes_hashes_the_bytes_sql_server_holds() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;

    // Outside a table: varchar is code page 1252, nvarchar UTF-16LE (FIPS 180 "abc").
    let got = bytes_col(
        &mut c,
        "SELECT HASHBYTES('SHA2_256', 'abc') UNION ALL SELECT HASHBYTES('SHA2_256', N'abc')",
    )
    .await;
    assert_eq!(got, [Some(SHA256_ABC.into()), Some(SHA256_N_ABC.into())]);
    assert_eq!(
        bytes_col(&mut c, "SELECT HASHBYTES('md5', 1)").await,
        // An int is its four big-endian bytes, 0x00000001 (CONVERT(varbinary, 1)).
        [Some("F1450306517624A57EAFBBF8ED995985".into())]
    );
    assert_eq!(
        bytes_col(&mut c, "SELECT HASHBYTES('MD5', 'café')").await,
        [Some("961F50F6282239D09E48F812C1CA7276".into())]
    );
    // NULL in, NULL out; an algorithm the page does not list gives NULL too.
    assert_eq!(
        bytes_col(
            &mut c,
            "SELECT HASHBYTES('SHA2_256', CAST(NULL AS varchar(3)))"
        )
        .await,
        [None]
    );
    assert_eq!(
        bytes_col(&mut c, "SELECT HASHBYTES('SHA3', 'abc')").await,
        [None]
    );
    for alg in ["MD2", "MD4", "SHA", "SHA1", "SHA2_512"] {
        let got = bytes_col(&mut c, &format!("SELECT HASHBYTES('{alg}', 'abc')")).await;
        assert!(got[0].is_some(), "{alg}");
    }

    // "HASHBYTES (Transact-SQL)", example "Return the hash of a table column": SHA1 of an
    // nvarchar(50) column, with the result set the page prints.
    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.Test1 (c1 nvarchar(50)); INSERT INTO Shop.dbo.Test1 VALUES ('This is a test.'), ('This is test 2.')",
    )
    .await;
    assert_eq!(
        bytes_col(&mut c, "SELECT HASHBYTES('SHA1', c1) FROM Shop.dbo.Test1").await,
        [
            Some("0E7AAB0B4FF0FD2DFB4F0233E2EE7A26CD08F173".into()),
            Some("F643A82F948DEFB922B12E50B950CEE130A934D6".into())
        ]
    );

    // Rows hashed as validation does: CONCAT_WS over the columns, types from the declarations.
    exec(
        &mut c,
        "CREATE TABLE Shop.dbo.P (Id int, Name varchar(20), Nick nvarchar(20), Notes ntext); INSERT INTO Shop.dbo.P VALUES (1, 'abc', N'abc', N'n'), (2, NULL, NULL, NULL)",
    )
    .await;
    let got = bytes_col(
        &mut c,
        "SELECT HASHBYTES('SHA2_256', Name) FROM Shop.dbo.P WHERE Id = 1 UNION ALL SELECT HASHBYTES('SHA2_256', Nick) FROM Shop.dbo.P WHERE Id = 1 UNION ALL SELECT HASHBYTES('SHA2_256', CONVERT(nvarchar(max), Name)) FROM Shop.dbo.P WHERE Id = 1 UNION ALL SELECT HASHBYTES('SHA2_256', ISNULL(Name, '')) FROM Shop.dbo.P WHERE Id = 2",
    )
    .await;
    let empty = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    assert_eq!(
        got,
        [
            Some(SHA256_ABC.into()),
            Some(SHA256_N_ABC.into()),
            Some(SHA256_N_ABC.into()),
            Some(empty.into())
        ]
    );
    // CONCAT_WS skips NULLs; with an nvarchar separator the text is UTF-16LE.
    let got = bytes_col(
        &mut c,
        "SELECT HASHBYTES('SHA2_256', CONCAT_WS(N'|', Id, Name, Nick)) FROM Shop.dbo.P ORDER BY Id",
    )
    .await;
    let sha = |s: &str| {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(
            s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>(),
        ))
    };
    assert_eq!(got, [Some(sha("1|abc|abc")), Some(sha("2"))]);
    let row = one_row(&mut c, "SELECT CONCAT_WS(',', 'a', NULL, 'b') AS s").await;
    assert_eq!(row.get::<&str, _>("s"), Some("a,b"));

    // text/ntext/image are refused by HASHBYTES and CHECKSUM with SQL Server's 8116.
    assert_eq!(
        server_error(&mut c, "SELECT HASHBYTES('MD5', Notes) FROM Shop.dbo.P").await,
        (
            8116,
            "Argument data type ntext is invalid for argument 2 of hashbytes function.".into()
        )
    );
    assert_eq!(
        server_error(&mut c, "SELECT CONCAT_WS(',', 'a') AS s")
            .await
            .0,
        189
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksums_follow_the_published_algorithms() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    // tsql-checksum-javascript's test.js values, read from SQL Server.
    assert_eq!(
        ints(&mut c, "SELECT CHECKSUM('aaaaaaa')").await,
        [Some(-2040109458)]
    );
    assert_eq!(
        ints(&mut c, "SELECT CHECKSUM('aaaaaaaa')").await,
        [Some(1717986918)]
    );
    // CHECKSUM ignores case under the default case-insensitive collation; BINARY_CHECKSUM
    // does not.
    assert_eq!(
        ints(&mut c, "SELECT CHECKSUM('Hello') - CHECKSUM('hELLO')").await,
        [Some(0)]
    );
    assert_ne!(
        ints(
            &mut c,
            "SELECT BINARY_CHECKSUM('Hello') - BINARY_CHECKSUM('hELLO')"
        )
        .await,
        [Some(0)]
    );
    assert_eq!(
        ints(&mut c, "SELECT CHECKSUM(NULL)").await,
        [Some(2147483647)]
    );

    exec(
        &mut c,
        "CREATE DATABASE Shop; CREATE TABLE Shop.dbo.T (Id int, a int, b int, Notes ntext, Name varchar(10)); INSERT INTO Shop.dbo.T VALUES (1, NULL, 100, N'x', 'Ab'), (2, NULL, NULL, NULL, 'ab'), (3, 1, 2, N'y', NULL)",
    )
    .await;
    // db<>fiddle results published with "BINARY_CHECKSUM – different result depending on
    // number of rows": int columns (NULL, 100) -109, (NULL, NULL) -2147483640, (1, 2) 18.
    assert_eq!(
        ints(
            &mut c,
            "SELECT BINARY_CHECKSUM(a, b) FROM Shop.dbo.T ORDER BY Id"
        )
        .await,
        [Some(-109), Some(-2147483640), Some(18)]
    );
    // CHECKSUM of a text column named is SQL Server's 8116; the * forms skip it.
    assert_eq!(
        server_error(&mut c, "SELECT CHECKSUM(Notes) FROM Shop.dbo.T").await,
        (
            8116,
            "Argument data type ntext is invalid for argument 1 of checksum function.".into()
        )
    );
    let star = ints(
        &mut c,
        "SELECT BINARY_CHECKSUM(*) FROM Shop.dbo.T ORDER BY Id",
    )
    .await;
    let listed = ints(
        &mut c,
        "SELECT BINARY_CHECKSUM(Id, a, b, Name) FROM Shop.dbo.T ORDER BY Id",
    )
    .await;
    assert_eq!(star, listed);
    let ci = ints(
        &mut c,
        "SELECT CHECKSUM(*) FROM Shop.dbo.T WHERE Id IN (1, 2) ORDER BY Id",
    )
    .await;
    assert_ne!(ci[0], ci[1], "different ints still differ");
    assert_eq!(
        ints(&mut c, "SELECT CHECKSUM(Name) FROM Shop.dbo.T WHERE Id = 1").await,
        ints(&mut c, "SELECT CHECKSUM(Name) FROM Shop.dbo.T WHERE Id = 2").await
    );

    // CHECKSUM_AGG is the XOR of the non-NULL values, in any order ("Checksum_Agg - how does it
    // work?": 100,100,100,99,99,98,98,95,95,95 gives 59).
    exec(
        &mut c,
        "CREATE TABLE Shop.dbo.G (g int); INSERT INTO Shop.dbo.G VALUES (100),(100),(100),(99),(99),(98),(98),(95),(95),(95),(NULL)",
    )
    .await;
    assert_eq!(
        ints(&mut c, "SELECT CHECKSUM_AGG(g) FROM Shop.dbo.G").await,
        [Some(59)]
    );
    assert_eq!(
        ints(&mut c, "SELECT CHECKSUM_AGG(DISTINCT g) FROM Shop.dbo.G").await,
        [Some(100 ^ 99 ^ 98 ^ 95)]
    );
    assert_eq!(
        ints(&mut c, "SELECT COUNT_BIG(*) FROM Shop.dbo.G").await,
        [Some(11)]
    );
    let agg = ints(
        &mut c,
        "SELECT CHECKSUM_AGG(BINARY_CHECKSUM(*)) FROM Shop.dbo.T",
    )
    .await;
    assert!(agg[0].is_some());
}
