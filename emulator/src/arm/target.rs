//! What a request path names. ARM compares the fixed segments of a path and the names in it
//! without regard to case ("Resource names are case-insensitive", learn.microsoft.com, Azure
//! Resource Manager "Naming rules and restrictions for Azure resources"; resource provider
//! namespaces and types likewise), so `/SUBSCRIPTIONS/s1/resourcegroups/RG/providers/
//! microsoft.sql/MANAGEDINSTANCES/mi` is the instance.

use super::ArmOptions;
use super::link_target::{self, LinkTarget};

/// A resource or collection the front end answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// `GET /subscriptions/{s}/providers/Microsoft.Sql/managedInstances` (ManagedInstances_List).
    InstancesOfSubscription,
    /// `GET …/resourceGroups/{rg}/providers/Microsoft.Sql/managedInstances`
    /// (ManagedInstances_ListByResourceGroup).
    InstancesOfGroup,
    Instance,
    Databases,
    Database(String),
    /// `…/databases/{db}/restoreDetails/{name}`; the only name is `Default`.
    RestoreDetails(String, String),
    CompleteRestore(String),
    /// `POST …/tdeCertificates` (ManagedInstanceTdeCertificates_Create).
    TdeCertificates,
    /// An operation URL handed out: `…/locations/{loc}/{kind}/{id}`.
    Operation(OperationKind, String),
    /// The Managed Instance link's resources.
    Link(LinkTarget),
}

/// The two kinds of operation URL the SQL resource provider hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OperationKind {
    /// `Azure-AsyncOperation`: a status body.
    AsyncOperation,
    /// `Location`: 202 while running, then the outcome.
    OperationResult,
}

impl OperationKind {
    pub(super) fn segment(self) -> &'static str {
        match self {
            OperationKind::AsyncOperation => "managedDatabaseAzureAsyncOperation",
            OperationKind::OperationResult => "managedDatabaseOperationResults",
        }
    }

    /// The segment of a TDE certificate upload's operation URLs: Microsoft.Sql's resource
    /// types `locations/managedInstanceTdeCertAzureAsyncOperation` and
    /// `locations/managedInstanceTdeCertOperationResults` (the provider's resource-type list).
    pub(super) fn tde_segment(self) -> &'static str {
        match self {
            OperationKind::AsyncOperation => "managedInstanceTdeCertAzureAsyncOperation",
            OperationKind::OperationResult => "managedInstanceTdeCertOperationResults",
        }
    }

    /// The segment of a distributed availability group's operation URLs (see `link_target`).
    pub(super) fn link_segment(self) -> &'static str {
        match self {
            OperationKind::AsyncOperation => link_target::DAG_ASYNC,
            OperationKind::OperationResult => link_target::DAG_RESULTS,
        }
    }

    /// The segment of a server trust certificate's operation URLs (see `link_target`).
    pub(super) fn trust_segment(self) -> &'static str {
        match self {
            OperationKind::AsyncOperation => link_target::TRUST_ASYNC,
            OperationKind::OperationResult => link_target::TRUST_RESULTS,
        }
    }
}

/// Why a path names nothing here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Miss {
    Subscription(String),
    ResourceGroup(String),
    Instance(String),
    /// Some other path (another provider, a resource type not emulated).
    Other,
}

impl Target {
    /// The ARM resource type, as `NoRegisteredProviderFound` names it.
    pub(super) fn resource_type(&self) -> &'static str {
        match self {
            Target::InstancesOfSubscription | Target::InstancesOfGroup | Target::Instance => {
                "managedInstances"
            }
            Target::Databases | Target::Database(_) | Target::CompleteRestore(_) => {
                "managedInstances/databases"
            }
            Target::RestoreDetails(..) => "managedInstances/databases/restoreDetails",
            Target::TdeCertificates => "managedInstances/tdeCertificates",
            Target::Link(l) => l.resource_type(),
            Target::Operation(kind, _) => match kind {
                OperationKind::AsyncOperation => "locations/managedDatabaseAzureAsyncOperation",
                OperationKind::OperationResult => "locations/managedDatabaseOperationResults",
            },
        }
    }
}

