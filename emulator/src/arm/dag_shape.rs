//! The link's resources as ARM answers them: a distributed availability group in the shape of
//! the request's api-version (DistributedAvailabilityGroups.json, see `dag_body`), a server
//! trust certificate (ServerTrustCertificates.json) and an endpoint certificate
//! (EndpointCertificates.json).

use std::time::SystemTime;

use serde_json::{Map, Value as J, json};
use time::format_description::well_known::Rfc3339;

use super::api_version::ApiVersion;
use super::dag_body::DagShape;
use super::state::Arm;
use crate::hadr::link::{LinkDatabaseStatus, LinkStatus, TrustCertificate};

fn rfc3339(t: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(t).format(&Rfc3339).ok()
}

/// Upper-case hex, as CERTENCODED shows bytes after its `0x`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Sets `key` when there is a value: the spec's read-only properties are left out rather than
/// answered null (the spec's examples leave out what a link does not have yet).
fn put(o: &mut Map<String, J>, key: &str, value: Option<J>) {
    if let Some(v) = value {
        o.insert(key.to_owned(), v);
    }
}

/// One entry of `properties.databases` (DistributedAvailabilityGroupDatabase).
fn database(d: &LinkDatabaseStatus) -> J {
    let mut o = Map::new();
    let s = |v: &str| Some(json!(v));
    put(&mut o, "databaseName", s(&d.database));
    put(&mut o, "instanceReplicaId", s(&d.instance_replica_id));
    put(&mut o, "partnerReplicaId", s(&d.partner_replica_id));
    put(&mut o, "replicaState", s(&d.replica_state));
    put(&mut o, "seedingProgress", s(&d.seeding_progress));
    put(
        &mut o,
        "synchronizationHealth",
        s(&d.synchronization_health),
    );
    put(&mut o, "connectedState", s(&d.connected_state));
    let lsns = [
        ("lastReceived", &d.last_received_lsn, d.last_received_time),
        ("lastSent", &d.last_sent_lsn, d.last_sent_time),
        ("lastCommit", &d.last_commit_lsn, d.last_commit_time),
        ("lastHardened", &d.last_hardened_lsn, d.last_hardened_time),
        ("lastBackup", &d.last_backup_lsn, d.last_backup_time),
    ];
    for (name, lsn, time) in lsns {
        put(
            &mut o,
            &format!("{name}Lsn"),
            lsn.as_deref().map(|l| json!(l)),
        );
        put(
            &mut o,
            &format!("{name}Time"),
            time.and_then(rfc3339).map(|t| json!(t)),
        );
    }
    put(
        &mut o,
        "mostRecentLinkError",
        d.most_recent_link_error.as_deref().map(|e| json!(e)),
    );
    put(
        &mut o,
        "partnerAuthCertValidity",
        d.partner_cert.as_ref().map(|(name, expiry)| {
            let mut c = Map::new();
            put(&mut c, "certificateName", Some(json!(name)));
            put(&mut c, "expiryDate", rfc3339(*expiry).map(|t| json!(t)));
            J::Object(c)
        }),
    );
    put(
        &mut o,
        "instanceSendReplicationLagSeconds",
        d.send_lag_seconds.map(|v| json!(v)),
    );
    put(
        &mut o,
        "instanceRedoReplicationLagSeconds",
        d.redo_lag_seconds.map(|v| json!(v)),
    );
    J::Object(o)
}

fn mode(sync: bool) -> &'static str {
    if sync { "Sync" } else { "Async" }
}

/// The properties of a link in the newer shape; 2023-02-01-preview's lacks the modes.
fn partner_properties(s: &LinkStatus, modes: bool) -> J {
    let mut p = json!({
        "distributedAvailabilityGroupName": s.spec.dag,
        "distributedAvailabilityGroupId": s.id,
        "replicationMode": mode(s.replication_mode_sync),
        "partnerLinkRole": s.partner_role.as_str(),
        "partnerAvailabilityGroupName": s.spec.partner_ag,
        "partnerEndpoint": s.spec.partner_endpoint,
        "instanceLinkRole": s.instance_role.as_str(),
        "instanceAvailabilityGroupName": s.spec.instance_ag,
        "failoverMode": if s.spec.failover_manual { "Manual" } else { "None" },
        "seedingMode": if s.spec.seeding_automatic { "Automatic" } else { "Manual" },
        "databases": s.databases.iter().map(database).collect::<Vec<_>>(),
    });
    if !modes && let Some(o) = p.as_object_mut() {
        o.remove("failoverMode");
        o.remove("seedingMode");
    }
    p
}

