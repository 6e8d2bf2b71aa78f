//! The instance's certificates: `sys.certificates` as SQL Server documents it ("sys.certificates
//! (Transact-SQL)"), with each certificate's DER and private key kept apart from the view in
//! `ferry.certificate_keys`, as SQL Server keeps key material out of its catalog views.

use time::OffsetDateTime;

use super::keys::{RsaParts, password_hash};
use super::x509::{self, BadCertificate, Facts};
use crate::instance::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.certificates" (
    name sysname, certificate_id int, principal_id int, pvt_key_encryption_type char(2),
    pvt_key_encryption_type_desc nvarchar(60), is_active_for_begin_dialog bit,
    issuer_name nvarchar(442), cert_serial_number nvarchar(64), sid varbinary(85),
    string_sid nvarchar(128), subject nvarchar(4000), expiry_date datetime, start_date datetime,
    thumbprint varbinary(32), attested_by nvarchar(260), pvt_key_last_backup_date datetime,
    key_length int
);
CREATE TABLE IF NOT EXISTS "ferry.certificate_keys" (
    certificate_id int PRIMARY KEY, der varbinary(-1), private_key varbinary(-1),
    password_hash varbinary(32)
);
"#;

/// Columns a catalog written by an older emulator lacks (it had name, certificate_id,
/// principal_id, pvt_key_encryption_type, subject, thumbprint, start_date, expiry_date).
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("pvt_key_encryption_type_desc", "nvarchar(60)"),
    ("is_active_for_begin_dialog", "bit"),
    ("issuer_name", "nvarchar(442)"),
    ("cert_serial_number", "nvarchar(64)"),
    ("sid", "varbinary(85)"),
    ("string_sid", "nvarchar(128)"),
    ("attested_by", "nvarchar(260)"),
    ("pvt_key_last_backup_date", "datetime"),
    ("key_length", "int"),
];

/// Creates the tables, and brings a catalog from an older emulator up to them: its
/// certificates keep their thumbprints (so its TDE backups still restore) and have no DER.
pub(crate) fn ensure_schema(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let mut stmt = conn.prepare(r#"SELECT name FROM pragma_table_info('sys.certificates')"#)?;
    let have: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (col, ty) in ADDED_COLUMNS {
        if !have.iter().any(|h| h == col) {
            conn.execute_batch(&format!(
                r#"ALTER TABLE "sys.certificates" ADD COLUMN {col} {ty}"#
            ))?;
        }
    }
    Ok(())
}

/// How a new certificate's private key is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProtection {
    /// No private key (`NA`).
    None,
    /// The database master key (`MK`).
    MasterKey,
    /// A password (`PW`).
    Password(String),
}

/// The login SID a certificate maps to: S-1-9-1 followed by the first 20 bytes of its
/// thumbprint. Guess: the documents say only "Login SID for this certificate"; this is the
/// shape SQL Server's certificate SIDs show (authority 9, first sub-authority 1).
fn sid(thumbprint: &[u8]) -> (Vec<u8>, String) {
    let mut sid = vec![1, 6, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0];
    let mut tp = thumbprint.to_vec();
    tp.resize(20, 0);
    sid.extend(&tp);
    let subs: Vec<String> = tp
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    (sid, format!("S-1-9-1-{}", subs.join("-")))
}

