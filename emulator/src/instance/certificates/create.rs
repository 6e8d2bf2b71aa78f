//! CREATE CERTIFICATE and the statements about certificate files, as "CREATE CERTIFICATE
//! (Transact-SQL)" and "BACKUP CERTIFICATE (Transact-SQL)" describe them.

use time::OffsetDateTime;

use super::errors::{bad_key_data, bad_password, key_mismatch};
use super::keys::RsaParts;
use super::pvk::{self, PvkError};
use super::store::{KeyProtection, not_a_certificate};
use super::x509;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;

/// A certificate statement, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateStatement {
    /// `CREATE CERTIFICATE c [ENCRYPTION BY PASSWORD = '…'] WITH SUBJECT = '…' [, START_DATE
    /// = '…'] [, EXPIRY_DATE = '…']`.
    Generate {
        name: String,
        password: Option<String>,
        subject: String,
        start: Option<String>,
        expiry: Option<String>,
    },
    /// `CREATE CERTIFICATE c FROM BINARY = 0x… [WITH PRIVATE KEY (BINARY = 0x…, DECRYPTION BY
    /// PASSWORD = '…' [, ENCRYPTION BY PASSWORD = '…'])]`.
    FromBinary {
        name: String,
        der: Vec<u8>,
        private_key: Option<PrivateKeyBinary>,
    },
    /// `CREATE CERTIFICATE c FROM [EXECUTABLE] FILE | ASSEMBLY …`.
    FromFile { name: String, keyword: String },
    /// `BACKUP CERTIFICATE c TO FILE = '…' …`.
    Backup { name: String },
    /// `DROP CERTIFICATE c`.
    Drop { name: String },
}

/// `WITH PRIVATE KEY (BINARY = …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKeyBinary {
    pub pvk: Vec<u8>,
    pub decryption: Option<String>,
    pub encryption: Option<String>,
}

/// A date option: `'YYYYMMDD'` or `'YYYY-MM-DD[ HH:MM[:SS]]'`, in UTC ("START_DATE is in UTC
/// time"). Anything else fails as SQL Server's conversion error 241 does.
fn parse_date(text: &str) -> Result<OffsetDateTime, ServerMessage> {
    let bad = || {
        ServerMessage::error(
            241,
            16,
            "Conversion failed when converting date and/or time from character string.",
        )
    };
    let t = text.trim();
    let iso = if t.len() >= 8 && t[..8].bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}{}", &t[..4], &t[4..6], &t[6..8], &t[8..])
    } else {
        t.to_owned()
    };
    let (days, ticks) = crate::protocol::types::parse_datetime(&iso).ok_or_else(bad)?;
    // `parse_datetime` counts days from 0001-01-01 and 100 ns ticks within the day.
    let unix_days = i64::from(days) - 719_162;
    OffsetDateTime::from_unix_timestamp(unix_days * 86_400 + (ticks / 10_000_000) as i64)
        .map_err(|_| bad())
}

impl Instance {
    /// Carries out a certificate statement; `mi` applies Managed Instance's rules.
    pub fn certificate_statement(
        &mut self,
        st: CertificateStatement,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        match st {
            CertificateStatement::Generate {
                name,
                password,
                subject,
                start,
                expiry,
            } => {
                let now = OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap_or(OffsetDateTime::now_utc());
                let start = start.as_deref().map(parse_date).transpose()?.unwrap_or(now);
                // "If not specified, EXPIRY_DATE is set to a date one year after START_DATE."
                let expiry = match expiry.as_deref() {
                    Some(e) => parse_date(e)?,
                    None => start
                        .replace_year(start.year() + 1)
                        .unwrap_or(start + time::Duration::days(365)),
                };
                let (der, pkcs8) =
                    x509::generate(&subject, start, expiry).map_err(|_| not_a_certificate())?;
                let facts = Self::read_certificate(&der)?;
                // "CREATE CERTIFICATE": without ENCRYPTION BY PASSWORD "the private key is
                // encrypted using the database master key" — none in master is error 15581. A
                // Managed Instance's master is taken to have one (the docs are silent).
                if password.is_none() && !mi && !self.has_master_key() {
                    return Err(crate::instance::master_key::no_master_key());
                }
                let protection = password.map_or(KeyProtection::MasterKey, KeyProtection::Password);
                self.insert_certificate(&name, &der, &facts, Some(&pkcs8), &protection, None)?;
                Ok(())
            }
            CertificateStatement::FromBinary {
                name,
                der,
                private_key,
            } => {
                let facts = Self::read_certificate(&der)?;
                let Some(pk) = private_key else {
                    self.insert_certificate(&name, &der, &facts, None, &KeyProtection::None, None)?;
                    return Ok(());
                };
                let parts = pvk::read(&pk.pvk, pk.decryption.as_deref()).map_err(|e| match e {
                    PvkError::Malformed(_) => bad_key_data(),
                    PvkError::PasswordNeeded | PvkError::WrongPassword => bad_password(),
                })?;
                if !Self::key_matches(&facts, &parts) {
                    return Err(key_mismatch());
                }
                check_imported_size(&parts)?;
                let pkcs8 = parts.to_pkcs8().map_err(|_| bad_key_data())?;
                let protection = pk
                    .encryption
                    .map_or(KeyProtection::MasterKey, KeyProtection::Password);
                self.insert_certificate(&name, &der, &facts, Some(&pkcs8), &protection, None)?;
                Ok(())
            }
            // Managed Instance cannot read files ("T-SQL differences between SQL Server & Azure
            // SQL Managed Instance", Certificates: creating a certificate from a file or an
            // assembly, private key files, and backing a certificate up to a file are not
            // supported). The page names no error number; 40517 and 40510 are the Azure SQL
            // engine's refusals of an unsupported option and statement.
            CertificateStatement::FromFile { keyword, .. } if mi => Err(ServerMessage::error(
                40517,
                16,
                format!(
                    "Keyword or statement option '{keyword}' is not supported in this version of SQL Server."
                ),
            )),
            CertificateStatement::Backup { .. } if mi => Err(ServerMessage::error(
                40510,
                16,
                "Statement 'BACKUP CERTIFICATE' is not supported in this version of SQL Server.",
            )),
            // On SQL Server the emulator does not read or write certificate files: a migration
            // moves certificates with CERTENCODED / CERTPRIVATEKEY, which it serves.
            CertificateStatement::FromFile { keyword, .. } => {
                Err(crate::syntax::syntax_error(&keyword))
            }
            CertificateStatement::Backup { .. } => Err(crate::syntax::syntax_error("TO")),
            CertificateStatement::Drop { name } => self.drop_certificate(&name),
        }
    }
}

/// "CREATE CERTIFICATE": "Private keys imported from an external source have a minimum length
/// of 384 bits and a maximum length of 4,096 bits. The length of an imported private key must
/// be an integer multiple of 64 bits." Refused as invalid key data (15297).
fn check_imported_size(key: &RsaParts) -> Result<(), ServerMessage> {
    let bits = key.bits();
    if (384..=4096).contains(&bits) && bits.is_multiple_of(64) {
        Ok(())
    } else {
        Err(bad_key_data())
    }
}
