//! What T-SQL on a Managed Instance tells about it: its update policy (`ProductUpdateType`,
//! "Update policy in Azure SQL Managed Instance", sql-docs), its tier and storage
//! (`sys.server_resource_stats`), and how many databases and files it holds. A view the server
//! does not have leaves its facts unknown.

use crate::context::Context;
use crate::errors::Result;
use crate::handles::SqlConnection;
use crate::mi_limits::{Instance, Tier};
use crate::sql_value::{int, text};
use crate::sql_version::UpdatePolicy;
use crate::wit::QueryLimits;

impl<C> Context<'_, C> {
    /// The update policy and what the instance holds, read on the MI behind `conn`.
    pub fn managed_instance(&mut self, conn: SqlConnection) -> Result<(UpdatePolicy, Instance)> {
        let limits = QueryLimits {
            max_rows: 1,
            max_bytes: 4096,
        };
        let update_type = self
            .query(
                conn,
                "SELECT SERVERPROPERTY('ProductUpdateType') AS update_type",
                &[],
                limits,
            )?
            .into_first_rows();
        let policy = UpdatePolicy::from_product_update_type(
            &update_type
                .first()
                .map(|r| text(r.first()))
                .unwrap_or_default(),
        );
        let mut instance = Instance::default();
        let stats = self.rows_if_present(
            conn,
            "SELECT TOP 1 sku, reserved_storage_mb, storage_space_used_mb \
             FROM master.sys.server_resource_stats ORDER BY end_time DESC",
            &[],
        )?;
        if let Some(r) = stats.as_ref().and_then(|r| r.first()) {
            // T-SQL does not tell Next-gen General Purpose apart: its 500 databases are not
            // assumed.
            instance.tier = Some(Tier::from_sku(&text(r.first()), false));
            instance.reserved_mb = Some(int(r.get(1)).max(0) as u64);
            instance.used_mb = Some(int(r.get(2)).max(0) as u64);
        }
        instance.user_databases = self
            .query(
                conn,
                "SELECT COUNT(*) FROM sys.databases WHERE database_id > 4",
                &[],
                limits,
            )?
            .into_first_rows()
            .first()
            .map(|r| int(r.first()).max(0) as u64);
        // tempdb (database 2) is on the instance's local disk, outside the file limit.
        instance.files = self
            .rows_if_present(
                conn,
                "SELECT COUNT(*) FROM sys.master_files WHERE database_id <> 2",
                &[],
            )?
            .and_then(|r| r.first().map(|r| int(r.first()).max(0) as u64));
        // The certificates a TDE database's restore looks for, by thumbprint: uploaded
        // through `tdeCertificates` or made with CREATE CERTIFICATE, both land in master.
        instance.certificates = self
            .rows_if_present(conn, "SELECT thumbprint FROM master.sys.certificates", &[])?
            .map(|rows| rows.iter().map(|r| text(r.first())).collect());
        Ok((policy, instance))
    }
}
