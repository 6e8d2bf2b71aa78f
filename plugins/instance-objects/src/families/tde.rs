//! TDE certificates (methods.md §4.6), which every data method needs: a TDE database's backup
//! restores only where its certificate is. Managed Instance takes them through ARM
//! (`POST …/managedInstances/{mi}/tdeCertificates`, a long-running operation) as a PFX and its
//! password. The certificate is exported by T-SQL alone (`CERTENCODED`, `CERTPRIVATEKEY`), so
//! no file is written on the source; the host builds the PFX from the sealed key and writes
//! the PFX and its password into the request; none of it passes through the plugin.

use ferry_sdk::ArmRequest;
use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use super::certificates::{self, Certificate};
use crate::config::Config;
use crate::decision::{Decision, Verdict};
use crate::servers::Servers;
use crate::table::Table;

/// The Microsoft.Sql api-version of the upload (stable, in the REST specs'
/// `ManagedInstanceTdeCertificates.json`).
pub const API_VERSION: &str = "2021-11-01";

/// A certificate to upload, by name (re-read from the source when its turn comes: the sealed
/// key lives only as long as one step call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub name: String,
    pub databases: Vec<String>,
}

/// Which databases each TDE certificate protects, on the source.
fn protected(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<(Certificate, Vec<String>)>> {
    let keys = Table::read(
        cx,
        s.source,
        "sys.dm_database_encryption_keys",
        "SELECT k.encryptor_thumbprint, d.name FROM sys.dm_database_encryption_keys k \
         JOIN sys.databases d ON d.database_id = k.database_id",
        &[],
    )?;
    let certs = certificates::read(cx, s.source)?;
    let mut out: Vec<(Certificate, Vec<String>)> = Vec::new();
    for r in keys.rows() {
        let Some(t) = r.bytes("encryptor_thumbprint") else {
            continue;
        };
        let db = r.text("name");
        if db.eq_ignore_ascii_case("tempdb") {
            // tempdb is encrypted whenever any database is, with the instance's own key.
            continue;
        }
        match out.iter_mut().find(|(c, _)| c.thumbprint == t) {
            Some((_, dbs)) => dbs.push(db),
            None => {
                if let Some(c) = certs.iter().find(|c| c.thumbprint == t) {
                    out.push((
                        Certificate {
                            id: c.id,
                            name: c.name.clone(),
                            thumbprint: c.thumbprint.clone(),
                            has_private_key: c.has_private_key,
                        },
                        vec![db],
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Decides each TDE certificate: already on the MI (by thumbprint), to upload, or impossible.
pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<(Vec<Decision>, Vec<Pending>)> {
    let cfg = cx.config().clone();
    let patterns = cfg.tde_certificates.patterns();
    let on_target = certificates::read(cx, s.target)?;
    let mut decisions = Vec::new();
    let mut pending = Vec::new();
    for (c, dbs) in protected(cx, s)? {
        if !patterns.admits(&c.name) {
            continue;
        }
        let note = format!("Protects {}.", dbs.join(", "));
        let verdict = if on_target.iter().any(|t| t.thumbprint == c.thumbprint) {
            Verdict::Unchanged
        } else if !c.has_private_key {
            Verdict::Refused {
                code: "no-private-key",
                why: "the source holds this certificate without its private key, so it cannot \
                      be exported; restore it with its key on the source first"
                    .into(),
            }
        } else if cfg.azure.is_none() {
            Verdict::Refused {
                code: "no-azure-label",
                why: "Managed Instance takes TDE certificates only through Azure Resource \
                      Manager: set `azure` in the step's config to the MI's azure label (with a \
                      write grant) and apply again"
                    .into(),
            }
        } else {
            pending.push(Pending {
                name: c.name.clone(),
                databases: dbs.clone(),
            });
            // Carried out by the upload phase; the decision only names it for the readback.
            Verdict::Create(Vec::new())
        };
        decisions.push(Decision::new("tde-certificate", &c.name, verdict).note(note));
    }
    Ok((decisions, pending))
}

/// Starts the upload of one certificate: returns the host operation to wait for.
pub fn begin_upload(cx: &mut Context<'_, Config>, s: Servers, p: &Pending) -> Result<String> {
    let cfg = cx.config().clone();
    let azure = cfg
        .azure
        .as_deref()
        .ok_or_else(|| Error::invalid_config(Some("azure"), "TDE certificates need `azure`"))?;
    let c = certificates::read(cx, s.source)?
        .into_iter()
        .find(|c| c.name == p.name)
        .ok_or_else(|| {
            Error::failed(format!(
                "TDE certificate `{}` is no longer on the source",
                p.name
            ))
        })?;
    let exported = certificates::export(cx, s.source, &c)?;
    let key = exported.key.ok_or_else(|| {
        Error::failed(format!(
            "CERTPRIVATEKEY gave nothing for `{}`: the reading login needs CONTROL on the \
             certificate to export its private key",
            p.name
        ))
    })?;
    let pfx_password = cx.generate_secret("tde-pfx");
    let pfx = cx.pkcs12(&exported.der, key, exported.password, pfx_password)?;
    let body = serde_json::json!({
        "properties": { "privateBlob": "{{blob}}", "certPassword": "{{password}}" }
    });
    let request = ArmRequest {
        method: "POST".into(),
        path: "tdeCertificates".into(),
        api_version: API_VERSION.into(),
        body: Some(body.to_string()),
    };
    cx.azure_begin_sealed(
        azure,
        &request,
        &[("blob", pfx), ("password", pfx_password)],
    )
}

/// The report row of a finished upload.
pub fn uploaded(p: &Pending, failure: Option<String>) -> ObjectRow {
    ObjectRow {
        object_type: "tde-certificate".into(),
        name: p.name.clone(),
        status: if failure.is_some() {
            ObjectStatus::Failed
        } else {
            ObjectStatus::Migrated
        },
        reason_code: failure.as_ref().map(|_| "tde-upload-failed".to_owned()),
        notes: Some(match failure {
            None => format!(
                "Uploaded to the MI through tdeCertificates; {} can now be restored there.",
                p.databases.join(", ")
            ),
            Some(e) => format!(
                "Azure refused the upload: {e}. Until it is there, {} cannot be restored on the MI.",
                p.databases.join(", ")
            ),
        }),
    }
}
