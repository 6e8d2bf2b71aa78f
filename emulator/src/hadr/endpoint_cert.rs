//! The Managed Instance's own DATABASE_MIRRORING endpoint certificate: the service creates it
//! with the instance; `sp_get_endpoint_certificate 4` and ARM's endpointCertificates return
//! its public key ("Configure link with T-SQL": "Get the certificate public key from SQL
//! Managed Instance"). The docs do not give its subject; the emulator names it after the
//! instance.

use sha1::{Digest, Sha1};

use super::store::rows;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;

pub(crate) fn get_or_create(
    inst: &mut Instance,
    server: &str,
) -> Result<(Vec<u8>, String), ServerMessage> {
    let (_, found) = inst.query(
        r#"SELECT der, thumbprint FROM "ferry.hadr_endpoint_certificate""#,
        &[],
    )?;
    if let Some(row) = found.into_iter().next()
        && let [Value::Binary(der), Value::Text(thumb)] = row.as_slice()
    {
        return Ok((der.clone(), thumb.clone()));
    }
    let _ = rows;
    let der = generate(server).map_err(|e| {
        ServerMessage::error(
            50000,
            16,
            format!("ferry-emulator: cannot make the endpoint certificate: {e}"),
        )
    })?;
    let thumbprint: String = Sha1::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    inst.execute(
        r#"INSERT INTO "ferry.hadr_endpoint_certificate" VALUES (?1, ?2)"#,
        &[Value::Binary(der.clone()), Value::Text(thumbprint.clone())],
    )?;
    Ok((der, thumbprint))
}

fn generate(server: &str) -> Result<Vec<u8>, rcgen::Error> {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("{server} DATABASE_MIRRORING endpoint"),
    );
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    Ok(params.self_signed(&key)?.der().to_vec())
}
