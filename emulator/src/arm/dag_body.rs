//! The request bodies of a distributed availability group (DistributedAvailabilityGroups.json),
//! in the two shapes the api-versions give them, read into one `DagBody`:
//!
//! - the stable 2021-11-01 … 2023-08-01 shape (and the previews up to 2023-05-01-preview):
//!   `targetDatabase`, `sourceEndpoint`, `primaryAvailabilityGroupName` (SQL Server's AG),
//!   `secondaryAvailabilityGroupName` (the MI's), `replicationMode` ("Parameter will be ignored
//!   during link creation"). These versions have no `failoverMode`: the link is one-way, the
//!   MI secondary, seeding automatic.
//! - the shape from 2023-08-01-preview on (stable 2025-01-01): `partnerAvailabilityGroupName`,
//!   `partnerEndpoint`, `instanceAvailabilityGroupName`, `instanceLinkRole`, `failoverMode`
//!   (`None` one-way, `Manual` two-way), `seedingMode` ("Automatic (default), or Manual") and
//!   `databases[].databaseName`.
//!
//! Between them, 2023-02-01-preview takes the stable shape in requests and answers the newer one
//! without `failoverMode` and `seedingMode` (its `CreateOrUpdateProperties` and
//! `DistributedAvailabilityGroupProperties`). `setRole` is in the specs from 2023-02-01-preview
//! on, `failover` from 2023-08-01-preview on (the 2023-02-01 and 2023-05-01 previews define no
//! failover request body); the stable 2021-11-01 and 2023-08-01 have neither.
//!
//! A value missing or not one of the spec's enum values is refused with the spec's
//! `InvalidParameterValue` ("An invalid value was given to a parameter."), naming the property.
//! Enum values are read without regard to case (the spec models them as strings) and answered
//! in the spec's spelling.

use serde::{Deserialize, Serialize};
use serde_json::Value as J;

/// Which body shape an api-version uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DagShape {
    /// `targetDatabase`, `sourceEndpoint`, … (stable 2021-11-01 and 2023-08-01).
    Stable2023,
    /// `databases[]`, `partnerEndpoint`, … without `failoverMode`/`seedingMode` (answers of
    /// 2023-02-01-preview).
    PartnerReadOnly,
    /// `databases[]`, `partnerEndpoint`, `failoverMode`, … (2023-05-01-preview on, stable
    /// 2025-01-01).
    Partner,
}

impl DagShape {
    /// The shape of `version`'s answers (and of a PATCH body).
    pub(super) fn of(version: &str) -> DagShape {
        match version {
            "2021-11-01" | "2023-08-01" => DagShape::Stable2023,
            "2023-02-01-preview" => DagShape::PartnerReadOnly,
            _ => DagShape::Partner,
        }
    }

    /// The shape of `version`'s create requests.
    pub(super) fn request_of(version: &str) -> DagShape {
        match DagShape::of(version) {
            DagShape::PartnerReadOnly => DagShape::Stable2023,
            shape => shape,
        }
    }
}

/// Whether `version`'s spec has `POST …/setRole`.
pub(super) fn has_set_role(version: &str) -> bool {
    DagShape::of(version) != DagShape::Stable2023
}

/// Whether `version`'s spec has `POST …/failover`.
pub(super) fn has_failover(version: &str) -> bool {
    DagShape::of(version) == DagShape::Partner && version != "2023-05-01-preview"
}

/// What a create request asks for, whichever its shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct DagBody {
    pub partner_ag: String,
    /// As given, e.g. `TCP://10.0.0.4:5022`.
    pub partner_endpoint: String,
    pub instance_ag: String,
    pub databases: Vec<String>,
    /// `failoverMode: Manual` (two-way); `None` is one-way.
    pub failover_manual: bool,
    pub seeding_automatic: bool,
    /// `instanceLinkRole: Primary`: the MI is the initial primary (SQL Server 2022 CU10+).
    pub instance_primary: bool,
}

/// A body refused: the property at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BadBody(pub String);

