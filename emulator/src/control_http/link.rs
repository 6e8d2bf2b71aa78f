//! The control API of the MI link engine and of the write workload. `serve --hadr` nests
//! [`link_router`] under `/target/link` and [`workload_router`] under `/source/workload`:
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `POST /target/link/faults` | `{"kind": "stall_seeding", "stalled": true}`, `{"kind": "truncate_log"}` or `{"kind": "partition", "partitioned": true}` | injects a link fault |
//! | `POST /target/link/lag` | `{"seconds": 30}` | virtual redo lag (asynchronous commit) |
//! | `POST /target/link/seeding-rate` | `{"bytes_per_second": 1048576}` | how fast seeding streams (virtual time) |
//! | `POST /source/workload` | `{"database": "db", "table": "t", "rows_per_second": 5}` | starts inserting committed rows |
//! | `GET /source/workload` | | rows committed so far |
//! | `DELETE /source/workload` | | stops it; answers `rows_committed` (and the error that stopped it, if one did) |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done};
use crate::hadr::link::{LinkFault, Links};
use crate::hadr::workload::Workload;
use crate::server::Server;

pub fn link_router(links: Arc<Links>) -> Router {
    Router::new()
        .route("/faults", post(fault))
        .route("/lag", post(lag))
        .route("/seeding-rate", post(seeding_rate))
        .with_state(links)
}

async fn fault(State(l): State<Arc<Links>>, body: Json<J>) -> (StatusCode, Json<J>) {
    match serde_json::from_value::<LinkFault>(body.0) {
        Ok(f) => {
            l.inject(f);
            done()
        }
        Err(e) => bad_request(&format!(
            "send {{\"kind\": \"stall_seeding\", \"stalled\": true}}, {{\"kind\": \"truncate_log\"}} or {{\"kind\": \"partition\", \"partitioned\": true}}: {e}"
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LagBody {
    seconds: f64,
}

async fn lag(
    State(l): State<Arc<Links>>,
    body: Result<Json<LagBody>, axum::extract::rejection::JsonRejection>,
) -> (StatusCode, Json<J>) {
    match body {
        Ok(Json(b)) if b.seconds >= 0.0 && b.seconds.is_finite() => {
            l.set_lag(Duration::from_secs_f64(b.seconds));
            done()
        }
        _ => bad_request("send {\"seconds\": <non-negative number>}"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    bytes_per_second: i64,
}

async fn seeding_rate(
    State(l): State<Arc<Links>>,
    body: Result<Json<RateBody>, axum::extract::rejection::JsonRejection>,
) -> (StatusCode, Json<J>) {
    match body {
        Ok(Json(b)) if b.bytes_per_second > 0 => {
            l.set_seeding_rate(b.bytes_per_second);
            done()
        }
        _ => bad_request("send {\"bytes_per_second\": <positive integer>}"),
    }
}

#[derive(Clone)]
struct WorkloadState {
    server: Arc<Server>,
    workload: Arc<Workload>,
}

pub fn workload_router(server: Arc<Server>) -> Router {
    Router::new()
        .route(
            "/",
            post(start_workload)
                .get(workload_report)
                .delete(stop_workload),
        )
        .with_state(WorkloadState {
            server,
            workload: Arc::default(),
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadBody {
    database: String,
    table: String,
    rows_per_second: f64,
}

async fn start_workload(
    State(w): State<WorkloadState>,
    body: Result<Json<WorkloadBody>, axum::extract::rejection::JsonRejection>,
) -> (StatusCode, Json<J>) {
    let Ok(Json(b)) = body else {
        return bad_request(
            "send {\"database\": \"db\", \"table\": \"t\", \"rows_per_second\": 5}",
        );
    };
    match w
        .workload
        .start(w.server.clone(), &b.database, &b.table, b.rows_per_second)
    {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(json!({ "database": b.database, "table": b.table })),
        ),
        Err(e) => bad_request(&e),
    }
}

async fn workload_report(State(w): State<WorkloadState>) -> (StatusCode, Json<J>) {
    match w.workload.report() {
        Some(r) => (StatusCode::OK, Json(json!(r))),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": { "message": "no workload runs" } })),
        ),
    }
}

async fn stop_workload(State(w): State<WorkloadState>) -> (StatusCode, Json<J>) {
    match w.workload.stop().await {
        Some(r) => (StatusCode::OK, Json(json!(r))),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": { "message": "no workload runs" } })),
        ),
    }
}
