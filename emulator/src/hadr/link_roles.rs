//! Role changes of a link, from ARM (failover, setRole, PATCH replicationMode, DELETE) and from
//! T-SQL on either side (FAILOVER, FORCE_FAILOVER_ALLOW_DATA_LOSS, SET (ROLE = SECONDARY)).
//! Modelled on "Fail over link" and "Troubleshoot link" (split brain) on learn.microsoft.com:
//! a planned failover needs synchronous commit on both sides and the secondary caught up; a
//! forced one promotes the secondary without asking the primary, so both may claim PRIMARY
//! until one side is set back to SECONDARY, losing what it wrote meanwhile.

use std::sync::Arc;

use super::engine_base::{on, sides};
use super::engine_sync::{catch_up, synchronous};
use super::link_errors::{e41142, e41965};
use super::link_state::Links;
use super::link_store::{LinkRecord, Phase};
use super::link_types::{LinkError, LinkRole};
use super::model::{AvailabilityMode, ReplicaRole};
use crate::server::Server;

/// Which server of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Mi,
    Source,
}

fn record(l: &Links, dag: &str) -> Result<LinkRecord, LinkError> {
    l.store
        .lock()
        .link(dag)
        .cloned()
        .ok_or_else(|| LinkError::refused(format!("the link '{dag}' does not exist")))
}

fn role_of(rec: &LinkRecord, side: Side) -> LinkRole {
    match side {
        Side::Mi => rec.instance_role,
        Side::Source => rec.partner_role,
    }
}

fn one_way(rec: &LinkRecord) -> Result<(), LinkError> {
    if rec.spec.failover_manual {
        return Ok(());
    }
    // "Fail over link": with SQL Server 2019 and earlier (failoverMode None) failing over
    // breaks the link; there is no failing back. No error number is documented for asking.
    Err(LinkError::refused(format!(
        "the link '{}' is one-way (failoverMode None): cut over by deleting the link, which makes both databases independent",
        rec.spec.dag
    )))
}

fn servers(l: &Links, rec: &LinkRecord) -> Result<(Arc<Server>, Arc<Server>), LinkError> {
    let source = sides(l, rec).source.ok_or_else(|| {
        LinkError::refused(format!(
            "the partner endpoint '{}' does not resolve",
            rec.spec.partner_endpoint
        ))
    })?;
    Ok((l.mi.clone(), source))
}

fn server_of(mi: &Arc<Server>, source: &Arc<Server>, side: Side) -> Arc<Server> {
    match side {
        Side::Mi => mi.clone(),
        Side::Source => source.clone(),
    }
}

pub(super) fn set_replication_mode(l: &Links, dag: &str, sync: bool) -> Result<(), LinkError> {
    record(l, dag)?;
    if let Some(mut g) = l.mi.availability_group(dag) {
        let mode = if sync {
            AvailabilityMode::SynchronousCommit
        } else {
            AvailabilityMode::AsynchronousCommit
        };
        for r in &mut g.replicas {
            r.mode = mode;
        }
        l.mi.put_availability_group(g)
            .map_err(|m| LinkError::new(m.number, "", m.text))?;
    }
    l.update(|s| {
        if let Some(r) = s.link_mut(dag) {
            r.sync = sync;
        }
    });
    Ok(())
}

/// Planned failover to `to`: both sides connected, synchronous commit, every database caught
/// up; then the roles swap and the new secondary's databases turn read-only.
pub(super) fn promote_planned(l: &Links, dag: &str, to: Side) -> Result<(), LinkError> {
    let rec = record(l, dag)?;
    one_way(&rec)?;
    if role_of(&rec, to) == LinkRole::Primary {
        return Err(e41965());
    }
    let s = sides(l, &rec);
    if !s.connected
        || rec
            .databases
            .iter()
            .any(|d| d.phase != Phase::Synchronizing)
    {
        return Err(e41142(dag));
    }
    if !synchronous(l, &rec, s.source.as_deref()) {
        return Err(e41142(dag));
    }
    let (mi, source) = servers(l, &rec)?;
    let (primary, secondary) = match to {
        Side::Mi => (source.clone(), mi.clone()),
        Side::Source => (mi.clone(), source.clone()),
    };
    for d in &rec.databases {
        // Synchronous commit: what the primary committed is hardened on the secondary.
        let rec = record(l, dag)?;
        match catch_up(l, &rec, &d.name, &primary, &secondary, true) {
            Some((s_lsn, p_lsn)) if s_lsn >= p_lsn => {}
            _ => return Err(e41142(dag)),
        }
    }
    swap(l, &rec, to, true, &mi, &source)
}

