//! Every request: the checks ARM makes first (token, throttling, `api-version`), then the
//! instance, its databases and the operation URLs handed out.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};

use super::lrs;
use super::operation::Work;
use super::reply::{accepted, error, instance_down, server_error, with_headers};
use super::state::{Arm, database_names};

pub(super) async fn handle(
    State(arm): State<Arc<Arm>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let hold = {
        let mut hold = arm.hold.lock();
        match hold.as_ref() {
            Some((m, p, d)) if method.as_str() == m && uri.path().contains(p.as_str()) => {
                let d = *d;
                *hold = None;
                Some(d)
            }
            _ => None,
        }
    };
    let reply = answer(arm, method, uri, headers, body).await;
    if let Some(d) = hold {
        tokio::time::sleep(d).await;
    }
    reply
}

async fn answer(
    arm: Arc<Arm>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_owned();
    arm.requests
        .lock()
        .push((method.to_string(), uri.to_string()));
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| arm.options.tokens.contains(t)) {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing or its token is not valid.",
        );
    }
    {
        let mut t = arm.throttle.lock();
        if t.0 > 0 {
            t.0 -= 1;
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "The request is being throttled; retry after the interval in Retry-After.",
            );
            if let Ok(v) = t.1.to_string().parse() {
                r.headers_mut().insert("retry-after", v);
            }
            return r;
        }
    }
    {
        let mut f = arm.fail.lock();
        if f.0 > 0 {
            f.0 -= 1;
            return server_error(f.1);
        }
    }
    {
        let mut r = arm.refuse.lock();
        if let Some(f) = r.as_mut()
            && f.left > 0
            && method.as_str() == f.method
            && path.contains(f.path.as_str())
        {
            f.left -= 1;
            let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST);
            return error(status, &f.code, "Injected by ferry-emulator's control API.");
        }
    }
    if arm
        .garble
        .fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |n| n.checked_sub(1),
        )
        .is_ok()
    {
        return (StatusCode::OK, "<html><body>502 Bad Gateway</body></html>").into_response();
    }
    if !uri.query().unwrap_or_default().contains("api-version=") {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    let loc_prefix = format!(
        "/subscriptions/{}/providers/Microsoft.Sql/locations/{}/",
        arm.options.subscription, arm.options.location
    );
    if let Some(rest) = path.strip_prefix(&loc_prefix) {
        return operation_reply(&arm, rest);
    }
    let Some(rest) = path.strip_prefix(&arm.instance_path()) else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The Resource '{path}' was not found."),
        );
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", []) => axum::Json(json!({
            "id": arm.instance_path(),
            "name": arm.options.instance,
            "type": "Microsoft.Sql/managedInstances",
            "location": arm.options.location,
            "properties": { "state": "Ready", "fullyQualifiedDomainName": format!("{}.emulated.database.windows.net", arm.options.instance) }
        }))
        .into_response(),
        ("GET", ["databases"]) => {
            let Ok(names) = database_names(&arm.mi) else {
                return instance_down();
            };
            let value: Vec<J> = names
                .iter()
                .map(|(n, s)| arm.database(n, s))
                .collect();
            axum::Json(json!({ "value": value })).into_response()
        }
        ("GET", ["databases", db]) if arm.job(db).is_some_and(|j| j.details().status != "Completed") => {
            axum::Json(arm.database(db, "RESTORING")).into_response()
        }
        ("GET", ["databases", db, "restoreDetails", "Default"]) => match arm.job(db) {
            Some(j) => axum::Json(j.restore_details(&format!("{}/databases/{db}/restoreDetails/Default", arm.instance_path()))).into_response(),
            None => error(StatusCode::NOT_FOUND, "RestoreDetailsNotAvailableOrExpired", &format!("No restore details are available for database '{db}'.")),
        },
        ("POST", ["databases", db, "completeRestore"]) => lrs::complete_restore(&arm, db, &body),
        ("GET", ["databases", db]) => match database_names(&arm.mi).map(|names| names.into_iter().find(|(n, _)| n == db)) {
            Err(_) => instance_down(),
            Ok(Some((n, s))) => axum::Json(arm.database(&n, &s)).into_response(),
            Ok(None) => error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!("The Resource 'Microsoft.Sql/managedInstances/{}/databases/{db}' under resource group '{}' was not found.", arm.options.instance, arm.options.resource_group),
            ),
        },
        ("PUT", ["databases", db]) => put_database(&arm, db, &body),
        ("DELETE", ["databases", db]) => delete_database(&arm, db),
        _ => error(
            StatusCode::BAD_REQUEST,
            "NotSupportedYet",
            &format!("ferry-emulator does not answer {method} {rest} yet"),
        ),
    }
}

