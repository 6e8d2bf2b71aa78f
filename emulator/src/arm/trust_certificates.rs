//! `{MI}/serverTrustCertificates` (ServerTrustCertificates.json, stable 2025-01-01): SQL
//! Server's endpoint certificate (public part) uploaded to the MI, the trust the link's
//! SQL Server → MI connection needs ("Configure link with scripts": `New-AzSqlInstanceServerTrustCertificate
//! -PublicKey 0x…`, the CERTENCODED of SQL Server's certificate).
//!
//! `PUT` is a long-running operation (200 "Certificate already existed.", 201, or 202 with
//! `Location`). Its body is checked at once and refused with the spec's codes: `400
//! MissingPublicBlob - The public blob is missing.`, `400 InvalidPublicBlob - Invalid public
//! blob specified, reason: '{0}'.`, `400 CertificateAlreadyExists - A certificate with a given
//! name already exists or this certificate already has been added to the database.`.
//! `publicBlob` is hex; the docs pass it with `0x` (PowerShell) and the spec's create example
//! without, so both are read. `DELETE` answers 204 for a certificate that does not exist (the
//! spec's "Certificate resource not found."), else 202.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};

use super::accepted::accepted_at;
use super::api_version::ApiVersion;
use super::dag_shape::trust_resource;
use super::link_work::{LinkResult, LinkWork};
use super::reply::error;
use super::state::Arm;
use super::target::OperationKind;
use crate::hadr::link::Links;

fn not_found(arm: &Arm, name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.Sql/managedInstances/{}/serverTrustCertificates/{name}' under resource group '{}' was not found.",
            arm.options.instance, arm.options.resource_group
        ),
    )
}

pub(super) fn list(arm: &Arm, links: &Links) -> Response {
    let value: Vec<J> = links
        .trust_certificates()
        .iter()
        .map(|c| trust_resource(arm, c))
        .collect();
    axum::Json(json!({ "value": value })).into_response()
}

pub(super) fn get(arm: &Arm, links: &Links, name: &str) -> Response {
    match links.trust_certificate(name) {
        Some(c) => axum::Json(trust_resource(arm, &c)).into_response(),
        None => not_found(arm, name),
    }
}

fn invalid(reason: &str) -> Box<Response> {
    Box::new(error(
        StatusCode::BAD_REQUEST,
        "InvalidPublicBlob",
        &format!("Invalid public blob specified, reason: '{reason}'."),
    ))
}

/// The DER of a body's `publicBlob`, or the answer refusing it.
fn read_blob(body: &[u8]) -> Result<Vec<u8>, Box<Response>> {
    let missing = || {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "MissingPublicBlob",
            "The public blob is missing.",
        ))
    };
    let v: J =
        serde_json::from_slice(body).map_err(|e| invalid(&format!("the body is not JSON: {e}")))?;
    let blob = match v.get("properties").and_then(|p| p.get("publicBlob")) {
        None | Some(J::Null) => return Err(missing()),
        Some(J::String(s)) if s.trim().is_empty() => return Err(missing()),
        Some(J::String(s)) => s.trim(),
        Some(other) => {
            return Err(invalid(&format!(
                "publicBlob must be a string, not {other}"
            )));
        }
    };
    let digits = blob
        .strip_prefix("0x")
        .or_else(|| blob.strip_prefix("0X"))
        .unwrap_or(blob);
    if digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            "publicBlob is not hexadecimal bytes (0x… as CERTENCODED shows them)",
        ));
    }
    let der: Vec<u8> = (0..digits.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect();
    if let Err(e) = x509_parser::parse_x509_certificate(&der) {
        return Err(invalid(&format!(
            "publicBlob is not an X.509 certificate: {e}"
        )));
    }
    Ok(der)
}

pub(super) fn put(
    arm: &Arc<Arm>,
    links: &Links,
    name: &str,
    body: &[u8],
    version: ApiVersion,
) -> Response {
    let der = match read_blob(body) {
        Ok(d) => d,
        Err(refusal) => return *refusal,
    };
    let exists = || {
        error(
            StatusCode::BAD_REQUEST,
            "CertificateAlreadyExists",
            "A certificate with a given name already exists or this certificate already has been added to the database.",
        )
    };
    let present = links.trust_certificates();
    if let Some(same) = present.iter().find(|c| c.name.eq_ignore_ascii_case(name)) {
        return if same.public_blob == der {
            axum::Json(trust_resource(arm, same)).into_response()
        } else {
            exists()
        };
    }
    if present.iter().any(|c| c.public_blob == der) {
        return exists();
    }
    let id = arm.link_operation(
        LinkWork::PutTrust {
            name: name.to_owned(),
            der,
        },
        LinkResult::Trust(name.to_owned()),
        version,
    );
    accepted_at(arm, &id, version, OperationKind::trust_segment)
}

pub(super) fn delete(arm: &Arc<Arm>, links: &Links, name: &str, version: ApiVersion) -> Response {
    let Some(c) = links.trust_certificate(name) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let id = arm.link_operation(LinkWork::DeleteTrust(c.name), LinkResult::Nothing, version);
    accepted_at(arm, &id, version, OperationKind::trust_segment)
}
