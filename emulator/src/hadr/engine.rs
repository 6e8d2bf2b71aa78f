//! The link engine: one background task per MI's [`Links`] that, every virtual second, carries
//! out what T-SQL on either side asked for, then moves each link on — checks, seeding,
//! redo — and writes both sides' DMV state. Phases follow "Troubleshoot link"
//! (learn.microsoft.com): CreatingLink (initial seeding), LinkSynchronizing, and the error
//! states LinkInitError and LinkCreationError.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::link::{LinkRole, Links};
use super::link_create::parse_endpoint;
use super::link_store::{LinkRecord, Phase};
use crate::instance::Instance;
use crate::server::Server;

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

/// The two servers of a link as this pass sees them.
pub(super) struct Sides {
    /// SQL Server, when its name resolves.
    pub source: Option<Arc<Server>>,
    /// Whether the MI reaches SQL Server's endpoint and SQL Server reaches the MI's.
    pub connected: bool,
    /// Why not, for last_connect_error.
    pub why: Option<String>,
}

impl Sides {
    /// (primary, secondary) for a role of the MI.
    pub fn roles(&self, mi: &Arc<Server>, mi_role: LinkRole) -> Option<(Arc<Server>, Arc<Server>)> {
        let source = self.source.clone()?;
        Some(match mi_role {
            LinkRole::Primary => (mi.clone(), source),
            LinkRole::Secondary => (source, mi.clone()),
        })
    }
}

pub(super) fn sides(l: &Links, rec: &LinkRecord) -> Sides {
    let Some((host, port)) = parse_endpoint(&rec.spec.partner_endpoint) else {
        return Sides {
            source: None,
            connected: false,
            why: Some(format!(
                "partnerEndpoint '{}' is not TCP://host:port",
                rec.spec.partner_endpoint
            )),
        };
    };
    let source = l.network.resolve(&host);
    if l.faults.lock().partitioned {
        return Sides {
            source,
            connected: false,
            why: Some(
                "the network between SQL Server and the managed instance is partitioned".into(),
            ),
        };
    }
    let there = l.network.reachable(&l.mi, &host, port);
    let back = match &source {
        Some(s) => l
            .network
            .reachable(s, &l.mi_fqdn(), super::network::MI_MIRRORING_PORT)
            .map(|_| ()),
        None => Ok(()),
    };
    let why = match (&there, &back) {
        (Err(e), _) => Some(e.to_string()),
        (_, Err(e)) => Some(e.to_string()),
        _ => None,
    };
    Sides {
        source,
        connected: why.is_none(),
        why,
    }
}

/// Runs `f` on a running server's instance; None when it is stopped.
pub(super) fn on<T>(s: &Server, f: impl FnOnce(&mut Instance) -> T) -> Option<T> {
    s.with_running_instance(f).ok()
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
    if let Some(rec) = l.store.lock().link(dag).cloned() {
        super::engine_dmv::publish(l, &rec, &sides);
    }
}

/// Changes one database's record of one link and saves.
pub(super) fn update_db(
    l: &Links,
    dag: &str,
    db: &str,
    f: impl FnOnce(&mut super::link_store::DbRecord),
) {
    l.update(|s| {
        if let Some(d) = s.link_mut(dag).and_then(|r| {
            r.databases
                .iter_mut()
                .find(|d| d.name.eq_ignore_ascii_case(db))
        }) {
            f(d);
        }
    });
}
