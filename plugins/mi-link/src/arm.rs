//! The Managed Instance through ARM: the instance, the trust certificates and the link
//! (`ManagedInstances.json`, `ServerTrustCertificates.json`, `EndpointCertificates.json`,
//! `DistributedAvailabilityGroups.json` in azure-rest-api-specs; methods.md §1.3–§1.5).

use ferry_sdk::prelude::*;
use ferry_sdk::sql_version::UpdatePolicy;
use ferry_sdk::{ArmRequest, Secret};
use serde_json::{Value, json};

use crate::config::Config;
use crate::state::Link;

pub fn request(method: &str, path: &str, cfg: &Config, body: Option<Value>) -> ArmRequest {
    ArmRequest {
        method: method.into(),
        path: path.into(),
        api_version: cfg.api_version.clone(),
        body: body.map(|b| b.to_string()),
    }
}

/// A GET on `label` that may answer 404: the body, or None.
pub fn get_on(cx: &mut Context<'_, Config>, label: &str, path: &str) -> Result<Option<Value>> {
    let cfg = cx.config().clone();
    match cx.azure(label, &request("GET", path, &cfg, None)) {
        Ok(r) => match serde_json::from_str::<Value>(&r.body) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            _ => Err(Error::transient(format!(
                "ARM answered GET {} with a body that is not a JSON object",
                if path.is_empty() {
                    "<the instance>"
                } else {
                    path
                }
            ))),
        },
        Err(Error::Failed(f)) if f.code == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A GET on the MI's label.
pub fn get(cx: &mut Context<'_, Config>, path: &str) -> Result<Option<Value>> {
    let label = cx.config().azure.clone();
    get_on(cx, &label, path)
}

/// Starts a long-running PUT, PATCH, POST or DELETE on the MI; the operation's id.
pub fn begin(
    cx: &mut Context<'_, Config>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<String> {
    let cfg = cx.config().clone();
    cx.azure_begin(&cfg.azure, &request(method, path, &cfg, body))
}

/// [`begin`] with sealed values written into `body` where `"{{name}}"` stands.
pub fn begin_sealed(
    cx: &mut Context<'_, Config>,
    method: &str,
    path: &str,
    body: Value,
    sealed: &[(&str, Secret)],
) -> Result<String> {
    let cfg = cx.config().clone();
    cx.azure_begin_sealed(&cfg.azure, &request(method, path, &cfg, Some(body)), sealed)
}

/// What ARM says of the instance.
#[derive(Debug, Clone, Default)]
pub struct MiFacts {
    pub id: String,
    pub name: String,
    pub fqdn: String,
    pub location: String,
    pub collation: String,
    pub policy: Option<UpdatePolicy>,
    pub tier: Option<String>,
}

pub fn instance(cx: &mut Context<'_, Config>) -> Result<MiFacts> {
    let Some(mi) = get(cx, "")? else {
        return Err(Error::failed(
            "ARM has no Managed Instance at the `azure` label's scope (404): check the label",
        ));
    };
    let p = &mi["properties"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok(MiFacts {
        id: s(&mi["id"]),
        name: s(&mi["name"]),
        fqdn: s(&p["fullyQualifiedDomainName"]),
        location: s(&mi["location"]),
        collation: s(&p["collation"]),
        policy: Some(UpdatePolicy::from_database_format(
            p["databaseFormat"].as_str(),
        )),
        tier: mi["sku"]["tier"].as_str().map(str::to_owned),
    })
}

/// The link's PUT body in the api-version's shape (methods.md §1.3 step 5).
pub fn link_body(cfg: &Config, link: &Link) -> Value {
    if cfg.databases_shape() {
        json!({ "properties": {
            "partnerAvailabilityGroupName": link.ag,
            "partnerEndpoint": link.source_url,
            "instanceAvailabilityGroupName": link.mi_name,
            "instanceLinkRole": "Secondary",
            "failoverMode": if link.two_way { "Manual" } else { "None" },
            "seedingMode": "Automatic",
            "databases": [ { "databaseName": link.db } ],
        }})
    } else {
        json!({ "properties": {
            "targetDatabase": link.db,
            "sourceEndpoint": link.source_url,
            "primaryAvailabilityGroupName": link.ag,
            "secondaryAvailabilityGroupName": link.mi_name,
            "replicationMode": "Async",
        }})
    }
}

/// The link as ARM shows it, in either shape.
#[derive(Debug, Clone, Default)]
pub struct LinkView {
    /// `replicaState` (newer) or `linkState` (older): `CreatingLink`, `LinkSynchronizing`,
    /// `LinkFailoverInProgress`, `Catchup`, `…Error`.
    pub state: String,
    pub seeding_progress: Option<String>,
    pub health: Option<String>,
    pub connected: Option<String>,
    pub last_hardened_lsn: Option<String>,
    pub error: Option<String>,
    pub lag_seconds: Option<f64>,
    /// `instanceLinkRole` (newer) or `instanceRole` (older).
    pub instance_role: Option<String>,
    pub replication_mode: Option<String>,
    /// `partnerAuthCertValidity.expiryDate`: when SQL Server's endpoint certificate expires.
    pub partner_cert_expiry: Option<String>,
}

impl LinkView {
    pub fn from_body(body: &Value, db: &str) -> LinkView {
        let p = &body["properties"];
        let s = |v: &Value| match v {
            Value::String(t) => Some(t.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(_) => Some(v.to_string()),
            _ => None,
        };
        let d = p["databases"]
            .as_array()
            .and_then(|ds| {
                ds.iter()
                    .find(|d| d["databaseName"].as_str() == Some(db))
                    .or(ds.first())
            })
            .unwrap_or(p);
        let lag = [
            "instanceSendReplicationLagSeconds",
            "instanceRedoReplicationLagSeconds",
        ]
        .iter()
        .filter_map(|k| d[*k].as_f64())
        .reduce(f64::max);
        LinkView {
            state: s(&d["replicaState"])
                .or_else(|| s(&p["linkState"]))
                .unwrap_or_default(),
            seeding_progress: s(&d["seedingProgress"]),
            health: s(&d["synchronizationHealth"]),
            connected: s(&d["connectedState"]),
            last_hardened_lsn: s(&d["lastHardenedLsn"]).or_else(|| s(&p["lastHardenedLsn"])),
            error: s(&d["mostRecentLinkError"]).filter(|e| !e.is_empty()),
            lag_seconds: lag,
            instance_role: s(&p["instanceLinkRole"]).or_else(|| s(&p["instanceRole"])),
            replication_mode: s(&p["replicationMode"]),
            partner_cert_expiry: s(&d["partnerAuthCertValidity"]["expiryDate"]),
        }
    }

    /// `LinkInitError`, `LinkCreationError`: any state with `Error` in it failed.
    pub fn failed(&self) -> bool {
        self.state.contains("Error")
    }
}

pub fn link_path(link: &Link) -> String {
    format!("distributedAvailabilityGroups/{}", link.dag)
}

/// The link's view, or None when ARM has no such link.
pub fn link_view(cx: &mut Context<'_, Config>, link: &Link) -> Result<Option<LinkView>> {
    Ok(get(cx, &link_path(link))?.map(|b| LinkView::from_body(&b, &link.db)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_reads_both_shapes() {
        let newer = json!({"properties": {"instanceLinkRole": "Secondary", "replicationMode": "Async",
            "databases": [{"databaseName": "Sales", "replicaState": "LinkSynchronizing",
            "lastHardenedLsn": "71000009407900001", "instanceSendReplicationLagSeconds": 3,
            "instanceRedoReplicationLagSeconds": 5, "seedingProgress": "100"}]}});
        let v = LinkView::from_body(&newer, "Sales");
        assert_eq!(v.state, "LinkSynchronizing");
        assert_eq!(v.last_hardened_lsn.as_deref(), Some("71000009407900001"));
        assert_eq!(v.lag_seconds, Some(5.0));
        assert_eq!(v.instance_role.as_deref(), Some("Secondary"));
        let older = json!({"properties": {"linkState": "LinkInitError", "lastHardenedLsn": "42"}});
        let v = LinkView::from_body(&older, "Sales");
        assert!(v.failed());
        assert_eq!(v.last_hardened_lsn.as_deref(), Some("42"));
    }

    #[test]
    fn the_body_follows_the_api_version() {
        let link = Link {
            db: "Sales".into(),
            ag: "AG_Sales".into(),
            mi_name: "mi1".into(),
            source_url: "TCP://10.0.0.4:5022".into(),
            two_way: true,
            ..Link::default()
        };
        let mut cfg = Config::default();
        let b = link_body(&cfg, &link);
        assert_eq!(b["properties"]["databases"][0]["databaseName"], "Sales");
        assert_eq!(b["properties"]["failoverMode"], "Manual");
        assert_eq!(b["properties"]["partnerEndpoint"], "TCP://10.0.0.4:5022");
        cfg.api_version = "2023-08-01".into();
        let b = link_body(&cfg, &link);
        assert_eq!(b["properties"]["targetDatabase"], "Sales");
        assert_eq!(b["properties"]["secondaryAvailabilityGroupName"], "mi1");
        assert!(b["properties"].get("databases").is_none());
    }
}
