//! The whole path of a TDE certificate from SQL Server to Managed Instance through T-SQL and
//! ARM: on the source a certificate protects a TDE database whose backup goes to blob storage;
//! CERTENCODED and CERTPRIVATEKEY are read over TDS; the openssl CLI turns them into a PFX (as
//! an operator with pvk2pfx would); `POST {MI}/tdeCertificates` uploads it, after which — and
//! not before — the backup restores on MI. The upload's refusals carry the spec's codes.

mod common;

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use ferry_emulator::TlsMode;
use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::azurite::{self, Azurite};
use serde_json::{Value, json};

const MI_PATH: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi";

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command-line tool must be installed for this test");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

fn credential(container_url: &str, sas: &str) -> String {
    format!(
        "CREATE CREDENTIAL [{container_url}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
    )
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Reply {
    let mut req = http.request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tde_certificate_moves_to_mi_through_t_sql_and_arm() {
    let az = Azurite::start().unwrap();
    az.create_container("tde").await.unwrap();
    let container = az.container_url("tde");
    let sas = |p| {
        azurite::container_sas(
            azurite::ACCOUNT,
            azurite::ACCOUNT_KEY,
            "tde",
            p,
            "2099-01-01T00:00:00Z",
        )
        .unwrap()
    };
    let src = start(sql2019(), TlsMode::Required).await;
    let mi = start(mi(), TlsMode::Required).await;
    src.server
        .run_sql(&credential(&container, &sas("racwl")))
        .unwrap();
    mi.server
        .run_sql(&credential(&container, &sas("rl")))
        .unwrap();
    let arm = ArmServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mi.server.clone(),
        ArmOptions::local("mi", TOKEN),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let upload_url = format!(
        "{}{MI_PATH}/tdeCertificates?api-version=2025-01-01",
        arm.endpoint()
    );

    // The source: a TDE database and its backup.
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for Secure'").await;
    exec(&mut s, "CREATE DATABASE Secure; CREATE TABLE Secure.dbo.T (Id int); INSERT INTO Secure.dbo.T VALUES (7)").await;
    exec(&mut s, "USE Secure; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master; ALTER DATABASE Secure SET ENCRYPTION ON").await;
    let bak = format!("{container}/Secure.bak");
    exec(
        &mut s,
        &format!("BACKUP DATABASE Secure TO URL = '{bak}' WITH COPY_ONLY"),
    )
    .await;

    // Export through T-SQL alone.
    let row = one_row(&mut s, "SELECT c.thumbprint, CERTENCODED(c.certificate_id) AS der, CERTPRIVATEKEY(c.certificate_id, 'Export#2026') AS pvk FROM sys.dm_database_encryption_keys k JOIN sys.databases db ON db.database_id = k.database_id JOIN master.sys.certificates c ON c.thumbprint = k.encryptor_thumbprint WHERE db.name = N'Secure'").await;
    let thumbprint = row.get::<&[u8], _>("thumbprint").unwrap().to_vec();
    let dir = tempfile::tempdir().unwrap();
    let path = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    std::fs::write(path("c.cer"), row.get::<&[u8], _>("der").unwrap()).unwrap();
    std::fs::write(path("c.pvk"), row.get::<&[u8], _>("pvk").unwrap()).unwrap();
    openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        &path("c.cer"),
        "-out",
        &path("c.pem"),
    ]);
    openssl(&[
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
        &path("c.pvk"),
        "-out",
        &path("key.pem"),
    ]);
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &path("c.pem"),
        "-inkey",
        &path("key.pem"),
        "-passout",
        "pass:Pfx#2026",
        "-out",
        &path("c.pfx"),
    ]);
    openssl(&[
        "pkcs12",
        "-export",
        "-nokeys",
        "-in",
        &path("c.pem"),
        "-passout",
        "pass:Pfx#2026",
        "-out",
        &path("public.pfx"),
    ]);
    let b64 =
        |f: &str| base64::engine::general_purpose::STANDARD.encode(std::fs::read(path(f)).unwrap());
    let (pfx, public_pfx) = (b64("c.pfx"), b64("public.pfx"));

    // Before the upload the MI cannot restore the backup (MI's 41923 for SQL Server's 33111).
    let mut m = connect(&mi).await;
    let restore = format!("RESTORE DATABASE Secure FROM URL = '{bak}'");
    assert_eq!(error_code(&mut m, &restore).await, 41923);

    // Refusals: 400 with the spec's codes.
    let post = |body: Value| send(&http, reqwest::Method::POST, &upload_url, Some(body));
    for (body, code) in [
        (json!({ "properties": {} }), "MissingPrivateBlob"),
        (
            json!({ "properties": { "privateBlob": "", "certPassword": "x" } }),
            "MissingPrivateBlob",
        ),
        (
            json!({ "properties": { "privateBlob": "not base64 !", "certPassword": "x" } }),
            "InvalidPrivateBlobOrPassword",
        ),
        (
            json!({ "properties": { "privateBlob": "AAECAw==", "certPassword": "x" } }),
            "InvalidPrivateBlobOrPassword",
        ),
        (
            json!({ "properties": { "privateBlob": pfx, "certPassword": "wrong" } }),
            "InvalidPrivateBlobOrPassword",
        ),
        (
            json!({ "properties": { "privateBlob": public_pfx, "certPassword": "Pfx#2026" } }),
            "PrivateBlobWithoutPrivateKey",
        ),
        (json!({ "privateBlob": pfx }), "InvalidResourceRequestBody"),
    ] {
        let r = post(body).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (400, Some(code)),
            "{}",
            r.body
        );
        assert!(r.body["error"]["message"].is_string());
    }

    // The upload: 202 with the operation's URLs, followed until it succeeds.
    let r = post(json!({ "properties": { "privateBlob": pfx, "certPassword": "Pfx#2026" } })).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let location = r.headers["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("/managedInstanceTdeCertOperationResults/"),
        "{location}"
    );
    let status_url = r.headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        status_url.contains("/managedInstanceTdeCertAzureAsyncOperation/"),
        "{status_url}"
    );
    let mut done = false;
    for _ in 0..200 {
        let r = send(&http, reqwest::Method::GET, &location, None).await;
        if r.status == 204 {
            done = true;
            break;
        }
        assert_eq!(r.status, 202, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "the upload finished");
    let st = send(&http, reqwest::Method::GET, &status_url, None).await;
    assert_eq!(st.body["status"], "Succeeded", "{}", st.body);

    // The certificate is in master.sys.certificates, with the source's thumbprint.
    let row = one_row(&mut m, &format!("SELECT name, pvt_key_encryption_type FROM master.sys.certificates WHERE thumbprint = 0x{}", thumbprint.iter().map(|b| format!("{b:02X}")).collect::<String>())).await;
    assert!(
        row.get::<&str, _>(0)
            .unwrap()
            .starts_with("TdeCertificate_")
    );
    assert_eq!(row.get::<&str, _>(1), Some("MK"));
    // Again: the instance has it already.
    let r = post(json!({ "properties": { "privateBlob": pfx, "certPassword": "Pfx#2026" } })).await;
    assert_eq!(
        r.body["error"]["code"], "CertificateAlreadyExists",
        "{}",
        r.body
    );

    // Now the backup restores, encrypted as it was.
    exec(&mut m, &restore).await;
    let row = one_row(&mut m, "SELECT d.is_encrypted, (SELECT COUNT(*) FROM Secure.dbo.T) AS n FROM sys.databases d WHERE d.name = N'Secure'").await;
    assert_eq!(row.get::<bool, _>(0), Some(true));
    assert_eq!(row.get::<i32, _>("n"), Some(1));
}