/// The properties of a link in the stable 2023-08-01 shape: one database. The spec does not
/// enumerate `linkState`; it carries the database's `replicaState` (the one state the newer
/// shape names). `primaryAvailabilityGroupName` stays SQL Server's AG and
/// `secondaryAvailabilityGroupName` the MI's, as they were created (these versions cannot fail
/// over).
fn stable_properties(s: &LinkStatus) -> J {
    let first = s.databases.first();
    let mut o = Map::new();
    let text = |v: &str| Some(json!(v));
    put(
        &mut o,
        "targetDatabase",
        s.spec.databases.first().and_then(|d| text(d)),
    );
    put(&mut o, "sourceEndpoint", text(&s.spec.partner_endpoint));
    put(
        &mut o,
        "primaryAvailabilityGroupName",
        text(&s.spec.partner_ag),
    );
    put(
        &mut o,
        "secondaryAvailabilityGroupName",
        text(&s.spec.instance_ag),
    );
    put(
        &mut o,
        "replicationMode",
        text(mode(s.replication_mode_sync)),
    );
    put(&mut o, "distributedAvailabilityGroupId", text(&s.id));
    put(
        &mut o,
        "sourceReplicaId",
        first.and_then(|d| text(&d.partner_replica_id)),
    );
    put(
        &mut o,
        "targetReplicaId",
        first.and_then(|d| text(&d.instance_replica_id)),
    );
    put(
        &mut o,
        "linkState",
        first.and_then(|d| text(&d.replica_state)),
    );
    put(
        &mut o,
        "lastHardenedLsn",
        first.and_then(|d| d.last_hardened_lsn.as_deref().and_then(text)),
    );
    J::Object(o)
}

/// A DAG resource as `version` shapes it.
pub(super) fn dag_resource(arm: &Arm, s: &LinkStatus, version: ApiVersion) -> J {
    let properties = match DagShape::of(version.as_str()) {
        DagShape::Partner => partner_properties(s, true),
        DagShape::PartnerReadOnly => partner_properties(s, false),
        DagShape::Stable2023 => stable_properties(s),
    };
    json!({
        "id": format!("{}/distributedAvailabilityGroups/{}", arm.instance_path(), s.spec.dag),
        "name": s.spec.dag,
        "type": "Microsoft.Sql/managedInstances/distributedAvailabilityGroups",
        "properties": properties,
    })
}

/// A server trust certificate. `publicBlob` is answered with `0x`, as the 2025-01-01 list
/// example shows it; `thumbprint` without (as the create example shows it).
pub(super) fn trust_resource(arm: &Arm, c: &TrustCertificate) -> J {
    let thumbprint = c
        .thumbprint
        .strip_prefix("0x")
        .unwrap_or(&c.thumbprint)
        .to_ascii_uppercase();
    json!({
        "id": format!("{}/serverTrustCertificates/{}", arm.instance_path(), c.name),
        "name": c.name,
        "type": "Microsoft.Sql/managedInstances/serverTrustCertificates",
        "properties": {
            "publicBlob": format!("0x{}", hex(&c.public_blob)),
            "thumbprint": thumbprint,
            "certificateName": c.name,
        },
    })
}

/// The instance's DATABASE_MIRRORING endpoint certificate. `publicBlob` is hex without `0x`:
/// "Configure link with scripts" prepends `0x` to it in `CREATE CERTIFICATE … FROM BINARY`.
pub(super) fn endpoint_resource(arm: &Arm, der: &[u8]) -> J {
    json!({
        "id": format!("{}/endpointCertificates/DATABASE_MIRRORING", arm.instance_path()),
        "name": "DATABASE_MIRRORING",
        "type": "Microsoft.Sql/managedInstances/endpointCertificates",
        "properties": { "publicBlob": hex(der) },
    })
}
