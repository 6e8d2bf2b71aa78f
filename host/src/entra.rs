//! Entra ID tokens for labels that sign in as an identity (`entra = "azure-cli"`, …), through
//! Microsoft's `azure_identity`. The token is registered with the redactor the moment it
//! arrives, so no log line or error can carry it.

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential};
use azure_core::time::{Duration, OffsetDateTime};
use azure_identity::{
    AzureCliCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential,
};
use tokio::sync::Mutex;

use crate::config::EntraSource;
use crate::redact::Redactor;

/// The scope of Azure SQL (SQL Server with Entra, Managed Instance) tokens.
pub const SQL_SCOPE: &str = "https://database.windows.net/.default";

/// A token is renewed this long before it expires, so a connection opened just before the
/// deadline still logs in (Entra tokens last 60–90 minutes; five minutes is the SDKs' margin).
const RENEW_BEFORE: Duration = Duration::minutes(5);

/// The `azure_identity` credential for a source.
pub fn credential(
    source: EntraSource,
    client_id: Option<&str>,
) -> Result<Arc<dyn TokenCredential>, String> {
    let made: azure_core::Result<Arc<dyn TokenCredential>> = match source {
        EntraSource::AzureCli => AzureCliCredential::new(None).map(|c| c as _),
        EntraSource::ManagedIdentity => {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.map(|id| UserAssignedId::ClientId(id.to_owned())),
                ..Default::default()
            }))
            .map(|c| c as _)
        }
        EntraSource::WorkloadIdentity => WorkloadIdentityCredential::new(None).map(|c| c as _),
    };
    made.map_err(|e| format!("Entra ID ({}): {e}", name(source)))
}

/// How a source is written in environment.toml, for messages.
pub fn name(source: EntraSource) -> &'static str {
    match source {
        EntraSource::AzureCli => "azure-cli",
        EntraSource::ManagedIdentity => "managed-identity",
        EntraSource::WorkloadIdentity => "workload-identity",
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
            credential: credential(source, client_id)?,
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
    }
}
