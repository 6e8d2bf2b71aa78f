//! Hostile or malformed TDS input closes that connection and nothing else: after every kind of
//! garbage, truncated packet and lying length, a real client still logs in and queries.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls, TlsMode};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options(tls: TlsMode, data: &tempfile::TempDir) -> ServerOptions {
    let mut logins = HashMap::new();
    logins.insert("sa".to_owned(), "pw".to_owned());
    ServerOptions {
        personality: Personality::SqlServer {
            release: Release::Sql2022,
            edition: Edition::Developer,
            hadr: false,
            name: "FUZZ".into(),
        },
        tls,
        logins,
        access_tokens: HashMap::new(),
        redirect: None,
        // Each server its own directory: a data directory holds one instance at a time.
        data_dir: data.path().to_owned(),
    }
}

/// Sends `bytes`, closes our write side, and waits (bounded) for the server to close.
async fn throw(server: &Server, bytes: &[u8]) {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let _ = tcp.write_all(bytes).await;
    let _ = tcp.shutdown().await;
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut sink)).await;
    assert!(
        closed.is_ok(),
        "the server kept a garbage connection open after EOF"
    );
}

/// A packet header with chosen type, status and claimed length, then `body`.
fn packet(kind: u8, status: u8, claimed: u16, body: &[u8]) -> Vec<u8> {
    let mut p = vec![kind, status];
    p.extend_from_slice(&claimed.to_be_bytes());
    p.extend_from_slice(&[0, 0, 1, 0]);
    p.extend_from_slice(body);
    p
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn handcrafted_attacks() {
    let rt = runtime();
    rt.block_on(async {
        let tls = Arc::new(ServerTls::generate(&[]).unwrap());
        let data = tempfile::tempdir().unwrap();
        let server = Server::start(
            "127.0.0.1:0".parse().unwrap(),
            options(TlsMode::Off, &data),
            tls,
        )
        .await
        .unwrap();
        let attacks: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x12],
            packet(0x12, 1, 4, &[]), // length shorter than the header
            packet(0x12, 1, 0xFFFF, &[0; 64]), // length past the packet size
            packet(0x12, 1, 100, &[0xFF; 10]), // truncated payload
            packet(0x12, 1, 13, &[0x01, 0xFF, 0xFF, 0x00, 0x01]), // option pointing outside
            packet(0x12, 0, 16, &[0; 8]), // no EOM, then EOF
            packet(0x10, 1, 20, &[0; 12]), // LOGIN7 before PRELOGIN
            packet(0x16, 3, 1, &[1, 0, 0, 0]), // TLS-looking start on a TLS-off server
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ];
        for a in &attacks {
            throw(&server, a).await;
        }
        // A valid PRELOGIN followed by a LOGIN7 with lying string offsets.
        let mut pre = vec![0x01, 0x00, 0x06, 0x00, 0x01, 0xFF, 0x02];
        let mut both = packet(0x12, 1, (8 + pre.len()) as u16, &pre);
        let mut login = vec![0u8; 94];
        login[0..4].copy_from_slice(&94u32.to_le_bytes());
        login[40] = 0xF0;
        login[42] = 0x50;
        both.extend(packet(0x10, 1, (8 + login.len()) as u16, &login));
        throw(&server, &both).await;
        pre.clear();
        common::still_serves_in_the_clear(&server, "sa", "pw").await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_take_the_server_down(garbage in proptest::collection::vec(any::<u8>(), 0..600), kind in prop_oneof![Just(0x12u8), Just(0x10u8), Just(0x01u8), any::<u8>()], claimed in any::<u16>()) {
        let rt = runtime();
        rt.block_on(async {
            let tls = Arc::new(ServerTls::generate(&[]).unwrap());
            let data = tempfile::tempdir().unwrap();
            let server = Server::start("127.0.0.1:0".parse().unwrap(), options(TlsMode::Optional, &data), tls).await.unwrap();
            throw(&server, &garbage).await;
            throw(&server, &packet(kind, 1, claimed, &garbage)).await;
            common::still_serves_in_the_clear(&server, "sa", "pw").await;
        });
    }
}
