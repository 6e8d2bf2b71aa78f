//! The emulated network between the servers of one process: which names resolve to which
//! server, and which ports answer. Tests and the control API break it (a blocked port, a DNS
//! name that no longer resolves) and heal it, to rehearse the link's connectivity failures
//! ("Troubleshoot issues with Managed Instance link", learn.microsoft.com).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use crate::server::Server;

/// The ports a Managed Instance answers the link on: 5022 for the DATABASE_MIRRORING endpoint
/// the DAG's LISTENER_URL names, and "the inbound port range 11000-11999" of its subnet
/// ("Prepare your environment for a link – Azure SQL Managed Instance": network
/// requirements).
pub const MI_MIRRORING_PORT: u16 = 5022;
pub const MI_HADR_PORTS: std::ops::RangeInclusive<u16> = 11000..=11999;

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// No server answers to the name (or its DNS record was broken).
    UnknownHost(String),
    /// A firewall drops the traffic.
    Blocked { host: String, port: u16 },
    /// The server is there but nothing listens on the port (or the server is stopped).
    NotListening { host: String, port: u16 },
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::UnknownHost(h) => write!(f, "name resolution of {h} failed"),
            Unreachable::Blocked { host, port } => {
                write!(f, "TCP connect to {host}:{port} timed out (blocked)")
            }
            Unreachable::NotListening { host, port } => {
                write!(f, "TCP connect to {host}:{port} refused (nothing listens)")
            }
        }
    }
}

#[derive(Default)]
struct State {
    /// Lower-cased name → server.
    servers: BTreeMap<String, Arc<Server>>,
    /// (lower-cased server name, port) pairs a firewall drops.
    blocked: BTreeSet<(String, u16)>,
    /// Lower-cased names that no longer resolve.
    broken_dns: BTreeSet<String>,
}

/// The network: shared by every server of a process that takes part in a link.
#[derive(Default)]
pub struct Network {
    state: Mutex<State>,
}

impl Network {
    pub fn new() -> Arc<Network> {
        Arc::new(Network::default())
    }

    /// Makes `server` answer to each of `names` (its host name, FQDN, `localhost`, …).
    pub fn register(self: &Arc<Self>, names: &[String], server: Arc<Server>) {
        let token = super::membership::new_token();
        match server.with_running_instance(|i| super::membership::record(i, &token)) {
            Ok(Ok(())) => super::membership::add(
                token,
                Arc::new(Member {
                    net: Arc::downgrade(self),
                    me: Arc::downgrade(&server),
                }),
            ),
            _ => tracing::warn!(
                "a stopped server joined the network: its Agent jobs will not reach it"
            ),
        }
        let mut s = self.state.lock();
        for n in names {
            s.servers.insert(n.to_ascii_lowercase(), server.clone());
        }
        let name = server.personality().server_name().to_ascii_lowercase();
        if server.personality().is_managed_instance() {
            // The node the fabric DMVs name answers for the instance (hadr::fabric).
            let node = super::fabric::Fabric::of(&name)
                .node_fqdn()
                .to_ascii_lowercase();
            s.servers.insert(node, server.clone());
        }
        s.servers.insert(name, server.clone());
    }

    /// The server a name resolves to; None when unknown or its DNS record is broken.
    pub fn resolve(&self, host: &str) -> Option<Arc<Server>> {
        let s = self.state.lock();
        let key = host.to_ascii_lowercase();
        if s.broken_dns.contains(&key) {
            return None;
        }
        s.servers.get(&key).cloned()
    }

    /// Whether a TCP connection from `from` to `to_host:port` would succeed: the name resolves,
    /// no firewall drops the traffic, and the target listens there — on its TDS port, on a
    /// STARTED DATABASE_MIRRORING endpoint's port, or (a Managed Instance) on 5022 and
    /// 11000–11999.
    pub fn reachable(
        &self,
        from: &Server,
        to_host: &str,
        port: u16,
    ) -> Result<Arc<Server>, Unreachable> {
        // Every server of the network sees the same firewall and DNS; the source matters
        // only for a fault a test would aim at one side, which `block_port` does not offer.
        let _ = from;
        self.probe(to_host, port, |s| s.mirroring_endpoint())
    }