/// What `path` names on the instance `o` describes.
pub(super) fn parse(path: &str, o: &ArmOptions) -> Result<Target, Miss> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |s: &str, fixed: &str| s.eq_ignore_ascii_case(fixed);
    let [s, sub, rest @ ..] = segments.as_slice() else {
        return Err(Miss::Other);
    };
    if !is(s, "subscriptions") {
        return Err(Miss::Other);
    }
    if !is(sub, &o.subscription) {
        return Err(Miss::Subscription((*sub).to_owned()));
    }
    let sql = |p: &str, ns: &str| is(p, "providers") && is(ns, "Microsoft.Sql");
    match rest {
        [p, ns, t] if sql(p, ns) && is(t, "managedInstances") => {
            Ok(Target::InstancesOfSubscription)
        }
        [p, ns, l, loc, kind, id] if sql(p, ns) && is(l, "locations") && is(loc, &o.location) => {
            let kind = [
                OperationKind::AsyncOperation,
                OperationKind::OperationResult,
            ]
            .into_iter()
            .find(|k| {
                is(kind, k.segment())
                    || is(kind, k.tde_segment())
                    || is(kind, k.link_segment())
                    || is(kind, k.trust_segment())
            })
            .ok_or(Miss::Other)?;
            Ok(Target::Operation(kind, (*id).to_owned()))
        }
        [g, rg, more @ ..] if is(g, "resourceGroups") => {
            if !is(rg, &o.resource_group) {
                return Err(Miss::ResourceGroup((*rg).to_owned()));
            }
            in_group(more, o)
        }
        _ => Err(Miss::Other),
    }
}

/// The part of a path after `resourceGroups/{rg}`.
fn in_group(rest: &[&str], o: &ArmOptions) -> Result<Target, Miss> {
    let is = |s: &str, fixed: &str| s.eq_ignore_ascii_case(fixed);
    let [p, ns, t, more @ ..] = rest else {
        return Err(Miss::Other);
    };
    if !(is(p, "providers") && is(ns, "Microsoft.Sql") && is(t, "managedInstances")) {
        return Err(Miss::Other);
    }
    let [mi, more @ ..] = more else {
        return Ok(Target::InstancesOfGroup);
    };
    if !is(mi, &o.instance) {
        return Err(Miss::Instance((*mi).to_owned()));
    }
    match more {
        [] => Ok(Target::Instance),
        [d] if is(d, "databases") => Ok(Target::Databases),
        [d, db] if is(d, "databases") => Ok(Target::Database((*db).to_owned())),
        [d, db, r, name] if is(d, "databases") && is(r, "restoreDetails") => {
            Ok(Target::RestoreDetails((*db).to_owned(), (*name).to_owned()))
        }
        [t] if is(t, "tdeCertificates") => Ok(Target::TdeCertificates),
        [d, db, c] if is(d, "databases") && is(c, "completeRestore") => {
            Ok(Target::CompleteRestore((*db).to_owned()))
        }
        rest => link_target::parse(rest)
            .map(Target::Link)
            .ok_or(Miss::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_without_regard_to_case() {
        let o = ArmOptions::local("mi", "t");
        let p = |s: &str| parse(s, &o);
        assert_eq!(
            p(
                "/SUBSCRIPTIONS/S1/resourcegroups/RG/providers/microsoft.sql/MANAGEDINSTANCES/MI/Databases/Sales"
            ),
            Ok(Target::Database("Sales".into()))
        );
        assert_eq!(
            p("/subscriptions/s1/providers/Microsoft.Sql/managedInstances"),
            Ok(Target::InstancesOfSubscription)
        );
        assert_eq!(
            p("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances"),
            Ok(Target::InstancesOfGroup)
        );
        assert_eq!(
            p(
                "/subscriptions/s1/providers/Microsoft.Sql/locations/WESTEUROPE/managedDatabaseOperationResults/x"
            ),
            Ok(Target::Operation(
                OperationKind::OperationResult,
                "x".into()
            ))
        );
        assert_eq!(
            p("/subscriptions/s2/resourceGroups/rg"),
            Err(Miss::Subscription("s2".into()))
        );
        assert_eq!(
            p("/subscriptions/s1/resourceGroups/other/providers/Microsoft.Sql/managedInstances"),
            Err(Miss::ResourceGroup("other".into()))
        );
        assert_eq!(
            p("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi2"),
            Err(Miss::Instance("mi2".into()))
        );
    }
}
