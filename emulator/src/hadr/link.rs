//! The Managed Instance side of the link: the trust certificates ARM uploads
//! (serverTrustCertificates) and the links (distributedAvailabilityGroups) that seed and then
//! replicate a SQL Server database into the MI. ARM (crate::arm) and the control API drive it;
//! the engine (hadr::engine*) does the work in the background on the MI's virtual clock.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use super::link_store::Store;
use super::network::Network;
use crate::server::Server;

pub use super::link_state::Links;
pub use super::link_types::{
    LinkDatabaseStatus, LinkError, LinkFault, LinkRole, LinkSpec, LinkStatus, TrustCertificate,
};

impl Links {
    /// The MI's links, loaded from `data_dir`; the engine runs while the returned value lives
    /// (it needs a Tokio runtime; without one nothing runs in the background).
    pub fn new(mi: Arc<Server>, network: Arc<Network>, data_dir: Option<PathBuf>) -> Arc<Links> {
        let store = Store::load(data_dir.as_deref());
        let links = Arc::new(Links {
            mi,
            network,
            data_dir,
            store: Mutex::new(store),
            faults: Mutex::default(),
            seeds: Mutex::default(),
            engine: Mutex::new(None),
            turn: Mutex::new(()),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let task = rt.spawn(super::engine::run(Arc::downgrade(&links)));
            *links.engine.lock() = Some(task.abort_handle());
        }
        links
    }

    /// PUT distributedAvailabilityGroups/{dag}: checks the request, then establishes the link
    /// in the background (its state shows in [`Links::status`]).
    pub fn create(&self, spec: LinkSpec) -> Result<(), LinkError> {
        let _turn = self.turn.lock();
        super::link_create::create(self, spec)
    }

    pub fn status(&self, dag: &str) -> Option<LinkStatus> {
        let s = self.store.lock();
        s.link(dag).map(super::link_status::status)
    }

    pub fn list(&self) -> Vec<LinkStatus> {
        let s = self.store.lock();
        s.links.iter().map(super::link_status::status).collect()
    }

    /// PATCH replicationMode: the MI side's availability mode.
    pub fn set_replication_mode(&self, dag: &str, sync: bool) -> Result<(), LinkError> {
        let _turn = self.turn.lock();
        super::link_roles::set_replication_mode(self, dag, sync)
    }

    /// POST …/failover: failoverType Planned (false) or ForcedAllowDataLoss (true).
    pub fn failover(&self, dag: &str, forced: bool) -> Result<(), LinkError> {
        let _turn = self.turn.lock();
        super::link_roles::failover(self, dag, forced)
    }

    /// POST …/setRole: instanceRole Primary (true) or Secondary, roleChangeType Forced (true)
    /// or Planned.
    pub fn set_role(&self, dag: &str, primary: bool, forced: bool) -> Result<(), LinkError> {
        let _turn = self.turn.lock();
        super::link_roles::set_role(self, dag, primary, forced)
    }

    /// DELETE distributedAvailabilityGroups/{dag}: breaks the link; both databases become
    /// independent.
    pub fn delete(&self, dag: &str) -> Result<(), LinkError> {
        let _turn = self.turn.lock();
        super::link_roles::delete(self, dag)
    }
}
