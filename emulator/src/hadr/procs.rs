//! The link's system procedures: `sp_get_endpoint_certificate` ("sp_get_endpoint_certificate
//! (Transact-SQL)") and `sp_certificate_add_issuer`, which "Configure link with T-SQL" runs to
//! make SQL Server trust certificates issued for `*.database.windows.net` but which has no
//! reference page: the emulator accepts it strictly (the certificate must exist in master, the
//! issuer name must be given) and records the pair.
//!
//! Both come with the Azure Connect feature packs on 2016 and 2017 ("Prepare environment for
//! link"); the plain 2016 SP3 and 2017 CU31 builds, and older releases, do not have them.

use super::store::{rows, s};
use crate::instance::Instance;
use crate::personality::{Personality, Release};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;

type R<T> = Result<T, ServerMessage>;

/// Whether the server has the link's procedures.
pub fn has_link_procedures(p: &Personality) -> bool {
    match p {
        Personality::ManagedInstance { .. } => true,
        Personality::SqlServer { release, .. } => matches!(
            release,
            Release::Sql2016AzureConnect
                | Release::Sql2017AzureConnect
                | Release::Sql2019
                | Release::Sql2022
                | Release::Sql2022Cu13
                | Release::Sql2025
        ),
    }
}

/// The endpoint certificate's public key (DER) for `endpoint_type`: 4 the DATABASE_MIRRORING
/// endpoint, 3 Service Broker (which the emulator has none of); "If any other integer value is
/// provided, stored procedure returns NULL."
pub fn endpoint_certificate(
    p: &Personality,
    inst: &mut Instance,
    endpoint_type: Option<i64>,
) -> R<Option<Vec<u8>>> {
    if endpoint_type != Some(4) && endpoint_type != Some(3) {
        return Ok(None);
    }
    if p.is_managed_instance() {
        if endpoint_type == Some(3) {
            return Ok(None);
        }
        return super::endpoint_cert::get_or_create(inst, p.server_name())
            .map(|(der, _)| Some(der));
    }
    let not_certificate = || {
        // "If authentication type configured on the endpoint isn't certificate-based, stored
        // procedure returns error." The page names no number.
        ServerMessage::error(
            50000,
            16,
            "ferry-emulator: sp_get_endpoint_certificate: the endpoint of this type has no certificate-based authentication",
        )
    };
    if endpoint_type == Some(3) {
        return Err(not_certificate());
    }
    let der = rows(
        inst,
        r#"SELECT hex(k.der) FROM "sys.database_mirroring_endpoints" m
           JOIN "ferry.certificate_keys" k ON k.certificate_id = m.certificate_id"#,
        &[],
    )?
    .into_iter()
    .next()
    .and_then(|r| r[0].clone())
    .ok_or_else(not_certificate)?;
    Ok(Some(unhex(&der)))
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// `sp_certificate_add_issuer certificate_id, issuer_name`.
pub fn add_issuer(inst: &mut Instance, id: Option<Value>, issuer: Option<String>) -> R<()> {
    let id = match id {
        Some(Value::Int(i)) => i,
        Some(Value::Null) | None => {
            return Err(ServerMessage::error(
                50000,
                16,
                "ferry-emulator: sp_certificate_add_issuer needs a certificate id (CERT_ID(N'name')); it was NULL, so no certificate of that name exists in master",
            ));
        }
        Some(other) => {
            return Err(ServerMessage::error(
                50000,
                16,
                format!(
                    "ferry-emulator: sp_certificate_add_issuer: the certificate id must be an int, not '{}'",
                    crate::protocol::types::text(&other)
                ),
            ));
        }
    };
    let Some(issuer) = issuer.filter(|i| !i.trim().is_empty()) else {
        return Err(ServerMessage::error(
            50000,
            16,
            "ferry-emulator: sp_certificate_add_issuer needs the issuer name it trusts the certificate for (e.g. N'*.database.windows.net')",
        ));
    };
    let name = rows(
        inst,
        r#"SELECT name FROM "sys.certificates" WHERE certificate_id = ?1"#,
        &[Value::Int(id)],
    )?
    .into_iter()
    .next()
    .and_then(|r| r[0].clone())
    .ok_or_else(|| super::errors::not_found("find", "certificate", &id.to_string()))?;
    inst.execute(
        r#"INSERT OR REPLACE INTO "ferry.certificate_issuers" VALUES (?1, ?2)"#,
        &[s(&name), s(&issuer)],
    )?;
    Ok(())
}