/// Forced failover to `to`: it becomes primary at once; the other side is not told.
pub(super) fn promote_forced(l: &Links, dag: &str, to: Side) -> Result<(), LinkError> {
    let rec = record(l, dag)?;
    one_way(&rec)?;
    if role_of(&rec, to) == LinkRole::Primary {
        return Err(e41965());
    }
    let (mi, source) = servers(l, &rec)?;
    swap(l, &rec, to, false, &mi, &source)
}

fn swap(
    l: &Links,
    rec: &LinkRecord,
    to: Side,
    planned: bool,
    mi: &Arc<Server>,
    source: &Arc<Server>,
) -> Result<(), LinkError> {
    let new_primary = server_of(mi, source, to);
    let old_primary = server_of(mi, source, other(to));
    let msg = |m: crate::protocol::tokens::ServerMessage| LinkError::new(m.number, "", m.text);
    for d in &rec.databases {
        on(&new_primary, |i| i.set_link_secondary(&d.name, false))
            .transpose()
            .map_err(msg)?;
        if planned {
            on(&old_primary, |i| i.set_link_secondary(&d.name, true))
                .transpose()
                .map_err(msg)?;
        }
    }
    let _ = new_primary.set_local_role(&rec.spec.dag, ReplicaRole::Primary);
    if planned {
        let _ = old_primary.set_local_role(&rec.spec.dag, ReplicaRole::Secondary);
    }
    let now = l.mi.clock().now();
    l.update(|s| {
        let Some(r) = s.link_mut(&rec.spec.dag) else {
            return;
        };
        match to {
            Side::Mi => {
                r.instance_role = LinkRole::Primary;
                if planned {
                    r.partner_role = LinkRole::Secondary;
                }
            }
            Side::Source => {
                r.partner_role = LinkRole::Primary;
                if planned {
                    r.instance_role = LinkRole::Secondary;
                }
            }
        }
        r.failed_over = Some(now);
        for d in &mut r.databases {
            d.pending.clear();
            let lsn = d.secondary_lsn.max(d.primary_lsn);
            if planned {
                d.primary_lsn = lsn;
                d.secondary_lsn = lsn;
            }
        }
    });
    Ok(())
}

fn other(s: Side) -> Side {
    match s {
        Side::Mi => Side::Source,
        Side::Source => Side::Mi,
    }
}

/// SET (ROLE = SECONDARY) on `side` while the other side is primary (split brain): `side`
/// becomes secondary and its databases go back to the primary's copy ("Troubleshoot link":
/// what it wrote after the forced failover is lost; back it up first).
pub(super) fn demote(l: &Links, dag: &str, side: Side) -> Result<(), LinkError> {
    let rec = record(l, dag)?;
    if role_of(&rec, side) == LinkRole::Secondary {
        return Err(e41965());
    }
    if role_of(&rec, other(side)) != LinkRole::Primary {
        return Err(LinkError::refused(format!(
            "the link '{dag}' would have no primary: set a replica to SECONDARY only while the other one is PRIMARY, or fail over instead"
        )));
    }
    let (mi, source) = servers(l, &rec)?;
    let target = server_of(&mi, &source, side);
    let primary = server_of(&mi, &source, other(side));
    let msg = |m: crate::protocol::tokens::ServerMessage| LinkError::new(m.number, "", m.text);
    let mut lsns = Vec::new();
    for d in &rec.databases {
        let image = on(&primary, |i| i.seeding_image(&d.name))
            .ok_or_else(|| LinkError::refused("the primary is stopped"))?
            .map_err(msg)?;
        let lsn = image.lsn;
        on(&target, |i| {
            i.finish_link_seeding(&d.name, &image)?;
            i.open_link_replica(&d.name)?;
            i.set_link_secondary(&d.name, true)
        })
        .ok_or_else(|| LinkError::refused("the server to demote is stopped"))?
        .map_err(msg)?;
        lsns.push((d.name.clone(), lsn));
    }
    let _ = target.set_local_role(dag, ReplicaRole::Secondary);
    l.update(|s| {
        let Some(r) = s.link_mut(dag) else {
            return;
        };
        match side {
            Side::Mi => r.instance_role = LinkRole::Secondary,
            Side::Source => r.partner_role = LinkRole::Secondary,
        }
        for d in &mut r.databases {
            if let Some((_, lsn)) = lsns.iter().find(|(n, _)| n.eq_ignore_ascii_case(&d.name)) {
                d.primary_lsn = *lsn;
                d.secondary_lsn = *lsn;
                d.pending.clear();
            }
        }
    });
    Ok(())
}

