//! The two servers a step talks to.

use ferry_sdk::SqlConnection;

/// The source SQL Server and the target Managed Instance, opened by label.
#[derive(Clone, Copy)]
pub struct Servers {
    pub source: SqlConnection,
    pub target: SqlConnection,
}
