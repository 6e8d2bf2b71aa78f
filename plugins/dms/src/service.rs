//! The `sqlMigrationServices` resource: read, created when asked (a long-running PUT, methods.md
//! §3.3 step 1), and for a share its self-hosted integration runtime awaited `Online`.
//!
//! ferry never reads the runtime's auth keys (`listAuthKeys`): a key in the plugin's hands
//! could register a foreign runtime to the service. Registering the runtime is the operator's:
//! the key comes from the portal or `az datamigration sql-service list-auth-key`.

use ferry_sdk::prelude::*;
use serde_json::json;

use crate::arm::{self, dms, service_path};
use crate::config::Config;
use crate::dms_errors::explain;
use crate::state::{Migration, State, ended, wait};

pub fn service(
    cx: &mut Context<'_, Config>,
    mut m: Migration,
    op: Option<String>,
) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    if let Some(id) = &op {
        let done = ended(cx, id, "creating the service").map_err(|e| explain(&m.db, e))?;
        if done.is_none() {
            return wait(cx, State::Service { m, op }, "ARM creates the service");
        }
    }
    cx.phase(
        "service",
        None,
        Some(&format!("service {}", cfg.service_name)),
    );
    let Some(body) = arm::service(cx)? else {
        if op.is_some() {
            return wait(cx, State::Service { m, op }, "ARM lists the new service");
        }
        if !cfg.create_service {
            return Err(Error::failed(format!(
                "[{}]: there is no sqlMigrationServices `{}` in the `{}` label's resource group: \
                 create it, or set create_service = true and location",
                m.db, cfg.service_name, cfg.service_azure
            )));
        }
        let put = dms(
            "PUT",
            &service_path(&cfg),
            &cfg,
            Some(json!({ "location": cfg.location, "tags": {} })),
        );
        let id = cx.azure_begin(&cfg.service_azure, &put)?;
        if cx.planning() {
            // The new service's id is only known once ARM made it: the start reads it then
            // (`arm::service_id_reference`).
            return ready(cx, m);
        }
        return Ok(Outcome::wait_operation(
            id.clone(),
            State::Service { m, op: Some(id) },
            "ARM creates the service",
        ));
    };
    let p = &body["properties"];
    let provisioning = p["provisioningState"].as_str().unwrap_or("Succeeded");
    match provisioning {
        "Succeeded" => {}
        "Failed" | "Canceled" => {
            return Err(Error::failed(format!(
                "[{}]: the service `{}` is in provisioningState {provisioning}: delete it and \
                 create it again",
                m.db, cfg.service_name
            )));
        }
        _ => {
            return wait(
                cx,
                State::Service { m, op },
                "the service is being provisioned",
            );
        }
    }
    m.service_id = body["id"].as_str().unwrap_or_default().to_owned();
    if cfg.share.is_some() && !cx.planning() {
        let ir = p["integrationRuntimeState"].as_str().unwrap_or_default();
        if ir != "Online" {
            let advice = runtime_advice(&cfg, &m.db, ir);
            if m.last_blocking.as_deref() != Some(ir) {
                cx.warn(&advice);
                m.last_blocking = Some(ir.to_owned());
            }
            offline_too_long(cx, &mut m, &advice, "nothing was started")?;
            return wait(
                cx,
                State::Service { m, op: None },
                "the self-hosted integration runtime to be Online",
            );
        }
        m.last_blocking = None;
        m.runtime_offline_since_ms = 0;
        nodes(cx, &mut m);
    }
    ready(cx, m)
}

/// Ends the database once the runtime has not been Online for longer than
/// `runtime_offline_limit_seconds` (0: never); `after` says what stays as it is.
pub fn offline_too_long(
    cx: &mut Context<'_, Config>,
    m: &mut Migration,
    advice: &str,
    after: &str,
) -> Result<()> {
    let limit = cx.config().runtime_offline_limit_seconds;
    let now = ferry_sdk::now_ms();
    if m.runtime_offline_since_ms == 0 {
        m.runtime_offline_since_ms = now;
    }
    if limit == 0 || now.saturating_sub(m.runtime_offline_since_ms) < u64::from(limit) * 1000 {
        return Ok(());
    }
    Err(Error::failed(format!(
        "{} — it has not been Online for {limit} s (runtime_offline_limit_seconds), so ferry \
         stops waiting; {after}. Once the runtime is Online, run `ferry apply --retry-failed`",
        advice.trim_end_matches('.')
    )))
}

/// What to do when the runtime is not Online (methods.md §3.3 step 2; "Troubleshoot common
/// Azure Database Migration Service issues and errors", learn.microsoft.com).
pub fn runtime_advice(cfg: &Config, db: &str, state: &str) -> String {
    let state = if state.is_empty() { "unknown" } else { state };
    format!(
        "[{db}]: the service `{}`'s self-hosted integration runtime is {state}, not Online; \
         backups on a share need it. On a Windows machine near the source, install the \
         integration runtime and register it with an auth key from the portal or `az \
         datamigration sql-service list-auth-key` (ferry does not read the keys: they would \
         reach its plugin); it needs outbound 443 to Azure and 445 to the share. ferry waits \
         and goes on once it is Online",
        cfg.service_name
    )
}

/// The runtime's nodes (`listMonitoringData`), logged once the runtime is Online; their
/// summary kept for the progress (`telemetry`). Best effort.
fn nodes(cx: &mut Context<'_, Config>, m: &mut Migration) {
    for line in crate::telemetry::read(cx, m).unwrap_or_default() {
        cx.info(&format!("[{}]: {line}", m.db));
    }
}

/// The service is there (and its runtime Online for a share): `validateIr` if asked, then the
/// start.
fn ready(cx: &mut Context<'_, Config>, m: Migration) -> Result<Outcome<State>> {
    crate::validate::validate_ir(cx, &m)?;
    Ok(Outcome::Next(State::Starting { m, op: None }))
}
