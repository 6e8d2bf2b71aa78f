//! Before login a client can make the server buffer only so much: a LOGIN7 that announces
//! more than MS-TDS allows, or runs past what it announced, or a PRELOGIN past one packet,
//! closes its connection at once; and the bytes held for all connections not logged in stay
//! under the server's cap, counted by the server itself. A normal client still logs in.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls, TlsMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Hang guard for anything the server should do promptly.
const GUARD: Duration = Duration::from_secs(20);

fn packet(kind: u8, eom: bool, body: &[u8]) -> Vec<u8> {
    let mut p = vec![kind, u8::from(eom)];
    p.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 1, 0]);
    p.extend_from_slice(body);
    p
}

/// A PRELOGIN saying "encryption not supported": ENCRYPTION at offset 6, length 1.
const PRELOGIN: [u8; 7] = [0x01, 0x00, 0x06, 0x00, 0x01, 0xFF, 0x02];

/// A LOGIN7 packet body of `len` bytes whose Length field announces `announced`.
fn login7_part(announced: u32, len: usize) -> Vec<u8> {
    let mut body = vec![0u8; len];
    body[..4].copy_from_slice(&announced.to_le_bytes());
    body
}

/// Connects and gets through PRELOGIN, so that what follows is read as LOGIN7.
async fn past_prelogin(server: &Server) -> TcpStream {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(&packet(0x12, true, &PRELOGIN)).await.unwrap();
    let mut header = [0u8; 8];
    tcp.read_exact(&mut header).await.unwrap();
    let len = u16::from_be_bytes([header[2], header[3]]) as usize;
    let mut reply = vec![0u8; len - 8];
    tcp.read_exact(&mut reply).await.unwrap();
    tcp
}

/// True once the server has closed `tcp`.
async fn closed_by_server(tcp: &mut TcpStream) -> bool {
    let mut sink = [0u8; 64];
    loop {
        match tcp.read(&mut sink).await {
            Ok(0) | Err(_) => return true,
            Ok(_) => continue,
        }
    }
}

async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    tokio::time::timeout(GUARD, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_buffers_are_capped_per_message_and_in_total() {
    let data = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        personality: Personality::SqlServer {
            release: Release::Sql2022,
            edition: Edition::Developer,
            hadr: false,
            name: "CAPS".into(),
        },
        tls: TlsMode::Off,
        logins: HashMap::from([("sa".to_owned(), "pw".to_owned())]),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: data.path().to_owned(),
    };
    let tls = Arc::new(ServerTls::generate(&[]).unwrap());
    let server = Server::start("127.0.0.1:0".parse().unwrap(), options, tls)
        .await
        .unwrap();

    let per_connection = PRELOGIN.len() + 2 * 4088;
    // Room for eight stalled logins, and 2 KiB beside them: less than a ninth one's packet,
    // more than a normal login needs.
    let cap = 8 * per_connection + 2048;
    server.set_login_buffer_cap(cap);

    // Messages past their documented size are refused as soon as that shows, one connection
    // at a time so that only the message caps are at work: a LOGIN7 announcing 4 GiB, one
    // announcing 8 KiB but running on, one announcing less than it sends at once, and a
    // PRELOGIN of more than one packet.
    for i in 0..60u32 {
        let mut tcp = if i % 4 == 3 {
            TcpStream::connect(server.addr).await.unwrap()
        } else {
            past_prelogin(&server).await
        };
        let body: Vec<Vec<u8>> = match i % 4 {
            0 => vec![login7_part(0xFFFF_FFF0, 4088)],
            1 => vec![login7_part(8192, 4088); 4],
            2 => vec![login7_part(0, 4088); 40],
            _ => vec![vec![0xFF; 4088]; 2],
        };
        let kind = if i % 4 == 3 { 0x12 } else { 0x10 };
        for part in body {
            if tcp.write_all(&packet(kind, false, &part)).await.is_err() {
                break;
            }
        }
        tokio::time::timeout(GUARD, closed_by_server(&mut tcp))
            .await
            .expect("the server closes an oversized login message at once");
    }
    wait_until("closed connections return their bytes", || {
        server.login_buffered_bytes() == 0
    })
    .await;

    // Connections that stall inside a LOGIN7 hold what they sent, until the total reaches the
    // cap; past it, a connection is closed instead of buffering more.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..16 {
        let mut tcp = past_prelogin(&server).await;
        // Its PRELOGIN is counted already; the LOGIN7 packets come next.
        let before = server.login_buffered_bytes();
        for _ in 0..2 {
            let _ = tcp
                .write_all(&packet(0x10, false, &login7_part(100_000, 4088)))
                .await;
        }
        let outcome = tokio::time::timeout(GUARD, async {
            loop {
                tokio::select! {
                    _ = closed_by_server(&mut tcp) => return false,
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {
                        if server.login_buffered_bytes() == before + 2 * 4088 {
                            return true;
                        }
                    }
                }
            }
        })
        .await
        .expect("each stalled login is either held or closed");
        if outcome {
            held.push(tcp);
        } else {
            refused += 1;
        }
    }
    assert_eq!(held.len(), 8, "as many as fit are held");
    assert_eq!(refused, 16 - held.len(), "the rest are closed");
    assert_eq!(
        server.login_buffered_bytes(),
        held.len() * per_connection,
        "the server counts exactly what the stalled connections sent"
    );
    assert!(
        server.login_buffered_peak() <= cap,
        "never more than the cap at once ({} > {cap})",
        server.login_buffered_peak()
    );
    // A normal client's login is small enough to pass beside them.
    common::still_serves_in_the_clear(&server, "sa", "pw").await;
    drop(held);
    wait_until(
        "stalled connections return their bytes when they go",
        || server.login_buffered_bytes() == 0,
    )
    .await;
}
