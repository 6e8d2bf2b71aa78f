//! Every request: the checks ARM makes first (token, throttling, `api-version`), then the
//! instance, its databases and the operation URLs handed out.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};

use super::api_version::{self, ApiVersion};
use super::databases::{
    create_database, delete_database, find_database, get_database, list_databases, not_found,
};
use super::lrs;
use super::reply::{error, instance_down, job_error, server_error, unauthorized, with_headers};
use super::restore_details;
use super::state::{Arm, database_names};
use super::target::{self, Miss, OperationKind, Target};

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

/// A fault a test asked for, if one is due: throttling, a server error or a garbled body.
fn injected_fault(arm: &Arm) -> Option<Response> {
    {
        let mut t = arm.throttle.lock();
        if t.0 > 0 {
            t.0 -= 1;
            return Some(with_headers(
                error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "The request is being throttled; retry after the interval in Retry-After.",
                ),
                &[("retry-after", t.1.to_string())],
            ));
        }
    }
    {
        let mut f = arm.fail.lock();
        if f.0 > 0 {
            f.0 -= 1;
            return Some(server_error(f.1));
        }
    }
    arm.garble
        .fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |n| n.checked_sub(1),
        )
        .is_ok()
        .then(|| (StatusCode::OK, "<html><body>502 Bad Gateway</body></html>").into_response())
}

/// An error answer a test asked for (`ArmServer::refuse`), for replies the emulator has no other
/// way to give (a 400 the service documents as transient, say).
fn injected_refusal(arm: &Arm, method: &Method, path: &str) -> Option<Response> {
    let mut r = arm.refuse.lock();
    let f = r.as_mut()?;
    if f.left == 0 || method.as_str() != f.method || !path.contains(f.path.as_str()) {
        return None;
    }
    f.left -= 1;
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST);
    Some(error(
        status,
        &f.code,
        "Injected by ferry-emulator's control API.",
    ))
}

async fn answer(
    arm: Arc<Arm>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    arm.requests
        .lock()
        .push((method.to_string(), uri.to_string()));
    let authorization = headers.get("authorization");
    let bearer = authorization
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| arm.options.tokens.contains(t)) {
        return unauthorized(authorization.is_some());
    }
    if let Some(fault) = injected_fault(&arm) {
        return fault;
    }
    if let Some(refusal) = injected_refusal(&arm, &method, uri.path()) {
        return refusal;
    }
    if let Some(t) = super::dms_target::parse(uri.path(), &arm.options) {
        return super::dms_routes::answer(&arm, &method, t, uri.query(), &body).await;
    }
    if let Some((rg, name)) = super::storage_accounts::parse(uri.path(), &arm.options) {
        return super::storage_accounts::answer(&arm, &method, &rg, &name, uri.query());
    }
    let target = match target::parse(uri.path(), &arm.options) {
        Ok(t) => t,
        Err(miss) => return missing(&arm, &miss, uri.path()),
    };
    let version = match api_version::from_query(uri.query()) {
        Ok(v) => v,
        Err(why) => {
            return api_version::refusal(&why, &arm.options.location, target.resource_type());
        }
    };
    match (method.as_str(), target) {
        ("GET", Target::InstancesOfSubscription | Target::InstancesOfGroup) => {
            axum::Json(json!({ "value": [arm.instance()] })).into_response()
        }
        ("GET", Target::Instance) => axum::Json(arm.instance()).into_response(),
        ("GET", Target::Databases) => list_databases(&arm),
        ("GET", Target::Database(db)) => get_database(&arm, &db),
        ("PUT", Target::Database(db)) => put_database(&arm, &db, &body, version),
        ("DELETE", Target::Database(db)) => delete_database(&arm, &db, version),
        ("GET", Target::RestoreDetails(db, name)) => get_restore_details(&arm, &db, &name, version),
        ("POST", Target::CompleteRestore(db)) => lrs::complete_restore(&arm, &db, &body, version),
        ("POST", Target::TdeCertificates) => {
            super::tde_certificates::upload(&arm, &body, version).await
        }
        ("GET", Target::Operation(kind, id)) => operation_reply(&arm, kind, &id),
        (_, Target::Link(t)) => {
            super::link_routes::answer(&arm, method.clone(), t, &body, version).await
        }
        (m, t) => error(
            StatusCode::BAD_REQUEST,
            "NotSupportedYet",
            &format!("ferry-emulator does not answer {m} on {t:?} yet"),
        ),
    }
}

