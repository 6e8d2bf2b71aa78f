//! Creating a link on the MI (PUT distributedAvailabilityGroups/{dag}): what is refused at
//! once, and the MI side's AG and DAG the link adds to the MI's model ("Configure link with
//! T-SQL": the MI creates an availability group for the database and joins the DAG). Whether
//! the partner answers, trusts and holds the database is found in the background (engine).

use super::engine_base::parse_endpoint;
use super::link_state::Links;
use super::link_store::{DbRecord, LinkRecord};
use super::link_types::{LinkError, LinkRole, LinkSpec};
use super::model::{AvailabilityGroup, AvailabilityMode, Replica, ReplicaRole};
use crate::instance::{guid_text, unique_bytes};

fn guid(seed: &str) -> String {
    guid_text(&unique_bytes(seed, 16))
}

pub(super) fn create(links: &Links, spec: LinkSpec) -> Result<(), LinkError> {
    validate(&spec)?;
    let taken = {
        let s = links.store.lock();
        if s.link(&spec.dag).is_some() {
            return Err(LinkError::refused(format!(
                "a link named '{}' already exists on this managed instance",
                spec.dag
            )));
        }
        s.links
            .iter()
            .flat_map(|l| l.databases.iter())
            .find(|d| {
                spec.databases
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&d.name))
            })
            .map(|d| d.name.clone())
    };
    if let Some(db) = taken {
        // "Only one link per database on a managed instance" ("Managed Instance link
        // overview": limitations); no error number is documented.
        return Err(LinkError::refused(format!(
            "database '{db}' is already replicated by another link to this managed instance"
        )));
    }
    let now = links.mi.clock().now();
    let record = LinkRecord {
        id: guid(&format!("dag/{}", spec.dag)),
        instance_replica_id: guid(&format!("replica/{}", spec.instance_ag)),
        partner_replica_id: guid(&format!("replica/{}", spec.partner_ag)),
        sync: false,
        instance_role: spec.instance_role,
        partner_role: spec.instance_role.other(),
        created: now,
        connected: false,
        partner_cert: None,
        failed_over: None,
        databases: spec.databases.iter().map(|d| DbRecord::new(d)).collect(),
        spec,
    };
    put_mi_groups(links, &record)?;
    links.update(|s| s.links.push(record));
    Ok(())
}

fn validate(spec: &LinkSpec) -> Result<(), LinkError> {
    let blank = |what: &str, v: &str| {
        if v.trim().is_empty() {
            Err(LinkError::refused(format!("{what} is empty")))
        } else {
            Ok(())
        }
    };
    blank("the distributed availability group name", &spec.dag)?;
    blank("partnerAvailabilityGroupName", &spec.partner_ag)?;
    blank("instanceAvailabilityGroupName", &spec.instance_ag)?;
    if parse_endpoint(&spec.partner_endpoint).is_none() {
        return Err(LinkError::refused(format!(
            "partnerEndpoint '{}' is not of the form TCP://<host>:<port>",
            spec.partner_endpoint
        )));
    }
    if spec.databases.is_empty() || spec.databases.iter().any(|d| d.trim().is_empty()) {
        return Err(LinkError::refused(
            "databases must name at least one database, each by a non-empty name",
        ));
    }
    if !spec.seeding_automatic {
        // Manual seeding needs a database restored by hand on the secondary first ("Configure
        // link with T-SQL"); the emulator seeds automatically only.
        return Err(LinkError::refused(
            "ferry-emulator supports seedingMode Automatic only",
        ));
    }
    if spec.partner_ag.eq_ignore_ascii_case(&spec.instance_ag) {
        return Err(LinkError::refused(
            "partnerAvailabilityGroupName and instanceAvailabilityGroupName must differ",
        ));
    }
    Ok(())
}

/// The MI's own AG for the link's databases and the DAG joining it to the partner's AG.
fn put_mi_groups(links: &Links, l: &LinkRecord) -> Result<(), LinkError> {
    let fqdn = links.mi_fqdn();
    let mode = AvailabilityMode::AsynchronousCommit;
    let role = match l.instance_role {
        LinkRole::Primary => ReplicaRole::Primary,
        LinkRole::Secondary => ReplicaRole::Secondary,
    };
    let mi_url = format!("TCP://{fqdn}:5022");
    let ag = AvailabilityGroup {
        name: l.spec.instance_ag.clone(),
        group_id: guid(&format!("ag/{}", l.spec.instance_ag)),
        distributed: false,
        databases: l.spec.databases.clone(),
        replicas: vec![Replica {
            server_name: fqdn.clone(),
            endpoint_url: mi_url.clone(),
            mode: AvailabilityMode::SynchronousCommit,
            failover_manual: true,
            seeding_automatic: true,
            replica_id: guid(&format!("local/{fqdn}")),
        }],
        local_role: ReplicaRole::Primary,
        create_any_database: true,
    };
    let dag = AvailabilityGroup {
        name: l.spec.dag.clone(),
        group_id: l.id.clone(),
        distributed: true,
        databases: l.spec.databases.clone(),
        replicas: vec![
            Replica {
                server_name: l.spec.partner_ag.clone(),
                endpoint_url: l.spec.partner_endpoint.clone(),
                mode,
                failover_manual: l.spec.failover_manual,
                seeding_automatic: l.spec.seeding_automatic,
                replica_id: l.partner_replica_id.clone(),
            },
            Replica {
                server_name: l.spec.instance_ag.clone(),
                endpoint_url: mi_url,
                mode,
                failover_manual: l.spec.failover_manual,
                seeding_automatic: l.spec.seeding_automatic,
                replica_id: l.instance_replica_id.clone(),
            },
        ],
        local_role: role,
        create_any_database: true,
    };
    let refused = |m: crate::protocol::tokens::ServerMessage| LinkError::new(m.number, "", m.text);
    links.mi.put_availability_group(ag).map_err(refused)?;
    links.mi.put_availability_group(dag).map_err(refused)
}
