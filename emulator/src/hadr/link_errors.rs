//! The errors a link shows, with SQL Server's numbers and texts: the link states and errors
//! "Troubleshoot link" lists (texts from "Database engine events and errors", 41400 to 49999
//! and 41000-41399, learn.microsoft.com).

use super::link_types::LinkError;

pub(super) const INIT_ERROR: &str = "LinkInitError";
pub(super) const CREATION_ERROR: &str = "LinkCreationError";

pub(super) fn e41962() -> (i32, String) {
    (
        41962,
        "Operation was aborted as replication to Azure SQL Managed Instance did not start within 5 minutes since it was initiated. Please verify the network connectivity and firewall rules are configured according to the guidelines described at https://aka.ms/mi-link-troubleshooting, and retry the operation.".into(),
    )
}

pub(super) fn e41973() -> (i32, String) {
    (
        41973,
        "The link cannot be established because the endpoint certificate from SQL Server has not been imported to Azure SQL Managed Instance. Please import the endpoint certificate from SQL Server to Managed Instance, and retry the link creation again. Please see online documentation for Managed Instance link for more information.".into(),
    )
}

pub(super) fn e41974() -> (i32, String) {
    (
        41974,
        "The link cannot be established because the endpoint certificate from SQL Azure SQL Managed Instance has not been imported to SQL Server. Please download the endpoint certificate from Managed Instance and import it to SQL Server, and retry the link creation again. Please see online documentation for Managed Instance link for more information.".into(),
    )
}

pub(super) fn e41976(ag: &str, endpoint: &str) -> (i32, String) {
    (
        41976,
        format!(
            "Connection with availability group '{ag}' on the server with endpoint '{endpoint}' cannot be established as it is not responding. Possible causes could be nonexistence of availability group or distributed availability group on the partner server, incorrectly specified names or configuration parameters. Please check the log file on the partner server for the exact error cause."
        ),
    )
}

pub(super) fn e41977(ag: &str, endpoint: &str) -> (i32, String) {
    (
        41977,
        format!(
            "Connection with availability group '{ag}' on the server with endpoint '{endpoint}' is established, but there is no response from the target database. Possible causes could be errors with creating a database on the partner server, incorrectly specified names or configuration parameters. Please check the log file on the partner server for the exact error cause."
        ),
    )
}

pub(super) fn e41986() -> (i32, String) {
    (
        41986,
        "Azure SQL Managed Instance link creation failed because either connection to SQL Server failed, or the server did not respond after a prolonged period of time. Verify the network connectivity and firewall rules between SQL Server and Managed Instance are properly configured and retry again.".into(),
    )
}

/// SQL Server error 41142: the target cannot become primary without data loss.
pub(super) fn e41142(ag: &str) -> LinkError {
    LinkError::new(
        41142,
        "",
        format!(
            "The availability replica for availability group '{ag}' on this instance of SQL Server cannot become the primary replica. One or more databases are not synchronized or have not joined the availability group. If the availability replica uses the asynchronous-commit mode, consider performing a forced manual failover (with possible data loss). Otherwise, once all local secondary databases are joined and synchronized, you can perform a planned manual failover to this secondary replica (without data loss). For more information, see SQL Server Books Online."
        ),
    )
}

/// Error 41965: the MI is in the requested role already.
pub(super) fn e41965() -> LinkError {
    LinkError::new(
        41965,
        "",
        "Setting the role cannot be applied as Azure SQL Managed Instance is already in the requested role.",
    )
}
