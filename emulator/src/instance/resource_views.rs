//! Views computed when a statement reads them: the per-database settings `sys.databases` shows
//! (containment, accelerated database recovery), the persistent version store's filegroup, and
//! the Managed Instance's own resource view. Settings live in each database's file (so a backup
//! carries them); these views are filled from there, as the session views are from memory.

use super::Instance;
use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// The computed views, in `temp`. Columns are a subset of the documented ones, in their order:
/// "sys.dm_tran_persistent_version_store_stats (Transact-SQL)", "sys.master_files
/// (Transact-SQL)" (every database's `sys.database_files`, with its id) and
/// "sys.server_resource_stats (Azure SQL Managed Instance)".
pub(super) const SCHEMA: &str = r#"
CREATE TEMP TABLE "sys.dm_tran_persistent_version_store_stats" (
    database_id int, pvs_filegroup_id smallint, persistent_version_store_size_kb bigint,
    online_index_version_store_size_kb bigint, current_aborted_transaction_count bigint
);
CREATE TEMP TABLE "sys.master_files" (
    database_id int, file_id int, type tinyint, type_desc nvarchar(60), data_space_id int,
    name nvarchar(128), physical_name nvarchar(260), state_desc nvarchar(60), size int, max_size int,
    growth int
);
CREATE TEMP TABLE "sys.server_resource_stats" (
    start_time datetime2, end_time datetime2, resource_type nvarchar(128), resource_name nvarchar(128),
    sku nvarchar(128), hardware_generation nvarchar(128), virtual_core_count int, avg_cpu_percent decimal(5,2),
    reserved_storage_mb bigint, storage_space_used_mb decimal(18,2), io_requests bigint,
    io_bytes_read bigint, io_bytes_written bigint
);
"#;

/// The views [`Instance::refresh_resource_views`] fills, by the name a statement uses.
pub const COMPUTED_VIEWS: &[&str] = &[
    "databases",
    "dm_tran_persistent_version_store_stats",
    "master_files",
    "server_resource_stats",
    "servers",
];

/// The emulated MI's size. General Purpose only (the README says so); 8 vCores and 32 GB
/// reserved, the smallest storage a General Purpose instance has ("Resource limits for Azure
/// SQL Managed Instance": 32 GB minimum), unless a test sets another.
pub(super) const DEFAULT_RESERVED_STORAGE_MB: i64 = 32 * 1024;
const VCORES: i64 = 8;

impl Instance {
    /// How much storage the MI reserves, in MB (`sys.server_resource_stats.reserved_storage_mb`).
    pub fn set_reserved_storage_mb(&mut self, mb: i64) {
        self.reserved_storage_mb = mb.max(0);
    }

    /// Fills what `view` shows. `mi`: the server is a Managed Instance, the only one with
    /// `sys.server_resource_stats` (error 208 elsewhere, as for any object a server lacks).
    pub fn refresh_resource_view(
        &mut self,
        view: &str,
        mi: bool,
        server_name: &str,
        now: &str,
    ) -> Result<(), ServerMessage> {
        match view.to_ascii_lowercase().as_str() {
            "databases" => self.refresh_database_settings(),
            "dm_tran_persistent_version_store_stats" => self.refresh_version_stores(),
            "servers" => self.refresh_local_server(server_name),
            "master_files" => self.refresh_master_files(),
            "server_resource_stats" if mi => self.refresh_server_resources(server_name, now),
            "server_resource_stats" => Err(ServerMessage::error(
                208,
                16,
                "Invalid object name 'sys.server_resource_stats'.",
            )),
            _ => Ok(()),
        }
    }

    /// `sys.databases.containment`/`containment_desc` ("0 = containment is off, 1 = partial")
    /// and `is_accelerated_database_recovery_on`, from each database's settings.
    fn refresh_database_settings(&mut self) -> Result<(), ServerMessage> {
        let names: Vec<String> = self
            .databases
            .values()
            .filter(|d| !d.restoring)
            .map(|d| d.name.clone())
            .collect();
        for name in names {
            let partial = self.setting(&name, "containment").as_deref() == Some("PARTIAL");
            let adr = self.setting(&name, "pvs_filegroup").is_some();
            self.conn
                .execute(
                    r#"UPDATE "sys.databases" SET containment = ?2, containment_desc = ?3, is_accelerated_database_recovery_on = ?4 WHERE name = ?1"#,
                    rusqlite::params![
                        name,
                        i64::from(partial),
                        if partial { "PARTIAL" } else { "NONE" },
                        adr
                    ],
                )
                .map_err(sqlite_error)?;
            self.conn
                .execute(
                    r#"UPDATE "sys.databases" SET is_broker_enabled = ?2 WHERE name = ?1"#,
                    rusqlite::params![name, self.broker_enabled(&name)],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// Every database's files, tempdb's included (it has them as any other database).
    fn refresh_master_files(&mut self) -> Result<(), ServerMessage> {
        self.conn
            .execute(r#"DELETE FROM temp."sys.master_files""#, [])
            .map_err(sqlite_error)?;
        let dbs: Vec<(String, i64)> = self
            .databases
            .values()
            .map(|d| (d.name.clone(), d.id))
            .collect();
        for (name, id) in dbs {
            let sql = format!(
                r#"INSERT INTO temp."sys.master_files" SELECT ?1, file_id, type, type_desc, data_space_id, name, physical_name, state_desc, size, max_size, growth FROM {}."sys.database_files""#,
                q(&name)
            );
            self.conn.execute(&sql, [id]).map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// One row per database with accelerated database recovery on, with the data space id of
    /// its version store's filegroup.
    fn refresh_version_stores(&mut self) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"DELETE FROM temp."sys.dm_tran_persistent_version_store_stats""#,
                [],
            )
            .map_err(sqlite_error)?;
        let dbs: Vec<(String, i64)> = self
            .databases
            .values()
            .filter(|d| !d.restoring)
            .map(|d| (d.name.clone(), d.id))
            .collect();
        for (name, id) in dbs {
            let Some(filegroup) = self.setting(&name, "pvs_filegroup") else {
                continue;
            };
            let sql = format!(
                r#"INSERT INTO temp."sys.dm_tran_persistent_version_store_stats" SELECT ?1, data_space_id, 0, 0, 0 FROM {}."sys.filegroups" WHERE name = ?2 COLLATE NOCASE"#,
                q(&name)
            );
            self.conn
                .execute(&sql, rusqlite::params![id, filegroup])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// The MI's latest resource row: its tier, size and the storage its databases use (their
    /// files' sizes).
    fn refresh_server_resources(&mut self, server: &str, now: &str) -> Result<(), ServerMessage> {
        let mut used_bytes: i64 = 0;
        for d in self.databases.values() {
            let pragma = |name: &str| -> i64 {
                self.conn
                    .query_row(&format!("PRAGMA {}.{name}", q(&d.name)), [], |r| r.get(0))
                    .unwrap_or(0)
            };
            let size = pragma("page_count") * pragma("page_size");
            used_bytes += size;
        }
        self.conn
            .execute(r#"DELETE FROM temp."sys.server_resource_stats""#, [])
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO temp."sys.server_resource_stats" VALUES (?1, ?1, 'SQL instance', ?2, 'General Purpose', 'Gen5', ?3, 0, ?4, ?5, 0, 0, 0)"#,
                rusqlite::params![
                    now,
                    server,
                    VCORES,
                    self.reserved_storage_mb,
                    used_bytes as f64 / (1024.0 * 1024.0)
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
