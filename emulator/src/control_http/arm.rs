//! The control API of the ARM front end:
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `GET /requests` | | every request received: method, path and query |
//! | `POST /throttle` | `{"requests": 3, "retry_after_seconds": 2}` | the next requests get 429 with `Retry-After` |
//! | `POST /fail` | `{"requests": 2, "status": 503}` | the next requests get that server error (500–599) in ARM's error shape |
//! | `POST /garble` | `{"requests": 1}` | the next requests get 200 with a body that is not JSON |
//! | `POST /stop` | | stops the front end (jobs pause) |
//! | `POST /restart` | | starts it again on the same port; LRS jobs in flight carry on |

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done, restarted};
use crate::arm::ArmServer;

pub fn arm_router(arm: Arc<ArmServer>) -> Router {
    Router::new()
        .route("/requests", get(requests))
        .route("/throttle", post(throttle))
        .route("/fail", post(fail))
        .route("/garble", post(garble))
        .route("/stop", post(stop))
        .route("/restart", post(restart))
        .with_state(arm)
}

async fn requests(State(arm): State<Arc<ArmServer>>) -> Json<J> {
    let list: Vec<J> = arm
        .requests()
        .into_iter()
        .map(|(method, path)| json!({ "method": method, "path": path }))
        .collect();
    Json(J::Array(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleBody {
    requests: u32,
    retry_after_seconds: u64,
}

async fn throttle(
    State(arm): State<Arc<ArmServer>>,
    Json(b): Json<ThrottleBody>,
) -> (StatusCode, Json<J>) {
    arm.throttle(b.requests, b.retry_after_seconds);
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailBody {
    requests: u32,
    status: u16,
}

async fn fail(State(arm): State<Arc<ArmServer>>, Json(b): Json<FailBody>) -> (StatusCode, Json<J>) {
    if !(500..=599).contains(&b.status) {
        return bad_request("status must be a server error, 500 to 599");
    }
    arm.fail(b.requests, b.status);
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GarbleBody {
    requests: u32,
}

async fn garble(
    State(arm): State<Arc<ArmServer>>,
    Json(b): Json<GarbleBody>,
) -> (StatusCode, Json<J>) {
    arm.garble(b.requests);
    done()
}

async fn stop(State(arm): State<Arc<ArmServer>>) -> (StatusCode, Json<J>) {
    arm.stop().await;
    done()
}

async fn restart(State(arm): State<Arc<ArmServer>>) -> (StatusCode, Json<J>) {
    restarted(arm.restart().await, "the ARM front end")
}
