//! DMS's requests, to their handlers (after the checks every ARM request gets).

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::dms_target::{self, DmsTarget, MigrationAction, ServiceAction};
use super::reply::error;
use super::state::Arm;
use super::{dms_migration as migration, dms_service as service, dms_steps as steps};

pub(super) async fn answer(
    arm: &Arc<Arm>,
    method: &Method,
    target: DmsTarget,
    query: Option<&str>,
    body: &[u8],
) -> Response {
    let version = match dms_target::version(query, &arm.options, &target) {
        Ok(v) => v,
        Err(refusal) => return *refusal,
    };
    match (method.as_str(), target) {
        ("GET", DmsTarget::Service(n)) => service::get(arm, &n),
        ("PUT", DmsTarget::Service(n)) => service::put(arm, &n, body, version),
        ("PATCH", DmsTarget::Service(n)) => service::patch(arm, &n, body),
        ("DELETE", DmsTarget::Service(n)) => service::delete(arm, &n),
        // listMigrations is a GET, the other actions POSTs (sqlmigration.json 2025-06-30).
        ("GET", DmsTarget::ServiceAction(n, a @ ServiceAction::ListMigrations)) => {
            service::action(arm, &n, a, body)
        }
        ("POST", DmsTarget::ServiceAction(n, a)) if a != ServiceAction::ListMigrations => {
            service::action(arm, &n, a, body)
        }
        ("GET", DmsTarget::Services) => service::list(arm),
        ("GET", DmsTarget::Migration(db)) => migration::get(arm, &db, query),
        ("PUT", DmsTarget::Migration(db)) => migration::put(arm, &db, body, version),
        ("DELETE", DmsTarget::Migration(db)) => steps::delete(arm, &db, query).await,
        ("POST", DmsTarget::MigrationAction(db, MigrationAction::Cutover)) => {
            steps::cutover(arm, &db, body, version)
        }
        ("POST", DmsTarget::MigrationAction(db, MigrationAction::Cancel)) => {
            steps::cancel(arm, &db, body, version)
        }
        ("GET", DmsTarget::Operation(id)) => super::dms_ops::status(arm, &id),
        (m, t) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("{m} is not allowed on {}.", t.resource_type()),
        ),
    }
}
