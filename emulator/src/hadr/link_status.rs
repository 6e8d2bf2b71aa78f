//! A link as ARM shows it (`properties` of "Distributed Availability Groups - Get", REST
//! Microsoft.Sql 2025-01-01): per database the replica state, seeding progress, health,
//! connection, LSNs (decimal strings) and their times, the last error and the lags.

use super::link_store::{DbRecord, LinkRecord, Phase};
use super::link_types::{LinkDatabaseStatus, LinkStatus};

pub(super) fn status(l: &LinkRecord) -> LinkStatus {
    LinkStatus {
        spec: l.spec.clone(),
        id: l.id.clone(),
        replication_mode_sync: l.sync,
        instance_role: l.instance_role,
        partner_role: l.partner_role,
        databases: l.databases.iter().map(|d| database(l, d)).collect(),
    }
}

fn database(l: &LinkRecord, d: &DbRecord) -> LinkDatabaseStatus {
    let synchronizing = d.phase == Phase::Synchronizing;
    let connected = l.connected && d.error.is_none();
    let lsn = |v: i64| (synchronizing && v > 0).then(|| v.to_string());
    let progress = match d.phase {
        Phase::Synchronizing => "100%".to_owned(),
        _ if d.seed_size > 0 => format!(
            "{:.1}%",
            (d.seed_transferred as f64 * 100.0 / d.seed_size as f64).min(100.0)
        ),
        _ => "0%".to_owned(),
    };
    let lag = match (d.primary_time, d.secondary_time) {
        (Some(p), Some(s)) if d.secondary_lsn < d.primary_lsn => {
            Some(p.duration_since(s).map_or(0, |x| x.as_secs() as i64))
        }
        (Some(_), Some(_)) => Some(0),
        _ => None,
    };
    LinkDatabaseStatus {
        database: d.name.clone(),
        instance_replica_id: l.instance_replica_id.clone(),
        partner_replica_id: l.partner_replica_id.clone(),
        replica_state: d.replica_state.clone(),
        seeding_progress: progress,
        synchronization_health: if connected { "HEALTHY" } else { "NOT_HEALTHY" }.into(),
        connected_state: if connected {
            "CONNECTED"
        } else {
            "DISCONNECTED"
        }
        .into(),
        last_received_lsn: lsn(d.secondary_lsn),
        last_received_time: d.secondary_time.filter(|_| synchronizing),
        last_sent_lsn: lsn(d.secondary_lsn),
        last_sent_time: d.secondary_time.filter(|_| synchronizing),
        last_commit_lsn: lsn(d.secondary_lsn),
        last_commit_time: d.secondary_time.filter(|_| synchronizing),
        last_hardened_lsn: lsn(d.secondary_lsn),
        last_hardened_time: d.secondary_time.filter(|_| synchronizing),
        last_backup_lsn: None,
        last_backup_time: d.auto_backup,
        most_recent_link_error: d.error.as_ref().map(|(n, t)| format!("Msg {n}: {t}")),
        partner_cert: l.partner_cert.clone(),
        send_lag_seconds: lag.filter(|_| synchronizing),
        redo_lag_seconds: lag.filter(|_| synchronizing),
    }
}
