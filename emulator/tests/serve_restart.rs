//! `ferry-emulator serve` stopped and served again on the same data directory comes back as it
//! was — logins, credentials, databases, backups in Azurite — without seeding over it; and the
//! control API restarts a server, injects blob and ARM faults.

mod common;

use common::serving::{Serving, serve};
use serde_json::{Value, json};

/// Serves on `dir` with Azurite on `azurite_port` (the same at every start, since the
/// credential names the container's URL) and the blob proxy on a free port.
fn serve_with_azurite(dir: &std::path::Path, azurite_port: u16, extra: &[&str]) -> Serving {
    let port = azurite_port.to_string();
    let mut args = vec![
        "--azurite",
        "--azurite-port",
        port.as_str(),
        "--blob-proxy-port",
        "0",
    ];
    args.extend_from_slice(extra);
    serve(dir, &args)
}

async fn post(s: &Serving, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", s.control))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn sql(s: &Serving, server: &str, text: &str) -> Value {
    let (status, body) = post(s, &format!("/{server}/sql"), json!({ "sql": text })).await;
    assert_eq!(status, 200, "{text}: {body}");
    body["results"].as_array().unwrap().last().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_again_on_the_same_data_dir_comes_back_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let azurite_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let first = serve_with_azurite(dir.path(), azurite_port, &["--no-seed"]);
    let container = first.container.clone().unwrap();
    let backup_sas = first.backup_sas.clone().unwrap();
    let url = format!("{container}/Kept/full.bak");
    sql(
        &first,
        "source",
        &format!(
            "CREATE LOGIN [keeper] WITH PASSWORD = N'Keep#2026', CHECK_POLICY = OFF; \
                 CREATE DATABASE Kept; CREATE TABLE Kept.dbo.T (Id int, Name nvarchar(10)); \
                 INSERT INTO Kept.dbo.T VALUES (1, N'kept'); \
                 CREATE CREDENTIAL [{}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{}'",
            container, backup_sas
        ),
    )
    .await;
    sql(
        &first,
        "source",
        &format!("BACKUP DATABASE Kept TO URL = '{url}' WITH CHECKSUM"),
    )
    .await;
    // The control API takes a server down and back, and arms the blob and ARM faults.
    assert_eq!(post(&first, "/target/stop", json!({})).await.0, 204);
    assert_eq!(
        post(&first, "/target/sql", json!({ "sql": "SELECT 1" }))
            .await
            .0,
        422
    );
    assert_eq!(post(&first, "/target/restart", json!({})).await.0, 204);
    sql(&first, "target", "SELECT 1").await;
    assert_eq!(
        post(
            &first,
            "/blob/faults",
            json!({ "requests": 1, "method": "PUT", "path": "/x" })
        )
        .await
        .0,
        204
    );
    assert_eq!(
        post(&first, "/arm/fail", json!({ "requests": 1, "status": 503 }))
            .await
            .0,
        204
    );
    assert_eq!(
        post(
            &first,
            "/source/faults",
            json!({ "pattern": "", "disconnect": true, "at": "login", "skip": 1 })
        )
        .await
        .0,
        204
    );
    first.stop();

    // Served again on the same directory (without --no-seed): nothing is seeded over it.
    let second = serve_with_azurite(dir.path(), azurite_port, &[]);
    let row = sql(
        &second,
        "source",
        "SELECT Name FROM Kept.dbo.T WHERE Id = 1",
    )
    .await;
    assert_eq!(row["rows"][0][0], "kept");
    let header = sql(
        &second,
        "source",
        &format!("RESTORE HEADERONLY FROM URL = '{url}'"),
    )
    .await;
    let database = header["columns"]
        .as_array()
        .and_then(|c| c.iter().position(|n| n == "DatabaseName"))
        .expect("HEADERONLY has DatabaseName");
    assert_eq!(
        header["rows"][0][database], "Kept",
        "the backup is still in Azurite and the credential still opens it"
    );
    let logins = sql(
        &second,
        "source",
        "SELECT COUNT(*) FROM sys.sql_logins WHERE name = 'keeper'",
    )
    .await;
    assert_eq!(logins["rows"][0][0], "1");
    let samples = sql(
        &second,
        "source",
        "SELECT COUNT(*) FROM sys.databases WHERE name = 'SalesDb'",
    )
    .await;
    assert_eq!(
        samples["rows"][0][0], "0",
        "no samples seeded into a used directory"
    );
    second.stop();
}
