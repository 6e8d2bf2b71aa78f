//! The control API's plain answers.

use axum::Json;
use axum::http::StatusCode;
use serde_json::{Value as J, json};

/// 400 with a message saying what to send instead.
pub(super) fn bad_request(message: &str) -> (StatusCode, Json<J>) {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": { "message": message } })),
    )
}

/// 204: done, nothing to say.
pub(super) fn done() -> (StatusCode, Json<J>) {
    (StatusCode::NO_CONTENT, Json(J::Null))
}

/// 204 when `what` came back from a restart, 500 saying why not.
pub(super) fn restarted(result: std::io::Result<()>, what: &str) -> (StatusCode, Json<J>) {
    match result {
        Ok(()) => done(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": { "message": format!("{what} did not come back: {e}") } })),
        ),
    }
}
