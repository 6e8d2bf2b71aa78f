//! `{MI}/distributedAvailabilityGroups` (DistributedAvailabilityGroups.json): the Managed
//! Instance link as ARM shows it, on the instance's `Links`.
//!
//! Refusals made at once, with codes from the spec's error list:
//! - a body that cannot be used: `400 InvalidParameterValue - An invalid value was given to a
//!   parameter.` (naming the property, see `dag_body`);
//! - a DAG name taken by a different link: `400 NameAlreadyExists - The provided name already
//!   exists.` (the same body again answers the link, 200);
//! - a database the MI already has, when the MI is to be the secondary: `400
//!   ManagedDatabaseNameInUse`; the MI's database limit: `400 DatabaseNumberLimitReached`;
//!   the MI as initial primary of a database it does not have: `404 DatabaseDoesNotExist`;
//! - an operation still running on the DAG: `409 ConflictingDatabaseOperation` (setRole:
//!   `409 DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress`);
//! - the actions' own refusals: see `dag_actions`.
//!
//! What the link finds wrong once it runs (certificates, network, names: 41962, 41973, 41974,
//! 41976 …) shows in the databases' `replicaState` and `mostRecentLinkError`, as "Troubleshoot
//! link" describes, not as an HTTP error.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};

use super::accepted::accepted_at;
use super::api_version::ApiVersion;
use super::dag_body::{BadBody, DagShape, choice, properties, read_create};
use super::dag_shape::dag_resource;
use super::databases::{database_count_refusal, find_database};
use super::link_work::{LinkResult, LinkWork};
use super::reply::{error, instance_down};
use super::state::{Arm, database_names};
use super::target::OperationKind;
use crate::hadr::link::{LinkRole, LinkSpec, LinkStatus, Links};

pub(super) fn invalid(e: BadBody) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidParameterValue",
        &format!("An invalid value was given to a parameter. {}", e.0),
    )
}

pub(super) fn conflict(code: &str, message: &str) -> Response {
    error(StatusCode::CONFLICT, code, message)
}

fn not_found(arm: &Arm, dag: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.Sql/managedInstances/{}/distributedAvailabilityGroups/{dag}' under resource group '{}' was not found.",
            arm.options.instance, arm.options.resource_group
        ),
    )
}

/// 202 naming the operation that does `work` on `dag`.
pub(super) fn start(
    arm: &Arc<Arm>,
    work: LinkWork,
    result: LinkResult,
    version: ApiVersion,
) -> Response {
    let id = arm.link_operation(work, result, version);
    accepted_at(arm, &id, version, OperationKind::link_segment)
}

/// The link named `dag` (any case), or its 404.
/// (The refusal is boxed: a `Response` is large.)
pub(super) fn existing(arm: &Arm, links: &Links, dag: &str) -> Result<LinkStatus, Box<Response>> {
    links
        .list()
        .into_iter()
        .find(|s| s.spec.dag.eq_ignore_ascii_case(dag))
        .ok_or_else(|| Box::new(not_found(arm, dag)))
}

/// 409 when an operation still runs on `dag`.
pub(super) fn busy(arm: &Arm, dag: &str) -> Option<Response> {
    arm.pending_on(dag).map(|_| {
        conflict(
            "ConflictingDatabaseOperation",
            &format!(
                "There is already some operation on the distributed availability group '{dag}' and the current operation should wait till it is done."
            ),
        )
    })
}

pub(super) fn list(arm: &Arm, links: &Links, version: ApiVersion) -> Response {
    let value: Vec<J> = links
        .list()
        .iter()
        .map(|s| dag_resource(arm, s, version))
        .collect();
    axum::Json(json!({ "value": value })).into_response()
}

pub(super) fn get(arm: &Arm, links: &Links, dag: &str, version: ApiVersion) -> Response {
    match existing(arm, links, dag) {
        Ok(s) => axum::Json(dag_resource(arm, &s, version)).into_response(),
        Err(r) => *r,
    }
}

/// The database checks on the MI side of a new link.
fn database_refusal(arm: &Arm, spec: &LinkSpec) -> Option<Response> {
    let names = match database_names(&arm.mi) {
        Ok(n) => n,
        Err(_) => return Some(instance_down()),
    };
    for db in &spec.databases {
        let present = find_database(&names, db).is_some();
        match spec.instance_role {
            LinkRole::Secondary if present => {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    "ManagedDatabaseNameInUse",
                    &format!("Database '{db}' already exists. Choose a different database name."),
                ));
            }
            LinkRole::Primary if !present => {
                return Some(error(
                    StatusCode::NOT_FOUND,
                    "DatabaseDoesNotExist",
                    &format!(
                        "User has specified a database name that does not exist on this server instance: '{db}'."
                    ),
                ));
            }
            _ => {}
        }
    }
    match spec.instance_role {
        LinkRole::Secondary => database_count_refusal(arm, &names),
        LinkRole::Primary => None,
    }
}

