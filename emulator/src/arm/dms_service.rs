//! `sqlMigrationServices/{name}` and its actions (sqlmigration.json 2025-06-30:
//! SqlMigrationServices_CreateOrUpdate, _Get, _Delete, _Update, _listAuthKeys,
//! _regenerateAuthKeys, _deleteNode, _listMigrations, _listMonitoringData).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};

use super::dms_state::{DmsOp, Node, Service, new_auth_key};
use super::dms_target::ServiceAction;
use super::reply::{error, with_headers};
use super::state::Arm;

impl Arm {
    pub(super) fn service_id(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DataMigration/sqlMigrationServices/{name}",
            self.options.subscription, self.options.resource_group
        )
    }

    pub(super) fn service_ready(&self, s: &Service) -> bool {
        s.created.elapsed() >= self.options.operation_time
    }

    /// The service as the spec's `SqlMigrationService` shows it.
    pub(super) fn service_json(&self, s: &Service) -> J {
        json!({
            "id": self.service_id(&s.name),
            "name": s.name,
            "type": "Microsoft.DataMigration/sqlMigrationServices",
            "location": s.location,
            "tags": s.tags,
            "properties": {
                "provisioningState": if self.service_ready(s) { "Succeeded" } else { "Provisioning" },
                "integrationRuntimeState": runtime_state(&s.nodes),
            }
        })
    }
}

/// The runtime's state from its nodes. The spec types `integrationRuntimeState` as a string;
/// the values are Azure Data Factory's `IntegrationRuntimeState` (datafactory.json:
/// `NeedRegistration` before any node registers, `Online`, `Offline`; ADF's `Limited` — some
/// nodes offline — is reported as `Online` here since a migration runs on any online node).
pub(super) fn runtime_state(nodes: &[Node]) -> &'static str {
    if nodes.is_empty() {
        "NeedRegistration"
    } else if nodes.iter().any(|n| n.online) {
        "Online"
    } else {
        "Offline"
    }
}

/// ARM's 404 for a service that does not exist.
pub(super) fn service_not_found(arm: &Arm, name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.DataMigration/sqlMigrationServices/{name}' under resource group '{}' was not found.",
            arm.options.resource_group
        ),
    )
}

pub(super) fn get(arm: &Arm, name: &str) -> Response {
    match arm.dms.services.lock().get(&name.to_ascii_lowercase()) {
        Some(s) => axum::Json(arm.service_json(s)).into_response(),
        None => service_not_found(arm, name),
    }
}

/// Every service (the front end has one resource group).
pub(super) fn list(arm: &Arm) -> Response {
    let value: Vec<J> = arm
        .dms
        .services
        .lock()
        .values()
        .map(|s| arm.service_json(s))
        .collect();
    axum::Json(json!({ "value": value })).into_response()
}

/// PUT: 201 with `Azure-AsyncOperation` for a new service (long-running), 200 for an update
/// of an existing one's tags.
pub(super) fn put(arm: &Arc<Arm>, name: &str, body: &[u8], version: &str) -> Response {
    let v: J = serde_json::from_slice(body).unwrap_or(J::Null);
    let Some(location) = v["location"].as_str().filter(|l| !l.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            "An invalid value was provided for parameter 'location'.",
        );
    };
    let tags = if v["tags"].is_object() {
        v["tags"].clone()
    } else {
        json!({})
    };
    let key = name.to_ascii_lowercase();
    let mut services = arm.dms.services.lock();
    if let Some(s) = services.get_mut(&key) {
        s.tags = tags;
        return axum::Json(arm.service_json(s)).into_response();
    }
    let s = Service {
        name: name.to_owned(),
        location: location.to_owned(),
        tags,
        created: std::time::Instant::now(),
        keys: [new_auth_key(name, location), new_auth_key(name, location)],
        nodes: vec![],
    };
    let body = arm.service_json(&s);
    services.insert(key.clone(), s);
    drop(services);
    let op = arm.dms_operation(DmsOp::CreateService(key));
    with_headers(
        (StatusCode::CREATED, axum::Json(body)).into_response(),
        &arm.dms_operation_headers(&op, version),
    )
}

/// PATCH: the spec's `SqlMigrationServiceUpdate` has only `tags`.
pub(super) fn patch(arm: &Arm, name: &str, body: &[u8]) -> Response {
    let v: J = serde_json::from_slice(body).unwrap_or(J::Null);
    let mut services = arm.dms.services.lock();
    let Some(s) = services.get_mut(&name.to_ascii_lowercase()) else {
        return service_not_found(arm, name);
    };
    if v["tags"].is_object() {
        s.tags = v["tags"].clone();
    }
    axum::Json(arm.service_json(s)).into_response()
}

