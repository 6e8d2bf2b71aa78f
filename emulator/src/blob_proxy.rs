//! A fault proxy in front of Azurite: every request is passed on to Azurite as it came (body
//! streamed both ways), except the ones a test asks to fail, which get Azure Storage's own
//! error reply. ferry's blob I/O goes to storage directly, so a blob label pointed at the proxy
//! is how a test (or a rehearsal) meets a storage account that is busy.
//!
//! The errors are Azure Storage's, from "Common REST API error codes" (learn.microsoft.com,
//! rest/api/storageservices/common-rest-api-error-codes): `ServerBusy` is 503 Service
//! Unavailable, "The server is currently unable to receive requests. Please retry your
//! request."; `InternalError` is 500, "The server encountered an internal error. Please retry
//! the request."; `OperationTimedOut` is 500, "The operation could not be completed within the
//! permitted time." The reply carries the code in `x-ms-error-code` and an XML `<Error>` body
//! with `Code` and `Message`, as "Status and error codes" (rest/api/storageservices/
//! status-and-error-codes2) describes.

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An Azure Storage error the proxy can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageError {
    ServerBusy,
    InternalError,
    OperationTimedOut,
}

impl StorageError {
    pub fn parse(code: &str) -> Option<StorageError> {
        match code {
            "ServerBusy" => Some(StorageError::ServerBusy),
            "InternalError" => Some(StorageError::InternalError),
            "OperationTimedOut" => Some(StorageError::OperationTimedOut),
            _ => None,
        }
    }

    fn reply(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            StorageError::ServerBusy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServerBusy",
                "The server is currently unable to receive requests. Please retry your request.",
            ),
            StorageError::InternalError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The server encountered an internal error. Please retry the request.",
            ),
            StorageError::OperationTimedOut => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "OperationTimedOut",
                "The operation could not be completed within the permitted time.",
            ),
        }
    }
}

/// Fail the next `remaining` requests whose method is `method` (any when None) and whose path
/// contains `path` (case-sensitive, as blob names are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobFault {
    pub method: Option<Method>,
    pub path: String,
    pub remaining: u32,
    pub error: StorageError,
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    faults: Mutex<Vec<BlobFault>>,
    /// Every request: (method, path and query, status answered).
    requests: Mutex<Vec<(String, String, u16)>>,
}

/// A running proxy, stopped when dropped.
pub struct BlobFaultProxy {
    pub addr: SocketAddr,
    proxy: Arc<Proxy>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BlobFaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BlobFaultProxy {
    /// Listens on `addr` (port 0 for any free one) and passes requests on to the Azurite at
    /// `upstream`.
    pub async fn start(addr: SocketAddr, upstream: SocketAddr) -> anyhow::Result<BlobFaultProxy> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // No redirects followed and no decompression: the client sees Azurite's reply as is.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_deflate()
            .build()?;
        let proxy = Arc::new(Proxy {
            upstream: format!("http://{upstream}"),
            client,
            faults: Mutex::default(),
            requests: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(proxy.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(BlobFaultProxy { addr, proxy, task })
    }

    /// The account's blob endpoint through the proxy, path-style like Azurite's.
    pub fn endpoint(&self) -> String {
        format!("http://{}/{}", self.addr, crate::azurite::ACCOUNT)
    }

    /// A container's URL through the proxy.
    pub fn container_url(&self, container: &str) -> String {
        format!("{}/{container}", self.endpoint())
    }

    /// Adds a fault; faults are matched in the order added.
    pub fn fail(&self, fault: BlobFault) {
        self.proxy.faults.lock().push(fault);
    }

    /// The next `n` requests with `method` (any when None) whose path contains `path` get 503
    /// `ServerBusy`.
    pub fn busy(&self, n: u32, method: Option<Method>, path: &str) {
        self.fail(BlobFault {
            method,
            path: path.to_owned(),
            remaining: n,
            error: StorageError::ServerBusy,
        });
    }

    pub fn clear_faults(&self) {
        self.proxy.faults.lock().clear();
    }

    /// Every request so far: method, path and query, and the status answered.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        self.proxy.requests.lock().clone()
    }
}

/// The fault for a request, using up one of its times.
fn take_fault(proxy: &Proxy, method: &Method, path: &str) -> Option<StorageError> {
    let mut faults = proxy.faults.lock();
    let i = faults.iter().position(|f| {
        f.remaining > 0 && f.method.as_ref().is_none_or(|m| m == method) && path.contains(&f.path)
    })?;
    faults[i].remaining -= 1;
    let error = faults[i].error;
    if faults[i].remaining == 0 {
        faults.remove(i);
    }
    Some(error)
}

/// Headers that belong to one hop, not to the request or reply passed on (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 4] = [
    header::CONNECTION,
    header::HOST,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let response = match take_fault(&proxy, &method, request.uri().path()) {
        Some(error) => storage_error(error, &method),
        None => pass_on(&proxy, request, &target).await,
    };
    proxy
        .requests
        .lock()
        .push((method.to_string(), target, response.status().as_u16()));
    response
}

async fn pass_on(proxy: &Proxy, request: Request, target: &str) -> Response {
    let (parts, body) = request.into_parts();
    let mut upstream = proxy
        .client
        .request(parts.method, format!("{}{target}", proxy.upstream))
        .body(reqwest::Body::wrap_stream(body.into_data_stream()));
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(name) {
            upstream = upstream.header(name, value);
        }
    }
    match upstream.send().await {
        Ok(reply) => {
            let mut out = Response::builder().status(reply.status());
            for (name, value) in reply.headers() {
                if !HOP_BY_HOP.contains(name) {
                    out = out.header(name, value);
                }
            }
            out.body(Body::from_stream(reply.bytes_stream()))
                .unwrap_or_else(|e| {
                    (
                        StatusCode::BAD_GATEWAY,
                        format!("ferry-emulator proxy: {e}"),
                    )
                        .into_response()
                })
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("ferry-emulator proxy: Azurite did not answer: {e}"),
        )
            .into_response(),
    }
}

/// Azure Storage's error reply: status, `x-ms-error-code`, and the XML body (none for HEAD).
fn storage_error(error: StorageError, method: &Method) -> Response {
    let (status, code, message) = error.reply();
    let request_id = crate::instance::guid_text(&crate::instance::unique_bytes("blob-proxy", 16));
    let body = if method == Method::HEAD {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\nRequestId:{request_id}</Message></Error>"
        )
    };
    (
        status,
        [
            ("x-ms-error-code", code.to_owned()),
            ("x-ms-request-id", request_id),
            ("content-type", "application/xml".to_owned()),
        ],
        body,
    )
        .into_response()
}
