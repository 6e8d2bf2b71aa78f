//! `validateIr` (methods.md §3.3 step 3, the check the Azure SQL migration extension ran before
//! a share migration): the runtime tests the source login and the share. Only when asked
//! (`validate_ir`), only for a share, never while planning (it is a POST the plan would only
//! record); a service without the action (400, 404, 405: sqlmigration.json 2025-06-30 has no
//! `validateIr`) leaves it reported as not made.

use ferry_sdk::prelude::*;
use serde_json::{Value, json};

use crate::arm::{dms, service_path};
use crate::config::Config;
use crate::dms_errors;
use crate::secrets;
use crate::state::Migration;

pub fn validate_ir(cx: &mut Context<'_, Config>, m: &Migration) -> Result<()> {
    let cfg = cx.config().clone();
    if !cfg.validate_ir || cfg.share.is_none() || cx.planning() {
        return Ok(());
    }
    let mut body = crate::arm::start_body(&cfg, m)["properties"].clone();
    // Never planned (above), so the service exists and its id is known.
    body["migrationService"] = json!(m.service_id);
    body["validateIntegrationRuntimeOnline"] = json!(true);
    body["sourceSqlConnection"]["testConnectivity"] = json!(true);
    body["backupConfiguration"]["sourceLocation"]["testConnectivity"] = json!(true);
    body["backupConfiguration"]["targetLocation"]["testConnectivity"] = json!(true);
    let sealed = secrets::open(cx)?;
    let req = dms(
        "POST",
        &format!("{}/validateIr", service_path(&cfg)),
        &cfg,
        Some(body),
    );
    let answer = match cx.azure_sealed(&cfg.service_azure, &req, &sealed) {
        Ok(r) => serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
        Err(Error::Failed(f)) if matches!(f.code, Some(400 | 404 | 405)) => {
            cx.report(ObjectRow {
                object_type: "dms-precondition".into(),
                name: format!("{}: validate-ir", m.db),
                status: ObjectStatus::Skipped,
                reason_code: Some("validate-ir".into()),
                notes: Some(format!("the service has no validateIr: {}", f.message)),
            });
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let errors: Vec<String> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let code = e["code"].as_str().map(str::to_owned);
            let msg = e["message"].as_str().unwrap_or_default();
            match dms_errors::find(code.as_deref(), msg) {
                Some(mn) => dms_errors::describe(&m.db, mn, msg),
                None => format!("{}: {msg}", code.unwrap_or_default()),
            }
        })
        .collect();
    if errors.is_empty() && answer["succeeded"].as_bool() != Some(false) {
        return Ok(());
    }
    Err(Error::failed(format!(
        "[{}]: validateIr found the runtime cannot migrate it, nothing was started: {}",
        m.db,
        if errors.is_empty() {
            "it answered succeeded = false".to_owned()
        } else {
            errors.join(" | ")
        }
    )))
}