/// DELETE: refused while a migration that runs on the service is still going
/// (`DeleteServiceNotAllowed`, methods.md §3.6); 204 for a service that does not exist.
pub(super) fn delete(arm: &Arm, name: &str) -> Response {
    let key = name.to_ascii_lowercase();
    if !arm.dms.services.lock().contains_key(&key) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let running: Vec<String> = arm
        .dms
        .migrations
        .lock()
        .values()
        .filter(|m| m.service_name.eq_ignore_ascii_case(name) && !m.run.lock().ended())
        .map(|m| m.db.clone())
        .collect();
    if !running.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "DeleteServiceNotAllowed",
            &format!(
                "The SQL migration service '{name}' cannot be deleted while it has migrations in progress ({}). Complete or cancel them first.",
                running.join(", ")
            ),
        );
    }
    arm.dms.services.lock().remove(&key);
    StatusCode::OK.into_response()
}

pub(super) fn action(arm: &Arm, name: &str, action: ServiceAction, body: &[u8]) -> Response {
    let v: J = serde_json::from_slice(body).unwrap_or(J::Null);
    let mut services = arm.dms.services.lock();
    let Some(s) = services.get_mut(&name.to_ascii_lowercase()) else {
        return service_not_found(arm, name);
    };
    match action {
        ServiceAction::ListAuthKeys => {
            axum::Json(json!({ "authKey1": s.keys[0], "authKey2": s.keys[1] })).into_response()
        }
        ServiceAction::RegenerateAuthKeys => {
            let which = match v["keyName"].as_str() {
                Some(k) if k.eq_ignore_ascii_case("authKey1") => 0,
                Some(k) if k.eq_ignore_ascii_case("authKey2") => 1,
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterValue",
                        "An invalid value was provided for parameter 'keyName'.",
                    );
                }
            };
            s.keys[which] = new_auth_key(&s.name, &s.location);
            axum::Json(json!({
                "keyName": if which == 0 { "authKey1" } else { "authKey2" },
                "authKey1": s.keys[0],
                "authKey2": s.keys[1],
            }))
            .into_response()
        }
        ServiceAction::DeleteNode => {
            let node = v["nodeName"].as_str().unwrap_or_default();
            let before = s.nodes.len();
            s.nodes.retain(|n| !n.name.eq_ignore_ascii_case(node));
            if s.nodes.len() == before {
                return error(
                    StatusCode::NOT_FOUND,
                    "ResourceDoesNotExist",
                    &format!(
                        "Resource does not exist: node '{node}' of the integration runtime of '{name}'."
                    ),
                );
            }
            axum::Json(json!({
                "nodeName": node,
                "integrationRuntimeName": v["integrationRuntimeName"].as_str().unwrap_or(&s.name),
            }))
            .into_response()
        }
        ServiceAction::ListMonitoringData => {
            // IntegrationRuntimeMonitoringData / NodeMonitoringData. The numbers are the
            // emulator's: one node runs at most 10 migrations at once as the docs recommend
            // ("~10 concurrent migrations per SHIR node", methods.md §3.6).
            let running = arm
                .dms
                .migrations
                .lock()
                .values()
                .filter(|m| m.service_name.eq_ignore_ascii_case(name) && !m.run.lock().ended())
                .count();
            let nodes: Vec<J> = s
                .nodes
                .iter()
                .map(|n| {
                    json!({
                        "nodeName": n.name,
                        "availableMemoryInMB": 8192,
                        "cpuUtilization": if n.online { 5 } else { 0 },
                        "concurrentJobsLimit": 10,
                        "concurrentJobsRunning": if n.online { running.min(10) } else { 0 },
                        "maxConcurrentJobs": 10,
                        "sentBytes": 0.0,
                        "receivedBytes": 0.0,
                    })
                })
                .collect();
            axum::Json(json!({ "name": s.name, "nodes": nodes })).into_response()
        }
        ServiceAction::ListMigrations => {
            drop(services);
            let list: Vec<J> = arm
                .dms
                .migrations
                .lock()
                .values()
                .filter(|m| m.service_name.eq_ignore_ascii_case(name))
                .map(|m| super::dms_shape::migration_json(arm, m, false))
                .collect();
            axum::Json(json!({ "value": list })).into_response()
        }
    }
}
