//! Certificates with real bytes: CREATE CERTIFICATE makes an RSA key and a self-signed X.509
//! certificate; sys.certificates shows it as SQL Server documents; CERTENCODED is its DER
//! (thumbprint = SHA-1 of it), CERTPRIVATEKEY its key in PVK format that OpenSSL reads; and
//! CREATE CERTIFICATE … FROM BINARY loads them back, with SQL Server's errors for bad input.

mod common;

use std::process::Command;

use common::*;
use ferry_emulator::TlsMode;
use sha1::{Digest, Sha1};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Runs the `openssl` CLI, which the test needs (it fails without it).
fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command-line tool must be installed for this test")
}

/// A varbinary result, or None for NULL. The emulator types a column from its values, so a
/// NULL alone comes back as an int column: both read as None here.
async fn bytes(c: &mut C, sql: &str) -> Option<Vec<u8>> {
    let row = one_row(c, sql).await;
    match row.try_get::<&[u8], _>(0) {
        Ok(v) => v.map(<[u8]>::to_vec),
        Err(_) => {
            assert_eq!(row.try_get::<i32, _>(0).unwrap(), None, "{sql}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_have_real_der_and_pvk_bytes() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for Sales', START_DATE = '20260101', EXPIRY_DATE = '20401031'").await;
    let row = one_row(&mut s, "SELECT name, certificate_id, principal_id, pvt_key_encryption_type, pvt_key_encryption_type_desc, issuer_name, cert_serial_number, sid, string_sid, subject, expiry_date, start_date, thumbprint, pvt_key_last_backup_date, key_length FROM master.sys.certificates WHERE name = N'TdeCert'").await;
    assert_eq!(row.get::<&str, _>("pvt_key_encryption_type"), Some("MK"));
    assert_eq!(
        row.get::<&str, _>("pvt_key_encryption_type_desc"),
        Some("ENCRYPTED_BY_MASTER_KEY")
    );
    assert_eq!(row.get::<&str, _>("subject"), Some("TDE for Sales"));
    assert_eq!(row.get::<&str, _>("issuer_name"), Some("TDE for Sales"));
    assert_eq!(row.get::<i32, _>("key_length"), Some(2048));
    assert_eq!(
        row.get::<&str, _>("cert_serial_number")
            .unwrap()
            .split(' ')
            .count(),
        16
    );
    assert!(
        row.get::<&str, _>("string_sid")
            .unwrap()
            .starts_with("S-1-9-1-")
    );
    let id = row.get::<i32, _>("certificate_id").unwrap();
    let thumbprint = row.get::<&[u8], _>("thumbprint").unwrap().to_vec();

    let der = bytes(&mut s, &format!("SELECT CERTENCODED({id})"))
        .await
        .unwrap();
    assert_eq!(
        Sha1::digest(&der).to_vec(),
        thumbprint,
        "thumbprint = SHA-1 of the DER"
    );
    let dir = tempfile::tempdir().unwrap();
    let cer = dir.path().join("c.cer");
    std::fs::write(&cer, &der).unwrap();
    let out = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        cer.to_str().unwrap(),
        "-noout",
        "-subject",
        "-enddate",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("CN = TDE for Sales") && text.contains("Oct 31 00:00:00 2040 GMT"),
        "{text}"
    );

    // CERTPRIVATEKEY: PVK that OpenSSL opens with the password and finds a sound RSA key in.
    let pvk = bytes(
        &mut s,
        "SELECT CERTPRIVATEKEY(CERT_ID('TdeCert'), 'Export#2026')",
    )
    .await
    .unwrap();
    assert_eq!(&pvk[..4], &0xB0B5_F11Eu32.to_le_bytes());
    let pvk_path = dir.path().join("c.pvk");
    std::fs::write(&pvk_path, &pvk).unwrap();
    let check = |pass: &str| {
        openssl(&[
            "rsa",
            "-provider",
            "legacy",
            "-provider",
            "default",
            "-inform",
            "PVK",
            "-passin",
            &format!("pass:{pass}"),
            "-in",
            pvk_path.to_str().unwrap(),
            "-noout",
            "-check",
        ])
    };
    let ok = check("Export#2026");
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("RSA key ok"),
        "{ok:?}"
    );
    assert!(
        !check("wrong").status.success(),
        "the wrong password does not open it"
    );
    // The key is the certificate's: same modulus.
    let modulus = |args: &[&str]| {
        String::from_utf8_lossy(&openssl(args).stdout)
            .trim()
            .to_owned()
    };
    assert_eq!(
        modulus(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            cer.to_str().unwrap(),
            "-noout",
            "-modulus"
        ]),
        modulus(&[
            "rsa",
            "-provider",
            "legacy",
            "-provider",
            "default",
            "-inform",
            "PVK",
            "-passin",
            "pass:Export#2026",
            "-in",
            pvk_path.to_str().unwrap(),
            "-noout",
            "-modulus"
        ]),
    );

    // NULL for an id nothing has and for a certificate without a private key (the system
    // certificates have none).
    assert_eq!(
        bytes(&mut s, "SELECT CERTPRIVATEKEY(99999, 'x')").await,
        None
    );
    assert_eq!(
        bytes(
            &mut s,
            "SELECT CERTPRIVATEKEY(CERT_ID('##MS_AgentSigningCertificate##'), 'x')"
        )
        .await,
        None
    );
    let n = one_row(&mut s, "SELECT COUNT(*) FROM sys.certificates WHERE name = N'TdeCert' AND expiry_date = '2040-10-31 00:00:00' AND start_date = '2026-01-01 00:00:00'").await;
    assert_eq!(n.get::<i32, _>(0), Some(1), "the dates asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_binary_loads_the_key_and_refuses_bad_input() {
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(mi(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    let mut d = connect(&dst).await;
    exec(&mut s, "CREATE CERTIFICATE Pw ENCRYPTION BY PASSWORD = 'Pw#2026' WITH SUBJECT = 'password protected'; CREATE CERTIFICATE Other ENCRYPTION BY PASSWORD = 'Pw#2026' WITH SUBJECT = 'another'").await;
    let row = one_row(&mut s, "SELECT pvt_key_encryption_type, pvt_key_encryption_type_desc, thumbprint FROM sys.certificates WHERE name = N'Pw'").await;
    assert_eq!(row.get::<&str, _>(0), Some("PW"));
    assert_eq!(row.get::<&str, _>(1), Some("ENCRYPTED_BY_PASSWORD"));
    let thumbprint = row.get::<&[u8], _>(2).unwrap().to_vec();
    // A password-protected key needs its password to be exported (15465 without it or with
    // the wrong one).
    assert_eq!(
        error_code(&mut s, "SELECT CERTPRIVATEKEY(CERT_ID('Pw'), 'Export#1')").await,
        15465
    );
    assert_eq!(
        error_code(
            &mut s,
            "SELECT CERTPRIVATEKEY(CERT_ID('Pw'), 'Export#1', 'nope')"
        )
        .await,
        15465
    );
    let der = bytes(&mut s, "SELECT CERTENCODED(CERT_ID('Pw'))")
        .await
        .unwrap();
    let pvk = bytes(
        &mut s,
        "SELECT CERTPRIVATEKEY(CERT_ID('Pw'), 'Export#1', 'Pw#2026')",
    )
    .await
    .unwrap();
    let other_pvk = bytes(
        &mut s,
        "SELECT CERTPRIVATEKEY(CERT_ID('Other'), 'Export#1', 'Pw#2026')",
    )
    .await
    .unwrap();
    let (der, pvk, other_pvk) = (hex(&der), hex(&pvk), hex(&other_pvk));

    let create = |name: &str, cert: &str, key: &str, pass: &str| {
        format!(
            "CREATE CERTIFICATE {name} FROM BINARY = 0x{cert} WITH PRIVATE KEY (BINARY = 0x{key}, DECRYPTION BY PASSWORD = '{pass}')"
        )
    };
    // Bytes that are not a certificate: 15468; a PVK that is not one: 15297; the wrong
    // password: 15465; another certificate's key: 15474.
    assert_eq!(
        error_code(&mut d, &create("Bad", "3082", &pvk, "Export#1")).await,
        15468
    );
    assert_eq!(
        error_code(&mut d, &create("Bad", &der, "1EF1B5B000", "Export#1")).await,
        15297
    );
    assert_eq!(
        error_code(&mut d, &create("Bad", &der, &pvk, "wrong")).await,
        15465
    );
    assert_eq!(
        error_code(&mut d, &create("Bad", &der, &other_pvk, "Export#1")).await,
        15474
    );
    let none = one_row(
        &mut d,
        "SELECT COUNT(*) FROM sys.certificates WHERE name = N'Bad'",
    )
    .await;
    assert_eq!(
        none.get::<i32, _>(0),
        Some(0),
        "nothing is left of a refused certificate"
    );

    let with_target_password = create("Pw", &der, &pvk, "Export#1")
        .replace("')", "', ENCRYPTION BY PASSWORD = 'Target#1')");
    exec(&mut d, &with_target_password).await;
    let row = one_row(&mut d, "SELECT thumbprint, pvt_key_encryption_type FROM master.sys.certificates WHERE name = N'Pw'").await;
    assert_eq!(
        row.get::<&[u8], _>(0),
        Some(&thumbprint[..]),
        "the same thumbprint as the source"
    );
    assert_eq!(row.get::<&str, _>(1), Some("PW"));
    // The same certificate again, under any name: 15232.
    assert_eq!(
        error_code(&mut d, &create("Again", &der, &pvk, "Export#1")).await,
        15232
    );
    // The key came along: it exports under the target's password.
    assert!(
        bytes(
            &mut d,
            "SELECT CERTPRIVATEKEY(CERT_ID('Pw'), 'x', 'Target#1')"
        )
        .await
        .is_some()
    );

    // Managed Instance reads no files.
    assert_eq!(
        error_code(
            &mut d,
            "CREATE CERTIFICATE F FROM FILE = 'c:\\\\certs\\\\f.cer'"
        )
        .await,
        40517
    );
    assert_eq!(
        error_code(
            &mut d,
            "BACKUP CERTIFICATE Pw TO FILE = 'c:\\\\certs\\\\pw.cer'"
        )
        .await,
        40510
    );

    // SQL Server has its ##MS_ certificates in master; the emulated MI none.
    let system = "SELECT COUNT(*) FROM master.sys.certificates WHERE name LIKE '##MS%'";
    let n = |row: tiberius::Row| row.get::<i32, _>(0).unwrap();
    assert!(n(one_row(&mut s, system).await) >= 6);
    assert_eq!(n(one_row(&mut d, system).await), 0);
}

/// `CERTENCODED(certificate_id)` in a query over sys.certificates reads each row's own
/// certificate (a migration tool exports them all in one query), not the first one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certencoded_of_a_column_reads_each_rows_certificate() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; CREATE CERTIFICATE One WITH SUBJECT = 'one'; CREATE CERTIFICATE Two WITH SUBJECT = 'two'").await;
    let rows = s
        .simple_query(
            "SELECT name, thumbprint, CERTENCODED(certificate_id) AS der, CERT_ID(name) AS id, certificate_id \
             FROM master.sys.certificates WHERE name IN (N'One', N'Two')",
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        let name = r.get::<&str, _>("name").unwrap();
        let der = r.get::<&[u8], _>("der").unwrap();
        let thumbprint = r.get::<&[u8], _>("thumbprint").unwrap();
        assert_eq!(Sha1::digest(der).as_slice(), thumbprint, "{name}");
        assert_eq!(
            r.get::<i32, _>("id"),
            r.get::<i32, _>("certificate_id"),
            "CERT_ID({name})"
        );
    }
}

/// A text result, or None for NULL (typed int when alone, as in [`bytes`]).
async fn text_of(c: &mut C, sql: &str) -> Option<String> {
    let row = one_row(c, sql).await;
    match row.try_get::<&str, _>(0) {
        Ok(v) => v.map(str::to_owned),
        Err(_) => {
            assert_eq!(row.try_get::<i32, _>(0).unwrap(), None, "{sql}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_with_a_binary_style_writes_a_certificates_der_as_hex() {
    // "CAST and CONVERT (Transact-SQL)", Binary styles: 1 is `0x` and upper-case hex, 2 the
    // same without `0x` ("Configure link with scripts" reads a public key this way).
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; CREATE CERTIFICATE LinkCert WITH SUBJECT = 'link'").await;
    let der = bytes(&mut s, "SELECT CERTENCODED(CERT_ID(N'LinkCert'))")
        .await
        .unwrap();
    // Over the catalog (a query SQLite runs) and as a scalar expression.
    assert_eq!(
        text_of(
            &mut s,
            "SELECT CONVERT(varchar(max), CERTENCODED(CERT_ID(N'LinkCert')), 1) AS der"
        )
        .await,
        Some(format!("0x{}", hex(&der)))
    );
    assert_eq!(
        text_of(
            &mut s,
            "SELECT CONVERT(nvarchar(max), CERTENCODED(certificate_id), 2) FROM master.sys.certificates WHERE name = N'LinkCert'"
        )
        .await,
        Some(hex(&der))
    );
    assert_eq!(
        text_of(&mut s, "SELECT CONVERT(varchar(20), 0x0aff10, 1)").await,
        Some("0x0AFF10".into())
    );
    assert_eq!(
        text_of(&mut s, "SELECT CONVERT(varchar(20), 0x0aff10, 2)").await,
        Some("0AFF10".into())
    );
    assert_eq!(
        text_of(
            &mut s,
            "SELECT CONVERT(varchar(max), CERTENCODED(CERT_ID(N'NoSuchCert')), 1)"
        )
        .await,
        None
    );
}
