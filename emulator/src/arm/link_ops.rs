//! The long-running operations of the Managed Instance link: what each one does to the
//! instance's `Links` once its time has passed, its status, and what its URLs answer.
//!
//! Every link write is a long-running operation in the specs (`x-ms-long-running-operation`
//! on PUT/DELETE serverTrustCertificates and PUT/PATCH/DELETE/failover/setRole
//! distributedAvailabilityGroups). The front end answers 202 with `Location`
//! (`…/distributedAvailabilityGroupsOperationResults/{id}`, as the spec's failover and setRole
//! examples show) and `Azure-AsyncOperation`, as its other operations. The `Location` URL
//! answers 202 while the operation runs, then the resource (200; the specs' setRole has
//! `final-state-via: location`, and its example's 200 carries the DAG) or 204 for a delete,
//! or the error.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api_version::{self, ApiVersion};
use super::dag_shape::{dag_resource, trust_resource};
use super::link_work::{LinkOp, LinkResult, LinkWork, failed};
use super::reply::{error, with_headers};
use super::state::Arm;
use super::target::OperationKind;
use crate::hadr::link::LinkError;

impl Arm {
    /// Starts an operation doing `work`; returns its id.
    pub(super) fn link_operation(
        self: &Arc<Self>,
        work: LinkWork,
        result: LinkResult,
        version: ApiVersion,
    ) -> String {
        let id = self.next_operation_id(0xa000);
        self.link_ops.lock().insert(
            id.clone(),
            LinkOp {
                status: json!({ "status": "InProgress" }),
                work: Some(work),
                result,
                version: version.as_str().to_owned(),
            },
        );
        self.save();
        self.run_link_operation(id.clone());
        id
    }

    /// Whether an operation still runs on `dag`, and which work.
    pub(super) fn pending_on(&self, dag: &str) -> Option<LinkWork> {
        self.link_ops
            .lock()
            .values()
            .filter_map(|o| o.work.clone())
            .find(|w| w.dag().is_some_and(|d| d.eq_ignore_ascii_case(dag)))
    }

    fn run_link_operation(self: &Arc<Self>, id: String) {
        let me = self.clone();
        self.spawn(async move {
            tokio::time::sleep(me.options.operation_time).await;
            let work = me.link_ops.lock().get(&id).and_then(|o| o.work.clone());
            let (Some(work), Some(links)) = (work, me.options.links.clone()) else {
                return;
            };
            let done = tokio::task::spawn_blocking(move || work.run(&links)).await;
            let status = match done {
                Ok(Ok(())) => json!({ "status": "Succeeded" }),
                Ok(Err(e)) => failed(&e),
                Err(e) => failed(&LinkError::refused(format!(
                    "the link operation stopped: {e}"
                ))),
            };
            if let Some(op) = me.link_ops.lock().get_mut(&id) {
                op.status = status;
                op.work = None;
            }
            me.save();
        });
    }

    /// Starts again the operations a stop cut short.
    pub(super) fn resume_link_operations(self: &Arc<Self>) {
        let pending: Vec<String> = self
            .link_ops
            .lock()
            .iter()
            .filter(|(_, o)| o.work.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for id in pending {
            self.run_link_operation(id);
        }
    }
}

/// What a link operation's URL answers; None when `id` is not a link operation.
pub(super) fn operation_reply(arm: &Arm, kind: OperationKind, id: &str) -> Option<Response> {
    let op = arm.link_ops.lock().get(id).cloned()?;
    let retry = [("retry-after", "1".to_owned())];
    let state = op.status["status"].as_str().unwrap_or("InProgress");
    Some(match (kind, state) {
        (OperationKind::AsyncOperation, _) => {
            let mut body = op.status;
            body["name"] = json!(id);
            with_headers(axum::Json(body).into_response(), &retry)
        }
        (OperationKind::OperationResult, "InProgress") => {
            with_headers(StatusCode::ACCEPTED.into_response(), &retry)
        }
        (OperationKind::OperationResult, "Succeeded") => final_answer(arm, &op),
        (OperationKind::OperationResult, _) => {
            let e = &op.status["error"];
            (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": e }))).into_response()
        }
    })
}

/// A succeeded operation's `Location` answer: the resource it made or changed.
fn final_answer(arm: &Arm, op: &LinkOp) -> Response {
    let links = arm.options.links.as_ref();
    let version = api_version::from_query(Some(&format!("api-version={}", op.version)));
    match (&op.result, links, version) {
        (LinkResult::Dag(dag), Some(links), Ok(v)) => match links.status(dag) {
            Some(s) => axum::Json(dag_resource(arm, &s, v)).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        (LinkResult::Trust(name), Some(links), _) => match links.trust_certificate(name) {
            Some(c) => axum::Json(trust_resource(arm, &c)).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        (LinkResult::Nothing, ..) => StatusCode::NO_CONTENT.into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The link engine is no longer running.",
        ),
    }
}
