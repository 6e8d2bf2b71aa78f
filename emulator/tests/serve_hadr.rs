//! `ferry-emulator serve --hadr` runs the Managed Instance link: the ARM front end answers the
//! link's resources on the MI's link engine, the link's control routes answer, and what was
//! uploaded survives a restart on the same data directory; without `--hadr` the link's
//! resources are refused by name.

mod common;

use common::serving::{SERVE_ARM_TOKEN, serve};
use serde_json::{Value, json};

const MI_PATH: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/ferry-target";

async fn arm(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(
            method,
            format!("{base}{MI_PATH}/{path}?api-version=2025-01-01"),
        )
        .bearer_auth(SERVE_ARM_TOKEN);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_hadr_answers_the_link_and_keeps_it_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--hadr", "--source-version", "2022", "--no-seed"];
    let serving = serve(dir.path(), &args);
    let (status, body) = arm(
        &serving.arm,
        reqwest::Method::GET,
        "distributedAvailabilityGroups",
        None,
    )
    .await;
    assert_eq!((status, &body), (200, &json!({ "value": [] })));
    let (status, body) = arm(
        &serving.arm,
        reqwest::Method::GET,
        "endpointCertificates/DATABASE_MIRRORING",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let lag = reqwest::Client::new()
        .post(format!("{}/target/link/lag", serving.control))
        .header("content-type", "application/json")
        .body(json!({ "seconds": 1 }).to_string())
        .send()
        .await
        .unwrap();
    assert!(lag.status().is_success(), "{:?}", lag.text().await);
    // The emulated network's control routes: no endpoint listens on the source yet.
    let probe = reqwest::Client::new()
        .post(format!("{}/network/probe", serving.control))
        .header("content-type", "application/json")
        .body(json!({ "host": "FERRY-SOURCE", "port": 5022 }).to_string())
        .send()
        .await
        .unwrap();
    let probe: Value = serde_json::from_str(&probe.text().await.unwrap()).unwrap();
    assert_eq!(probe["reachable"], false, "{probe}");

    let cert = rcgen::generate_simple_self_signed(vec!["FERRY-SOURCE".to_owned()]).unwrap();
    let blob: String = cert.cert.der().iter().map(|b| format!("{b:02X}")).collect();
    let body = json!({ "properties": { "publicBlob": format!("0x{blob}") } });
    let (status, put) = arm(
        &serving.arm,
        reqwest::Method::PUT,
        "serverTrustCertificates/Src",
        Some(body),
    )
    .await;
    assert_eq!(status, 202, "{put}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while arm(
        &serving.arm,
        reqwest::Method::GET,
        "serverTrustCertificates/Src",
        None,
    )
    .await
    .0 != 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::task::block_in_place(|| serving.stop());

    let again = serve(dir.path(), &args);
    let (status, got) = arm(
        &again.arm,
        reqwest::Method::GET,
        "serverTrustCertificates/Src",
        None,
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["properties"]["publicBlob"], format!("0x{blob}"));
    tokio::task::block_in_place(|| again.stop());

    let plain = serve(dir.path(), &["--no-seed"]);
    let (status, body) = arm(
        &plain.arm,
        reqwest::Method::GET,
        "distributedAvailabilityGroups",
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("LinkEngineNotRunning"))
    );
    tokio::task::block_in_place(|| plain.stop());
}
