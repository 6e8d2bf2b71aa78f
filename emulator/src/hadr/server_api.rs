//! What the link engine, the ARM front end and tests do to a server's Always On state in
//! process. Everything goes through the instance's catalog tables (hadr/store.rs), so T-SQL,
//! the DMVs and these calls see one state. While the server is stopped the readers answer
//! nothing and the writers error 50000 or do nothing.

use super::model::{
    AvailabilityGroup, DatabaseRuntime, Endpoint, HadrRequest, ReplicaRole, ReplicaRuntime,
    SeedingRuntime,
};
use super::{runtime, store};
use crate::protocol::tokens::ServerMessage;
use crate::server::Server;

impl Server {
    fn server_name_owned(&self) -> String {
        self.personality().server_name().to_owned()
    }

    /// The DATABASE_MIRRORING endpoint, if the server has one.
    pub fn mirroring_endpoint(&self) -> Option<Endpoint> {
        self.with_running_instance(|i| store::endpoint(i).ok().flatten())
            .ok()
            .flatten()
    }

    pub fn availability_group(&self, name: &str) -> Option<AvailabilityGroup> {
        self.with_running_instance(|i| store::group(i, name).ok().flatten())
            .ok()
            .flatten()
    }

    pub fn availability_groups(&self) -> Vec<AvailabilityGroup> {
        self.with_running_instance(|i| store::groups(i).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Creates or replaces a group as it is (the MI side's AG and DAG when ARM creates a
    /// link). An empty `group_id` or `replica_id` is given a new one.
    pub fn put_availability_group(&self, mut ag: AvailabilityGroup) -> Result<(), ServerMessage> {
        if ag.name.trim().is_empty() {
            return Err(ServerMessage::error(
                50000,
                16,
                "ferry-emulator: an availability group needs a name",
            ));
        }
        let server = self.server_name_owned();
        self.with_running_instance(|i| {
            let old = store::group(i, &ag.name)?;
            if ag.group_id.is_empty() {
                ag.group_id = old
                    .as_ref()
                    .map(|o| o.group_id.clone())
                    .unwrap_or_else(|| store::new_guid(&ag.name));
            }
            for r in &mut ag.replicas {
                if r.replica_id.is_empty() {
                    r.replica_id = old
                        .as_ref()
                        .and_then(|o| {
                            o.replicas
                                .iter()
                                .find(|x| x.server_name.eq_ignore_ascii_case(&r.server_name))
                        })
                        .map(|x| x.replica_id.clone())
                        .unwrap_or_else(|| store::new_guid(&r.server_name));
                }
            }
            store::put_group(i, &ag, &server)
        })?
    }

    pub fn drop_availability_group(&self, name: &str) -> Result<(), ServerMessage> {
        let server = self.server_name_owned();
        self.with_running_instance(|i| {
            if store::group(i, name)?.is_none() {
                return Err(super::errors::no_such_group(name));
            }
            store::remove_group(i, name, &server)
        })?
    }

    pub fn set_local_role(&self, ag: &str, role: ReplicaRole) -> Result<(), ServerMessage> {
        let server = self.server_name_owned();
        self.with_running_instance(|i| {
            let mut g = store::group(i, ag)?.ok_or_else(|| super::errors::no_such_group(ag))?;
            g.local_role = role;
            store::put_group(i, &g, &server)
        })?
    }

    /// One row of `sys.dm_hadr_availability_replica_states`; nothing when the group or the
    /// replica is unknown or the server stopped.
    pub fn set_replica_runtime(&self, ag: &str, replica_server: &str, r: ReplicaRuntime) {
        let server = self.server_name_owned();
        let _ = self.with_running_instance(|i| -> Result<(), ServerMessage> {
            let all = store::groups(i)?;
            let Some(g) = all.iter().find(|g| g.name.eq_ignore_ascii_case(ag)) else {
                return Ok(());
            };
            runtime::write_replica(i, &all, g, replica_server, &server, &r)
        });
    }

    /// One row of `sys.dm_hadr_database_replica_states` (the local replica's when
    /// `r.is_local`, else the remote one's, as a primary shows it).
    pub fn set_database_runtime(&self, ag: &str, db: &str, r: DatabaseRuntime) {
        let server = self.server_name_owned();
        let _ = self.with_running_instance(|i| -> Result<(), ServerMessage> {
            let all = store::groups(i)?;
            let Some(g) = all.iter().find(|g| g.name.eq_ignore_ascii_case(ag)) else {
                return Ok(());
            };
            runtime::write_database(i, &all, g, db, &server, &r)
        });
    }

    /// The seeding DMVs' row for the group's database; None clears them.
    pub fn set_seeding(&self, ag: &str, s: Option<SeedingRuntime>) {
        let server = self.server_name_owned();
        let _ = self.with_running_instance(|i| -> Result<(), ServerMessage> {
            let all = store::groups(i)?;
            let Some(g) = all.iter().find(|g| g.name.eq_ignore_ascii_case(ag)) else {
                return Ok(());
            };
            // Seeding runs between the members of the distributed AG that holds this AG (the
            // link); its role there says whether this side is the source.
            let dag = all.iter().find(|d| {
                d.distributed
                    && d.replicas
                        .iter()
                        .any(|r| r.server_name.eq_ignore_ascii_case(&g.name))
            });
            let (primary, remote) = match dag {
                Some(d) => (
                    d.local_role == ReplicaRole::Primary,
                    d.replicas
                        .iter()
                        .find(|r| !r.server_name.eq_ignore_ascii_case(&g.name)),
                ),
                None => (
                    g.local_role == ReplicaRole::Primary,
                    g.replicas
                        .iter()
                        .find(|r| !runtime::is_local(&all, g, &r.server_name, &server)),
                ),
            };
            runtime::write_seeding(i, g, primary, remote, s.as_ref())
        });
    }

    /// `sys.databases.log_reuse_wait_desc` of `db`: "AVAILABILITY_REPLICA" while a replica has
    /// not hardened the log, "NOTHING" otherwise.
    pub fn set_log_reuse_wait(&self, db: &str, wait: &str) -> Result<(), ServerMessage> {
        self.with_running_instance(|i| runtime::write_log_reuse_wait(i, db, wait))?
    }

    /// The MI's own DATABASE_MIRRORING endpoint certificate (generated once, persisted), DER,
    /// and its SHA-1 thumbprint in hex. None on SQL Server (its endpoint certificate is the
    /// one CREATE ENDPOINT names; read it from `mirroring_endpoint`).
    pub fn endpoint_certificate(&self) -> Option<(Vec<u8>, String)> {
        if !self.personality().is_managed_instance() {
            return None;
        }
        let name = self.server_name_owned();
        self.with_running_instance(|i| super::endpoint_cert::get_or_create(i, &name).ok())
            .ok()
            .flatten()
    }

    /// What T-SQL asked the engine to do, oldest first; each is handed out once.
    pub fn take_hadr_requests(&self) -> Vec<HadrRequest> {
        self.with_running_instance(|i| super::requests::take(i).unwrap_or_default())
            .unwrap_or_default()
    }
}
