//! The control API of the emulated network between servers (hadr::network), nested by
//! `ferry-emulator serve` under `/network`:
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `POST /block` | `{"server": "SRC01", "port": 5022}` | a firewall drops traffic to that port of that server (any of its names) |
//! | `POST /break-dns` | `{"name": "mi-target.abc.database.windows.net"}` | the name stops resolving |
//! | `POST /heal` | | every blocked port and broken name is restored |
//! | `POST /probe` | `{"host": "SRC01", "port": 5022}` | `{"reachable": true}` or `{"reachable": false, "reason": "…"}`, as `tnc` would find it |

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done};
use crate::hadr::Network;

pub fn network_router(net: Arc<Network>) -> Router {
    Router::new()
        .route("/block", post(block))
        .route("/break-dns", post(break_dns))
        .route("/heal", post(heal))
        .route("/probe", post(probe))
        .with_state(net)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    server: String,
    port: u16,
}

async fn block(State(n): State<Arc<Network>>, Json(b): Json<Block>) -> (StatusCode, Json<J>) {
    if b.server.trim().is_empty() || b.port == 0 {
        return bad_request("send {\"server\": \"<name>\", \"port\": <1-65535>}");
    }
    n.block_port(&b.server, b.port);
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakDns {
    name: String,
}

async fn break_dns(
    State(n): State<Arc<Network>>,
    Json(b): Json<BreakDns>,
) -> (StatusCode, Json<J>) {
    if b.name.trim().is_empty() {
        return bad_request("send {\"name\": \"<host name>\"}");
    }
    n.break_dns(&b.name);
    done()
}

async fn heal(State(n): State<Arc<Network>>) -> (StatusCode, Json<J>) {
    n.heal();
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Probe {
    host: String,
    port: u16,
}

async fn probe(State(n): State<Arc<Network>>, Json(b): Json<Probe>) -> (StatusCode, Json<J>) {
    let (host, port) = (b.host, b.port);
    // Reading a target's endpoint takes its instance lock: off the async threads.
    let result =
        tokio::task::spawn_blocking(move || n.probe(&host, port, |s| s.mirroring_endpoint())).await;
    match result {
        Ok(Ok(_)) => (StatusCode::OK, Json(json!({ "reachable": true }))),
        Ok(Err(why)) => (
            StatusCode::OK,
            Json(json!({ "reachable": false, "reason": why.to_string() })),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": { "message": format!("the probe failed: {e}") } })),
        ),
    }
}