/// ARM's 404s for a path that names nothing here (learn.microsoft.com, "Resolve errors for
/// resource not found": `SubscriptionNotFound`, `ResourceGroupNotFound`, `ResourceNotFound`).
fn missing(arm: &Arm, miss: &Miss, path: &str) -> Response {
    let (code, message) = match miss {
        Miss::Subscription(s) => (
            "SubscriptionNotFound",
            format!("The subscription '{s}' could not be found."),
        ),
        Miss::ResourceGroup(g) => (
            "ResourceGroupNotFound",
            format!("Resource group '{g}' could not be found."),
        ),
        Miss::Instance(i) => (
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.Sql/managedInstances/{i}' under resource group '{}' was not found.",
                arm.options.resource_group
            ),
        ),
        Miss::Other => (
            "ResourceNotFound",
            format!("The Resource '{path}' was not found."),
        ),
    };
    error(StatusCode::NOT_FOUND, code, &message)
}

fn put_database(arm: &Arc<Arm>, db: &str, body: &[u8], version: ApiVersion) -> Response {
    let v: J = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidDatabaseCreateOrUpdateRequest",
                &format!(
                    "The request body for the create or update database operation is invalid: {e}"
                ),
            );
        }
    };
    match v["properties"]["createMode"].as_str().unwrap_or("Default") {
        "RestoreExternalBackup" => lrs::start_lrs(arm, db, &v["properties"], version),
        "Default" => create_database(arm, db, version),
        mode => error(
            StatusCode::BAD_REQUEST,
            "NotSupportedYet",
            &format!("ferry-emulator does not emulate createMode {mode} yet"),
        ),
    }
}

fn get_restore_details(arm: &Arm, db: &str, name: &str, version: ApiVersion) -> Response {
    // `restoreDetailsName` is an enum of one value, `Default` (ManagedDatabaseRestoreDetails.json).
    if !name.eq_ignore_ascii_case("Default") {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("Restore details '{name}' do not exist; the only name is 'Default'."),
        );
    }
    if let Some(job) = arm.job(db) {
        let id = format!(
            "{}/databases/{}/restoreDetails/current",
            arm.instance_path(),
            job.start.database
        );
        return restore_details::answer(&job, &id, version.shape());
    }
    match database_names(&arm.mi) {
        Err(_) => instance_down(),
        Ok(names) if find_database(&names, db).is_some() => restore_details::expired(),
        Ok(_) => not_found(arm, db),
    }
}

/// The operation URLs handed out: `Azure-AsyncOperation` answers a status body; `Location`
/// answers 202 while running, then 204, or the error with its status.
fn operation_reply(arm: &Arm, kind: OperationKind, id: &str) -> Response {
    if let Some(reply) = super::link_ops::operation_reply(arm, kind, id) {
        return reply;
    }
    let job_step = arm.job_ops.lock().get(id).cloned();
    let status = match &job_step {
        Some((job, step)) => Some(step.status(job)),
        None => arm.operation_status(id),
    };
    let Some(status) = status else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The operation '{id}' was not found."),
        );
    };
    let retry = [("retry-after", "1".to_owned())];
    match (kind, status["status"].as_str()) {
        (OperationKind::AsyncOperation, _) => {
            let mut body = status;
            body["name"] = json!(id);
            with_headers(axum::Json(body).into_response(), &retry)
        }
        (OperationKind::OperationResult, Some("InProgress")) => {
            with_headers(StatusCode::ACCEPTED.into_response(), &retry)
        }
        (OperationKind::OperationResult, Some("Succeeded")) => {
            StatusCode::NO_CONTENT.into_response()
        }
        (OperationKind::OperationResult, _) => match job_step.as_ref().and_then(|(j, _)| j.error())
        {
            Some(e) => job_error(&e),
            None => error(
                StatusCode::BAD_REQUEST,
                status["error"]["code"]
                    .as_str()
                    .unwrap_or("OperationFailed"),
                status["error"]["message"]
                    .as_str()
                    .unwrap_or("the operation failed"),
            ),
        },
    }
}
