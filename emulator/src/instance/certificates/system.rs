//! The `##MS_…##` certificates SQL Server keeps in master, which sign its own modules and map
//! to its `##MS_…##` logins. Migration skips them (methods.md §5.7), so a migration tool must
//! see them to skip them.
//!
//! Guess: their ids (101 on) and dates; the documents list neither. They have no private key
//! in master (`NA`). One RSA key, made once per process, signs them all: nothing uses their
//! keys, and RSA key generation is the slow part of starting an instance.

use std::sync::OnceLock;

use time::OffsetDateTime;

use super::store::KeyProtection;
use super::x509;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;

const SYSTEM_CERTIFICATES: &[&str] = &[
    "##MS_SQLResourceSigningCertificate##",
    "##MS_SQLReplicationSigningCertificate##",
    "##MS_SQLAuthenticatorCertificate##",
    "##MS_PolicySigningCertificate##",
    "##MS_SmoExtendedSigningCertificate##",
    "##MS_AgentSigningCertificate##",
];

/// Each system certificate's name and DER, made once.
fn system_certificates() -> &'static [(String, Vec<u8>)] {
    static CERTS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    CERTS.get_or_init(|| {
        let Ok(key) = x509::new_key() else {
            return Vec::new();
        };
        let start = OffsetDateTime::from_unix_timestamp(1_451_606_400)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let expiry = OffsetDateTime::from_unix_timestamp(4_102_358_400)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        SYSTEM_CERTIFICATES
            .iter()
            .filter_map(|name| {
                let subject = name.trim_matches('#');
                x509::issue(&key, subject, start, expiry)
                    .ok()
                    .map(|der| (name.to_string(), der))
            })
            .collect()
    })
}

impl Instance {
    /// Puts the `##MS_…##` certificates in master on a SQL Server instance (not on Managed
    /// Instance: the migration's target gets no system certificates from the emulator, the
    /// stricter choice where the documents do not list MI's); once.
    pub fn ensure_system_certificates(&mut self, mi: bool) -> Result<(), ServerMessage> {
        if mi {
            return Ok(());
        }
        for (i, (name, der)) in system_certificates().iter().enumerate() {
            let present = self
                .conn
                .query_row(
                    r#"SELECT 1 FROM "sys.certificates" WHERE name = ?1"#,
                    [name],
                    |_| Ok(()),
                )
                .is_ok();
            if present {
                continue;
            }
            let facts = Self::read_certificate(der)?;
            self.insert_certificate(
                name,
                der,
                &facts,
                None,
                &KeyProtection::None,
                Some(101 + i as i64),
            )?;
        }
        Ok(())
    }
}
