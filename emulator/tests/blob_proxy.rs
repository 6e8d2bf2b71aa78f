//! The fault proxy in front of Azurite: requests pass through unchanged (bodies streamed both
//! ways), and the ones a test marks get Azure Storage's 503 ServerBusy reply, as many times as
//! asked and no more.

use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::blob;
use ferry_emulator::blob_proxy::{BlobFault, BlobFaultProxy, StorageError};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_passes_blobs_through_and_answers_server_busy_when_told() {
    let az = Azurite::start().unwrap();
    az.create_container("backups").await.unwrap();
    let proxy = BlobFaultProxy::start("127.0.0.1:0".parse().unwrap(), az.addr)
        .await
        .unwrap();
    let sas = azurite::devstore_container_sas("backups", "racwl").unwrap();
    let url = format!("{}/Sales/full.bak", proxy.container_url("backups"));
    let http = reqwest::Client::new();
    let put = |body: &'static [u8]| {
        http.put(format!("{url}?{sas}"))
            .header("x-ms-blob-type", "BlockBlob")
            .header("x-ms-version", "2021-08-06")
            .body(body)
            .send()
    };

    proxy.busy(2, Some(Method::PUT), "/Sales/");
    for _ in 0..2 {
        let r = put(b"first").await.unwrap();
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(r.headers()["x-ms-error-code"], "ServerBusy");
        let body = r.text().await.unwrap();
        assert!(body.contains("<Code>ServerBusy</Code>"), "{body}");
    }
    assert_eq!(
        put(b"third").await.unwrap().status().as_u16(),
        201,
        "two faults, no more"
    );

    // HEAD gets the status and code without a body; other methods and paths are untouched.
    proxy.fail(BlobFault {
        method: Some(Method::HEAD),
        path: "full.bak".into(),
        remaining: 1,
        error: StorageError::InternalError,
    });
    let head = http
        .head(format!("{url}?{sas}"))
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 500);
    assert_eq!(head.headers()["x-ms-error-code"], "InternalError");

    // A large blob through the proxy with the SDK, both ways, byte for byte.
    let big: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let loc = blob::locate(&format!("{}/Sales/big.bak", proxy.container_url("backups"))).unwrap();
    blob::upload(&loc, &sas, big.clone(), false).await.unwrap();
    assert_eq!(blob::download(&loc, &sas).await.unwrap(), big);
    // It is in Azurite itself.
    let direct = blob::locate(&format!("{}/Sales/big.bak", az.container_url("backups"))).unwrap();
    assert_eq!(
        blob::download(&direct, &sas).await.unwrap().len(),
        big.len()
    );

    let statuses: Vec<u16> = proxy.requests().iter().map(|r| r.2).collect();
    assert_eq!(&statuses[..4], &[503, 503, 201, 500]);
}
