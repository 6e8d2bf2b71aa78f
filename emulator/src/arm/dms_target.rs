//! The paths of Azure Database Migration Service (`Microsoft.DataMigration`, the SQL migration
//! API of Azure/azure-rest-api-specs `specification/datamigration/.../stable/2025-06-30/
//! sqlmigration.json`, the version `azure-mgmt-datamigration` 10.1.0 calls): the
//! `sqlMigrationServices` of the front end's resource group with their actions, the
//! `databaseMigrations` extension resources under the managed instance with `cutover` and
//! `cancel`, and the operation URLs handed out. Compared without regard to case, as ARM does
//! (see `target`).

use super::ArmOptions;

/// The api-versions answered: the ones whose shapes the emulator was checked against.
/// Azure accepts older ones too; the emulator refuses them rather than answer in a shape
/// nobody checked (the stricter choice, as `api_version` does for Microsoft.Sql).
pub(super) const DMS_VERSIONS: &[&str] = &["2025-06-30"];

/// An action of a `sqlMigrationServices` resource (sqlmigration.json paths
/// `…/sqlMigrationServices/{name}/{action}`; `validateIr` is not in 2025-06-30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ServiceAction {
    ListAuthKeys,
    RegenerateAuthKeys,
    DeleteNode,
    ListMigrations,
    ListMonitoringData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MigrationAction {
    Cutover,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DmsTarget {
    /// `GET …/sqlMigrationServices` of the subscription, or of the resource group.
    Services,
    Service(String),
    ServiceAction(String, ServiceAction),
    Migration(String),
    MigrationAction(String, MigrationAction),
    /// `…/providers/Microsoft.DataMigration/locations/{loc}/operationStatuses/{id}`.
    /// Guess: the spec's examples show no operation URL; this follows ARM's
    /// `operationStatuses` pattern ("Track asynchronous Azure operations").
    Operation(String),
}

impl DmsTarget {
    pub(super) fn resource_type(&self) -> &'static str {
        match self {
            DmsTarget::Services | DmsTarget::Service(_) | DmsTarget::ServiceAction(..) => {
                "sqlMigrationServices"
            }
            DmsTarget::Migration(_) | DmsTarget::MigrationAction(..) => "databaseMigrations",
            DmsTarget::Operation(_) => "locations/operationStatuses",
        }
    }
}

pub(super) const OPERATION_SEGMENT: &str = "operationStatuses";

/// What `path` names under Microsoft.DataMigration for the instance `o` describes, or None
/// for a path that is not DMS's (the rest of the front end answers it).
pub(super) fn parse(path: &str, o: &ArmOptions) -> Option<DmsTarget> {
    let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |s: &str, fixed: &str| s.eq_ignore_ascii_case(fixed);
    let dm = |p: &str, ns: &str| is(p, "providers") && is(ns, "Microsoft.DataMigration");
    let name = |s: &&str| (*s).to_owned();
    let [s, sub, rest @ ..] = seg.as_slice() else {
        return None;
    };
    if !is(s, "subscriptions") || !is(sub, &o.subscription) {
        return None;
    }
    match rest {
        [p, ns, t] if dm(p, ns) && is(t, "sqlMigrationServices") => Some(DmsTarget::Services),
        [p, ns, l, loc, k, id] if dm(p, ns) && is(l, "locations") && is(loc, &o.location) => {
            is(k, OPERATION_SEGMENT).then(|| DmsTarget::Operation(name(id)))
        }
        [g, rg, more @ ..] if is(g, "resourceGroups") && is(rg, &o.resource_group) => match more {
            [p, ns, t] if dm(p, ns) && is(t, "sqlMigrationServices") => Some(DmsTarget::Services),
            [p, ns, t, n] if dm(p, ns) && is(t, "sqlMigrationServices") => {
                Some(DmsTarget::Service(name(n)))
            }
            [p, ns, t, n, a] if dm(p, ns) && is(t, "sqlMigrationServices") => {
                let action = [
                    ("listAuthKeys", ServiceAction::ListAuthKeys),
                    ("regenerateAuthKeys", ServiceAction::RegenerateAuthKeys),
                    ("deleteNode", ServiceAction::DeleteNode),
                    ("listMigrations", ServiceAction::ListMigrations),
                    ("listMonitoringData", ServiceAction::ListMonitoringData),
                ]
                .into_iter()
                .find(|(s, _)| is(a, s))?
                .1;
                Some(DmsTarget::ServiceAction(name(n), action))
            }
            [p1, sql, t, mi, p2, ns, d, db, tail @ ..]
                if is(p1, "providers")
                    && is(sql, "Microsoft.Sql")
                    && is(t, "managedInstances")
                    && is(mi, &o.instance)
                    && dm(p2, ns)
                    && is(d, "databaseMigrations") =>
            {
                match tail {
                    [] => Some(DmsTarget::Migration(name(db))),
                    [a] if is(a, "cutover") => Some(DmsTarget::MigrationAction(
                        name(db),
                        MigrationAction::Cutover,
                    )),
                    [a] if is(a, "cancel") => Some(DmsTarget::MigrationAction(
                        name(db),
                        MigrationAction::Cancel,
                    )),
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    }
}

/// The `api-version` of a DMS request, or ARM's refusal (the codes and texts `api_version`
/// documents, with DMS's versions listed).
pub(super) fn version(
    query: Option<&str>,
    o: &ArmOptions,
    target: &DmsTarget,
) -> Result<&'static str, Box<axum::response::Response>> {
    use super::reply::error;
    use axum::http::StatusCode;
    let asked = query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="));
    match asked {
        None => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ))),
        Some(v) => DMS_VERSIONS
            .iter()
            .find(|s| **s == v)
            .copied()
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "NoRegisteredProviderFound",
                    &format!(
                        "No registered resource provider found for location '{}' and API version \
                     '{}' for type '{}'. The supported api-versions are '{}'. The supported \
                     locations are '{}'.",
                        o.location,
                        v.escape_default(),
                        target.resource_type(),
                        DMS_VERSIONS.join(", "),
                        o.location
                    ),
                )
            })
            .map_err(Box::new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_paths_are_read_without_regard_to_case() {
        let o = ArmOptions::local("mi", "t");
        let p = |s: &str| parse(s, &o);
        assert_eq!(
            p(
                "/subscriptions/s1/resourceGroups/RG/providers/microsoft.datamigration/SqlMigrationServices/dms1/LISTAUTHKEYS"
            ),
            Some(DmsTarget::ServiceAction(
                "dms1".into(),
                ServiceAction::ListAuthKeys
            ))
        );
        assert_eq!(
            p(
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/MI/providers/Microsoft.DataMigration/databaseMigrations/Sales/cutover"
            ),
            Some(DmsTarget::MigrationAction(
                "Sales".into(),
                MigrationAction::Cutover
            ))
        );
        assert_eq!(
            p(
                "/subscriptions/s1/providers/Microsoft.DataMigration/locations/westeurope/operationStatuses/x"
            ),
            Some(DmsTarget::Operation("x".into()))
        );
        assert_eq!(
            p("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi"),
            None
        );
        assert_eq!(
            p(
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/d/x"
            ),
            None
        );
    }
}
