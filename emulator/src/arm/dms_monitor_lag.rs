//! A lagging monitoring view: the migration's `migrationStatusDetails` held as they were while
//! the migration itself goes on.
//!
//! Microsoft's pages on monitoring a DMS migration ("Monitor the migration" in "Migrate SQL
//! Server to Azure SQL Managed Instance online", learn.microsoft.com) show the details as a
//! view the portal refreshes, and do not say how fresh the REST details are. The stricter
//! reading is that they may lag what DMS does: a client that cuts over on the details alone can
//! be answered `MigrationNotReadyForCutoverError`, which the cutover itself decides on the
//! migration's real state (`dms_steps::cutover`). This is how a test makes that happen.

use super::dms_migration::find;
use super::front_end::ArmServer;

impl ArmServer {
    /// Holds the details of the migration to `db` as they are now (`frozen`), or lets them
    /// follow the migration again; false when there is no such migration.
    pub fn dms_freeze_details(&self, db: &str, frozen: bool) -> bool {
        let Some(m) = find(self.state(), db) else {
            return false;
        };
        let snapshot = frozen.then(|| super::dms_shape::details_now(&m));
        m.run.lock().frozen_details = snapshot;
        true
    }

    /// Whether DMS would take a cutover of the migration to `db` now, whatever its details
    /// show (None: no such migration): what a test waits on while the view is frozen.
    pub fn dms_ready_for_cutover(&self, db: &str) -> Option<bool> {
        find(self.state(), db).map(|m| super::dms_shape::ready_for_cutover(&m))
    }
}
