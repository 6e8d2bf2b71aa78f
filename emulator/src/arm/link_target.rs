//! The paths of the Managed Instance link under `{MI}/`: the server trust certificates
//! (ServerTrustCertificates.json), the instance's endpoint certificates
//! (EndpointCertificates.json) and the distributed availability groups with their `failover`
//! and `setRole` actions (DistributedAvailabilityGroups.json), all in
//! Azure/azure-rest-api-specs `Microsoft.Sql/stable/2025-01-01/`.

/// A link resource or collection the front end answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkTarget {
    TrustCertificates,
    TrustCertificate(String),
    EndpointCertificates,
    EndpointCertificate(String),
    Dags,
    Dag(String),
    DagFailover(String),
    DagSetRole(String),
}

impl LinkTarget {
    /// The ARM resource type, as `NoRegisteredProviderFound` names it.
    pub(super) fn resource_type(&self) -> &'static str {
        match self {
            LinkTarget::TrustCertificates | LinkTarget::TrustCertificate(_) => {
                "managedInstances/serverTrustCertificates"
            }
            LinkTarget::EndpointCertificates | LinkTarget::EndpointCertificate(_) => {
                "managedInstances/endpointCertificates"
            }
            LinkTarget::Dags | LinkTarget::Dag(_) => {
                "managedInstances/distributedAvailabilityGroups"
            }
            LinkTarget::DagFailover(_) => "managedInstances/distributedAvailabilityGroups/failover",
            LinkTarget::DagSetRole(_) => "managedInstances/distributedAvailabilityGroups/setRole",
        }
    }
}

/// What the segments after `managedInstances/{mi}/` name, compared without regard to case
/// (see `target`).
pub(super) fn parse(rest: &[&str]) -> Option<LinkTarget> {
    let is = |s: &str, fixed: &str| s.eq_ignore_ascii_case(fixed);
    let name = |s: &&str| (*s).to_owned();
    Some(match rest {
        [t] if is(t, "serverTrustCertificates") => LinkTarget::TrustCertificates,
        [t, n] if is(t, "serverTrustCertificates") => LinkTarget::TrustCertificate(name(n)),
        [t] if is(t, "endpointCertificates") => LinkTarget::EndpointCertificates,
        [t, n] if is(t, "endpointCertificates") => LinkTarget::EndpointCertificate(name(n)),
        [t] if is(t, "distributedAvailabilityGroups") => LinkTarget::Dags,
        [t, n] if is(t, "distributedAvailabilityGroups") => LinkTarget::Dag(name(n)),
        [t, n, a] if is(t, "distributedAvailabilityGroups") && is(a, "failover") => {
            LinkTarget::DagFailover(name(n))
        }
        [t, n, a] if is(t, "distributedAvailabilityGroups") && is(a, "setRole") => {
            LinkTarget::DagSetRole(name(n))
        }
        _ => return None,
    })
}

/// The segments of the link operations' URLs: Microsoft.Sql's resource types
/// `locations/distributedAvailabilityGroupsOperationResults` (the `Location` of the spec's
/// failover and setRole examples) and `…AzureAsyncOperation`; likewise for the trust
/// certificates. Guess: the `…AzureAsyncOperation` and `serverTrustCertificates…` names follow
/// the provider's pattern for its other resource types; no example shows them.
pub(super) const DAG_RESULTS: &str = "distributedAvailabilityGroupsOperationResults";
pub(super) const DAG_ASYNC: &str = "distributedAvailabilityGroupsAzureAsyncOperation";
pub(super) const TRUST_RESULTS: &str = "serverTrustCertificatesOperationResults";
pub(super) const TRUST_ASYNC: &str = "serverTrustCertificatesAzureAsyncOperation";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_paths_are_read_without_regard_to_case() {
        assert_eq!(
            parse(&["DistributedAvailabilityGroups", "Dag1", "FAILOVER"]),
            Some(LinkTarget::DagFailover("Dag1".into()))
        );
        assert_eq!(
            parse(&["serverTrustCertificates"]),
            Some(LinkTarget::TrustCertificates)
        );
        assert_eq!(
            parse(&["endpointcertificates", "DATABASE_MIRRORING"]),
            Some(LinkTarget::EndpointCertificate("DATABASE_MIRRORING".into()))
        );
        assert_eq!(parse(&["distributedAvailabilityGroups", "d", "x"]), None);
    }
}
