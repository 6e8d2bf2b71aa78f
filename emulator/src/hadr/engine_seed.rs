//! Automatic seeding over the link: the primary streams the database whole (a VDI backup on
//! SQL Server) while the secondary's copy waits RESTORING, at a configurable rate in virtual
//! time. "Troubleshoot link" is the model: seeding is not resumable (a disconnection or a
//! restart of either side starts it again), and a log backup on the primary during seeding
//! truncates the log seeding needs: the link fails with error 1412 (LinkCreationError).

use std::sync::Arc;

use super::engine_base::{Sides, on, scalar, since, update_db};
use super::link_errors::{CREATION_ERROR, INIT_ERROR, e41977};
use super::link_state::{Links, SeedRun};
use super::link_store::{LinkRecord, Phase};
use crate::protocol::types::Value;
use crate::server::Server;

/// "Troubleshoot link": a link able to push 84 GB an hour seeds 100 GB in about 1.2 hours.
pub(super) const DEFAULT_RATE: i64 = 84 * 1024 * 1024 * 1024 / 3600;

/// "Troubleshoot link": link creation is canceled after 6 days of seeding.
const GIVE_UP: std::time::Duration = std::time::Duration::from_secs(6 * 24 * 3600);

fn key(dag: &str, db: &str) -> (String, String) {
    (dag.to_ascii_lowercase(), db.to_ascii_lowercase())
}

/// The newest log backup of `db` recorded in the server's msdb.
fn last_log_backup(server: &Server, db: &str) -> i64 {
    let sql = format!(
        "SELECT MAX(backup_set_id) FROM msdb.dbo.backupset WHERE type = 'L' AND database_name = N'{}'",
        db.replace('\'', "''")
    );
    match scalar(server, &sql) {
        Some(Value::Int(n)) => n,
        _ => 0,
    }
}

/// Begins (or begins again) seeding `db` from `primary` to `secondary`.
pub(super) fn start(
    l: &Links,
    rec: &LinkRecord,
    db: &str,
    primary: &Arc<Server>,
    secondary: &Arc<Server>,
) {
    let dag = &rec.spec.dag;
    let Some(image) = on(primary, |i| i.seeding_image(db)) else {
        return;
    };
    let image = match image {
        Ok(i) => i,
        Err(m) => {
            return update_db(l, dag, db, |d| d.fail(INIT_ERROR, m.number, m.text));
        }
    };
    // The copy may be there already from an attempt that was interrupted.
    let exists = on(secondary, |i| i.database(db).map(|d| d.restoring));
    let created = match exists {
        None => return,
        Some(Some(true)) => Ok(()),
        Some(Some(false)) => Err(()),
        Some(None) => {
            on(secondary, |i| i.begin_link_seeding(db)).map_or(Err(()), |r| r.map_err(|_| ()))
        }
    };
    if created.is_err() {
        let (n, t) = e41977(&rec.spec.partner_ag, &rec.spec.partner_endpoint);
        return update_db(l, dag, db, |d| d.fail(CREATION_ERROR, n, t));
    }
    let now = l.mi.clock().now();
    let size = image.bytes.len() as i64;
    l.seeds.lock().insert(
        key(dag, db),
        SeedRun {
            image,
            launches: (primary.launches(), secondary.launches()),
            log_mark: last_log_backup(primary, db),
            last_tick: now,
            interrupted: false,
        },
    );
    update_db(l, dag, db, |d| {
        d.phase = Phase::Seeding;
        d.replica_state = "CreatingLink".into();
        d.seed_size = size;
        d.seed_transferred = 0;
        d.seed_started = Some(now);
        d.seed_attempts += 1;
    });
}

