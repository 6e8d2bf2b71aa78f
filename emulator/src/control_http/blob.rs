//! The control API of the blob fault proxy:
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `GET /requests` | | every request: method, path and query, status answered |
//! | `POST /faults` | `{"requests": 2, "method": "PUT", "path": "/SalesDb/"}`, optional `"error"`: `ServerBusy` (the default, 503), `InternalError` or `OperationTimedOut` (500) | the next matching requests get that Azure Storage error |
//! | `DELETE /faults` | | removes every fault |

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done};
use crate::blob_proxy::{BlobFault, BlobFaultProxy, StorageError};

pub fn blob_router(proxy: Arc<BlobFaultProxy>) -> Router {
    Router::new()
        .route("/requests", get(requests))
        .route(
            "/faults",
            axum::routing::post(add_fault).delete(clear_faults),
        )
        .with_state(proxy)
}

async fn requests(State(p): State<Arc<BlobFaultProxy>>) -> Json<J> {
    let list: Vec<J> = p
        .requests()
        .into_iter()
        .map(|(method, path, status)| json!({ "method": method, "path": path, "status": status }))
        .collect();
    Json(J::Array(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    requests: u32,
    method: Option<String>,
    #[serde(default)]
    path: String,
    error: Option<String>,
}

async fn add_fault(
    State(p): State<Arc<BlobFaultProxy>>,
    Json(b): Json<FaultBody>,
) -> (StatusCode, Json<J>) {
    let method = match b.method.as_deref().map(|m| m.to_ascii_uppercase()) {
        None => None,
        Some(m) => match Method::from_bytes(m.as_bytes()) {
            Ok(m) => Some(m),
            Err(_) => return bad_request("`method` must be an HTTP method such as PUT or GET"),
        },
    };
    let error = match b.error.as_deref() {
        None => StorageError::ServerBusy,
        Some(code) => match StorageError::parse(code) {
            Some(e) => e,
            None => {
                return bad_request("`error` is ServerBusy, InternalError or OperationTimedOut");
            }
        },
    };
    p.fail(BlobFault {
        method,
        path: b.path,
        remaining: b.requests,
        error,
    });
    done()
}

async fn clear_faults(State(p): State<Arc<BlobFaultProxy>>) -> (StatusCode, Json<J>) {
    p.clear_faults();
    done()
}
