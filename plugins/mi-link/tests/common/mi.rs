//! The Managed Instance of the scripted world: its T-SQL and its ARM.

use ferry_sdk::{ArmRequest, ArmResponse, Error, QueryResult, SqlValue};
use serde_json::{Value, json};

use super::{MI_ID, World, i, set, t};

impl World {
    pub(super) fn mi(
        &mut self,
        sql: &str,
        params: &[ferry_sdk::Param],
    ) -> Result<QueryResult, Error> {
        let q = |s: &str| sql.contains(s);
        Ok(if q("SELECT thumbprint FROM master.sys.certificates") {
            set(
                &["t"],
                self.mi_cert_thumbprints
                    .iter()
                    .map(|x| vec![t(x)])
                    .collect(),
            )
        } else if q("MAX(backup_set_id)") {
            if self.mi_role == "Primary" || self.link.is_none() {
                self.mi_backups += 1;
            }
            set(&["m"], vec![vec![i(self.mi_backups)]])
        } else if q("sys.dm_hadr_fabric_config_parameters") {
            set(
                &["n", "v"],
                vec![
                    vec![t("DnsRecordName"), t("node1.mi1.zone.database.windows.net")],
                    vec![t("HadrPort"), t("11002")],
                ],
            )
        } else if q("msdb.dbo.sysjobs WHERE") || q("msdb.dbo.sysjobhistory") {
            return self.source(sql, params);
        } else if q("msdb.dbo.sysjobsteps WHERE") {
            set(&["u"], vec![vec![SqlValue::Guid("2222".into())]])
        } else if q("sysjobstepslogs") {
            set(
                &["log"],
                vec![vec![t(if self.tnc_ok { "True" } else { "False" })]],
            )
        } else {
            return self.source_change(sql, params);
        })
    }

    pub(super) fn arm(&mut self, req: &ArmRequest) -> Result<ArmResponse, Error> {
        let ok = |v: Value| {
            Ok(ArmResponse {
                status: 200,
                body: v.to_string(),
            })
        };
        let not_found = || {
            Err(Error::failed_with_code(
                format!("azure label `mi`: ResourceNotFound: {} not found", req.path),
                404,
            ))
        };
        let body: Value = req
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("GET", "") => ok(json!({"id": MI_ID, "name": "mi1", "location": "westeurope",
                "sku": {"tier": "GeneralPurpose"},
                "properties": {"fullyQualifiedDomainName": "mi1.zone.database.windows.net",
                    "collation": self.mi_collation, "databaseFormat": self.mi_policy}})),
            ("GET", p) if p.contains("instanceFailoverGroups") => {
                ok(json!({"value": if self.failover_group {
                json!([{"name": "fog1", "properties": {"managedInstancePairs": [{"primaryManagedInstanceId": MI_ID, "partnerManagedInstanceId": "/x/other"}]}}])
            } else { json!([]) }}))
            }
            ("GET", "endpointCertificates/DATABASE_MIRRORING") => {
                ok(json!({"properties": {"publicBlob": "308201AB"}}))
            }
            ("GET", p) if p.starts_with("serverTrustCertificates/") => {
                let n = &p["serverTrustCertificates/".len()..];
                match self.trust.iter().find(|(name, _)| name == n) {
                    Some((_, thumb)) => {
                        ok(json!({"properties": {"certificateName": n, "thumbprint": thumb}}))
                    }
                    None => not_found(),
                }
            }
            ("PUT", p) if p.starts_with("serverTrustCertificates/") => {
                let n = p["serverTrustCertificates/".len()..].to_owned();
                let thumb = self
                    .certs
                    .iter()
                    .find(|c| c.name == n)
                    .map(|c| c.thumbprint.clone())
                    .unwrap_or_default();
                let blob = body["properties"]["publicBlob"].as_str().unwrap();
                assert!(
                    !blob.starts_with("0x"),
                    "hex without 0x, as the spec's example"
                );
                if !self.planning {
                    self.trust.push((n, thumb));
                }
                ok(json!({}))
            }
            ("GET", p) if p.starts_with("distributedAvailabilityGroups/") => {
                let Some(link) = self.link.as_mut() else {
                    return not_found();
                };
                let newer = link["properties"].get("databases").is_some();
                let (state_key, role_key) = if newer {
                    ("replicaState", "instanceLinkRole")
                } else {
                    ("linkState", "instanceRole")
                };
                let mut fields = serde_json::Map::new();
                if self.seeding_gets > 0 {
                    self.seeding_gets -= 1;
                } else if let Some((state, err)) = &self.link_fault {
                    fields.insert(state_key.into(), json!(state));
                    fields.insert("mostRecentLinkError".into(), json!(err));
                } else {
                    fields.insert(state_key.into(), json!("LinkSynchronizing"));
                }
                let caught = self.replica_reads > self.catchup_reads;
                fields.insert(
                    "lastHardenedLsn".into(),
                    json!((if caught { self.lsn } else { self.lsn - 100 }).to_string()),
                );
                if let Some(e) = &self.partner_cert_expiry {
                    fields.insert(
                        "partnerAuthCertValidity".into(),
                        json!({ "certificateName": "c", "expiryDate": e }),
                    );
                }
                let target = if newer {
                    &mut link["properties"]["databases"][0]
                } else {
                    &mut link["properties"]
                };
                for (k, v) in fields {
                    target[k] = v;
                }
                link["properties"][role_key] = json!(self.mi_role);
                link["properties"]["replicationMode"] =
                    json!(if self.mode_sync { "Sync" } else { "Async" });
                ok(link.clone())
            }
            ("PUT", p) if p.starts_with("distributedAvailabilityGroups/") => {
                if let Some(m) = &self.put_fails {
                    return Err(Error::failed(m.clone()));
                }
                if !self.planning {
                    let mut b = body.clone();
                    if b["properties"].get("databases").is_some() {
                        b["properties"]["databases"][0]["replicaState"] = json!("CreatingLink");
                    } else {
                        b["properties"]["linkState"] = json!("CreatingLink");
                    }
                    self.link = Some(b);
                }
                ok(json!({}))
            }
            ("PATCH", _) => {
                self.mode_sync = true;
                ok(json!({}))
            }
            ("POST", p) if p.ends_with("/failover") => {
                self.failovers += 1;
                if self.mi_role == "Primary" {
                    // Failing back: SQL Server is primary again.
                    self.mi_role = "Secondary".into();
                    self.source_role = "PRIMARY".into();
                    return ok(json!({}));
                }
                self.mi_role = "Primary".into();
                let forced = body["failoverType"] == "ForcedAllowDataLoss";
                self.source_role = if forced && self.split_brain_on_force {
                    "PRIMARY".into()
                } else {
                    "SECONDARY".into()
                };
                ok(json!({}))
            }
            ("DELETE", p) if p.starts_with("distributedAvailabilityGroups/") => {
                self.link = None;
                self.mi_role = "Primary".into();
                ok(json!({}))
            }
            _ => not_found(),
        }
    }
}
