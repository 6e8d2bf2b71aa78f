//! `CERTPRIVATEKEY(cert_id, 'encryption_password' [, 'decryption_password'])` ("CERTPRIVATEKEY
//! (Transact-SQL)"): the private key in PVK format, encrypted with the encryption password.
//! The statement rewrite (sql/rewrite.rs) looks the certificate's key up in
//! `ferry.certificate_keys` and passes it here with the arguments.
//!
//! The page documents no errors. NULL comes back where T-SQL's metadata functions give NULL:
//! for an id no certificate has, a certificate without a private key, or a NULL password.
//! A decryption password that does not open a password-protected key, or one given for a key
//! the master key protects ("If a decryption password is specified, then it is used to decrypt
//! the private key ... otherwise database master key is used"), fails with 15465, SQL Server's
//! error for a private key password that is invalid: the stricter choice over NULL.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};

use super::errors::bad_password;
use super::keys::RsaParts;
use super::keys::password_hash;
use crate::protocol::tokens::ServerMessage;

/// Marks the errors this module raises inside SQLite, so [`function_error`] can give them back
/// as SQL Server's.
const MARK: &str = "ferry-certificate-error:";

#[derive(Debug)]
struct Raised(i32);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{MARK}{}", self.0)
    }
}

impl std::error::Error for Raised {}

/// SQL Server's error for a message a certificate function raised inside SQLite.
pub(crate) fn function_error(text: &str) -> Option<ServerMessage> {
    match text.strip_prefix(MARK)?.parse::<i32>().ok()? {
        15465 => Some(bad_password()),
        _ => None,
    }
}

fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

/// `ferry_certprivatekey(private_key, password_hash, encryption_password, decryption_password)`.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_certprivatekey",
        4,
        FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let ValueRef::Blob(key) = ctx.get_raw(0) else {
                return Ok(Value::Null);
            };
            let hash = match ctx.get_raw(1) {
                ValueRef::Blob(h) => Some(h.to_vec()),
                _ => None,
            };
            let Some(encryption) = text(ctx.get_raw(2)) else {
                return Ok(Value::Null);
            };
            let decryption = text(ctx.get_raw(3));
            let opens = match (&hash, &decryption) {
                (None, None) => true,
                (Some(h), Some(d)) => *h == password_hash(d),
                _ => false,
            };
            if !opens {
                return Err(rusqlite::Error::UserFunctionError(Box::new(Raised(15465))));
            }
            let Ok(parts) = RsaParts::from_pkcs8(key) else {
                return Ok(Value::Null);
            };
            let mut salt = [0u8; 16];
            super::random::fill(&mut salt);
            Ok(Value::Blob(super::pvk::write(&parts, &encryption, &salt)))
        },
    )
}
