//! `{MI}/endpointCertificates` and `…/endpointCertificates/{endpointType}`
//! (EndpointCertificates.json, stable 2025-01-01): the public key of the certificate the MI's
//! endpoint authenticates with, which SQL Server imports under the MI's FQDN ("Configure link
//! with scripts", `Get-AzSqlInstanceEndpointCertificate -EndpointType DATABASE_MIRRORING`).
//!
//! The emulated instance has one such endpoint, DATABASE_MIRRORING (the one the link uses;
//! `sp_get_endpoint_certificate` also knows Service Broker's, which the emulator does not
//! model). Any other type is the spec's `404 ResourceNotFound`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::dag_shape::endpoint_resource;
use super::reply::{error, instance_down};
use super::state::Arm;

fn certificate(arm: &Arm) -> Result<Vec<u8>, Box<Response>> {
    if !arm.mi.is_running() {
        return Err(Box::new(instance_down()));
    }
    let mi = arm.mi.clone();
    tokio::task::block_in_place(|| mi.endpoint_certificate())
        .map(|(der, _)| der)
        .ok_or_else(|| Box::new(instance_down()))
}

pub(super) fn list(arm: &Arm) -> Response {
    match certificate(arm) {
        Ok(der) => axum::Json(json!({ "value": [endpoint_resource(arm, &der)] })).into_response(),
        Err(r) => *r,
    }
}

pub(super) fn get(arm: &Arm, endpoint_type: &str) -> Response {
    if !endpoint_type.eq_ignore_ascii_case("DATABASE_MIRRORING") {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!(
                "The Resource 'Microsoft.Sql/managedInstances/{}/endpointCertificates/{endpoint_type}' under resource group '{}' was not found.",
                arm.options.instance, arm.options.resource_group
            ),
        );
    }
    match certificate(arm) {
        Ok(der) => axum::Json(endpoint_resource(arm, &der)).into_response(),
        Err(r) => *r,
    }
}
