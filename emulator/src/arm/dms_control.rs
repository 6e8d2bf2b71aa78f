//! What tests and `ferry-emulator serve --dms` set on the emulated DMS: the storage accounts
//! it can reach, the shares its runtime's host sees, and the runtime's nodes.

use std::path::PathBuf;

use super::dms_state::StorageAccount;
use super::front_end::ArmServer;

impl ArmServer {
    /// Makes storage account `name` (the last segment of its resource id) reachable at the
    /// blob `endpoint` (e.g. Azurite's `http://127.0.0.1:10000/devstoreaccount1`), in
    /// `location`, of `kind` (`StorageV2`, `BlockBlobStorage`) and `tier` (`Standard`,
    /// `Premium`).
    pub fn dms_storage_account(
        &self,
        name: &str,
        endpoint: &str,
        location: &str,
        kind: &str,
        tier: &str,
    ) {
        let rg = self.state().options.resource_group.clone();
        self.dms_storage_account_in(&rg, name, endpoint, location, kind, tier);
    }

    /// As [`Self::dms_storage_account`], the account's ARM id naming `resource_group`
    /// (`GET …/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}`).
    pub fn dms_storage_account_in(
        &self,
        resource_group: &str,
        name: &str,
        endpoint: &str,
        location: &str,
        kind: &str,
        tier: &str,
    ) {
        self.state().dms.accounts.lock().insert(
            name.to_ascii_lowercase(),
            StorageAccount {
                endpoint: endpoint.trim_end_matches('/').to_owned(),
                location: location.to_owned(),
                kind: kind.to_owned(),
                tier: tier.to_owned(),
                resource_group: resource_group.to_owned(),
                created: std::time::SystemTime::now(),
            },
        );
    }

    /// The runtime's host sees UNC `prefix` (`\\host\share`) as local folder `dir`.
    pub fn dms_share(&self, prefix: &str, dir: PathBuf) {
        let p = prefix
            .trim_end_matches(['\\', '/'])
            .replace('/', "\\")
            .to_ascii_lowercase();
        let mut shares = self.state().dms.shares.lock();
        shares.retain(|(q, _)| *q != p);
        shares.push((p, dir));
    }

    /// Registers runtime node `node` with `auth_key` (as the runtime's configuration manager
    /// does); the name of the service it joined, or why not.
    pub fn dms_register_node(&self, auth_key: &str, node: &str) -> Result<String, String> {
        self.state().register_node(auth_key, node)
    }

    /// Takes runtime node `node` offline (`false`) or back online; false when there is no
    /// such node.
    pub fn dms_node_online(&self, node: &str, online: bool) -> bool {
        self.state().set_node_online(node, online)
    }

    /// Each upload by the runtime takes `time` (real time) from now on.
    pub fn dms_upload_time(&self, time: std::time::Duration) {
        *self.state().dms.upload_time.lock() = time;
    }

    /// The runtime reaches `server` as `data_source` (a `sourceSqlConnection.dataSource`,
    /// compared without regard to case): it reads each backup's header through it.
    pub fn dms_source(&self, data_source: &str, server: std::sync::Arc<crate::server::Server>) {
        self.state()
            .dms
            .sources
            .lock()
            .push((data_source.to_ascii_lowercase(), server));
    }
}