/// ARM failover: a planned one makes the current secondary primary (the MI on the way
/// there, SQL Server on the way back), a forced one the MI.
pub(super) fn failover(l: &Links, dag: &str, forced: bool) -> Result<(), LinkError> {
    // "Distributed Availability Groups - Failover" documents only the failover types. "Fail
    // over a link" uses the same call (Start-AzSqlInstanceLinkFailover) for the failback from
    // the MI to SQL Server 2022, so a planned failover goes to whichever side is secondary.
    // Forced failover over ARM is documented for a lost SQL Server (the MI takes over); the
    // docs are silent on forcing the other way over ARM, so the stricter reading: always the MI.
    let rec = record(l, dag)?;
    if forced {
        promote_forced(l, dag, Side::Mi)
    } else if rec.instance_role == LinkRole::Primary {
        promote_planned(l, dag, Side::Source)
    } else {
        promote_planned(l, dag, Side::Mi)
    }
}

/// ARM setRole.
pub(super) fn set_role(l: &Links, dag: &str, primary: bool, forced: bool) -> Result<(), LinkError> {
    let rec = record(l, dag)?;
    match (primary, forced) {
        (true, false) => Err(LinkError::new(
            41970,
            "",
            "Switching to Primary role in planned fashion is not supported.",
        )),
        (true, true) => promote_forced(l, dag, Side::Mi),
        (false, _) if rec.instance_role == LinkRole::Secondary => Err(e41965()),
        (false, _) if rec.partner_role == LinkRole::Primary => demote(l, dag, Side::Mi),
        (false, false) => promote_planned(l, dag, Side::Source),
        (false, true) => {
            promote_forced(l, dag, Side::Source)?;
            demote(l, dag, Side::Mi)
        }
    }
}

/// DELETE: the link is gone; both databases are independent and writable ("Fail over link":
/// break the link). A database still seeding is dropped from the MI.
pub(super) fn delete(l: &Links, dag: &str) -> Result<(), LinkError> {
    let rec = record(l, dag)?;
    let source = sides(l, &rec).source;
    for d in &rec.databases {
        l.seeds
            .lock()
            .remove(&(dag.to_ascii_lowercase(), d.name.to_ascii_lowercase()));
        let restoring = on(&l.mi, |i| i.database(&d.name).map(|x| x.restoring)).flatten();
        let dropped = on(&l.mi, |i| {
            if restoring == Some(true) {
                i.drop_database(&d.name)
            } else {
                i.set_link_secondary(&d.name, false)
            }
        });
        if let Some(Err(m)) = dropped {
            return Err(LinkError::new(m.number, "", m.text));
        }
        if let Some(s) = &source {
            let _ = on(s, |i| i.set_link_secondary(&d.name, false));
            let _ = s.set_log_reuse_wait(&d.name, "NOTHING");
        }
    }
    let _ = l.mi.drop_availability_group(&rec.spec.dag);
    let _ = l.mi.drop_availability_group(&rec.spec.instance_ag);
    if let Some(s) = &source {
        s.set_replica_runtime(
            &rec.spec.dag,
            &rec.spec.instance_ag,
            super::model::ReplicaRuntime {
                connected: false,
                role: ReplicaRole::Resolving,
                healthy: false,
                last_connect_error: None,
            },
        );
    }
    l.update(|s| s.links.retain(|r| !r.spec.dag.eq_ignore_ascii_case(dag)));
    Ok(())
}
