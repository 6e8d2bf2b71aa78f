//! What T-SQL on either side asked the link to do (ALTER AVAILABILITY GROUP … FAILOVER,
//! FORCE_FAILOVER_ALLOW_DATA_LOSS, SET (ROLE = SECONDARY), DROP AVAILABILITY GROUP), carried
//! out by the engine: the statement itself succeeded when it was queued, so a request that
//! cannot be carried out is logged and shows in the link's state, not as an error to the
//! session ("Fail over link": FAILOVER on the primary, FORCE_FAILOVER_ALLOW_DATA_LOSS on the
//! secondary).

use super::engine_base::sides;
use super::link_roles::{Side, demote, promote_forced, promote_planned};
use super::link_state::Links;
use super::link_types::{LinkError, LinkRole};
use super::model::HadrRequest;

pub(super) fn drain(l: &Links) {
    let recs: Vec<_> = l.store.lock().links.clone();
    let mut asked: Vec<(Side, HadrRequest)> =
        l.mi.take_hadr_requests()
            .into_iter()
            .map(|r| (Side::Mi, r))
            .collect();
    let mut seen = Vec::new();
    for rec in &recs {
        if let Some(s) = sides(l, rec).source
            && !seen
                .iter()
                .any(|x: &std::sync::Arc<crate::server::Server>| std::sync::Arc::ptr_eq(x, &s))
        {
            asked.extend(
                s.take_hadr_requests()
                    .into_iter()
                    .map(|r| (Side::Source, r)),
            );
            seen.push(s);
        }
    }
    for (side, req) in asked {
        let (kind, ag) = req.encode();
        let Some(rec) = recs.iter().find(|r| r.spec.dag.eq_ignore_ascii_case(ag)) else {
            continue;
        };
        let dag = rec.spec.dag.clone();
        let own = match side {
            Side::Mi => rec.instance_role,
            Side::Source => rec.partner_role,
        };
        let done = match req {
            // Run on the primary: the other side becomes primary.
            HadrRequest::Failover { .. } if own == LinkRole::Primary => {
                let to = if side == Side::Mi {
                    Side::Source
                } else {
                    Side::Mi
                };
                promote_planned(l, &dag, to)
            }
            HadrRequest::Failover { .. } => Err(LinkError::refused(
                "FAILOVER must run on the primary replica",
            )),
            HadrRequest::ForceFailover { .. } => promote_forced(l, &dag, side),
            HadrRequest::SetRoleSecondary { .. } => demote(l, &dag, side),
            HadrRequest::ModeChanged { .. } | HadrRequest::Dropped { .. } => Ok(()),
        };
        if let Err(e) = done {
            tracing::warn!(link = %dag, request = kind, "the link could not carry out the request: {e}");
        }
    }
}
