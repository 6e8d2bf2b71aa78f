//! What the front end keeps: the instance behind it, its operations and LRS jobs, and the
//! ARM shapes it answers with.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Value as J, json};
use tokio::task::JoinSet;

use super::ArmOptions;
use super::operation::{JobStep, Operation, Work};
use crate::server::Server;
use crate::sql::Outcome;

pub(super) struct Arm {
    pub(super) mi: Arc<Server>,
    pub(super) options: ArmOptions,
    pub(super) base: String,
    /// Requests still to refuse with 429, and the `Retry-After` to send.
    pub(super) throttle: Mutex<(u32, u64)>,
    /// Requests still to answer 200 with a body that is not JSON (a broken proxy, say).
    pub(super) garble: std::sync::atomic::AtomicU32,
    /// The next request whose method and path match is handled, then its reply held this long.
    pub(super) hold: Mutex<Option<(String, String, std::time::Duration)>>,
    /// Requests still to fail with a server error, and its status (500–599).
    pub(super) fail: Mutex<(u32, u16)>,
    /// Requests still to answer with an error a test asked for.
    pub(super) refuse: Mutex<Option<Refusal>>,
    /// Every request: (method, path and query).
    pub(super) requests: Mutex<Vec<(String, String)>>,
    /// Operation id → its status and the work still to do.
    pub(super) operations: Mutex<HashMap<String, Operation>>,
    pub(super) next_op: std::sync::atomic::AtomicU64,
    /// LRS jobs by database name (lower case), and their operation ids.
    pub(super) jobs: Mutex<HashMap<String, Arc<crate::lrs::job::Job>>>,
    pub(super) job_ops: Mutex<HashMap<String, (Arc<crate::lrs::job::Job>, JobStep)>>,
    /// Restores from external backup the instance runs at once before it refuses more.
    pub(super) restore_limit: std::sync::atomic::AtomicUsize,
    /// User databases the instance holds before it refuses another.
    pub(super) database_limit: std::sync::atomic::AtomicUsize,
    /// Containers the instance's managed identity may read (its role assignments), with the
    /// account and key the emulator reads them with in its place.
    pub(super) identity_grants: Mutex<HashMap<String, (String, String)>>,
    /// Every task of the running front end (listener, jobs, operations, saver); None while
    /// it is stopped.
    pub(super) tasks: Mutex<Option<JoinSet<()>>>,
    /// The Managed Instance link's operations (`link_ops`), by id.
    pub(super) link_ops: Mutex<std::collections::BTreeMap<String, super::link_work::LinkOp>>,
    /// Serialises writes of the state file, and the last text written.
    pub(super) saving: Mutex<()>,
    pub(super) last_saved: Mutex<String>,
    /// The emulated Database Migration Service (`dms_*`).
    pub(super) dms: super::dms_state::Dms,
}

/// The instance behind the front end is stopped (restarting): ARM cannot read its databases.
/// Guess: the documents do not say what ARM answers while an instance restarts; a retryable
/// 503 is the stricter answer for a client.
#[derive(Debug)]
pub(super) struct InstanceDown;

/// The user databases of the instance and their states.
pub(super) fn database_names(mi: &Server) -> Result<Vec<(String, String)>, InstanceDown> {
    if !mi.is_running() {
        return Err(InstanceDown);
    }
    let sql = "SELECT name, state_desc FROM sys.databases WHERE database_id > 4";
    let out = tokio::task::block_in_place(|| mi.run_sql(sql)).map_err(|_| InstanceDown)?;
    Ok(out
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Rows { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .map(|r| {
            let t = |i: usize| {
                r.get(i)
                    .map(crate::protocol::types::text)
                    .unwrap_or_default()
            };
            (t(0), t(1))
        })
        .collect())
}

impl Arm {
    pub(super) fn instance_path(&self) -> String {
        let o = &self.options;
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/managedInstances/{}",
            o.subscription, o.resource_group, o.instance
        )
    }

    /// The instance as ARM shows it (ManagedInstances.json `ManagedInstance`: the properties a
    /// client reads to find it and to connect).
    pub(super) fn instance(&self) -> J {
        json!({
            "id": self.instance_path(),
            "name": self.options.instance,
            "type": "Microsoft.Sql/managedInstances",
            "location": self.options.location,
            // The emulated instance is General Purpose, 8 vCores, with 32 GB (ManagedInstances.json
            // `Sku` and `storageSizeInGB`; tier names as "Resource limits for Azure SQL Managed
            // Instance" and the SKU list give them).
            "sku": { "name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 8 },
            "properties": {
                "provisioningState": "Succeeded",
                "state": "Ready",
                "vCores": 8,
                "storageSizeInGB": 32,
                "fullyQualifiedDomainName": format!("{}.emulated.database.windows.net", self.options.instance),
            }
        })
    }

    pub(super) fn database(&self, name: &str, state: &str) -> J {
        json!({
            "id": format!("{}/databases/{name}", self.instance_path()),
            "name": name,
            "type": "Microsoft.Sql/managedInstances/databases",
            "location": self.options.location,
            "properties": {
                // ARM's status names for the catalog's states (ManagedDatabases.json).
                "status": match state {
                    "ONLINE" => "Online",
                    "RESTORING" => "Restoring",
                    "OFFLINE" => "Offline",
                    other => other,
                },
                "collation": "SQL_Latin1_General_CP1_CI_AS",
            }
        })
    }

    /// Starts `task` as one of the front end's tasks; dropped when it is stopped.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Some(set) = self.tasks.lock().as_mut() {
            while set.try_join_next().is_some() {}
            set.spawn(task);
        }
    }

    /// A new operation id (its counter is part of the saved state).
    pub(super) fn next_operation_id(&self, series: u16) -> String {
        let n = self
            .next_op
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("00000000-0000-4000-{series:04x}-{n:012}")
    }

    /// Starts an operation that does `work` after `operation_time`; returns its id.
    pub(super) fn operation(self: &Arc<Self>, work: Work) -> String {
        let id = self.next_operation_id(0x8000);
        self.operations.lock().insert(
            id.clone(),
            Operation {
                status: json!({ "status": "InProgress" }),
                work: Some(work),
            },
        );
        self.save();
        self.run_operation(id.clone());
        id
    }

    /// Runs the pending work of operation `id` once its time has passed.
    pub(super) fn run_operation(self: &Arc<Self>, id: String) {
        let me = self.clone();
        self.spawn(async move {
            tokio::time::sleep(me.options.operation_time).await;
            let work = me.operations.lock().get(&id).and_then(|o| o.work.clone());
            let Some(work) = work else {
                return;
            };
            let status = work.run(&me.mi).await;
            me.operations
                .lock()
                .insert(id, Operation { status, work: None });
            me.save();
        });
    }

    pub(super) fn operation_status(&self, id: &str) -> Option<J> {
        self.operations.lock().get(id).map(|o| o.status.clone())
    }
}

/// Error answers a test asked for (`ArmServer::refuse`): the next `left` `method` requests whose
/// path contains `path` get `status` with ARM error `code`.
pub(super) struct Refusal {
    pub method: String,
    pub path: String,
    pub left: u32,
    pub status: u16,
    pub code: String,
}
