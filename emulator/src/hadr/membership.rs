//! Which network a server belongs to, found from inside its own statements. A batch runs
//! with the instance only (no `Server`), so registering a server in a network writes a token
//! into its catalog, and this process-wide table maps the token back to a [`Prober`] that
//! reaches the network as that server. After a restart of the process the token finds
//! nothing: the server is then on no network until it is registered again.
//!
//! The statements see the network only through [`Prober`], so the SQL path does not depend on
//! the server that runs it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::model::Endpoint;
use super::store::{rows, s};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;

/// The network as one of its servers sees it.
pub trait Prober: Send + Sync {
    /// Whether `host:port` answers: Ok(the address it resolved to) or Err(why not).
    /// `own_endpoint` is the asking server's DATABASE_MIRRORING endpoint, which it reads
    /// itself (its statement holds its instance).
    fn probe(
        &self,
        host: &str,
        port: u16,
        own_endpoint: Option<Endpoint>,
    ) -> Result<String, String>;
    /// The address `host` resolves to, if it does.
    fn address(&self, host: &str) -> Option<String>;
    /// False once the network or the server is gone.
    fn alive(&self) -> bool;
}

type Members = Mutex<HashMap<String, Arc<dyn Prober>>>;

fn members() -> &'static Members {
    static M: OnceLock<Members> = OnceLock::new();
    M.get_or_init(Members::default)
}

/// A token no other registration of this process has.
pub(super) fn new_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `token` into the instance's catalog (replacing an older one).
pub(super) fn record(inst: &mut Instance, token: &str) -> Result<(), ServerMessage> {
    inst.execute(r#"DELETE FROM "ferry.hadr_network""#, &[])?;
    inst.execute(
        r#"INSERT INTO "ferry.hadr_network" VALUES (?1)"#,
        &[s(token)],
    )?;
    Ok(())
}

pub(super) fn add(token: String, prober: Arc<dyn Prober>) {
    let mut m = members().lock();
    m.retain(|_, p| p.alive());
    m.insert(token, prober);
}

/// How the instance's server reaches its network, if it is on one.
pub(crate) fn of(inst: &mut Instance) -> Option<Arc<dyn Prober>> {
    let token = rows(inst, r#"SELECT token FROM "ferry.hadr_network""#, &[])
        .ok()?
        .into_iter()
        .next()?
        .into_iter()
        .next()??;
    members().lock().get(&token).filter(|p| p.alive()).cloned()
}
