//! The operation URLs DMS's long-running requests hand out (`Azure-AsyncOperation`), and
//! their status, read from what they report on rather than kept (ARM's status body:
//! `status` `InProgress`, `Succeeded`, `Failed` with `error`, `Canceled`; learn.microsoft.com
//! "Track asynchronous Azure operations").

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};

use super::dms_state::{DmsOp, new_guid};
use super::dms_target::OPERATION_SEGMENT;
use super::reply::{error, with_headers};
use super::state::Arm;

impl Arm {
    /// A new operation id reporting on `op`.
    pub(super) fn dms_operation(&self, op: DmsOp) -> String {
        let id = new_guid();
        self.dms.operations.lock().insert(id.clone(), op);
        id
    }

    pub(super) fn dms_operation_headers(
        &self,
        id: &str,
        version: &str,
    ) -> Vec<(&'static str, String)> {
        vec![
            (
                "azure-asyncoperation",
                format!(
                    "{}/subscriptions/{}/providers/Microsoft.DataMigration/locations/{}/{OPERATION_SEGMENT}/{id}?api-version={version}",
                    self.base, self.options.subscription, self.options.location
                ),
            ),
            ("retry-after", "1".into()),
        ]
    }
}

/// 202 Accepted naming operation `id`.
pub(super) fn accepted(arm: &Arm, id: &str, version: &str) -> Response {
    with_headers(
        StatusCode::ACCEPTED.into_response(),
        &arm.dms_operation_headers(id, version),
    )
}

pub(super) fn status(arm: &Arm, id: &str) -> Response {
    let Some(op) = arm.dms.operations.lock().get(id).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The operation '{id}' was not found."),
        );
    };
    let mut body = match op {
        DmsOp::CreateService(key) => {
            let ready = arm
                .dms
                .services
                .lock()
                .get(&key)
                .is_none_or(|s| arm.service_ready(s));
            json!({ "status": if ready { "Succeeded" } else { "InProgress" } })
        }
        DmsOp::StartMigration(db, op_id) => {
            migration_step(arm, &db, &op_id, |run| match run.provisioning {
                "Succeeded" => Some(Ok(())),
                "Failed" => Some(Err(run.error.clone())),
                _ => None,
            })
        }
        DmsOp::Cutover(db, op_id) => migration_step(arm, &db, &op_id, |run| match run.status {
            "Succeeded" => Some(Ok(())),
            "Failed" | "Canceled" => Some(Err(run.error.clone())),
            _ => None,
        }),
        DmsOp::Cancel(db, op_id) => migration_step(arm, &db, &op_id, |run| match run.status {
            "Canceled" => Some(Ok(())),
            "Canceling" => None,
            _ => Some(Err(run.error.clone())),
        }),
    };
    body["name"] = json!(id);
    with_headers(
        axum::Json(body).into_response(),
        &[("retry-after", "1".into())],
    )
}

type Outcome = Option<Result<(), Option<(String, String)>>>;

/// The status of a step of the migration of `db` whose operation id is `op_id`: `done` says
/// whether it has ended and how.
fn migration_step(
    arm: &Arm,
    db: &str,
    op_id: &str,
    done: impl Fn(&super::dms_state::Run) -> Outcome,
) -> J {
    let m = arm
        .dms
        .migrations
        .lock()
        .get(&db.to_ascii_lowercase())
        .filter(|m| m.operation_id == op_id)
        .cloned();
    let Some(m) = m else {
        // The migration was deleted: the step ended with it.
        return json!({ "status": "Canceled" });
    };
    let run = m.run.lock();
    match done(&run) {
        None => json!({ "status": "InProgress" }),
        Some(Ok(())) => json!({ "status": "Succeeded" }),
        Some(Err(e)) => {
            let (code, message) = e.unwrap_or_else(|| {
                (
                    "OperationFailed".into(),
                    format!("The migration is {}.", run.status),
                )
            });
            json!({ "status": "Failed", "error": { "code": code, "message": message } })
        }
    }
}
