//! The HTTP control API, as a test in another language would use it.

mod common;

use common::*;
use ferry_emulator::TlsMode;

async fn post(client: &reqwest::Client, url: &str, body: &str) -> (u16, String) {
    let r = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The control API of `r`'s server on a free port: its base URL and a client.
async fn control_api(r: &Running) -> (String, reqwest::Client) {
    let app = ferry_emulator::control_http::router(r.server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, reqwest::Client::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_inject_and_read_back_over_http() {
    let r = start(mi(), TlsMode::Required).await;
    let (base, http) = control_api(&r).await;

    let (status, body) = post(
        &http,
        &format!("{base}/sql"),
        r#"{"sql": "CREATE DATABASE Ops; CREATE TABLE Ops.dbo.T (Id int); INSERT INTO Ops.dbo.T VALUES (1), (2); SELECT COUNT(*) AS n FROM Ops.dbo.T"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["results"].as_array().unwrap().last().unwrap()["rows"][0][0],
        "2"
    );
    let (status, body) = post(
        &http,
        &format!("{base}/sql"),
        r#"{"sql": "CREATE DATABASE Ops"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("1801"), "{body}");

    let (status, _) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "from ops.dbo.t", "error": 3201, "times": 1}"#,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "x", "error": 1, "disconnect": true}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "x", "delay_ms": 5, "hold_reply_ms": 5}"#,
    )
    .await;
    assert_eq!(status, 400, "one action per fault: {body}");
    let (status, _) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "never sent", "hold_reply_ms": 5}"#,
    )
    .await;
    assert_eq!(status, 204, "a held reply is a fault over HTTP too");
    let (status, _) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "x", "bogus": 1}"#,
    )
    .await;
    assert_eq!(status, 422, "unknown fields are refused");

    let mut c = connect(&r).await;
    match c.simple_query("SELECT Id FROM Ops.dbo.T").await {
        Err(tiberius::error::Error::Server(e)) => assert_eq!(e.code(), 3201),
        other => panic!("expected the injected error, got {:?}", other.map(|_| ())),
    }
    assert_eq!(scalar_string(&mut c, "SELECT N'after'").await, "after");

    let (status, _) = post(&http, &format!("{base}/clock"), r#"{"speed": 60}"#).await;
    assert_eq!(status, 204);
    let clock: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{base}/clock"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(clock["speed"], 60.0);
    let (status, _) = post(&http, &format!("{base}/clock"), r#"{"speed": -1}"#).await;
    assert_eq!(status, 400);

    let statements: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{base}/statements"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let texts: Vec<&str> = statements
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"SELECT N'after'"), "{texts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_at_login_and_at_the_nth_statement_and_a_restart_over_http() {
    let r = start(mi(), TlsMode::Required).await;
    let (base, http) = control_api(&r).await;

    // The next login as sa is refused with Azure SQL's transient 40613, then logins work.
    let (status, _) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "sa", "error": 40613, "at": "login", "times": 1}"#,
    )
    .await;
    assert_eq!(status, 204);
    match connect_with(
        &r,
        tiberius::AuthMethod::sql_server("sa", PASSWORD),
        tiberius::EncryptionLevel::Required,
    )
    .await
    {
        Err(tiberius::error::Error::Server(e)) => assert_eq!(e.code(), 40613),
        other => panic!(
            "expected the injected login error, got {:?}",
            other.map(|_| ())
        ),
    }
    let mut c = connect(&r).await;

    // Two statements pass, the third loses its connection: a harness walks a fault through
    // every step of a run this way.
    let (status, _) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "", "disconnect": true, "skip": 2, "times": 1}"#,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(scalar_string(&mut c, "SELECT N'one'").await, "one");
    assert_eq!(scalar_string(&mut c, "SELECT N'two'").await, "two");
    assert!(c.simple_query("SELECT N'three'").await.is_err());
    let (status, body) = post(
        &http,
        &format!("{base}/faults"),
        r#"{"pattern": "", "disconnect": true, "at": "elsewhere"}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Down and back over HTTP, on the same port.
    assert_eq!(post(&http, &format!("{base}/stop"), "").await.0, 204);
    assert!(tokio::net::TcpStream::connect(r.server.addr).await.is_err());
    assert_eq!(post(&http, &format!("{base}/restart"), "").await.0, 204);
    let mut c = connect(&r).await;
    assert_eq!(scalar_string(&mut c, "SELECT N'back'").await, "back");
}