fn date_text(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// SQL Server error 15232 (severity 16).
fn exists(name: &str) -> ServerMessage {
    ServerMessage::error(
        15232,
        16,
        format!(
            "A certificate with name '{name}' already exists or this certificate already has been added to the database."
        ),
    )
}

/// SQL Server error 15468 (severity 16): bytes that are not a certificate it can load (the
/// error Microsoft's SQL PFE blog "Generating a trusted TDE Certificate in the proper format
/// from a Certificate Authority" shows for a PEM file given where DER belongs).
pub(super) fn not_a_certificate() -> ServerMessage {
    ServerMessage::error(
        15468,
        16,
        "An error occurred during the generation of the certificate.",
    )
}

impl Instance {
    /// Whether a certificate with this thumbprint is here, with its private key or without.
    pub fn holds_certificate(&self, thumbprint: &[u8]) -> bool {
        self.conn
            .query_row(
                r#"SELECT 1 FROM "sys.certificates" WHERE thumbprint = ?1"#,
                [thumbprint],
                |_| Ok(()),
            )
            .is_ok()
    }

    /// DROP CERTIFICATE: refused while a database encryption key is bound to it.
    pub(super) fn drop_certificate(&mut self, name: &str) -> Result<(), ServerMessage> {
        let found: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                r#"SELECT certificate_id, thumbprint FROM "sys.certificates" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok();
        let Some((id, thumbprint)) = found else {
            return Err(ServerMessage::error(
                15151,
                16,
                format!(
                    "Cannot drop the certificate '{name}', because it does not exist or you do not have permission."
                ),
            ));
        };
        let bound = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.dm_database_encryption_keys" WHERE encryptor_thumbprint = ?1"#,
                [&thumbprint],
                |_| Ok(()),
            )
            .is_ok();
        if bound {
            // SQL Server error 3716 (severity 16).
            return Err(ServerMessage::error(
                3716,
                16,
                format!(
                    "The certificate '{name}' cannot be dropped because it is bound to one or more database encryption key."
                ),
            ));
        }
        self.conn
            .execute(
                r#"DELETE FROM "sys.certificates" WHERE certificate_id = ?1"#,
                [id],
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"DELETE FROM "ferry.certificate_keys" WHERE certificate_id = ?1"#,
                [id],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Inserts a certificate; `key` is its private key (PKCS#8), already checked to match.
    pub(super) fn insert_certificate(
        &mut self,
        name: &str,
        der: &[u8],
        facts: &Facts,
        key: Option<&[u8]>,
        protection: &KeyProtection,
        id: Option<i64>,
    ) -> Result<i64, ServerMessage> {
        let clash = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.certificates" WHERE name = ?1 COLLATE NOCASE OR thumbprint = ?2"#,
                rusqlite::params![name, facts.thumbprint],
                |_| Ok(()),
            )
            .is_ok();
        if clash {
            return Err(exists(name));
        }
        // Guess: user certificates are numbered from 256, after the ids system certificates
        // take; the documents give no numbering.
        let id = match id {
            Some(id) => id,
            None => self
                .conn
                .query_row(
                    r#"SELECT COALESCE(MAX(certificate_id), 255) + 1 FROM "sys.certificates" WHERE certificate_id >= 256"#,
                    [],
                    |r| r.get(0),
                )
                .map_err(sqlite_error)?,
        };
        let (kind, desc) = match (key, protection) {
            (None, _) | (_, KeyProtection::None) => ("NA", "NO_PRIVATE_KEY"),
            (Some(_), KeyProtection::MasterKey) => ("MK", "ENCRYPTED_BY_MASTER_KEY"),
            (Some(_), KeyProtection::Password(_)) => ("PW", "ENCRYPTED_BY_PASSWORD"),
        };
        let (sid, string_sid) = sid(&facts.thumbprint);
        // "CREATE CERTIFICATE": on Windows the subject is kept to 128 characters in the catalog.
        let subject: String = facts.subject.chars().take(128).collect();
        self.conn
            .execute(
                r#"INSERT INTO "sys.certificates" (name, certificate_id, principal_id, pvt_key_encryption_type,
                    pvt_key_encryption_type_desc, is_active_for_begin_dialog, issuer_name, cert_serial_number,
                    sid, string_sid, subject, expiry_date, start_date, thumbprint, attested_by,
                    pvt_key_last_backup_date, key_length)
                   VALUES (?1, ?2, 1, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL, ?13)"#,
                rusqlite::params![
                    name,
                    id,
                    kind,
                    desc,
                    facts.issuer,
                    facts.serial,
                    sid,
                    string_sid,
                    subject,
                    date_text(facts.expiry),
                    date_text(facts.start),
                    facts.thumbprint,
                    facts.key_bits as i64,
                ],
            )
            .map_err(sqlite_error)?;
        let hash = match protection {
            KeyProtection::Password(p) if key.is_some() => Some(password_hash(p)),
            _ => None,
        };
        let key = key.filter(|_| *protection != KeyProtection::None);
        self.conn
            .execute(
                r#"INSERT INTO "ferry.certificate_keys" VALUES (?1, ?2, ?3, ?4)"#,
                rusqlite::params![id, der, key, hash],
            )
            .map_err(sqlite_error)?;
        Ok(id)
    }

    /// Reads `der` as a certificate SQL Server can load.
    pub(super) fn read_certificate(der: &[u8]) -> Result<Facts, ServerMessage> {
        x509::facts(der).map_err(|e| match e {
            BadCertificate::NotDer | BadCertificate::NotRsa => not_a_certificate(),
        })
    }

    /// Whether `key` is the private key of the certificate `facts` describes.
    pub(super) fn key_matches(facts: &Facts, key: &RsaParts) -> bool {
        key.n == facts.modulus && key.e == facts.exponent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_catalog_gains_the_new_columns_and_keeps_its_rows() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            r#"CREATE TABLE "sys.certificates" (
                name sysname, certificate_id int, principal_id int, pvt_key_encryption_type char(2),
                subject nvarchar(4000), thumbprint varbinary(32), start_date datetime2, expiry_date datetime2
            );
            INSERT INTO "sys.certificates" VALUES ('Old', 257, 1, 'MK', 'old', x'0102', '2026-01-01', '2036-01-01');"#,
        )
        .unwrap();
        ensure_schema(&conn).unwrap();
        ensure_schema(&conn).unwrap();
        let (thumbprint, key_length): (Vec<u8>, Option<i64>) = conn
            .query_row(
                r#"SELECT thumbprint, key_length FROM "sys.certificates" WHERE name = 'Old'"#,
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((thumbprint, key_length), (vec![1, 2], None));
    }

    #[test]
    fn a_certificate_sid_is_s_1_9_1_and_its_thumbprint() {
        let (sid, text) = sid(&[1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(sid.len(), 32);
        assert_eq!(text, "S-1-9-1-1-2-0-0-0");
    }
}
