//! What every part of the link engine shares: the link's two servers and whether they reach
//! each other, access to a running server's instance, the partner endpoint's address, and
//! saving a database's record.

use std::sync::Arc;
use std::time::SystemTime;

use super::link_state::Links;
use super::link_store::{DbRecord, LinkRecord, Phase};
use super::link_types::LinkRole;
use crate::instance::Instance;
use crate::protocol::types::Value;
use crate::server::Server;
use crate::sql::Outcome;

/// `TCP://host:port` (any case) as host and port.
pub(super) fn parse_endpoint(url: &str) -> Option<(String, u16)> {
    let rest = url.trim();
    let scheme = rest.get(..6)?;
    if !scheme.eq_ignore_ascii_case("tcp://") {
        return None;
    }
    // A LISTENER_URL may carry `;Server=[…]` after the address.
    let addr = rest[6..].split(';').next()?.trim_end_matches('/');
    let (host, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    if host.is_empty() || port == 0 {
        return None;
    }
    Some((host.to_owned(), port))
}

/// Virtual seconds since `t`.
pub(super) fn since(now: SystemTime, t: SystemTime) -> std::time::Duration {
    now.duration_since(t).unwrap_or_default()
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
    // Once the link runs, SQL Server's DAG is what talks to the MI: dropped there (DROP
    // AVAILABILITY GROUP), nothing flows, as if disconnected. Before, the checks report 41976.
    let started = rec
        .databases
        .iter()
        .any(|d| matches!(d.phase, Phase::Seeding | Phase::Synchronizing));
    let why = why.or_else(|| {
        let s = source.as_ref()?;
        (started && s.availability_group(&rec.spec.dag).is_none()).then(|| {
            format!(
                "the distributed availability group '{}' no longer exists on SQL Server",
                rec.spec.dag
            )
        })
    });
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

/// Changes one database's record of one link and saves.
pub(super) fn update_db(l: &Links, dag: &str, db: &str, f: impl FnOnce(&mut DbRecord)) {
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

/// datetime2 text of a virtual time.
pub(super) fn datetime_text(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    // Days since 0001-01-01; 719,162 of them before 1970-01-01.
    let days = (d.as_secs() / 86_400) as u32 + 719_162;
    let ticks = (d.as_secs() % 86_400) * 10_000_000 + u64::from(d.subsec_nanos() / 100);
    crate::protocol::types::datetime_text(days, ticks)
}

pub(super) fn literal(s: &str) -> String {
    format!("N'{}'", s.replace('\'', "''"))
}

/// The first value of the first row a query returns on `server`.
pub(super) fn scalar(server: &Server, sql: &str) -> Option<Value> {
    let outcomes = server.run_sql(sql).ok()?;
    outcomes.into_iter().find_map(|o| match o {
        Outcome::Rows { rows, .. } => rows.into_iter().next()?.into_iter().next(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_endpoint;

    #[test]
    fn endpoints_parse_with_or_without_the_server_suffix() {
        assert_eq!(
            parse_endpoint("TCP://10.0.0.4:5022"),
            Some(("10.0.0.4".into(), 5022))
        );
        assert_eq!(
            parse_endpoint("tcp://mi.zone.database.windows.net:5022;Server=[mi]"),
            Some(("mi.zone.database.windows.net".into(), 5022))
        );
        assert_eq!(parse_endpoint("http://x:5022"), None);
        assert_eq!(parse_endpoint("TCP://x"), None);
        assert_eq!(parse_endpoint("TCP://x:99999"), None);
        assert_eq!(parse_endpoint("TCP://:5022"), None);
        assert_eq!(parse_endpoint("TC"), None);
    }
}
