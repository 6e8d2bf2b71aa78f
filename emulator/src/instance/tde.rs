//! Transparent Data Encryption, as far as migration depends on it: a TDE database's backups
//! name the thumbprint of the certificate that protects them (SHA-1 of its DER, see
//! `certificates`), and restoring one needs a certificate with that thumbprint on the target
//! (SQL Server error 33111).

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub const SCHEMA: &str = r#"
CREATE TABLE "sys.dm_database_encryption_keys" (
    database_id int, encryption_state int, key_algorithm nvarchar(32), key_length int,
    encryptor_thumbprint varbinary(32), encryptor_type nvarchar(32)
);
"#;

impl Instance {
    /// CREATE DATABASE ENCRYPTION KEY … ENCRYPTION BY SERVER CERTIFICATE cert, in `db`.
    pub fn create_encryption_key(
        &mut self,
        db: &str,
        certificate: &str,
    ) -> Result<(), ServerMessage> {
        let thumbprint: Vec<u8> = self
            .conn
            .query_row(r#"SELECT thumbprint FROM "sys.certificates" WHERE name = ?1 COLLATE NOCASE"#, [certificate], |r| r.get(0))
            .map_err(|_| ServerMessage::error(15151, 16, format!("Cannot find the certificate '{certificate}', because it does not exist or you do not have permission.")))?;
        let id = self.database(db).map_or(0, |d| d.id);
        self.conn
            .execute(r#"INSERT INTO "sys.dm_database_encryption_keys" VALUES (?1, 1, 'AES', 256, ?2, 'CERTIFICATE')"#, rusqlite::params![id, thumbprint])
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// ALTER DATABASE … SET ENCRYPTION ON | OFF.
    pub fn set_encryption(&mut self, db: &str, on: bool) -> Result<(), ServerMessage> {
        let Some(info) = self.database(db).cloned() else {
            return Err(ServerMessage::error(
                5011,
                14,
                format!(
                    "User does not have permission to alter database '{db}', the database does not exist, or the database is not in a state that allows access checks."
                ),
            ));
        };
        let has_key = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.dm_database_encryption_keys" WHERE database_id = ?1"#,
                [info.id],
                |_| Ok(()),
            )
            .is_ok();
        if on && !has_key {
            // SQL Server error 33107 (class 16).
            return Err(ServerMessage::error(
                33107,
                16,
                format!(
                    "Cannot enable database encryption because no database encryption key is configured for database '{}'.",
                    info.name
                ),
            ));
        }
        self.conn
            .execute(r#"UPDATE "sys.dm_database_encryption_keys" SET encryption_state = ?2 WHERE database_id = ?1"#, rusqlite::params![info.id, if on { 3 } else { 1 }])
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"UPDATE "sys.databases" SET is_encrypted = ?2 WHERE name = ?1 COLLATE NOCASE"#,
                rusqlite::params![info.name, on],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// The thumbprint protecting a database, when TDE is on.
    pub fn tde_thumbprint(&self, db: &str) -> Option<Vec<u8>> {
        let id = self.database(db)?.id;
        self.conn
            .query_row(r#"SELECT encryptor_thumbprint FROM "sys.dm_database_encryption_keys" WHERE database_id = ?1 AND encryption_state = 3"#, [id], |r| r.get(0))
            .ok()
    }

    /// Whether a certificate with this thumbprint and its private key is here, as restoring a
    /// TDE backup needs ("Move a TDE protected database to another SQL Server": the
    /// certificate must be restored with its private key on the destination). A certificate
    /// loaded without its key does not do.
    pub fn has_certificate(&self, thumbprint: &[u8]) -> bool {
        self.conn
            .query_row(
                r#"SELECT 1 FROM "sys.certificates" WHERE thumbprint = ?1 AND pvt_key_encryption_type <> 'NA'"#,
                [thumbprint],
                |_| Ok(()),
            )
            .is_ok()
    }

    /// After a restore: the encryption key of a TDE backup comes with the database.
    pub(crate) fn adopt_encryption(
        &mut self,
        db: &str,
        thumbprint: &[u8],
    ) -> Result<(), ServerMessage> {
        let id = self.database(db).map_or(0, |d| d.id);
        self.conn
            .execute(r#"INSERT INTO "sys.dm_database_encryption_keys" VALUES (?1, 3, 'AES', 256, ?2, 'CERTIFICATE')"#, rusqlite::params![id, thumbprint])
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"UPDATE "sys.databases" SET is_encrypted = 1 WHERE name = ?1 COLLATE NOCASE"#,
                [db],
            )
            .map_err(sqlite_error)?;

        Ok(())
    }
}

/// `0x…` as bytes, for error messages and FROM BINARY.
pub fn hex(b: &[u8]) -> String {
    format!(
        "0x{}",
        b.iter().map(|x| format!("{x:02X}")).collect::<String>()
    )
}
