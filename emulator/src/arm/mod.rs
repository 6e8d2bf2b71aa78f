//! The Azure Resource Manager front end of the emulated Managed Instance: ARM shapes for the
//! instance and its databases over HTTP on loopback, backed by the MI's own catalog, so a
//! database created or deleted here appears or disappears on the TDS side (methods.md §0.2,
//! §7.3).
//!
//! Answered: `GET {MI}`, `GET {MI}/databases`, `GET|PUT|DELETE {MI}/databases/{db}` (PUT
//! with `createMode: Default` creates an empty database), the operation URLs they hand out
//! (`Azure-AsyncOperation` for PUT, `Location` for DELETE, with `Retry-After`), a bearer token
//! check, `api-version` required, and injectable throttling (429 with `Retry-After`).
//! `createMode: RestoreExternalBackup` starts a Log Replay Service job ([`crate::lrs`]),
//! watched through `restoreDetails/Default` and finished by `completeRestore`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};

use crate::server::Server;
use crate::sql::Outcome;

mod lrs;

/// Which instance the front end is, and who may call it.
#[derive(Clone)]
pub struct ArmOptions {
    pub subscription: String,
    pub resource_group: String,
    pub instance: String,
    pub location: String,
    /// Bearer tokens accepted.
    pub tokens: HashSet<String>,
    /// How long (real time) an operation takes before it reports its end.
    pub operation_time: Duration,
}

impl ArmOptions {
    /// Instance `instance` in subscription `s1`, resource group `rg`, West Europe, accepting
    /// one token, operations taking 200 ms: what tests and rehearsals usually want.
    pub fn local(instance: &str, token: &str) -> Self {
        ArmOptions {
            subscription: "s1".into(),
            resource_group: "rg".into(),
            instance: instance.into(),
            location: "westeurope".into(),
            tokens: HashSet::from([token.to_owned()]),
            operation_time: Duration::from_millis(200),
        }
    }
}

/// A running front end.
pub struct ArmServer {
    pub addr: SocketAddr,
    state: Arc<Arm>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ArmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Arm {
    mi: Arc<Server>,
    options: ArmOptions,
    base: String,
    /// Requests still to refuse with 429, and the `Retry-After` to send.
    throttle: Mutex<(u32, u64)>,
    /// Requests still to answer 200 with a body that is not JSON (a broken proxy, say).
    garble: std::sync::atomic::AtomicU32,
    /// Every request: (method, path and query).
    requests: Mutex<Vec<(String, String)>>,
    /// Operation id → when it ends and what it did.
    operations: Mutex<HashMap<String, (std::time::Instant, J)>>,
    next_op: std::sync::atomic::AtomicU64,
    /// LRS jobs by database name (lower case), and their operation ids.
    jobs: Mutex<HashMap<String, Arc<crate::lrs::job::Job>>>,
    job_ops: Mutex<HashMap<String, Arc<crate::lrs::job::Job>>>,
    /// Restores from external backup the instance runs at once before it refuses more.
    restore_limit: std::sync::atomic::AtomicUsize,
    /// Containers the instance's managed identity may read (its role assignments), with the
    /// account and key the emulator reads them with in its place.
    identity_grants: Mutex<HashMap<String, (String, String)>>,
}

impl ArmServer {
    /// Serves ARM for `mi` on `addr` (port 0 for any free one).
    pub async fn start(
        addr: SocketAddr,
        mi: Arc<Server>,
        options: ArmOptions,
    ) -> std::io::Result<ArmServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Arm {
            mi,
            base: format!("http://{addr}"),
            options,
            throttle: Mutex::new((0, 0)),
            garble: 0.into(),
            requests: Mutex::default(),
            operations: Mutex::default(),
            next_op: 0.into(),
            jobs: Mutex::default(),
            job_ops: Mutex::default(),
            restore_limit: lrs::MAX_CONCURRENT_RESTORES.into(),
            identity_grants: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ArmServer { addr, state, task })
    }

    /// The endpoint a client's azure label names.
    pub fn endpoint(&self) -> String {
        self.state.base.clone()
    }

    /// The next `n` requests get 429 with `Retry-After: retry_after_secs`.
    pub fn throttle(&self, n: u32, retry_after_secs: u64) {
        *self
            .state
            .throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = (n, retry_after_secs);
    }

