//! 202 Accepted for a long-running operation, and the operation URLs it names.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::api_version::ApiVersion;
use super::reply::with_headers;
use super::state::Arm;
use super::target::OperationKind;

/// An operation's URL, carrying the api-version the request that started it was made with.
pub(super) fn operation_url(arm: &Arm, segment: &str, id: &str, version: ApiVersion) -> String {
    format!(
        "{}/subscriptions/{}/providers/Microsoft.Sql/locations/{}/{segment}/{id}?api-version={}",
        arm.base,
        arm.options.subscription,
        arm.options.location,
        version.as_str()
    )
}

/// 202 Accepted for a long-running operation. The specs declare `Location` on the 202 of
/// each managed-database operation (ManagedDatabases.json: PUT, DELETE, completeRestore); the
/// SQL resource provider also sends `Azure-AsyncOperation`, as ARM's asynchronous-operation
/// pattern allows (learn.microsoft.com, "Track asynchronous Azure operations"), and a client
/// may follow either.
pub(super) fn accepted(arm: &Arm, id: &str, version: ApiVersion) -> Response {
    accepted_at(arm, id, version, OperationKind::segment)
}

/// 202 Accepted whose operation URLs use the segments `segment` names.
pub(super) fn accepted_at(
    arm: &Arm,
    id: &str,
    version: ApiVersion,
    segment: fn(OperationKind) -> &'static str,
) -> Response {
    with_headers(
        StatusCode::ACCEPTED.into_response(),
        &[
            (
                "azure-asyncoperation",
                operation_url(arm, segment(OperationKind::AsyncOperation), id, version),
            ),
            (
                "location",
                operation_url(arm, segment(OperationKind::OperationResult), id, version),
            ),
            ("retry-after", "1".into()),
        ],
    )
}
