//! Entra ID tokens for labels that sign in as an identity (`entra = "azure-cli"`, …), through
//! Microsoft's `azure_identity`. The token is registered with the redactor the moment it
//! arrives, so no log line or error can carry it.

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions};
use azure_core::time::{Duration, OffsetDateTime};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential,
};
use tokio::sync::Mutex;

use crate::config::EntraSource;
use crate::redact::Redactor;

/// The scope of Azure SQL (SQL Server with Entra, Managed Instance) tokens.
pub const SQL_SCOPE: &str = "https://database.windows.net/.default";

/// A token is renewed this long before it expires, so a connection opened just before the
/// deadline still logs in (Entra tokens last 60–90 minutes; five minutes is the SDKs' margin).
const RENEW_BEFORE: Duration = Duration::minutes(5);

/// The credentials' HTTP retries: three, within 20 s. A token is fetched inside a plugin's step
/// call (60 s by default), and the SDK's own default — up to eight retries over a minute —
/// would outlast it; a sign-in that fails is retried by ferry's step retries instead.
fn client_options() -> ClientOptions {
    ClientOptions {
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 3,
            max_total_elapsed: Duration::seconds(20),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The `azure_identity` credential for a source. A client secret read from the environment
/// is registered with `redactor` before anything can print it.
pub fn credential(
    source: EntraSource,
    client_id: Option<&str>,
    redactor: &Redactor,
) -> Result<Arc<dyn TokenCredential>, String> {
    let made: azure_core::Result<Arc<dyn TokenCredential>> = match source {
        EntraSource::AzureCli => AzureCliCredential::new(None).map(|c| c as _),
        EntraSource::ManagedIdentity => {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.map(|id| UserAssignedId::ClientId(id.to_owned())),
                client_options: client_options(),
            }))
            .map(|c| c as _)
        }
        EntraSource::WorkloadIdentity => WorkloadIdentityCredential::new(None).map(|c| c as _),
        EntraSource::Environment => {
            let var = |name: &str| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| {
                        format!(
                            "Entra ID (environment): {name} is not set; {}",
                            hint(source)
                        )
                    })
            };
            let (tenant, client, secret) = (
                var("AZURE_TENANT_ID")?,
                var("AZURE_CLIENT_ID")?,
                var("AZURE_CLIENT_SECRET")?,
            );
            redactor.register(&secret);
            let options = ClientSecretCredentialOptions {
                client_options: client_options(),
            };
            ClientSecretCredential::new(&tenant, client, secret.into(), Some(options))
                .map(|c| c as _)
        }
    };
    made.map_err(|e| format!("Entra ID ({}): {e}", name(source)))
}

/// How a source is written in environment.toml, for messages.
pub fn name(source: EntraSource) -> &'static str {
    match source {
        EntraSource::AzureCli => "azure-cli",
        EntraSource::ManagedIdentity => "managed-identity",
        EntraSource::WorkloadIdentity => "workload-identity",
        EntraSource::Environment => "environment",
    }
}

/// A token for one scope, fetched once and reused until shortly before it expires (the Azure
/// CLI credential does not cache, and each `az` run takes about a second).
pub struct EntraToken {
    source: EntraSource,
    credential: Arc<dyn TokenCredential>,
    scope: &'static str,
    redactor: Redactor,
    cached: Mutex<Option<AccessToken>>,
}

impl EntraToken {
    pub fn new(
        source: EntraSource,
        client_id: Option<&str>,
        scope: &'static str,
        redactor: &Redactor,
    ) -> Result<EntraToken, String> {
        Ok(EntraToken {
            source,
            credential: credential(source, client_id, redactor)?,
            scope,
            redactor: redactor.clone(),
            cached: Mutex::default(),
        })
    }

    /// The current token, fetching a new one when none is held or it is about to expire.
    /// Errors say which source failed and what to check; `azure_identity`'s text is redacted.
    pub async fn get(&self) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref()
            && t.expires_on - RENEW_BEFORE > OffsetDateTime::now_utc()
        {
            return Ok(t.token.secret().to_owned());
        }
        let token = self
            .credential
            .get_token(&[self.scope], None)
            .await
            .map_err(|e| {
                format!(
                    "could not get an Entra ID token from {} for {}: {} ({})",
                    name(self.source),
                    self.scope,
                    self.redactor.redact(&e.to_string()),
                    hint(self.source)
                )
            })?;
        let value = token.token.secret().to_owned();
        self.redactor.register(&value);
        *cached = Some(token);
        Ok(value)
    }
}

fn hint(source: EntraSource) -> &'static str {
    match source {
        EntraSource::AzureCli => "run `az login` on this machine, or pick another `entra` source",
        EntraSource::ManagedIdentity => {
            "this works only on an Azure host with a managed identity; set `entra_client_id` for \
             a user-assigned one"
        }
        EntraSource::WorkloadIdentity => {
            "set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE"
        }
        EntraSource::Environment => {
            "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for the service principal"
        }
    }
}
