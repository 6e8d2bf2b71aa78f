//! SQL Server's errors for Always On statements, with their documented numbers and texts.

use crate::protocol::tokens::ServerMessage;

/// Error 19405 ... placeholder replaced below.
pub fn no_such_group(name: &str) -> ServerMessage {
    // SQL Server error 15151 (class 16), as for any securable that cannot be found.
    ServerMessage::error(
        15151,
        16,
        format!(
            "Cannot find the availability group '{name}', because it does not exist or you do not have permission."
        ),
    )
}