fn text<'a>(p: &'a J, key: &str) -> Result<&'a str, BadBody> {
    match p.get(key) {
        Some(J::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
        Some(J::String(_)) | None | Some(J::Null) => Err(BadBody(format!(
            "properties.{key} is required and must not be empty."
        ))),
        Some(other) => Err(BadBody(format!(
            "properties.{key} must be a string, not {other}."
        ))),
    }
}

/// One of `allowed` (any case) for `key`, in the spec's spelling; `default` when absent.
pub(super) fn choice(
    p: &J,
    key: &str,
    allowed: &[&'static str],
    default: Option<&'static str>,
) -> Result<&'static str, BadBody> {
    let given = match (p.get(key), default) {
        (None | Some(J::Null), Some(d)) => return Ok(d),
        (None | Some(J::Null), None) => "",
        (Some(J::String(s)), _) => s.as_str(),
        (Some(other), _) => {
            return Err(BadBody(format!(
                "properties.{key} must be one of {}, not {other}.",
                allowed.join(", ")
            )));
        }
    };
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(given))
        .copied()
        .ok_or_else(|| {
            BadBody(format!(
                "properties.{key} must be one of {}, not '{given}'.",
                allowed.join(", ")
            ))
        })
}

/// `TCP://host:port`, as the link's endpoints are written (the spec's example
/// `TCP://SERVER:7022`; "Configure link with scripts": `TCP://<SQLServerIP>:5022`).
pub(super) fn check_endpoint(key: &str, url: &str) -> Result<(), BadBody> {
    let bad = || {
        BadBody(format!(
            "properties.{key} '{url}' is not an endpoint URL of the form TCP://<host>:<port>."
        ))
    };
    let rest = url
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("tcp://"))
        .map(|_| &url[6..])
        .ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
    if host.is_empty() || host.contains(['/', ' ', ';']) || !port_ok {
        return Err(bad());
    }
    Ok(())
}

/// The `properties` object of a body, or the refusal.
pub(super) fn properties(body: &[u8]) -> Result<J, BadBody> {
    let v: J = serde_json::from_slice(body)
        .map_err(|e| BadBody(format!("The request body is not JSON: {e}.")))?;
    match v.get("properties") {
        Some(p) if p.is_object() => Ok(p.clone()),
        _ => Err(BadBody(
            "The request body has no properties object.".to_owned(),
        )),
    }
}

