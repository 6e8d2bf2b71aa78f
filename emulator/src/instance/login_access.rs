//! What a TDS login checks after the packet: the password against the SQL Server 2012+ hash,
//! then whether the login may connect at all.

use super::Instance;
use super::security::verify;
use crate::protocol::tokens::ServerMessage;

impl Instance {
    /// Checks a SQL login's password; the login's name as stored when it is right. Whether
    /// the login may then connect is [`Instance::login_refusal`]'s question.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<String> {
        let (stored, hash): (String, Vec<u8>) = self
            .conn
            .query_row(
                r#"SELECT name, password_hash FROM "sys.sql_logins" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()?;
        verify(password, &hash).then_some(stored)
    }

    /// Why an authenticated login may not connect, as SQL Server answers at login: disabled
    /// (18470), must change its password (18488: the emulator's clients cannot change it at
    /// login), or denied CONNECT SQL (18456, the reason kept in the server's log).
    pub fn login_refusal(&self, name: &str) -> Option<ServerMessage> {
        let (id, disabled): (i64, bool) = self
            .conn
            .query_row(
                r#"SELECT principal_id, is_disabled FROM "sys.server_principals" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()?;
        if disabled {
            return Some(ServerMessage::error(
                18470,
                14,
                format!("Login failed for user '{name}'. Reason: The account is disabled."),
            ));
        }
        let must_change = self
            .conn
            .query_row(
                r#"SELECT must_change FROM "ferry.login_flags" WHERE principal_id = ?1"#,
                [id],
                |r| r.get::<_, bool>(0),
            )
            .unwrap_or(false);
        if must_change {
            return Some(ServerMessage::error(
                18488,
                14,
                format!(
                    "Login failed for user '{name}'. Reason: The password of the account must be changed."
                ),
            ));
        }
        if self.connect_denied(id) {
            return Some(ServerMessage::error(
                18456,
                14,
                format!("Login failed for user '{name}'."),
            ));
        }
        None
    }

    /// LOGINPROPERTY(name, 'PasswordHash').
    pub fn password_hash_of(&self, name: &str) -> Option<Vec<u8>> {
        self.conn
            .query_row(
                r#"SELECT password_hash FROM "sys.sql_logins" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .ok()
    }
}
