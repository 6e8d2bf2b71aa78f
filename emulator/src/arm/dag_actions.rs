//! `POST {MI}/distributedAvailabilityGroups/{dag}/failover` and `…/setRole`
//! (DistributedAvailabilityGroups.json): the link's role changes, as long-running operations.
//! Their bodies have no `properties` wrapper (`DistributedAvailabilityGroupsFailoverRequest`,
//! `DistributedAvailabilityGroupSetRole`). Refusals from the spec's error list, made at once:
//! - a planned failover while a database is not synchronizing: `409
//!   DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing`;
//! - setRole to the role the MI has: `409
//!   DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole`; to Primary with
//!   `roleChangeType: Planned`: `409 DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported`;
//!   while another role change runs: `409
//!   DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress`.
//!
//! What the engine refuses once it runs (41142, …) fails the operation.

use std::sync::Arc;

use axum::response::Response;
use serde_json::Value as J;

use super::api_version::ApiVersion;
use super::dag_body::{BadBody, choice};
use super::dags::{busy, conflict, existing, invalid, start};
use super::link_work::{LinkResult, LinkWork};
use super::state::Arm;
use crate::hadr::link::{LinkRole, LinkStatus, Links};

/// The top-level body of an action (failover, setRole): no `properties` wrapper.
fn action_body(body: &[u8]) -> Result<J, BadBody> {
    serde_json::from_slice::<J>(body)
        .ok()
        .filter(J::is_object)
        .ok_or_else(|| BadBody("The request body must be a JSON object.".to_owned()))
}

/// A replica state that is synchronizing (not seeding, not failed, connected).
fn synchronizing(s: &LinkStatus) -> bool {
    s.databases.iter().all(|d| {
        d.connected_state == "CONNECTED"
            && !d.replica_state.contains("Error")
            && d.replica_state != "CreatingLink"
    })
}

pub(super) fn failover(
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
    let forced = match action_body(body).and_then(|b| {
        choice(
            &b,
            "failoverType",
            &["Planned", "ForcedAllowDataLoss"],
            None,
        )
    }) {
        Ok(t) => t == "ForcedAllowDataLoss",
        Err(e) => return invalid(BadBody(e.0.replace("properties.", ""))),
    };
    if let Some(r) = busy(arm, &current.spec.dag) {
        return r;
    }
    if !forced && !synchronizing(&current) {
        return conflict(
            "DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing",
            "Planned failover cannot be executed if secondaries are not synchronizing.",
        );
    }
    let dag = current.spec.dag;
    start(
        arm,
        LinkWork::Failover {
            dag: dag.clone(),
            forced,
            // A forced failover always makes the MI primary (see `Links::failover`).
            mi_primary: forced || current.instance_role != LinkRole::Primary,
        },
        LinkResult::Dag(dag),
        version,
    )
}

pub(super) fn set_role(
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
    let read = action_body(body).and_then(|b| {
        let role = choice(&b, "instanceRole", &["Primary", "Secondary"], None)?;
        let kind = choice(&b, "roleChangeType", &["Forced", "Planned"], None)?;
        Ok((role == "Primary", kind == "Forced"))
    });
    let (primary, forced) = match read {
        Ok(x) => x,
        Err(e) => return invalid(BadBody(e.0.replace("properties.", ""))),
    };
    if matches!(
        arm.pending_on(&current.spec.dag),
        Some(LinkWork::SetRole { .. })
    ) {
        return conflict(
            "DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress",
            "Changing the server role cannot be executed at this time as there exist a previous role change in progress on Azure SQL Managed Instance. Only when the previous role change completes, a new request could be submitted. Please wait for the previous role change to complete and retry again.",
        );
    }
    if let Some(r) = busy(arm, &current.spec.dag) {
        return r;
    }
    if primary && !forced {
        return conflict(
            "DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported",
            "User attempted to perform setRole operation to primary in planned fashion and that is not supported.",
        );
    }
    if (current.instance_role == LinkRole::Primary) == primary {
        return conflict(
            "DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole",
            "User attempted to perform setRole operation while managed instance link is already in requested role.",
        );
    }
    let dag = current.spec.dag;
    start(
        arm,
        LinkWork::SetRole {
            dag: dag.clone(),
            primary,
            forced,
        },
        LinkResult::Dag(dag),
        version,
    )
}
