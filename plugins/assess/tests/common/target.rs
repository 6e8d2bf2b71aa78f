//! The scripted target Managed Instance.

use ferry_sdk::{Error, QueryResult, SqlValue};

use super::{i, set, t};

/// The target Managed Instance, answering the SDK's `managed_instance` reads and its own.
#[derive(Clone, Debug)]
pub struct Target {
    pub update_type: String,
    pub sku: String,
    pub reserved_mb: i64,
    pub used_mb: i64,
    pub collation: String,
    pub databases: Vec<String>,
    pub files: i64,
    pub certificates: Vec<String>,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            update_type: "CU".into(),
            sku: "General Purpose".into(),
            reserved_mb: 1024 * 1024,
            used_mb: 10 * 1024,
            collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            databases: vec![
                "master".into(),
                "tempdb".into(),
                "model".into(),
                "msdb".into(),
            ],
            files: 8,
            certificates: vec![],
        }
    }
}

impl Target {
    pub fn answer(&self, sql: &str) -> Result<QueryResult, Error> {
        let ok = |cols: &[&str], rows: Vec<Vec<SqlValue>>| Ok(set(cols, rows));
        if sql.contains("ProductUpdateType") {
            return ok(&["update_type"], vec![vec![t(&self.update_type)]]);
        }
        if sql.contains("sys.server_resource_stats") {
            return ok(
                &["sku", "reserved_storage_mb", "storage_space_used_mb"],
                vec![vec![t(&self.sku), i(self.reserved_mb), i(self.used_mb)]],
            );
        }
        if sql.contains("COUNT(*) FROM sys.databases") {
            return ok(&["n"], vec![vec![i(self.databases.len() as i64 - 4)]]);
        }
        if sql.contains("COUNT(*) FROM sys.master_files") {
            return ok(&["n"], vec![vec![i(self.files)]]);
        }
        if sql.contains("master.sys.certificates") {
            let rows = self.certificates.iter().map(|c| vec![t(c)]).collect();
            return ok(&["thumbprint"], rows);
        }
        if sql.contains("SERVERPROPERTY('Collation')") {
            return ok(&["collation"], vec![vec![t(&self.collation)]]);
        }
        if sql.contains("SELECT name FROM sys.databases") {
            return ok(
                &["name"],
                self.databases.iter().map(|d| vec![t(d)]).collect(),
            );
        }
        Err(Error::failed(format!(
            "the scripted target does not know: {sql}"
        )))
    }
}
