//! ARM's answers: errors in its JSON shape (common-types `ErrorResponse`: `code`, `message`,
//! `additionalInfo`) and 401 with its challenge.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::lrs::details::JobError;

pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// The `additionalInfo` type that marks a code as ferry-emulator's own: Microsoft documents
/// the rule but no error code for breaking it, so a client must not take the code for
/// Azure's.
pub const GUESS_INFO_TYPE: &str = "FerryEmulatorGuessedCode";

/// An error whose code no Microsoft document gives, marked as such in `additionalInfo`.
pub(super) fn guessed_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": {
        "code": code,
        "message": message,
        "additionalInfo": [{
            "type": GUESS_INFO_TYPE,
            "info": { "note": "Microsoft documents this rule but no error code for it; this code is ferry-emulator's own" },
        }],
    }});
    (status, axum::Json(body)).into_response()
}

/// How a failed LRS job answers `restoreDetails` and its operations: 400 with its code (the
/// specs list every LRS code as a 400).
pub(super) fn job_error(e: &JobError) -> Response {
    if e.guessed {
        guessed_error(StatusCode::BAD_REQUEST, &e.code, &e.message)
    } else {
        error(StatusCode::BAD_REQUEST, &e.code, &e.message)
    }
}

/// 401 for a request without a valid bearer token. ARM answers `AuthenticationFailed` when the
/// `Authorization` header is missing and `InvalidAuthenticationToken` when its token is not
/// accepted, with a `WWW-Authenticate: Bearer` challenge naming the error (RFC 6750 §3;
/// learn.microsoft.com, Microsoft identity platform "Claims challenges": resource APIs answer
/// 401 with `WWW-Authenticate: Bearer authorization_uri=…, error=…`).
pub(super) fn unauthorized(header_present: bool) -> Response {
    let (code, message) = if header_present {
        ("InvalidAuthenticationToken", "The access token is invalid.")
    } else {
        (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    };
    let challenge = format!(
        "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", \
         error=\"invalid_token\", error_description=\"{message}\""
    );
    with_headers(
        error(StatusCode::UNAUTHORIZED, code, message),
        &[("www-authenticate", challenge)],
    )
}

pub(super) fn with_headers(mut r: Response, headers: &[(&'static str, String)]) -> Response {
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(*k, v);
        }
    }
    r
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
