//! `GET` / `PUT /entra-directory`: the emulated Microsoft Entra directory of one server
//! (instance/entra.rs), which MI's `CREATE LOGIN … FROM EXTERNAL PROVIDER` and
//! `CREATE USER … FROM EXTERNAL PROVIDER` resolve names in.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done};
use crate::server::Server;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DirectoryBody {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

pub(super) async fn get_directory(State(s): State<Arc<Server>>) -> (StatusCode, Json<J>) {
    match s.entra_directory() {
        Ok((users, groups)) => (
            StatusCode::OK,
            Json(json!({ "users": users, "groups": groups })),
        ),
        Err(e) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": { "message": e.text } })),
        ),
    }
}

pub(super) async fn put_directory(
    State(s): State<Arc<Server>>,
    Json(b): Json<DirectoryBody>,
) -> (StatusCode, Json<J>) {
    if b.users.iter().chain(&b.groups).any(|n| n.trim().is_empty()) {
        return bad_request("a directory name is empty");
    }
    match s.set_entra_directory(&b.users, &b.groups) {
        Ok(()) => done(),
        Err(e) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": { "message": e.text } })),
        ),
    }
}
