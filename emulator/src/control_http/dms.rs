//! The control API of the emulated Database Migration Service (`serve --dms` nests
//! [`dms_router`] under `/dms`): what a self-hosted integration runtime's host does, and
//! what the emulator is told about storage and shares.
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `POST /ir/register` | `{"authKey": "IR@…", "nodeName": "node1"}` | registers a runtime node with a service's current key; answers `{"service": name}` (400 for a key that is no service's current one) |
//! | `POST /ir/nodes/{node}/offline` | | takes the node offline: share migrations wait as `Retriable` (2014) |
//! | `POST /ir/nodes/{node}/online` | | brings it back; they carry on |
//! | `POST /migrations/{db}/details/frozen` | | the migration's `migrationStatusDetails` stay as they are now while it goes on (a lagging monitoring view: `arm::dms_monitor_lag`) |
//! | `POST /migrations/{db}/details/live` | | they follow the migration again |
//! | `POST /ir/upload-time` | `{"milliseconds": 2000}` | each upload takes that long (real time), so a file can be caught `Uploading` |
//! | `POST /shares` | `{"prefix": "\\\\host\\share", "path": "/local/dir"}` | the runtime's host sees the UNC prefix as that folder |
//! | `POST /storage-accounts` | `{"name": "acct", "endpoint": "http://127.0.0.1:10000/acct", "location": "westeurope", "kind": "StorageV2", "tier": "Standard", "resourceGroup": "rg"}` | a storage account DMS can reach (the last segment of `storageAccountResourceId`), also answered by `GET …/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}`; `resourceGroup` is optional (default: the front end's own) |

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done};
use crate::arm::ArmServer;

pub fn dms_router(arm: Arc<ArmServer>) -> Router {
    Router::new()
        .route("/ir/register", post(register))
        .route("/ir/nodes/{node}/{state}", post(node_state))
        .route("/ir/upload-time", post(upload_time))
        .route("/migrations/{db}/details/{view}", post(details_view))
        .route("/shares", post(share))
        .route("/storage-accounts", post(account))
        .with_state(arm)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Register {
    auth_key: String,
    node_name: String,
}

async fn register(State(arm): State<Arc<ArmServer>>, body: Json<J>) -> (StatusCode, Json<J>) {
    let Ok(r) = serde_json::from_value::<Register>(body.0) else {
        return bad_request(r#"send {"authKey": "…", "nodeName": "…"}"#);
    };
    match arm.dms_register_node(&r.auth_key, &r.node_name) {
        Ok(service) => (StatusCode::OK, Json(json!({ "service": service }))),
        Err(why) => bad_request(&why),
    }
}

async fn node_state(
    State(arm): State<Arc<ArmServer>>,
    Path((node, state)): Path<(String, String)>,
) -> (StatusCode, Json<J>) {
    let online = match state.as_str() {
        "online" => true,
        "offline" => false,
        _ => return bad_request("POST …/ir/nodes/{node}/online or …/offline"),
    };
    if arm.dms_node_online(&node, online) {
        done()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(
                json!({ "error": { "message": format!("no runtime node '{node}' is registered") } }),
            ),
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Share {
    prefix: String,
    path: std::path::PathBuf,
}

async fn share(State(arm): State<Arc<ArmServer>>, body: Json<J>) -> (StatusCode, Json<J>) {
    let Ok(s) = serde_json::from_value::<Share>(body.0) else {
        return bad_request(r#"send {"prefix": "\\\\host\\share", "path": "/local/dir"}"#);
    };
    if !s.prefix.starts_with("\\\\") || !s.path.is_dir() {
        return bad_request(
            "prefix must be a UNC path (\\\\host\\share) and path an existing folder",
        );
    }
    arm.dms_share(&s.prefix, s.path);
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Account {
    name: String,
    endpoint: String,
    location: String,
    kind: String,
    tier: String,
    resource_group: Option<String>,
}

async fn account(State(arm): State<Arc<ArmServer>>, body: Json<J>) -> (StatusCode, Json<J>) {
    let Ok(a) = serde_json::from_value::<Account>(body.0) else {
        return bad_request(
            r#"send {"name", "endpoint", "location", "kind" (StorageV2|BlockBlobStorage), "tier" (Standard|Premium), optional "resourceGroup"}"#,
        );
    };
    match &a.resource_group {
        Some(rg) if !rg.trim().is_empty() => {
            arm.dms_storage_account_in(rg, &a.name, &a.endpoint, &a.location, &a.kind, &a.tier);
        }
        Some(_) => return bad_request("resourceGroup, when given, must not be empty"),
        None => arm.dms_storage_account(&a.name, &a.endpoint, &a.location, &a.kind, &a.tier),
    }
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadTime {
    milliseconds: u64,
}

async fn upload_time(State(arm): State<Arc<ArmServer>>, body: Json<J>) -> (StatusCode, Json<J>) {
    let Ok(t) = serde_json::from_value::<UploadTime>(body.0) else {
        return bad_request(r#"send {"milliseconds": 2000}"#);
    };
    arm.dms_upload_time(std::time::Duration::from_millis(t.milliseconds));
    done()
}

async fn details_view(
    State(arm): State<Arc<ArmServer>>,
    Path((db, view)): Path<(String, String)>,
) -> (StatusCode, Json<J>) {
    let frozen = match view.as_str() {
        "frozen" => true,
        "live" => false,
        _ => return bad_request("POST …/migrations/{db}/details/frozen or …/live"),
    };
    if arm.dms_freeze_details(&db, frozen) {
        done()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": { "message": format!("no migration to '{db}'") } })),
        )
    }
}
