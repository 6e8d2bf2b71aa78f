//! The emulated DMS's control API over HTTP (`serve --dms` nests it under `/dms`): a runtime
//! node registers with the service's current key, goes offline and online, and a share and
//! a storage account are made known — each seen through the ARM answers.

mod common;

use std::sync::Arc;

use common::dms_rig::DMS_VERSION;
use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::{Personality, Server, ServerOptions, ServerTls};
use serde_json::{Value, json};

const TOKEN: &str = "dms-control-token";
const SERVICE: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms1";

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = http.request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_is_driven_through_the_control_api() {
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let mi = Arc::new(
        Server::start(
            "127.0.0.1:0".parse().unwrap(),
            ServerOptions::local(
                Personality::ManagedInstance {
                    name: "mi.database.windows.net".into(),
                },
                &data.path().join("mi"),
                "Mi#Pa55",
            ),
            certs,
        )
        .await
        .unwrap(),
    );
    let arm = Arc::new(
        ArmServer::start(
            "127.0.0.1:0".parse().unwrap(),
            mi,
            ArmOptions::local("mi", TOKEN),
        )
        .await
        .unwrap(),
    );
    let control = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/dms", control.local_addr().unwrap());
    let app = axum::Router::new().nest(
        "/dms",
        ferry_emulator::control_http::dms_router(arm.clone()),
    );
    tokio::spawn(async move {
        let _ = axum::serve(control, app).await;
    });
    let http = reqwest::Client::new();
    let service = format!("{}{SERVICE}?api-version={DMS_VERSION}", arm.endpoint());
    let (s, _) = send(
        &http,
        reqwest::Method::PUT,
        &service,
        Some(json!({ "location": "westeurope" })),
    )
    .await;
    assert_eq!(s, 201);
    let keys_url = format!(
        "{}{SERVICE}/listAuthKeys?api-version={DMS_VERSION}",
        arm.endpoint()
    );
    let (_, keys) = send(&http, reqwest::Method::POST, &keys_url, None).await;
    let state = || async {
        let (_, v) = send(&http, reqwest::Method::GET, &service, None).await;
        v["properties"]["integrationRuntimeState"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    let (s, v) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/ir/register"),
        Some(json!({ "authKey": "IR@bogus", "nodeName": "n1" })),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/ir/register"),
        Some(json!({ "authKey": keys["authKey1"], "nodeName": "n1" })),
    )
    .await;
    assert_eq!((s, v["service"].as_str()), (200, Some("dms1")), "{v}");
    assert_eq!(state().await, "Online");
    let (s, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/ir/nodes/n1/offline"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(state().await, "Offline");
    let (s, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/ir/nodes/n1/online"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(state().await, "Online");
    let (s, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/ir/nodes/nobody/offline"),
        None,
    )
    .await;
    assert_eq!(s, 404);

    let (s, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/ir/upload-time"),
        Some(json!({ "milliseconds": 5 })),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/shares"),
        Some(json!({ "prefix": r"\\files\b", "path": data.path() })),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/shares"),
        Some(json!({ "prefix": "no-unc", "path": data.path() })),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/storage-accounts"),
        Some(json!({ "name": "acct", "endpoint": "http://127.0.0.1:1/acct", "location": "westeurope", "kind": "StorageV2", "tier": "Standard" })),
    )
    .await;
    assert_eq!(s, 204);
}
