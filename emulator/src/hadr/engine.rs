//! The link engine: one background task per MI's [`Links`] that, every virtual second, carries
//! out what T-SQL on either side asked for, then moves each link on — checks, seeding,
//! redo — and writes both sides' DMV state. Phases follow "Troubleshoot link"
//! (learn.microsoft.com): CreatingLink (initial seeding), LinkSynchronizing, and the error
//! states LinkInitError and LinkCreationError.

use std::sync::Weak;
use std::time::Duration;

use super::engine_base::sides;
use super::link_state::Links;
use super::link_store::Phase;

/// How often the engine looks, in virtual time.
const TICK: Duration = Duration::from_secs(1);

pub(super) async fn run(links: Weak<Links>) {
    loop {
        let Some(l) = links.upgrade() else {
            return;
        };
        step(&l);
        let pause =
            l.mi.clock()
                .real(TICK)
                .clamp(Duration::from_millis(10), Duration::from_millis(250));
        drop(l);
        tokio::time::sleep(pause).await;
    }
}

/// One pass over every link.
pub(super) fn step(l: &Links) {
    let _turn = l.turn.lock();
    super::engine_requests::drain(l);
    let dags: Vec<String> = l
        .store
        .lock()
        .links
        .iter()
        .map(|r| r.spec.dag.clone())
        .collect();
    for dag in dags {
        step_link(l, &dag);
    }
}

fn step_link(l: &Links, dag: &str) {
    let Some(rec) = l.store.lock().link(dag).cloned() else {
        return;
    };
    let sides = sides(l, &rec);
    if rec.connected != sides.connected {
        l.update(|s| {
            if let Some(r) = s.link_mut(dag) {
                r.connected = sides.connected;
            }
        });
    }
    for db in &rec.databases {
        let Some(rec) = l.store.lock().link(dag).cloned() else {
            return;
        };
        match db.phase {
            Phase::Init => super::engine_checks::init(l, &rec, &db.name, &sides),
            Phase::Seeding => super::engine_seed::seed(l, &rec, &db.name, &sides),
            Phase::Synchronizing => super::engine_sync::sync(l, &rec, &db.name, &sides),
            Phase::Failed => {}
        }
    }
    super::engine_sync::automatic_backups(l, dag);
    // Bound first: an `if let` would hold the store's lock through the block.
    let rec = l.store.lock().link(dag).cloned();
    if let Some(rec) = rec {
        super::engine_dmv::publish(l, &rec, &sides);
    }
}