/// A create request's body in `shape`.
pub(super) fn read_create(body: &[u8], shape: DagShape) -> Result<DagBody, BadBody> {
    let p = properties(body)?;
    let out = match shape {
        DagShape::Stable2023 => DagBody {
            partner_ag: text(&p, "primaryAvailabilityGroupName")?.to_owned(),
            partner_endpoint: text(&p, "sourceEndpoint")?.to_owned(),
            instance_ag: text(&p, "secondaryAvailabilityGroupName")?.to_owned(),
            databases: vec![text(&p, "targetDatabase")?.to_owned()],
            failover_manual: false,
            seeding_automatic: true,
            instance_primary: false,
        },
        DagShape::Partner | DagShape::PartnerReadOnly => {
            let databases = match p.get("databases") {
                Some(J::Array(items)) if !items.is_empty() => items
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        text(d, "databaseName")
                            .map(str::to_owned)
                            .map_err(|_| {
                                BadBody(format!(
                                    "properties.databases[{i}].databaseName is required and must be a non-empty string."
                                ))
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => {
                    return Err(BadBody(
                        "properties.databases must list at least one database ({\"databaseName\": …})."
                            .to_owned(),
                    ));
                }
            };
            // The spec gives no default for instanceLinkRole and failoverMode; the stricter
            // reading requires both (a client that means one-way says None).
            DagBody {
                partner_ag: text(&p, "partnerAvailabilityGroupName")?.to_owned(),
                partner_endpoint: text(&p, "partnerEndpoint")?.to_owned(),
                instance_ag: text(&p, "instanceAvailabilityGroupName")?.to_owned(),
                databases,
                failover_manual: choice(&p, "failoverMode", &["None", "Manual"], None)? == "Manual",
                seeding_automatic: choice(
                    &p,
                    "seedingMode",
                    &["Automatic", "Manual"],
                    Some("Automatic"),
                )? == "Automatic",
                instance_primary: choice(&p, "instanceLinkRole", &["Primary", "Secondary"], None)?
                    == "Primary",
            }
        }
    };
    let key = match shape {
        DagShape::Stable2023 => "sourceEndpoint",
        DagShape::Partner | DagShape::PartnerReadOnly => "partnerEndpoint",
    };
    check_endpoint(key, &out.partner_endpoint)?;
    // Checked like any other value the spec enumerates, though creation ignores it.
    choice(&p, "replicationMode", &["Async", "Sync"], Some("Async"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_shape() -> J {
        json!({ "properties": {
            "partnerAvailabilityGroupName": "AG_db",
            "partnerEndpoint": "TCP://10.0.0.4:5022",
            "instanceAvailabilityGroupName": "mi",
            "instanceLinkRole": "secondary",
            "failoverMode": "Manual",
            "databases": [{ "databaseName": "db" }],
        }})
    }

    #[test]
    fn both_shapes_read_into_one_body() {
        let b = read_create(new_shape().to_string().as_bytes(), DagShape::Partner).unwrap();
        assert_eq!(b.partner_ag, "AG_db");
        assert!(b.failover_manual && b.seeding_automatic && !b.instance_primary);
        let old = json!({ "properties": {
            "targetDatabase": "db", "sourceEndpoint": "tcp://src:5022",
            "primaryAvailabilityGroupName": "AG_db", "secondaryAvailabilityGroupName": "mi",
        }});
        let b = read_create(old.to_string().as_bytes(), DagShape::Stable2023).unwrap();
        assert_eq!(b.databases, vec!["db".to_owned()]);
        assert!(!b.failover_manual && !b.instance_primary);
    }

    #[test]
    fn versions_have_their_shapes_and_actions() {
        assert_eq!(DagShape::of("2023-08-01"), DagShape::Stable2023);
        assert_eq!(
            DagShape::of("2023-02-01-preview"),
            DagShape::PartnerReadOnly
        );
        assert_eq!(
            DagShape::request_of("2023-02-01-preview"),
            DagShape::Stable2023
        );
        assert_eq!(
            DagShape::request_of("2023-05-01-preview"),
            DagShape::Partner
        );
        assert!(has_set_role("2023-02-01-preview") && !has_set_role("2021-11-01"));
        assert!(!has_failover("2023-05-01-preview") && has_failover("2023-08-01-preview"));
        assert!(has_failover("2025-01-01") && !has_failover("2023-08-01"));
    }

    #[test]
    fn bad_values_name_the_property() {
        let mut v = new_shape();
        v["properties"]["failoverMode"] = json!("Automatic");
        let e = read_create(v.to_string().as_bytes(), DagShape::Partner).unwrap_err();
        assert!(e.0.contains("failoverMode"), "{e:?}");
        let mut v = new_shape();
        v["properties"]["partnerEndpoint"] = json!("10.0.0.4:5022");
        let e = read_create(v.to_string().as_bytes(), DagShape::Partner).unwrap_err();
        assert!(e.0.contains("partnerEndpoint"), "{e:?}");
        let mut v = new_shape();
        v["properties"]["databases"] = json!([]);
        let e = read_create(v.to_string().as_bytes(), DagShape::Partner).unwrap_err();
        assert!(e.0.contains("databases"), "{e:?}");
        // A newer body sent with an older api-version misses the older names.
        let e = read_create(new_shape().to_string().as_bytes(), DagShape::Stable2023).unwrap_err();
        assert!(e.0.contains("primaryAvailabilityGroupName"), "{e:?}");
        assert!(read_create(b"not json", DagShape::Partner).is_err());
    }
}