fn put_database(arm: &Arc<Arm>, db: &str, body: &[u8]) -> Response {
    let v: J = serde_json::from_slice(body).unwrap_or_default();
    let mode = v["properties"]["createMode"].as_str().unwrap_or("Default");
    if mode == "RestoreExternalBackup" {
        return lrs::start_lrs(arm, db, &v["properties"]);
    }
    if mode != "Default" {
        return error(
            StatusCode::BAD_REQUEST,
            "NotSupportedYet",
            &format!("ferry-emulator does not emulate createMode {mode} yet"),
        );
    }
    let Ok(names) = database_names(&arm.mi) else {
        return instance_down();
    };
    if names.iter().any(|(n, _)| n == db) {
        return axum::Json(arm.database(db, "ONLINE")).into_response();
    }
    let id = arm.operation(Work::CreateDatabase(db.to_owned()));
    accepted(
        arm,
        "managedDatabaseAzureAsyncOperation",
        "azure-asyncoperation",
        &id,
    )
}

fn delete_database(arm: &Arc<Arm>, db: &str) -> Response {
    // Stopping LRS is deleting its database (methods.md §2.6); the job ends with it.
    let Ok(names) = database_names(&arm.mi) else {
        return instance_down();
    };
    if let Some(job) = arm.jobs.lock().remove(&db.to_ascii_lowercase()) {
        job.cancelled
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    arm.save();
    if !names.iter().any(|(n, _)| n == db) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let id = arm.operation(Work::DropDatabase(db.to_owned()));
    accepted(arm, "managedDatabaseOperationResults", "location", &id)
}

/// The operation URLs handed out above: `Azure-AsyncOperation` answers a status body;
/// `Location` answers 202 while running and 204 (or the error) at the end.
fn operation_reply(arm: &Arm, rest: &str) -> Response {
    let (kind, id) = rest.split_once('/').unwrap_or((rest, ""));
    let lrs = arm.job_ops.lock().get(id).cloned();
    if let Some(job) = lrs {
        let d = job.details();
        let status = match (d.status.as_str(), &d.error) {
            ("Completed", _) => json!({ "status": "Succeeded" }),
            (_, Some((code, message))) => {
                json!({ "status": "Failed", "error": { "code": code, "message": message } })
            }
            _ => json!({ "status": "InProgress" }),
        };
        arm.operations.lock().insert(
            id.to_owned(),
            super::operation::Operation { status, work: None },
        );
    }
    let Some(status) = arm.operation_status(id) else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "No such operation.",
        );
    };
    let running = status["status"] == "InProgress";
    match kind {
        "managedDatabaseAzureAsyncOperation" => with_headers(
            axum::Json(status).into_response(),
            &[("retry-after", "1".into())],
        ),
        "managedDatabaseOperationResults" if running => with_headers(
            StatusCode::ACCEPTED.into_response(),
            &[("retry-after", "1".into())],
        ),
        "managedDatabaseOperationResults" if status["status"] == "Succeeded" => {
            StatusCode::NO_CONTENT.into_response()
        }
        "managedDatabaseOperationResults" => error(
            StatusCode::BAD_REQUEST,
            status["error"]["code"]
                .as_str()
                .unwrap_or("OperationFailed"),
            status["error"]["message"]
                .as_str()
                .unwrap_or("the operation failed"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "No such operation.",
        ),
    }
}
