//! SQL Server's errors for certificate statements and functions.

use crate::protocol::tokens::ServerMessage;

/// SQL Server error 15297 (severity 16): private-key bytes that are not a PVK key.
pub(super) fn bad_key_data() -> ServerMessage {
    ServerMessage::error(
        15297,
        16,
        "The certificate, asymmetric key, or private key data is invalid.",
    )
}

/// SQL Server error 15465 (severity 16): the decryption password does not open the key.
pub(super) fn bad_password() -> ServerMessage {
    ServerMessage::error(15465, 16, "Private key password is invalid.")
}

/// SQL Server error 15474 (severity 16): "CREATE CERTIFICATE": "The private key must
/// correspond to the public key specified by certificate_name".
pub(super) fn key_mismatch() -> ServerMessage {
    ServerMessage::error(
        15474,
        16,
        "Invalid private key. The private key does not match the public key of the certificate.",
    )
}
