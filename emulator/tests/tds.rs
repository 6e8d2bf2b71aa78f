//! The emulator driven by an unmodified tiberius 0.13 over TCP, with TLS on.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use tiberius::{AuthMethod, EncryptionLevel};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_login_over_tls_answers_as_sql_server_2019() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let version = scalar_string(&mut c, "SELECT @@VERSION").await;
    assert!(
        version.starts_with("Microsoft SQL Server 2019 (RTM-CU20) - 15.0.4312.2"),
        "{version}"
    );
    assert_eq!(scalar_string(&mut c, "SELECT @@SERVERNAME").await, "SRC01");
    // SERVERPROPERTY returns sql_variant; tiberius unwraps the base type.
    let row = c
        .simple_query("SELECT SERVERPROPERTY('EngineEdition') AS e, SERVERPROPERTY('ProductVersion') AS v, SERVERPROPERTY('IsHadrEnabled') AS h")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>("e"), Some(3));
    assert_eq!(row.get::<&str, _>("v"), Some("15.0.4312.2"));
    assert_eq!(row.get::<i32, _>("h"), Some(1));
    assert_eq!(r.server.statements().len(), 3);
    assert!(r.server.statements()[0].text.contains("@@VERSION"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_instance_personality() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert!(
        scalar_string(&mut c, "SELECT @@VERSION")
            .await
            .starts_with("Microsoft SQL Azure (RTM) - 12.0.2000.8")
    );
    let row = c
        .simple_query("SELECT SERVERPROPERTY('EngineEdition')")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>(0), Some(8));
    let name = scalar_string(
        &mut c,
        "SELECT CAST(SERVERPROPERTY('ServerName') AS nvarchar(128))",
    )
    .await;
    assert_eq!(name, "mi-target.public.abc123.database.windows.net");
    let row = c
        .simple_query("SELECT CAST(SERVERPROPERTY('EngineEdition') AS int)")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.get::<i32, _>(0),
        Some(8),
        "CAST unwraps the sql_variant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tls_mode_logs_in() {
    // (server mode, client level)
    let cases = [
        (TlsMode::Required, EncryptionLevel::Required),
        (TlsMode::Required, EncryptionLevel::On),
        (TlsMode::Optional, EncryptionLevel::Off), // login packet only
        (TlsMode::Optional, EncryptionLevel::Required),
        (TlsMode::Strict, EncryptionLevel::Strict),
        (TlsMode::Required, EncryptionLevel::Strict),
        (TlsMode::Off, EncryptionLevel::NotSupported),
    ];
    for (server_mode, client) in cases {
        let r = start(sql2019(), server_mode).await;
        let mut c = connect_with(&r, AuthMethod::sql_server("sa", PASSWORD), client)
            .await
            .unwrap_or_else(|e| panic!("{server_mode:?} / {client:?}: {e}"));
        assert_eq!(
            scalar_string(&mut c, "SELECT N'ok'").await,
            "ok",
            "{server_mode:?} / {client:?}"
        );
    }
    // A client that cannot do TLS is refused by a server that requires it.
    let r = start(sql2019(), TlsMode::Required).await;
    assert!(
        connect_with(
            &r,
            AuthMethod::sql_server("sa", PASSWORD),
            EncryptionLevel::NotSupported
        )
        .await
        .is_err()
    );
    // A server with strict encryption refuses a TDS 7.4 client.
    let r = start(sql2019(), TlsMode::Strict).await;
    assert!(
        connect_with(
            &r,
            AuthMethod::sql_server("sa", PASSWORD),
            EncryptionLevel::Required
        )
        .await
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_password_and_bad_token_fail_with_18456() {
    let r = start(sql2019(), TlsMode::Required).await;
    for auth in [
        AuthMethod::sql_server("sa", "wrong"),
        AuthMethod::sql_server("nobody", PASSWORD),
        AuthMethod::aad_token("not-a-token"),
    ] {
        match connect_with(&r, auth, EncryptionLevel::Required).await {
            Err(tiberius::error::Error::Server(e)) => {
                assert_eq!(e.code(), 18456);
                assert!(
                    e.message().starts_with("Login failed for user"),
                    "{}",
                    e.message()
                );
                assert!(
                    !e.message().contains("wrong"),
                    "the password is never echoed"
                );
            }
            other => panic!("expected 18456, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_token_login() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect_with(&r, AuthMethod::aad_token(TOKEN), EncryptionLevel::Required)
        .await
        .unwrap();
    assert_eq!(
        scalar_string(&mut c, "SELECT SUSER_SNAME()").await,
        "admin@contoso.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_real_numbers_and_the_connection_survives() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let cases = [
        (
            "SELECT * FROM dbo.NoSuchTable",
            208,
            "Invalid object name 'dbo.NoSuchTable'.",
        ),
        (
            "EXEC dbo.sp_nothing",
            2812,
            "Could not find stored procedure 'dbo.sp_nothing'.",
        ),
        ("FROB the database", 102, "Incorrect syntax near 'FROB'."),
        ("SELECT 'unterminated", 105, "Unclosed quotation mark"),
        ("USE NoSuchDb", 911, "Database 'NoSuchDb' does not exist"),
    ];
    for (sql, code, text) in cases {
        match c.simple_query(sql).await {
            Err(tiberius::error::Error::Server(e)) => {
                assert_eq!(e.code(), code as u32, "{sql}");
                assert!(e.message().contains(text), "{sql}: {}", e.message());
            }
            Ok(stream) => match stream.into_results().await {
                Err(tiberius::error::Error::Server(e)) => {
                    assert_eq!(e.code(), code as u32, "{sql}")
                }
                other => panic!("{sql}: expected error {code}, got {other:?}"),
            },
            Err(other) => panic!("{sql}: {other:?}"),
        }
        assert_eq!(
            scalar_string(&mut c, "SELECT N'still here'").await,
            "still here",
            "after {sql}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_result_sets_and_large_values_split_across_packets() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let big = "x".repeat(20_000);
    let sql = format!(
        "SELECT 1 AS a, CAST(12.50 AS decimal(10,2)) AS d; SELECT N'{big}' AS b; USE master; SELECT DB_NAME()"
    );
    let sets = c
        .simple_query(sql)
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    assert_eq!(sets.len(), 3);
    assert_eq!(sets[0][0].get::<i32, _>("a"), Some(1));
    assert_eq!(
        sets[0][0]
            .get::<tiberius::numeric::Numeric, _>("d")
            .map(|n| n.to_string()),
        Some("12.50".into())
    );
    assert_eq!(sets[1][0].get::<&str, _>("b").map(str::len), Some(20_000));
    assert_eq!(sets[2][0].get::<&str, _>(0), Some("master"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_instance_redirect_sends_the_client_on() {
    let r = start_with(
        mi(),
        TlsMode::Required,
        Some(("node-7.mi.internal".into(), 11042)),
    )
    .await;
    match connect_with(
        &r,
        AuthMethod::sql_server("sa", PASSWORD),
        EncryptionLevel::Required,
    )
    .await
    {
        Err(tiberius::error::Error::Routing { host, port }) => {
            assert_eq!((host.as_str(), port), ("node-7.mi.internal", 11042));
        }
        other => panic!("expected a routing error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sp_executesql_binds_every_parameter_type_tiberius_sends() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let long = "é".repeat(5000);
    let bytes = vec![0u8, 1, 2, 255];
    let none: Option<i32> = None;
    let uuid = tiberius::Uuid::parse_str("6f9619ff-8b86-d011-b42d-00c04fc964ff").unwrap();
    let row = c
        .query(
            "SELECT @P1 AS i, @P2 AS s, @P3 AS b, @P4 AS f, @P5 AS bin, @P6 AS long, @P7 AS n, @P8 AS big, @P9 AS g",
            &[&42i32, &"héllo", &true, &1.5f64, &bytes, &long.as_str(), &none, &9_000_000_000i64, &uuid],
        )
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>("i"), Some(42));
    assert_eq!(row.get::<&str, _>("s"), Some("héllo"));
    assert_eq!(row.get::<bool, _>("b"), Some(true));
    assert_eq!(row.get::<f64, _>("f"), Some(1.5));
    assert_eq!(row.get::<&[u8], _>("bin"), Some(&bytes[..]));
    assert_eq!(
        row.get::<&str, _>("long").map(|s| s.chars().count()),
        Some(5000)
    );
    assert_eq!(row.get::<i32, _>("n"), None);
    assert_eq!(row.get::<i64, _>("big"), Some(9_000_000_000));
    assert_eq!(row.get::<tiberius::Uuid, _>("g"), Some(uuid));
    let last = r.server.statements().pop().unwrap();
    assert!(
        last.text.starts_with("SELECT @P1 AS i"),
        "the statement text is recorded: {}",
        last.text
    );

    // An error inside sp_executesql reaches the client with its number; the session goes on.
    let err = c
        .query("SELECT @nope", &[&1i32])
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(&err, tiberius::error::Error::Server(e) if e.code() == 137),
        "{err:?}"
    );
    let row = c
        .query("SELECT @P1 + 1", &[&41i32])
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>(0), Some(42));
}
