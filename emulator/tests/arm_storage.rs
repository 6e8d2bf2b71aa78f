//! `GET …/providers/Microsoft.Storage/storageAccounts/{name}` on the ARM front end (Storage
//! Accounts - Get Properties, storage.json 2026-09-01) for the accounts the control API made
//! known: the spec's shape, ARM's 404s (an unknown account, another resource group, a resource
//! group nobody is in), and the api-version refusal.

mod common;

use std::sync::Arc;

use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::{Personality, Server, ServerOptions, ServerTls};
use serde_json::{Value, json};

const TOKEN: &str = "storage-token";
const VERSION: &str = "2026-09-01";

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

struct Front {
    arm: Arc<ArmServer>,
    control: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Front {
    async fn start() -> Front {
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let control = format!("http://{}/dms", listener.local_addr().unwrap());
        let app = axum::Router::new().nest(
            "/dms",
            ferry_emulator::control_http::dms_router(arm.clone()),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Front {
            arm,
            control,
            http: reqwest::Client::new(),
            _data: data,
        }
    }

    async fn account(&self, body: Value) -> u16 {
        let url = format!("{}/storage-accounts", self.control);
        send(&self.http, reqwest::Method::POST, &url, Some(body))
            .await
            .0
    }

    async fn get(&self, rg: &str, name: &str, version: Option<&str>) -> (u16, Value) {
        let mut url = format!(
            "{}/subscriptions/s1/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}",
            self.arm.endpoint()
        );
        if let Some(v) = version {
            url.push_str(&format!("?api-version={v}"));
        }
        send(&self.http, reqwest::Method::GET, &url, None).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_account_is_answered_in_the_specs_shape() {
    let f = Front::start().await;
    let s = f
        .account(
            json!({ "name": "acct1", "endpoint": "http://127.0.0.1:10000/acct1/",
            "location": "westeurope", "kind": "StorageV2", "tier": "Standard" }),
        )
        .await;
    assert_eq!(s, 204);
    let s = f
        .account(
            json!({ "name": "Prem1", "endpoint": "http://127.0.0.1:10000/prem1",
            "location": "northeurope", "kind": "StorageV2", "tier": "Premium",
            "resourceGroup": "data-rg" }),
        )
        .await;
    assert_eq!(s, 204);

    let (s, a) = f.get("RG", "ACCT1", Some(VERSION)).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        a["id"],
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct1"
    );
    assert_eq!(a["name"], "acct1");
    assert_eq!(a["type"], "Microsoft.Storage/storageAccounts");
    assert_eq!(a["location"], "westeurope");
    assert_eq!(a["kind"], "StorageV2");
    assert_eq!(
        a["sku"],
        json!({ "name": "Standard_LRS", "tier": "Standard" })
    );
    let p = &a["properties"];
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(
        p["primaryEndpoints"]["blob"],
        "http://127.0.0.1:10000/acct1/"
    );
    assert_eq!(p["primaryLocation"], "westeurope");
    assert_eq!(p["statusOfPrimary"], "available");
    assert!(
        p["creationTime"].as_str().is_some_and(|t| t.contains('T')),
        "{p}"
    );

    let (s, a) = f.get("data-rg", "prem1", Some(VERSION)).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        a["id"],
        "/subscriptions/s1/resourceGroups/data-rg/providers/Microsoft.Storage/storageAccounts/prem1"
    );
    assert_eq!(
        a["sku"],
        json!({ "name": "Premium_LRS", "tier": "Premium" })
    );
    assert_eq!(a["location"], "northeurope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_accounts_and_other_groups_are_arms_404s() {
    let f = Front::start().await;
    f.account(
        json!({ "name": "acct1", "endpoint": "http://127.0.0.1:10000/acct1",
        "location": "westeurope", "kind": "StorageV2", "tier": "Standard" }),
    )
    .await;
    f.account(
        json!({ "name": "acct2", "endpoint": "http://127.0.0.1:10000/acct2",
        "location": "westeurope", "kind": "BlockBlobStorage", "tier": "Premium",
        "resourceGroup": "data-rg" }),
    )
    .await;

    let (s, e) = f.get("rg", "nosuch", Some(VERSION)).await;
    assert_eq!(s, 404);
    assert_eq!(e["error"]["code"], "ResourceNotFound", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Microsoft.Storage/storageAccounts/nosuch"),
        "{e}"
    );
    // An account asked for under a resource group it is not in.
    let (s, e) = f.get("data-rg", "acct1", Some(VERSION)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("ResourceNotFound")),
        "{e}"
    );
    let (s, e) = f.get("rg", "acct2", Some(VERSION)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("ResourceNotFound")),
        "{e}"
    );
    let (s, e) = f.get("elsewhere", "acct1", Some(VERSION)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("ResourceGroupNotFound")),
        "{e}"
    );
    let (s, e) = f.get("rg", "acct1", Some(VERSION)).await;
    assert_eq!(s, 200, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_api_versions_and_methods_are_refused() {
    let f = Front::start().await;
    f.account(
        json!({ "name": "acct1", "endpoint": "http://127.0.0.1:10000/acct1",
        "location": "westeurope", "kind": "StorageV2", "tier": "Standard" }),
    )
    .await;
    let (s, e) = f.get("rg", "acct1", Some("2023-01-01")).await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["code"], "NoRegisteredProviderFound", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains(VERSION),
        "the supported version is named: {e}"
    );
    let (s, e) = f.get("rg", "acct1", None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("MissingApiVersionParameter"))
    );
    let url = format!(
        "{}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct1?api-version={VERSION}",
        f.arm.endpoint()
    );
    let (s, _) = send(&f.http, reqwest::Method::PUT, &url, Some(json!({}))).await;
    assert_eq!(s, 405);
    // The control API refuses an empty resource group.
    let s = f
        .account(
            json!({ "name": "a3", "endpoint": "http://x", "location": "westeurope",
            "kind": "StorageV2", "tier": "Standard", "resourceGroup": " " }),
        )
        .await;
    assert_eq!(s, 400);
}
