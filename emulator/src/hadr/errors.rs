//! SQL Server's errors for Always On statements, with their documented numbers and texts
//! ("Database engine events and errors", learn.microsoft.com).

use crate::protocol::tokens::ServerMessage;

/// SQL Server error 15151 (class 16): "Cannot %S_MSG the %S_MSG '%.*ls', because it does not
/// exist or you do not have permission."
pub fn not_found(verb: &str, kind: &str, name: &str) -> ServerMessage {
    ServerMessage::error(
        15151,
        16,
        format!(
            "Cannot {verb} the {kind} '{name}', because it does not exist or you do not have permission."
        ),
    )
}

pub fn no_such_group(name: &str) -> ServerMessage {
    not_found("find", "availability group", name)
}

/// Error 35221: AG statements on an instance where Always On is not enabled.
pub fn hadr_disabled() -> ServerMessage {
    ServerMessage::error(
        35221,
        16,
        "Could not process the operation. Always On Availability Groups replica manager is disabled on this instance of SQL Server. Enable Always On Availability Groups, by using the SQL Server Configuration Manager. Then, restart the SQL Server service, and retry the currently operation. For information about how to enable and disable Always On Availability Groups, see SQL Server Books Online.",
    )
}

/// Error 40517, the Azure SQL engine's refusal of a statement it does not offer: Managed
/// Instance creates its link AG and DAG itself (through ARM), and has no user endpoints. The
/// "T-SQL differences" page lists availability groups among what MI does not support.
pub fn not_on_mi(what: &str) -> ServerMessage {
    ServerMessage::error(
        40517,
        16,
        format!(
            "Keyword or statement option '{what}' is not supported in this version of SQL Server."
        ),
    )
}
