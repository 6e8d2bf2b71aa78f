//! The Managed Instance link's requests, to their handlers.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::api_version::ApiVersion;
use super::dag_body::{has_failover, has_set_role};
use super::link_target::LinkTarget;
use super::reply::{error, guessed_error};
use super::state::Arm;
use super::{dag_actions, dags, endpoint_certificates as endpoints, trust_certificates as trust};
use crate::hadr::link::Links;

pub(super) async fn answer(
    arm: &Arc<Arm>,
    method: Method,
    target: LinkTarget,
    body: &[u8],
    version: ApiVersion,
) -> Response {
    let Some(links) = arm.options.links.clone() else {
        return guessed_error(
            StatusCode::BAD_REQUEST,
            "LinkEngineNotRunning",
            "This emulated managed instance runs without its link engine; start it with \
             `ferry-emulator serve --hadr` (or give ArmOptions::links).",
        );
    };
    let links: &Links = &links;
    let v = version.as_str();
    let missing = match target {
        LinkTarget::DagFailover(_) => !has_failover(v),
        LinkTarget::DagSetRole(_) => !has_set_role(v),
        _ => false,
    };
    if missing {
        // An action the api-version's spec does not have (see `dag_body`).
        return super::api_version::refusal(
            &super::api_version::VersionRefusal::Unknown(version.as_str().to_owned()),
            &arm.options.location,
            target.resource_type(),
        );
    }
    match (method.as_str(), target) {
        ("GET", LinkTarget::TrustCertificates) => trust::list(arm, links),
        ("GET", LinkTarget::TrustCertificate(n)) => trust::get(arm, links, &n),
        ("PUT", LinkTarget::TrustCertificate(n)) => trust::put(arm, links, &n, body, version),
        ("DELETE", LinkTarget::TrustCertificate(n)) => trust::delete(arm, links, &n, version),
        ("GET", LinkTarget::EndpointCertificates) => endpoints::list(arm),
        ("GET", LinkTarget::EndpointCertificate(t)) => endpoints::get(arm, &t),
        ("GET", LinkTarget::Dags) => dags::list(arm, links, version),
        ("GET", LinkTarget::Dag(d)) => dags::get(arm, links, &d, version),
        ("PUT", LinkTarget::Dag(d)) => dags::put(arm, links, &d, body, version),
        ("PATCH", LinkTarget::Dag(d)) => dags::patch(arm, links, &d, body, version),
        ("DELETE", LinkTarget::Dag(d)) => dags::delete(arm, links, &d, version),
        ("POST", LinkTarget::DagFailover(d)) => {
            dag_actions::failover(arm, links, &d, body, version)
        }
        ("POST", LinkTarget::DagSetRole(d)) => dag_actions::set_role(arm, links, &d, body, version),
        (m, t) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("{m} is not allowed on {}.", t.resource_type()),
        ),
    }
}
