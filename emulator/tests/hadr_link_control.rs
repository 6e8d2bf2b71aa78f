//! The link engine's controls: trust certificates and links kept in the MI's data directory
//! across a new `Links` (a restart of `ferry-emulator serve`), the write workload whose rows
//! the link ships, and the control API routes for faults, lag and the workload.

mod common;
#[path = "hadr/rig.rs"]
mod rig;

use std::time::Duration;

use common::{connect, exec};
use ferry_emulator::hadr::link::Links;
use rig::*;

const SYNCHRONIZING: &str = "LinkSynchronizing";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_and_trust_certificates_survive_a_new_links_on_the_same_data_dir() {
    let r = rig(common::sql2019()).await;
    let mut src = prepare(&r, "db1").await;
    let dir = tempfile::tempdir().unwrap();
    let links = Links::new(
        r.mi.server.clone(),
        r.network.clone(),
        Some(dir.path().into()),
    );
    let der = source_certificate(&mut src).await;
    let cert = links.put_trust_certificate(SOURCE_CERT, &der).unwrap();
    assert!(
        cert.thumbprint.starts_with("0x") && cert.thumbprint.len() == 42,
        "{}",
        cert.thumbprint
    );
    links.create(spec("db1", false)).unwrap();
    wait_for(&links, "DAG_db1", SYNCHRONIZING, |s| {
        state(s) == SYNCHRONIZING
    })
    .await;
    drop(links);

    let again = Links::new(
        r.mi.server.clone(),
        r.network.clone(),
        Some(dir.path().into()),
    );
    assert_eq!(again.trust_certificates().len(), 1);
    assert_eq!(
        again.trust_certificate(SOURCE_CERT).unwrap().public_blob,
        der
    );
    let s = again.status("DAG_db1").expect("the link is back");
    assert_eq!(state(&s), SYNCHRONIZING);
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (2, N'after the restart')",
    )
    .await;
    let mut mi = connect(&r.mi).await;
    wait_sql(
        &mut mi,
        "SELECT note FROM db1.dbo.t WHERE id = 2",
        "after the restart",
    )
    .await;
    again.delete_trust_certificate(SOURCE_CERT).unwrap();
    assert!(again.delete_trust_certificate(SOURCE_CERT).is_err());
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workload_commits_rows_that_the_link_ships_and_the_control_api_drives_it() {
    let r = rig(common::sql2019()).await;
    let _src = prepare(&r, "db1").await;
    r.links.create(spec("db1", false)).unwrap();
    wait_for(&r.links, "DAG_db1", SYNCHRONIZING, |s| {
        state(s) == SYNCHRONIZING
    })
    .await;
    let http = reqwest::Client::new();
    let link = serve(ferry_emulator::control_http::link_router(r.links.clone())).await;
    let work = serve(ferry_emulator::control_http::workload_router(
        r.src.server.clone(),
    ))
    .await;

    let lag = http
        .post(format!("{link}/lag"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"seconds": 2}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(lag.status(), 204);
    let bad = http
        .post(format!("{link}/faults"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"kind": "meteor"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let started = http
        .post(format!("{work}/"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"database": "db1", "table": "load", "rows_per_second": 5})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202, "{}", started.text().await.unwrap());
    // 600 times real time: a few hundred rows a real second at 5 rows a virtual second.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped: serde_json::Value = http
        .delete(format!("{work}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let rows = stopped["rows_committed"].as_u64().unwrap();
    assert!(rows > 0, "{stopped}");
    assert!(stopped["error"].is_null(), "{stopped}");
    let mut mi = connect(&r.mi).await;
    wait_sql(
        &mut mi,
        "SELECT COUNT(*) FROM db1.dbo.load",
        &rows.to_string(),
    )
    .await;
    let none = http.delete(format!("{work}/")).send().await.unwrap();
    assert_eq!(none.status(), 404);

    let partition = http
        .post(format!("{link}/faults"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"kind": "partition", "partitioned": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(partition.status(), 204);
    wait_for(&r.links, "DAG_db1", "DISCONNECTED", |s| {
        s.databases[0].connected_state == "DISCONNECTED"
    })
    .await;
}