/// One pass for a database being seeded.
pub(super) fn seed(l: &Links, rec: &LinkRecord, db: &str, sides: &Sides) {
    let dag = &rec.spec.dag;
    let Some((primary, secondary)) = sides.roles(&l.mi, rec.instance_role) else {
        return;
    };
    let now = l.mi.clock().now();
    let k = key(dag, db);
    if since(now, rec.created) > GIVE_UP {
        l.seeds.lock().remove(&k);
        // "Troubleshoot link": "Link creation is automatically canceled after 6 days"; no
        // error number is documented for it.
        let text = format!(
            "ferry-emulator: creating the link for database '{db}' was canceled: seeding did not finish within 6 days"
        );
        return update_db(l, dag, db, |d| d.fail(CREATION_ERROR, 50000, text));
    }
    let restart = {
        let mut seeds = l.seeds.lock();
        match seeds.get_mut(&k) {
            None => true,
            Some(run) => {
                let restarted = run.launches != (primary.launches(), secondary.launches());
                if !sides.connected {
                    run.interrupted = true;
                }
                restarted || (run.interrupted && sides.connected)
            }
        }
    };
    if !sides.connected {
        update_db(l, dag, db, |d| d.seed_transferred = 0);
        return;
    }
    if restart {
        l.seeds.lock().remove(&k);
        return start(l, rec, db, &primary, &secondary);
    }
    let truncated = {
        let injected = std::mem::take(&mut l.faults.lock().truncate);
        let mark = l.seeds.lock().get(&k).map_or(0, |r| r.log_mark);
        injected || last_log_backup(&primary, db) > mark
    };
    if truncated {
        l.seeds.lock().remove(&k);
        let text = format!(
            "The remote copy of database \"{db}\" has not been rolled forward to a point in time that is encompassed in the local copy of the database log."
        );
        return update_db(l, dag, db, |d| d.fail(CREATION_ERROR, 1412, text));
    }
    let rate = l.store.lock().seeding_rate.unwrap_or(DEFAULT_RATE);
    let stalled = l.faults.lock().stalled;
    let (done, size) = {
        let mut seeds = l.seeds.lock();
        let Some(run) = seeds.get_mut(&k) else {
            return;
        };
        let moved = if stalled {
            0
        } else {
            (since(now, run.last_tick).as_secs_f64() * rate as f64) as i64
        };
        run.last_tick = now;
        let size = run.image.bytes.len() as i64;
        let before = rec
            .databases
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(db))
            .map_or(0, |d| d.seed_transferred);
        ((before + moved).min(size), size)
    };
    update_db(l, dag, db, |d| d.seed_transferred = done);
    if done >= size {
        finish(l, rec, db, &primary, &secondary);
    }
}

/// The copy takes the seeded file, redoes what the primary logged meanwhile and opens as a
/// readable secondary.
fn finish(l: &Links, rec: &LinkRecord, db: &str, primary: &Arc<Server>, secondary: &Arc<Server>) {
    let dag = &rec.spec.dag;
    let Some(run) = l.seeds.lock().remove(&key(dag, db)) else {
        return;
    };
    let since_lsn = run.image.lsn;
    let Some(Ok(entries)) = on(primary, |i| i.log_after(db, since_lsn)) else {
        return;
    };
    let result = on(secondary, |i| {
        i.finish_link_seeding(db, &run.image)?;
        let lsn = i.redo(db, &entries)?;
        i.open_link_replica(db)?;
        i.set_link_secondary(db, true)?;
        Ok::<i64, crate::protocol::tokens::ServerMessage>(lsn)
    });
    let now = l.mi.clock().now();
    match result {
        Some(Ok(lsn)) => update_db(l, dag, db, |d| {
            d.phase = Phase::Synchronizing;
            d.replica_state = "LinkSynchronizing".into();
            d.seed_transferred = d.seed_size;
            d.secondary_lsn = lsn;
            d.secondary_time = Some(now);
            d.primary_lsn = lsn;
            d.primary_time = Some(now);
        }),
        Some(Err(m)) => {
            let (n, t) = e41977(&rec.spec.partner_ag, &rec.spec.partner_endpoint);
            tracing::warn!(database = db, "seeding could not finish: {}", m.text);
            update_db(l, dag, db, |d| d.fail(CREATION_ERROR, n, t));
        }
        None => {}
    }
}