pub(super) fn put(
    arm: &Arc<Arm>,
    links: &Links,
    dag: &str,
    body: &[u8],
    version: ApiVersion,
) -> Response {
    let b = match read_create(body, DagShape::request_of(version.as_str())) {
        Ok(b) => b,
        Err(e) => return invalid(e),
    };
    let spec = LinkSpec {
        dag: dag.to_owned(),
        partner_ag: b.partner_ag,
        partner_endpoint: b.partner_endpoint,
        instance_ag: b.instance_ag,
        databases: b.databases,
        failover_manual: b.failover_manual,
        seeding_automatic: b.seeding_automatic,
        instance_role: if b.instance_primary {
            LinkRole::Primary
        } else {
            LinkRole::Secondary
        },
    };
    if let Ok(current) = existing(arm, links, dag) {
        let same = LinkSpec {
            dag: current.spec.dag.clone(),
            ..spec.clone()
        } == current.spec;
        return if same {
            axum::Json(dag_resource(arm, &current, version)).into_response()
        } else {
            error(
                StatusCode::BAD_REQUEST,
                "NameAlreadyExists",
                &format!(
                    "The provided name already exists: the distributed availability group '{dag}' links other availability groups or databases; delete it first."
                ),
            )
        };
    }
    if let Some(r) = busy(arm, dag) {
        return r;
    }
    if let Some(r) = database_refusal(arm, &spec) {
        return r;
    }
    // The link exists from the request on (GET shows it `CreatingLink`), as the spec's 201
    // with the resource implies; the operation ends once its time has passed. A refusal is
    // met again by the operation, which fails with it.
    let _ = tokio::task::block_in_place(|| links.create(spec.clone()));
    start(
        arm,
        LinkWork::Create(spec),
        LinkResult::Dag(dag.to_owned()),
        version,
    )
}

/// The writable properties a PATCH may name besides `replicationMode`, in `shape`, and their
/// current values; the spec's PATCH "Updates a distributed availability group replication
/// mode", so a different value for any of them is refused rather than silently dropped.
fn fixed_properties(s: &LinkStatus, shape: DagShape) -> Vec<(&'static str, String)> {
    let spec = &s.spec;
    let first = spec.databases.first().cloned().unwrap_or_default();
    match shape {
        DagShape::Stable2023 => vec![
            ("targetDatabase", first),
            ("sourceEndpoint", spec.partner_endpoint.clone()),
            ("primaryAvailabilityGroupName", spec.partner_ag.clone()),
            ("secondaryAvailabilityGroupName", spec.instance_ag.clone()),
        ],
        DagShape::Partner | DagShape::PartnerReadOnly => vec![
            ("partnerAvailabilityGroupName", spec.partner_ag.clone()),
            ("partnerEndpoint", spec.partner_endpoint.clone()),
            ("instanceAvailabilityGroupName", spec.instance_ag.clone()),
            ("instanceLinkRole", s.instance_role.as_str().to_owned()),
            (
                "failoverMode",
                (if spec.failover_manual {
                    "Manual"
                } else {
                    "None"
                })
                .to_owned(),
            ),
            (
                "seedingMode",
                (if spec.seeding_automatic {
                    "Automatic"
                } else {
                    "Manual"
                })
                .to_owned(),
            ),
        ],
    }
}

pub(super) fn patch(
    arm: &Arc<Arm>,
    links: &Links,
    dag: &str,
    body: &[u8],
    version: ApiVersion,
) -> Response {
    let current = match existing(arm, links, dag) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let p = match properties(body) {
        Ok(p) => p,
        Err(e) => return invalid(e),
    };
    let sync = match choice(&p, "replicationMode", &["Async", "Sync"], None) {
        Ok(m) => m == "Sync",
        Err(e) => return invalid(e),
    };
    let shape = DagShape::request_of(version.as_str());
    for (key, value) in fixed_properties(&current, shape) {
        if let Some(given) = p.get(key).and_then(J::as_str)
            && !given.eq_ignore_ascii_case(&value)
        {
            return invalid(BadBody(format!(
                "properties.{key} cannot be changed ('{value}' to '{given}'); only replicationMode can be updated."
            )));
        }
    }
    if let Some(r) = busy(arm, &current.spec.dag) {
        return r;
    }
    let dag = current.spec.dag;
    start(
        arm,
        LinkWork::SetMode {
            dag: dag.clone(),
            sync,
        },
        LinkResult::Dag(dag),
        version,
    )
}

pub(super) fn delete(arm: &Arc<Arm>, links: &Links, dag: &str, version: ApiVersion) -> Response {
    let Ok(current) = existing(arm, links, dag) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    if let Some(r) = busy(arm, &current.spec.dag) {
        return r;
    }
    start(
        arm,
        LinkWork::Delete(current.spec.dag),
        LinkResult::Nothing,
        version,
    )
}
