//! Data synchronization once seeded: the secondary redoes every change the primary commits,
//! by the primary's LSNs, after the configured lag (asynchronous commit) or at once
//! (synchronous commit on both sides). And the MI's first automatic full backup after a
//! failover ("Fail over link": wait for it before dropping the link).

use std::sync::Arc;
use std::time::Duration;

use super::engine_base::{Sides, on, since, update_db};
use super::link_state::Links;
use super::link_store::LinkRecord;
use super::link_types::LinkRole;
use super::model::AvailabilityMode;
use crate::server::Server;

/// How long after a failover the MI takes its automatic full backup. The docs give no figure
/// ("Automated backups": the first full backup is scheduled right after a database is
/// created or restored); a few minutes keeps the documented wait observable.
const AUTO_BACKUP_AFTER: Duration = Duration::from_secs(5 * 60);

/// Synchronous commit: the MI side set to Sync and both members of SQL Server's DAG set to
/// SYNCHRONOUS_COMMIT ("Fail over link": switch both sides before failing over).
pub(super) fn synchronous(l: &Links, rec: &LinkRecord, source: Option<&Server>) -> bool {
    rec.sync
        && source
            .and_then(|s| s.availability_group(&rec.spec.dag))
            .is_some_and(|g| {
                !g.replicas.is_empty()
                    && g.replicas
                        .iter()
                        .all(|r| r.mode == AvailabilityMode::SynchronousCommit)
            })
        && l.mi.is_running()
}

/// Whether both sides claim the primary role (after a forced failover).
pub(super) fn split_brain(rec: &LinkRecord) -> bool {
    rec.instance_role == LinkRole::Primary && rec.partner_role == LinkRole::Primary
}

/// One pass for a synchronizing database.
pub(super) fn sync(l: &Links, rec: &LinkRecord, db: &str, sides: &Sides) {
    if !sides.connected || split_brain(rec) {
        return;
    }
    let Some((primary, secondary)) = sides.roles(&l.mi, rec.instance_role) else {
        return;
    };
    let sync = synchronous(l, rec, sides.source.as_deref());
    catch_up(l, rec, db, &primary, &secondary, sync);
}

/// Ships what the primary logged to the secondary: everything when `all`, else what is older
/// than the lag. Returns the secondary's LSN and the primary's.
pub(super) fn catch_up(
    l: &Links,
    rec: &LinkRecord,
    db: &str,
    primary: &Arc<Server>,
    secondary: &Arc<Server>,
    all: bool,
) -> Option<(i64, i64)> {
    let dag = &rec.spec.dag;
    let now = l.mi.clock().now();
    let lag = l.store.lock().lag;
    let p_lsn = on(primary, |i| i.current_lsn(db))?;
    let d = rec
        .databases
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(db))?
        .clone();
    let mut pending = d.pending.clone();
    if p_lsn > d.primary_lsn {
        pending.push((p_lsn, now));
    }
    let target = if all {
        p_lsn
    } else {
        pending
            .iter()
            .filter(|(_, seen)| since(now, *seen) >= lag)
            .map(|(lsn, _)| *lsn)
            .max()
            .unwrap_or(d.secondary_lsn)
    };
    let mut s_lsn = d.secondary_lsn;
    if target > s_lsn {
        let entries = on(primary, |i| i.log_after(db, s_lsn))?.ok()?;
        let entries: Vec<_> = entries.into_iter().filter(|e| e.lsn <= target).collect();
        match on(secondary, |i| i.redo(db, &entries))? {
            Ok(lsn) => s_lsn = lsn,
            Err(m) => {
                tracing::warn!(database = db, "redo failed: {}", m.text);
                update_db(l, dag, db, |d| d.error = Some((m.number, m.text)));
                return None;
            }
        }
    }
    pending.retain(|(lsn, _)| *lsn > s_lsn);
    update_db(l, dag, db, |d| {
        if p_lsn > d.primary_lsn {
            d.primary_lsn = p_lsn;
            d.primary_time = Some(now);
        }
        if s_lsn > d.secondary_lsn || d.secondary_time.is_none() {
            d.secondary_time = Some(now);
        }
        d.secondary_lsn = s_lsn;
        d.pending = pending;
    });
    Some((s_lsn, p_lsn))
}

/// After a failover to the MI, its first automatic full backup of each database.
pub(super) fn automatic_backups(l: &Links, dag: &str) {
    let Some(rec) = l.store.lock().link(dag).cloned() else {
        return;
    };
    let Some(at) = rec.failed_over else {
        return;
    };
    let now = l.mi.clock().now();
    if rec.instance_role != LinkRole::Primary || since(now, at) < AUTO_BACKUP_AFTER {
        return;
    }
    let server = l.mi_fqdn();
    let stamp = super::engine_base::datetime_text(now);
    for d in rec
        .databases
        .iter()
        .filter(|d| d.auto_backup.is_none_or(|t| t < at))
    {
        let name = d.name.clone();
        let done = on(&l.mi, |i| i.record_automatic_backup(&name, &server, &stamp));
        if matches!(done, Some(Ok(()))) {
            update_db(l, dag, &name, |d| d.auto_backup = Some(now));
        }
    }
}
