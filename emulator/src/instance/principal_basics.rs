//! What the principal modules share: the catalog's fixed creation time and SQL Server's
//! error 15151.

use crate::protocol::tokens::ServerMessage;

/// The emulator's catalog dates: fixed, so a rehearsal reads the same rows every time.
pub(super) const NOW: &str = "2026-01-01 00:00:00.000";

/// SQL Server error 15151 (class 16): "Cannot %S_MSG the %S_MSG '%.*ls', because it does not
/// exist or you do not have permission."
pub(crate) fn not_found(verb: &str, what: &str, name: &str) -> ServerMessage {
    ServerMessage::error(
        15151,
        16,
        format!(
            "Cannot {verb} the {what} '{name}', because it does not exist or you do not have permission."
        ),
    )
}
