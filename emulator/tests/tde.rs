//! TDE: a backup of an encrypted database restores only where its certificate is, and the
//! certificate moves with CERTENCODED → CREATE CERTIFICATE … FROM BINARY.

mod common;

use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tde_backup_needs_its_certificate_on_the_target() {
    let share = tempfile::tempdir().unwrap();
    let bak = share.path().join("secure.bak").display().to_string();
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(sql2019(), TlsMode::Required).await;
    // Both servers' service accounts may use the share, as on a real site.
    src.server.allow_backup_directory(share.path()).unwrap();
    dst.server.allow_backup_directory(share.path()).unwrap();
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for Secure'").await;
    exec(&mut s, "CREATE DATABASE Secure; CREATE TABLE Secure.dbo.T (Id int); INSERT INTO Secure.dbo.T VALUES (7)").await;
    match s
        .simple_query("ALTER DATABASE Secure SET ENCRYPTION ON")
        .await
    {
        Err(tiberius::error::Error::Server(e)) => assert_eq!(e.code(), 33107, "no key yet"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    exec(&mut s, "USE Secure; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master").await;
    exec(&mut s, "ALTER DATABASE Secure SET ENCRYPTION ON").await;
    let row = s
        .simple_query("SELECT is_encrypted FROM sys.databases WHERE name = N'Secure'")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<bool, _>(0), Some(true));
    exec(
        &mut s,
        &format!("BACKUP DATABASE Secure TO DISK = '{bak}' WITH COPY_ONLY"),
    )
    .await;

    let header = {
        let mut d = connect(&dst).await;
        d.simple_query(format!("RESTORE HEADERONLY FROM DISK = '{bak}'"))
            .await
            .unwrap()
            .into_row()
            .await
            .unwrap()
            .unwrap()
    };
    let thumbprint = header
        .get::<&[u8], _>("EncryptorThumbprint")
        .unwrap()
        .to_vec();
    let cert = s.simple_query("SELECT thumbprint, CERTENCODED(CERT_ID('TdeCert')) AS encoded, CERTPRIVATEKEY(CERT_ID('TdeCert'), 'Export#2026') AS pvk FROM sys.certificates WHERE name = N'TdeCert'").await.unwrap().into_row().await.unwrap().unwrap();
    assert_eq!(
        cert.get::<&[u8], _>("thumbprint"),
        Some(&thumbprint[..]),
        "the backup names the certificate"
    );

    let mut d = connect(&dst).await;
    match d
        .simple_query(format!("RESTORE DATABASE Secure FROM DISK = '{bak}'"))
        .await
    {
        Err(tiberius::error::Error::Server(e)) => {
            assert_eq!(e.code(), 33111);
            assert!(
                e.message()
                    .contains("Cannot find server certificate with thumbprint '0x"),
                "{}",
                e.message()
            );
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let hex = |col: &str| -> String {
        cert.get::<&[u8], _>(col)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    };
    let (encoded, pvk) = (hex("encoded"), hex("pvk"));
    // The certificate without its private key does not open the backup.
    exec(
        &mut d,
        &format!("CREATE CERTIFICATE TdeCert FROM BINARY = 0x{encoded}"),
    )
    .await;
    assert_eq!(
        error_code(
            &mut d,
            &format!("RESTORE DATABASE Secure FROM DISK = '{bak}'")
        )
        .await,
        33111
    );
    exec(&mut d, "DROP CERTIFICATE TdeCert").await;
    assert_eq!(error_code(&mut d, "DROP CERTIFICATE TdeCert").await, 15151);
    // On the source it protects a database: it cannot be dropped (3716).
    assert_eq!(error_code(&mut s, "DROP CERTIFICATE TdeCert").await, 3716);
    exec(&mut d, &format!("CREATE CERTIFICATE TdeCert FROM BINARY = 0x{encoded} WITH PRIVATE KEY (BINARY = 0x{pvk}, DECRYPTION BY PASSWORD = 'Export#2026')")).await;
    exec(
        &mut d,
        &format!("RESTORE DATABASE Secure FROM DISK = '{bak}'"),
    )
    .await;
    let row = d.simple_query("SELECT d.is_encrypted, (SELECT COUNT(*) FROM Secure.dbo.T) AS n FROM sys.databases d WHERE d.name = N'Secure'").await.unwrap().into_row().await.unwrap().unwrap();
    assert_eq!(row.get::<bool, _>(0), Some(true));
    assert_eq!(row.get::<i32, _>("n"), Some(1));
}