    /// The next `n` requests get 200 with an HTML body instead of ARM's JSON.
    pub fn garble(&self, n: u32) {
        self.state
            .garble
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Lowers the concurrent-restore limit (100, as MI's) so a test can reach it without
    /// starting a hundred jobs.
    pub fn limit_restores(&self, n: usize) {
        self.state
            .restore_limit
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Gives the instance's managed identity read access to a container (a "Storage Blob
    /// Data Reader" role assignment); the emulator reads it with `account` and `key`.
    pub fn grant_managed_identity(&self, container_url: &str, account: &str, key: &str) {
        self.state
            .identity_grants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                container_url.trim_end_matches('/').to_owned(),
                (account.to_owned(), key.to_owned()),
            );
    }

    /// Every request received: (method, path and query).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn database_names(mi: &Server) -> Vec<(String, String)> {
    let sql = "SELECT name, state_desc FROM sys.databases WHERE database_id > 4";
    let out = tokio::task::block_in_place(|| mi.run_sql(sql)).unwrap_or_default();
    out.into_iter()
        .filter_map(|o| match o {
            Outcome::Rows { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .map(|r| {
            let t = |i: usize| {
                r.get(i)
                    .map(crate::protocol::types::text)
                    .unwrap_or_default()
            };
            (t(0), t(1))
        })
        .collect()
}

impl Arm {
    fn instance_path(&self) -> String {
        let o = &self.options;
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/managedInstances/{}",
            o.subscription, o.resource_group, o.instance
        )
    }

    fn database(&self, name: &str, state: &str) -> J {
        json!({
            "id": format!("{}/databases/{name}", self.instance_path()),
            "name": name,
            "type": "Microsoft.Sql/managedInstances/databases",
            "location": self.options.location,
            "properties": {
                // ARM's status names for the catalog's states (ManagedDatabases.json).
                "status": match state {
                    "ONLINE" => "Online",
                    "RESTORING" => "Restoring",
                    "OFFLINE" => "Offline",
                    other => other,
                },
                "collation": "SQL_Latin1_General_CP1_CI_AS",
            }
        })
    }

    /// Starts an operation that ends after `operation_time`, doing `work` then; returns its id.
    fn operation(self: &Arc<Self>, work: impl FnOnce(&Server) -> J + Send + 'static) -> String {
        let n = self
            .next_op
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let ends = std::time::Instant::now() + self.options.operation_time;
        self.operations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), (ends, json!({ "status": "InProgress" })));
        let me = self.clone();
        let op = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(me.options.operation_time).await;
            let result = tokio::task::block_in_place(|| work(&me.mi));
            me.operations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(op, (ends, result));
        });
        id
    }

    fn operation_status(&self, id: &str) -> Option<J> {
        self.operations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|(_, s)| s.clone())
    }
}

async fn handle(
    State(arm): State<Arc<Arm>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_owned();
    arm.requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
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
        let mut t = arm.throttle.lock().unwrap_or_else(|e| e.into_inner());
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
            let value: Vec<J> = database_names(&arm.mi)
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
        ("GET", ["databases", db]) => match database_names(&arm.mi).iter().find(|(n, _)| n == db) {
            Some((n, s)) => axum::Json(arm.database(n, s)).into_response(),
            None => error(
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

fn with_headers(mut r: Response, headers: &[(&'static str, String)]) -> Response {
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(*k, v);
        }
    }
    r
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
    if database_names(&arm.mi).iter().any(|(n, _)| n == db) {
        return axum::Json(arm.database(db, "ONLINE")).into_response();
    }
    let name = db.replace(']', "]]");
    let id = arm.operation(move |mi| match mi.run_sql(&format!("CREATE DATABASE [{name}]")) {
        Ok(_) => json!({ "status": "Succeeded" }),
        Err(e) => json!({ "status": "Failed", "error": { "code": "DatabaseCreateFailed", "message": e.text } }),
    });
    accepted(
        arm,
        "managedDatabaseAzureAsyncOperation",
        "azure-asyncoperation",
        &id,
    )
}

fn delete_database(arm: &Arc<Arm>, db: &str) -> Response {
    // Stopping LRS is deleting its database (methods.md §2.6); the job ends with it.
    if let Some(job) = arm
        .jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&db.to_ascii_lowercase())
    {
        job.cancelled
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if !database_names(&arm.mi).iter().any(|(n, _)| n == db) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let name = db.replace(']', "]]");
    let id = arm.operation(move |mi| match mi.run_sql(&format!("DROP DATABASE [{name}]")) {
        Ok(_) => json!({ "status": "Succeeded" }),
        Err(e) => json!({ "status": "Failed", "error": { "code": "DatabaseDeleteFailed", "message": e.text } }),
    });
    accepted(arm, "managedDatabaseOperationResults", "location", &id)
}

/// The operation URLs handed out above: `Azure-AsyncOperation` answers a status body;
/// `Location` answers 202 while running and 204 (or the error) at the end.
fn operation_reply(arm: &Arm, rest: &str) -> Response {
    let (kind, id) = rest.split_once('/').unwrap_or((rest, ""));
    let lrs = arm
        .job_ops
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned();
    if let Some(job) = lrs {
        let d = job.details();
        let status = match (d.status.as_str(), &d.error) {
            ("Completed", _) => json!({ "status": "Succeeded" }),
            (_, Some((code, message))) => {
                json!({ "status": "Failed", "error": { "code": code, "message": message } })
            }
            _ => json!({ "status": "InProgress" }),
        };
        arm.operations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), (std::time::Instant::now(), status));
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

/// 202 Accepted naming the operation to poll in `header` (`Azure-AsyncOperation` or
/// `Location`), as the SQL resource provider answers (methods.md §0.2).
fn accepted(arm: &Arm, kind: &str, header: &'static str, id: &str) -> Response {
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
