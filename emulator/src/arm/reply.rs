//! ARM's answers: errors in its JSON shape, and 202 Accepted naming an operation to poll.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::Arm;

pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

pub(super) fn with_headers(mut r: Response, headers: &[(&'static str, String)]) -> Response {
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(*k, v);
        }
    }
    r
}

/// 202 Accepted naming the operation to poll in `header` (`Azure-AsyncOperation` or
/// `Location`), as the SQL resource provider answers (methods.md §0.2).
pub(super) fn accepted(arm: &Arm, kind: &str, header: &'static str, id: &str) -> Response {
    let url = format!(
        "{}/subscriptions/{}/providers/Microsoft.Sql/locations/{}/{kind}/{id}?api-version=2023-08-01",
        arm.base, arm.options.subscription, arm.options.location
    );
    let body = if header == "location" {
        StatusCode::ACCEPTED.into_response()
    } else {
        (StatusCode::ACCEPTED, axum::Json(json!({}))).into_response()
    };
    with_headers(body, &[(header, url), ("retry-after", "1".into())])
}

/// 503 while the instance behind the front end is stopped (see `state::InstanceDown`).
pub(super) fn instance_down() -> Response {
    with_headers(
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The managed instance is restarting; retry the request.",
        ),
        &[("retry-after", "1".into())],
    )
}

/// A server error a test asked for: ARM's error shape with a code that names the status.
pub(super) fn server_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status.as_u16() {
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "InternalServerError",
    };
    error(
        status,
        code,
        "The server encountered an error processing the request (injected by ferry-emulator).",
    )
}