    /// [`Network::reachable`] from anywhere, reading a target's mirroring endpoint with
    /// `endpoint` (the Agent's `tnc` reads its own server's without locking it again).
    pub fn probe(
        &self,
        to_host: &str,
        port: u16,
        mut endpoint: impl FnMut(&Arc<Server>) -> Option<super::model::Endpoint>,
    ) -> Result<Arc<Server>, Unreachable> {
        let target = self
            .resolve(to_host)
            .ok_or_else(|| Unreachable::UnknownHost(to_host.to_owned()))?;
        let blocked = {
            let s = self.state.lock();
            let name = target.personality().server_name().to_ascii_lowercase();
            s.blocked.contains(&(name, port))
                || s.blocked.contains(&(to_host.to_ascii_lowercase(), port))
        };
        if blocked {
            return Err(Unreachable::Blocked {
                host: to_host.to_owned(),
                port,
            });
        }
        let not_listening = || Unreachable::NotListening {
            host: to_host.to_owned(),
            port,
        };
        if !target.is_running() {
            return Err(not_listening());
        }
        let listens = if target.personality().is_managed_instance() {
            port == MI_MIRRORING_PORT || MI_HADR_PORTS.contains(&port) || port == target.addr.port()
        } else {
            port == target.addr.port()
                || endpoint(&target).is_some_and(|e| e.started && e.port == port)
        };
        if listens {
            Ok(target)
        } else {
            Err(not_listening())
        }
    }

    /// Drops traffic to `port` of the server known as `server_name` (any of its names).
    pub fn block_port(&self, server_name: &str, port: u16) {
        let mut s = self.state.lock();
        let name = match s.servers.get(&server_name.to_ascii_lowercase()) {
            Some(srv) => srv.personality().server_name().to_ascii_lowercase(),
            None => server_name.to_ascii_lowercase(),
        };
        s.blocked.insert((name, port));
    }

    /// Makes `name` stop resolving.
    pub fn break_dns(&self, name: &str) {
        self.state
            .lock()
            .broken_dns
            .insert(name.to_ascii_lowercase());
    }

    /// Removes every blocked port and broken name.
    pub fn heal(&self) {
        let mut s = self.state.lock();
        s.blocked.clear();
        s.broken_dns.clear();
    }
}

/// The network as one registered server's statements reach it (hadr::membership).
struct Member {
    net: Weak<Network>,
    me: Weak<Server>,
}

impl super::membership::Prober for Member {
    fn probe(
        &self,
        host: &str,
        port: u16,
        own_endpoint: Option<super::model::Endpoint>,
    ) -> Result<String, String> {
        let (Some(net), Some(me)) = (self.net.upgrade(), self.me.upgrade()) else {
            return Err(format!("name resolution of {host} failed"));
        };
        net.probe(host, port, |target| {
            if Arc::ptr_eq(target, &me) {
                return own_endpoint.clone();
            }
            // Another server's lock, waited for briefly: two servers probing each other at
            // once cannot block each other for good; one that stays busy does not answer.
            target
                .try_with_running_instance(Duration::from_secs(2), |i| {
                    super::store::endpoint(i).ok().flatten()
                })
                .flatten()
        })
        .map(|t| t.addr.ip().to_string())
        .map_err(|e| e.to_string())
    }

    fn address(&self, host: &str) -> Option<String> {
        let net = self.net.upgrade()?;
        net.resolve(host).map(|s| s.addr.ip().to_string())
    }

    fn alive(&self) -> bool {
        self.net.strong_count() > 0 && self.me.strong_count() > 0
    }
}
