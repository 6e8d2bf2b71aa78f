//! `POST {MI}/tdeCertificates` (ManagedInstanceTdeCertificates_Create, in
//! Azure/azure-rest-api-specs `Microsoft.Sql/stable/2025-01-01/ManagedInstanceTdeCertificates.json`
//! and earlier versions): uploads a PFX (`properties.privateBlob`, base64; `certPassword`) to
//! the instance's certificate store, so that backups of databases it protects restore there.
//!
//! A long-running operation: the spec answers 200 or 202 (with `Location`). The emulator
//! checks the request at once and answers a bad one with 400 and the spec's code, in ARM's
//! error shape ("400 MissingPrivateBlob - The private blob is missing.", "400
//! InvalidPrivateBlobOrPassword - Invalid private blob or password specified.", "400
//! PrivateBlobWithoutPrivateKey - The provided blob does not contain private key.", "400
//! InvalidResourceRequestBody - The resource or resource properties in the request body is
//! empty or invalid.", "400 CertificateAlreadyExists - A certificate with a given name already
//! exists or this certificate already has been added to the database."); a good one gets 202
//! with `Location` and `Azure-AsyncOperation` (as the front end's other operations) and the
//! certificate is in the store when the operation reports `Succeeded`.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use serde_json::Value as J;

use super::accepted::accepted_at;
use super::api_version::ApiVersion;
use super::operation::Work;
use super::reply::{error, instance_down};
use super::state::Arm;
use super::target::OperationKind;
use crate::instance::{TdeCertificate, TdeUploadError};

/// A 400 the upload answers: ARM error code and message.
struct Refused(&'static str, &'static str);

impl Refused {
    fn answer(&self) -> Response {
        error(StatusCode::BAD_REQUEST, self.0, self.1)
    }
}

fn refusal(e: &TdeUploadError) -> Refused {
    let (code, message) = match e {
        TdeUploadError::InvalidBlobOrPassword(_) => (
            "InvalidPrivateBlobOrPassword",
            "Invalid private blob or password specified.",
        ),
        TdeUploadError::WithoutPrivateKey => (
            "PrivateBlobWithoutPrivateKey",
            "The provided blob does not contain private key.",
        ),
        TdeUploadError::AlreadyExists => (
            "CertificateAlreadyExists",
            "A certificate with a given name already exists or this certificate already has been added to the database.",
        ),
    };
    Refused(code, message)
}

/// The PFX and password of a request body, or the answer refusing it.
fn read_body(body: &[u8]) -> Result<(Vec<u8>, String, String), Refused> {
    let invalid = || {
        Refused(
            "InvalidResourceRequestBody",
            "The resource or resource properties in the request body is empty or invalid.",
        )
    };
    let v: J = serde_json::from_slice(body).map_err(|_| invalid())?;
    let props = v
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or_else(invalid)?;
    let blob = match props.get("privateBlob") {
        None | Some(J::Null) => "",
        Some(J::String(s)) => s.as_str(),
        Some(_) => return Err(invalid()),
    };
    if blob.trim().is_empty() {
        return Err(Refused(
            "MissingPrivateBlob",
            "The private blob is missing.",
        ));
    }
    let password = match props.get("certPassword") {
        None | Some(J::Null) => String::new(),
        Some(J::String(s)) => s.clone(),
        Some(_) => return Err(invalid()),
    };
    let pfx = base64::engine::general_purpose::STANDARD
        .decode(blob.trim())
        .map_err(|e| refusal(&TdeUploadError::InvalidBlobOrPassword(e.to_string())))?;
    Ok((pfx, blob.trim().to_owned(), password))
}

/// The request: checked at once, carried out by an operation.
pub(super) async fn upload(arm: &Arc<Arm>, body: &[u8], version: ApiVersion) -> Response {
    let (pfx, blob, password) = match read_body(body) {
        Ok(x) => x,
        Err(refused) => return refused.answer(),
    };
    let cert = match TdeCertificate::from_pfx(&pfx, &password) {
        Ok(c) => c,
        Err(e) => return refusal(&e).answer(),
    };
    if !arm.mi.is_running() {
        return instance_down();
    }
    let present = arm
        .mi
        .with_instance_when_running(|i| i.holds_certificate(cert.thumbprint()))
        .await;
    if present {
        return refusal(&TdeUploadError::AlreadyExists).answer();
    }
    let id = arm.operation(Work::AddTdeCertificate {
        pfx: blob,
        password,
    });
    accepted_at(arm, &id, version, OperationKind::tde_segment)
}
