//! The database master key of `master`: `sys.symmetric_keys` as "sys.symmetric_keys
//! (Transact-SQL)" documents it, with the key SQL Server makes on `CREATE MASTER KEY` ("CREATE
//! MASTER KEY (Transact-SQL)": named `##MS_DatabaseMasterKey##`, `symmetric_key_id` 101, AES
//! 256). The link guide ("Configure link with T-SQL") checks for it by that id before it
//! creates the endpoint certificate, which the key protects.
//!
//! Only `master`'s key is kept: the emulator keeps no per-database key hierarchy, so a
//! `CREATE MASTER KEY` in a user database is accepted and leaves no row (a guess that keeps
//! older rehearsal scripts working; nothing ferry reads depends on it).

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.symmetric_keys" (
    name sysname, principal_id int, symmetric_key_id int, key_length int, key_algorithm char(2),
    algorithm_desc nvarchar(60), create_date datetime, modify_date datetime,
    key_guid uniqueidentifier, key_thumbprint varbinary(32), provider_type nvarchar(60),
    cryptographic_provider_guid uniqueidentifier, cryptographic_provider_algid sql_variant
);
"#;

/// The id "sys.symmetric_keys" gives the database master key.
const MASTER_KEY_ID: i64 = 101;

impl Instance {
    /// Whether `master` has its database master key.
    pub(crate) fn has_master_key(&self) -> bool {
        self.conn
            .query_row(
                r#"SELECT COUNT(*) FROM "sys.symmetric_keys" WHERE symmetric_key_id = ?1"#,
                [MASTER_KEY_ID],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
            > 0
    }

    /// CREATE MASTER KEY in `database`.
    pub(crate) fn create_master_key(&mut self, database: &str) -> Result<(), ServerMessage> {
        if !database.eq_ignore_ascii_case("master") {
            return Ok(());
        }
        if self.has_master_key() {
            // SQL Server error 15578, class 16.
            return Err(ServerMessage::error(
                15578,
                16,
                "There is already a master key in the database. Please drop it before performing this statement.",
            ));
        }
        let guid = super::guid_text(&super::unique_bytes("database master key", 16));
        self.conn
            .execute(
                r#"INSERT INTO "sys.symmetric_keys" (name, principal_id, symmetric_key_id,
                   key_length, key_algorithm, algorithm_desc, create_date, modify_date, key_guid)
                   VALUES ('##MS_DatabaseMasterKey##', 1, ?1, 256, 'A3', 'AES_256',
                   CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, ?2)"#,
                rusqlite::params![MASTER_KEY_ID, guid],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}

/// SQL Server's error 15581 (class 16): a certificate whose private key the master key would
/// protect, made with no master key.
pub(crate) fn no_master_key() -> ServerMessage {
    ServerMessage::error(
        15581,
        16,
        "Please create a master key in the database or open the master key in the session before performing this operation.",
    )
}
