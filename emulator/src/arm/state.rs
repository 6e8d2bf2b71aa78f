//! What the front end keeps: the instance behind it, its operations and LRS jobs, and the
//! ARM shapes it answers with.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value as J, json};

use super::ArmOptions;
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
    /// Every request: (method, path and query).
    pub(super) requests: Mutex<Vec<(String, String)>>,
    /// Operation id → when it ends and what it did.
    pub(super) operations: Mutex<HashMap<String, (std::time::Instant, J)>>,
    pub(super) next_op: std::sync::atomic::AtomicU64,
    /// LRS jobs by database name (lower case), and their operation ids.
    pub(super) jobs: Mutex<HashMap<String, Arc<crate::lrs::job::Job>>>,
    pub(super) job_ops: Mutex<HashMap<String, Arc<crate::lrs::job::Job>>>,
    /// Restores from external backup the instance runs at once before it refuses more.
    pub(super) restore_limit: std::sync::atomic::AtomicUsize,
    /// Containers the instance's managed identity may read (its role assignments), with the
    /// account and key the emulator reads them with in its place.
    pub(super) identity_grants: Mutex<HashMap<String, (String, String)>>,
}

pub(super) fn database_names(mi: &Server) -> Vec<(String, String)> {
    let sql = "SELECT name, state_desc FROM sys.databases WHERE database_id > 4";
    let out = tokio::task::block_in_place(|| mi.run_sql(sql)).unwrap_or_default();
    out.into_iter()
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
        .collect()
}

impl Arm {
    pub(super) fn instance_path(&self) -> String {
        let o = &self.options;
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/managedInstances/{}",
            o.subscription, o.resource_group, o.instance
        )
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

    /// Starts an operation that ends after `operation_time`, doing `work` then; returns its id.
    pub(super) fn operation(
        self: &Arc<Self>,
        work: impl FnOnce(&Server) -> J + Send + 'static,
    ) -> String {
        let n = self
            .next_op
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let ends = std::time::Instant::now() + self.options.operation_time;
        self.operations
            .lock()
            .insert(id.clone(), (ends, json!({ "status": "InProgress" })));
        let me = self.clone();
        let op = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(me.options.operation_time).await;
            let result = tokio::task::block_in_place(|| work(&me.mi));
            me.operations.lock().insert(op, (ends, result));
        });
        id
    }

    pub(super) fn operation_status(&self, id: &str) -> Option<J> {
        self.operations.lock().get(id).map(|(_, s)| s.clone())
    }
}
