//! The ARM backend behind the `azure` capability: one client per azure label, confined to the
//! label's scope. Requests are signed with the label's token (a secret reference, or Entra ID
//! through `azure_identity`), throttling and server errors are retried honouring
//! `Retry-After`, and long-running operations are followed as host operations.
//!
//! Hand-written over reqwest (already in the build through azure_core): there is no Rust
//! client for Microsoft.Sql's ARM API, and azure_core's pipeline hides the status and headers
//! the long-running-operation protocol (methods.md §0.2) is made of.

pub mod lro;
pub mod scope;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::types::{Failure, PluginError};
use crate::bindings::{failed_with, transient};
use crate::config::{AzureLabel, Environment};
use crate::entra::EntraToken;
use crate::redact::Redactor;

/// ARM's public endpoint, used when a label names none.
const PUBLIC_ARM: &str = "https://management.azure.com";
/// The scope of ARM tokens.
const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// Attempts at one request when ARM throttles (429) or fails (5xx): ARM's own guidance is to
/// back off and retry; five attempts ride out a throttling window of a minute or so.
const ATTEMPTS: u32 = 5;
/// The longest `Retry-After` ferry honours; a larger value is capped, not obeyed for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The pause before a retry when the server names none.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// A response as the capability returns it.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub async_operation: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<Duration>,
}

/// Every azure label's client.
#[derive(Default)]
pub struct ArmClients {
    clients: BTreeMap<String, Result<Arc<ArmClient>, String>>,
}

impl ArmClients {
    pub fn new(env: &Environment, redactor: &Redactor) -> ArmClients {
        let clients = env
            .azure
            .iter()
            .map(|(label, cfg)| {
                (
                    label.clone(),
                    ArmClient::new(label, cfg, redactor).map(Arc::new),
                )
            })
            .collect();
        ArmClients { clients }
    }

    pub fn get(&self, label: &str) -> Result<Arc<ArmClient>, PluginError> {
        match self.clients.get(label) {
            Some(Ok(c)) => Ok(c.clone()),
            Some(Err(why)) => Err(failed_with(why.clone(), None)),
            None => Err(failed_with(
                format!("environment.toml has no [azure.{label}]"),
                None,
            )),
        }
    }
}

/// Where an azure label's token comes from.
enum Credential {
    Secret(crate::config::SecretRef),
    Entra(EntraToken),
}

pub struct ArmClient {
    label: String,
    endpoint: String,
    scope: String,
    credential: Credential,
    http: reqwest::Client,
    redactor: Redactor,
}

impl ArmClient {
    fn new(label: &str, cfg: &AzureLabel, redactor: &Redactor) -> Result<ArmClient, String> {
        let endpoint = cfg
            .endpoint
            .clone()
            .unwrap_or_else(|| PUBLIC_ARM.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let credential = match (&cfg.token, cfg.entra) {
            (Some(t), None) => Credential::Secret(t.clone()),
            (None, Some(source)) => Credential::Entra(
                EntraToken::new(source, cfg.entra_client_id.as_deref(), ARM_SCOPE, redactor)
                    .map_err(|e| format!("azure label `{label}`: {e}"))?,
            ),
            (Some(_), Some(_)) => {
                return Err(format!(
                    "azure label `{label}`: choose one way to sign in — `token` or `entra`"
                ));
            }
            (None, None) => {
                return Err(format!(
                    "azure label `{label}` needs `entra` (azure-cli, managed-identity, \
                     workload-identity, environment) or `token` (a secret reference)"
                ));
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("azure label `{label}`: {e}"))?;
        Ok(ArmClient {
            label: label.to_owned(),
            endpoint,
            scope: scope::scope_path(cfg),
            credential,
            http,
            redactor: redactor.clone(),
        })
    }

    async fn token(&self) -> Result<String, PluginError> {
        match &self.credential {
            Credential::Secret(r) => {
                let v = r
                    .resolve()
                    .map_err(|e| failed_with(format!("azure label `{}`: {e}", self.label), None))?;
                self.redactor.register(&v);
                Ok(v)
            }
            Credential::Entra(e) => e
                .get()
                .await
                .map_err(|e| transient(format!("azure label `{}`: {e}", self.label))),
        }
    }

    /// The URL for a plugin's relative path, refused if it leaves the label's scope.
    pub fn url(&self, relative: &str, api_version: &str) -> Result<String, PluginError> {
        let path = scope::resolve(&self.scope, relative).map_err(|e| {
            PluginError::Denied(crate::bindings::types::Denial {
                kind: crate::bindings::types::CapabilityKind::Azure,
                label: self.label.clone(),
                reason: e,
            })
        })?;
        if api_version.is_empty()
            || !api_version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(failed_with(
                format!("`{}` is not an api-version", api_version.escape_default()),
                None,
            ));
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        Ok(format!(
            "{}{path}{sep}api-version={api_version}",
            self.endpoint
        ))
    }

    /// Sends one request to `url` (already checked), retrying 429 and 5xx. ARM errors come
    /// back as a failure carrying ARM's code and message, and the HTTP status as the code.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<&str>,
    ) -> Result<Reply, PluginError> {
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| failed_with(format!("`{method}` is not an HTTP method"), None))?;
        let mut pause = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token().await?;
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header("accept", "application/json");
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_owned());
            }
            let started = std::time::Instant::now();
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::debug!(label = %self.label, "ARM request failed ({e}); retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    continue;
                }
                Err(e) => {
                    return Err(transient(format!(
                        "azure label `{}`: {}",
                        self.label,
                        self.redactor.redact(&e.to_string())
                    )));
                }
            };
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let retry_after = header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
            let (async_operation, location) = (header("azure-asyncoperation"), header("location"));
            let text = resp.text().await.unwrap_or_default();
            tracing::debug!(label = %self.label, %method, status, ms = started.elapsed().as_millis() as u64, "ARM {}", self.redactor.redact(url));
            if (status == 429 || status >= 500) && attempt < ATTEMPTS {
                let wait = retry_after.unwrap_or(pause);
                tracing::info!(label = %self.label, status, "ARM asked to retry in {} ms", wait.as_millis());
                tokio::time::sleep(wait).await;
                pause *= 2;
                continue;
            }
            if status >= 400 {
                let mut e = arm_error(&self.label, status, &text);
                if let PluginError::Transient(f) = &mut e {
                    f.message = format!(
                        "{} (still {status} after {ATTEMPTS} attempts; ferry retries the step \
                         with backoff, up to the step's `retries`)",
                        f.message.trim_end_matches('.')
                    );
                }
                return Err(e);
            }
            return Ok(Reply {
                status,
                body: text,
                async_operation,
                location,
                retry_after,
            });
        }
    }

    /// Whether a URL the service handed back may be called with this label's token.
    pub fn trusts(&self, url: &str) -> bool {
        scope::same_endpoint(&self.endpoint, url)
    }

    pub fn label(&self) -> &str {
        &self.label
    }
}

/// ARM's `{"error":{"code","message"}}` as a failure: the code is what a plugin branches on.
fn arm_error(label: &str, status: u16, body: &str) -> PluginError {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let code = v["error"]["code"].as_str().unwrap_or("");
    let message = v["error"]["message"].as_str().unwrap_or(body);
    let message = if code.is_empty() {
        format!("azure label `{label}`: HTTP {status}: {message}")
    } else {
        format!("azure label `{label}`: {code}: {message}")
    };
    let failure = Failure {
        message,
        code: Some(i32::from(status)),
    };
    if status == 429 || status >= 500 {
        PluginError::Transient(failure)
    } else {
        PluginError::Failed(failure)
    }
}
