//! The link's state as both sides' DMVs show it, written each pass through the model's
//! writers: replica connection and roles ("sys.dm_hadr_availability_replica_states"), per
//! database sync state and LSNs ("sys.dm_hadr_database_replica_states"), seeding
//! ("sys.dm_hadr_physical_seeding_stats") and the log the primary holds for the link
//! ("sys.databases": log_reuse_wait_desc AVAILABILITY_REPLICA).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::engine_base::Sides;
use super::engine_seed::DEFAULT_RATE;
use super::engine_sync::{split_brain, synchronous};
use super::link_state::Links;
use super::link_store::{DbRecord, LinkRecord, Phase};
use super::link_types::LinkRole;
use super::model::{DatabaseRuntime, ReplicaRole, ReplicaRuntime, SeedingRuntime};
use crate::server::Server;

fn role(r: LinkRole) -> ReplicaRole {
    match r {
        LinkRole::Primary => ReplicaRole::Primary,
        LinkRole::Secondary => ReplicaRole::Secondary,
    }
}

pub(super) fn publish(l: &Links, rec: &LinkRecord, sides: &Sides) {
    let sync = synchronous(l, rec, sides.source.as_deref());
    let error = rec.databases.iter().find_map(|d| d.error.clone());
    let synchronizing = rec
        .databases
        .iter()
        .any(|d| d.phase == Phase::Synchronizing);
    let healthy = sides.connected && synchronizing && error.is_none() && !split_brain(rec);
    let last_error = match (&error, &sides.why) {
        (Some(e), _) => Some(e.clone()),
        // No SQL Server number is documented for the transport failure itself.
        (None, Some(why)) if !sides.connected => Some((0, why.clone())),
        _ => None,
    };
    let replica = |r: LinkRole| ReplicaRuntime {
        connected: sides.connected,
        role: role(r),
        healthy,
        last_connect_error: last_error.clone(),
    };
    let mut servers: Vec<(Arc<Server>, LinkRole)> = vec![(l.mi.clone(), rec.instance_role)];
    if let Some(s) = &sides.source {
        servers.push((s.clone(), rec.partner_role));
    }
    for (server, own) in &servers {
        let mi = Arc::ptr_eq(server, &l.mi);
        // Each side shows itself with the role it claims and its partner as last known.
        let (partner_ag_role, instance_ag_role) = if mi {
            (rec.partner_role, *own)
        } else {
            (*own, rec.instance_role)
        };
        server.set_replica_runtime(
            &rec.spec.dag,
            &rec.spec.partner_ag,
            replica(partner_ag_role),
        );
        server.set_replica_runtime(
            &rec.spec.dag,
            &rec.spec.instance_ag,
            replica(instance_ag_role),
        );
        let local_ag = if mi {
            &rec.spec.instance_ag
        } else {
            &rec.spec.partner_ag
        };
        for d in &rec.databases {
            publish_database(rec, d, server, *own, sync, sides.connected);
            let seeding = (d.phase == Phase::Seeding).then(|| seeding_runtime(l, d));
            server.set_seeding(local_ag, seeding);
        }
    }
}

fn publish_database(
    rec: &LinkRecord,
    d: &DbRecord,
    server: &Server,
    own: LinkRole,
    sync: bool,
    connected: bool,
) {
    let primary_side = own == LinkRole::Primary;
    if primary_side {
        // The primary keeps the log until the secondary hardens it ("Troubleshoot link").
        let held = match d.phase {
            Phase::Seeding => true,
            Phase::Synchronizing => d.secondary_lsn < d.primary_lsn || !connected,
            Phase::Init | Phase::Failed => false,
        };
        let _ = server.set_log_reuse_wait(
            &d.name,
            if held {
                "AVAILABILITY_REPLICA"
            } else {
                "NOTHING"
            },
        );
    }
    if d.phase != Phase::Synchronizing {
        return;
    }
    let caught_up = d.secondary_lsn >= d.primary_lsn;
    let state = if !connected || split_brain(rec) {
        "NOT SYNCHRONIZING"
    } else if sync && caught_up {
        "SYNCHRONIZED"
    } else {
        "SYNCHRONIZING"
    };
    let healthy = state != "NOT SYNCHRONIZING" && d.error.is_none();
    // The log the primary has not sent: the emulator's log records are its statements.
    let queue_kb = if caught_up || !primary_side {
        0
    } else {
        let bytes = super::engine_base::on(server, |i| i.log_bytes_after(&d.name, d.secondary_lsn))
            .unwrap_or(0);
        (bytes + 1023) / 1024
    };
    let row = |is_local: bool, is_primary: bool, lsn: i64| DatabaseRuntime {
        synchronization_state: state.into(),
        healthy,
        end_of_log_lsn: lsn,
        last_hardened_lsn: lsn,
        last_commit_lsn: lsn,
        log_send_queue_kb: if is_primary { 0 } else { queue_kb },
        redo_queue_kb: 0,
        is_local,
        is_primary,
    };
    if primary_side {
        server.set_database_runtime(&rec.spec.dag, &d.name, row(true, true, d.primary_lsn));
        server.set_database_runtime(&rec.spec.dag, &d.name, row(false, false, d.secondary_lsn));
    } else {
        server.set_database_runtime(&rec.spec.dag, &d.name, row(true, false, d.secondary_lsn));
    }
}

fn seeding_runtime(l: &Links, d: &DbRecord) -> SeedingRuntime {
    let rate = l.store.lock().seeding_rate.unwrap_or(DEFAULT_RATE).max(1);
    let start = d.seed_started.unwrap_or(SystemTime::UNIX_EPOCH);
    let left = (d.seed_size - d.seed_transferred).max(0);
    SeedingRuntime {
        database: d.name.clone(),
        state: "READING_DATABASE_FILES".into(),
        size_bytes: d.seed_size,
        transferred_bytes: d.seed_transferred,
        rate_bytes_per_second: rate,
        start_utc: start,
        estimate_complete_utc: Some(
            l.mi.clock().now() + Duration::from_secs_f64(left as f64 / rate as f64),
        ),
        attempts: d.seed_attempts,
        failed: None,
    }
}
