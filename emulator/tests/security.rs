//! Logins (with SID and hash, as instance-object migration copies them) and credentials.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use tiberius::{AuthMethod, EncryptionLevel};

fn code(e: tiberius::error::Error) -> u32 {
    match e {
        tiberius::error::Error::Server(e) => e.code(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_copied_with_sid_and_hash_logs_in_on_the_target() {
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(mi(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    s.execute(
        "CREATE LOGIN [app_user] WITH PASSWORD = N'Str0ng!pw', CHECK_POLICY = OFF",
        &[],
    )
    .await
    .unwrap();
    let row = s
        .simple_query("SELECT l.name, l.sid, LOGINPROPERTY(l.name, 'PasswordHash') AS hash FROM sys.sql_logins l WHERE l.name = N'app_user'")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    let sid = row.get::<&[u8], _>("sid").unwrap().to_vec();
    let hash = row.get::<&[u8], _>("hash").unwrap().to_vec();
    assert_eq!(hash.len(), 70);
    assert_eq!(&hash[..2], &[2, 0], "a SQL Server 2012+ hash");

    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let mut d = connect(&dst).await;
    d.execute(
        format!(
            "CREATE LOGIN [app_user] WITH PASSWORD = 0x{} HASHED, SID = 0x{}",
            hex(&hash),
            hex(&sid)
        ),
        &[],
    )
    .await
    .unwrap();
    let copied = d
        .simple_query("SELECT sid FROM sys.server_principals WHERE name = N'app_user'")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copied.get::<&[u8], _>(0), Some(&sid[..]));

    // The password, never sent to the target, works there.
    let mut as_app = connect_with(
        &dst,
        AuthMethod::sql_server("app_user", "Str0ng!pw"),
        EncryptionLevel::Required,
    )
    .await
    .unwrap();
    assert_eq!(
        scalar_string(&mut as_app, "SELECT SUSER_SNAME()").await,
        "app_user"
    );
    assert!(
        connect_with(
            &dst,
            AuthMethod::sql_server("app_user", "wrong"),
            EncryptionLevel::Required
        )
        .await
        .is_err()
    );

    assert_eq!(
        code(
            d.execute("CREATE LOGIN [app_user] WITH PASSWORD = N'x'", &[])
                .await
                .unwrap_err()
        ),
        15025
    );
    assert_eq!(
        code(
            d.execute(
                format!(
                    "CREATE LOGIN other WITH PASSWORD = N'x', SID = 0x{}",
                    hex(&sid)
                ),
                &[]
            )
            .await
            .unwrap_err()
        ),
        15433
    );
    assert_eq!(
        code(
            d.execute("CREATE LOGIN [CONTOSO\\jdoe] FROM WINDOWS", &[])
                .await
                .unwrap_err()
        ),
        41901,
        "MI has no Windows logins"
    );
    d.execute(
        "CREATE LOGIN [jdoe@contoso.com] FROM EXTERNAL PROVIDER",
        &[],
    )
    .await
    .unwrap();
    d.execute("ALTER LOGIN [app_user] DISABLE", &[])
        .await
        .unwrap();
    assert!(
        connect_with(
            &dst,
            AuthMethod::sql_server("app_user", "Str0ng!pw"),
            EncryptionLevel::Required
        )
        .await
        .is_err(),
        "a disabled login cannot log in"
    );
    d.execute("DROP LOGIN [app_user]", &[]).await.unwrap();
    assert_eq!(
        code(d.execute("DROP LOGIN [app_user]", &[]).await.unwrap_err()),
        15151
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_keep_their_secret_out_of_every_view_and_the_log() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let secret = "sv=2024-11-04&ss=b&srt=co&sp=rl&se=2026-12-01&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D";
    c.execute(format!("CREATE CREDENTIAL [https://acct.blob.core.windows.net/backups] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{secret}'"), &[])
        .await
        .unwrap();
    c.execute("CREATE CREDENTIAL [https://acct.blob.core.windows.net/mi] WITH IDENTITY = 'Managed Identity'", &[]).await.unwrap();
    let rows = c
        .simple_query("SELECT name, credential_identity FROM sys.credentials ORDER BY name")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].get::<&str, _>("credential_identity"),
        Some("SHARED ACCESS SIGNATURE")
    );
    let everything = c
        .simple_query("SELECT * FROM sys.credentials")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert!(
        !format!("{everything:?}").contains("sig="),
        "no catalog column holds the secret"
    );
    assert!(
        r.server
            .statements()
            .iter()
            .all(|s| !s.text.contains(secret)),
        "the statement log masks the secret"
    );
    assert!(
        r.server
            .statements()
            .iter()
            .any(|s| s.text.contains("SECRET = '***'"))
    );
    assert_eq!(code(c.execute("CREATE CREDENTIAL [https://acct.blob.core.windows.net/mi] WITH IDENTITY = 'Managed Identity'", &[]).await.unwrap_err()), 15025);
    c.execute(
        "DROP CREDENTIAL [https://acct.blob.core.windows.net/mi]",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        code(
            c.execute(
                "DROP CREDENTIAL [https://acct.blob.core.windows.net/mi]",
                &[]
            )
            .await
            .unwrap_err()
        ),
        15151
    );
}
