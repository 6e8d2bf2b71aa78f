//! A blob label: an Azure Blob Storage container (optionally a prefix in it), reached through
//! Microsoft's Azure Blob SDK with the label's SAS, or with a SAS the host signs from the
//! label's account key. Object names are relative to the label's prefix, so a plugin granted
//! `backups` cannot name blobs outside it.

use azure_core::credentials::TokenCredential;
use azure_core::http::{RequestContent, StatusCode, Url};
use azure_storage_blob::BlobContainerClient;
use azure_storage_blob::models::{
    BlobClientDownloadOptions, BlobClientGetPropertiesResultHeaders,
    BlobContainerClientListBlobsOptions, HttpRange,
};
use futures_util::StreamExt as _;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Instant;

use crate::bindings::failed;
use crate::bindings::ferry::plugin::storage::{ListPage, ObjectInfo, SasPermission};
use crate::bindings::types::PluginError;
use crate::config::{BlobAddress, SecretRef, StorageLabel};
use crate::redact::Redactor;

/// How long a SAS the host signs for its own requests stays valid: long enough for one call,
/// short enough that a SAS copied from a trace is soon useless.
const SELF_SAS_SECONDS: u64 = 3600;

/// The longest SAS a plugin may ask for that can write: 7 days (the limit Azure puts on
/// user-delegation SAS, kept for account-key ones too); a plugin that writes for longer asks
/// again.
const MAX_SAS_MINUTES: u32 = 7 * 24 * 60;
/// The longest read-only (Read, List) SAS: 31 days. LRS takes its SAS once, when it starts,
/// cannot be handed a new one, and runs up to 30 days (methods.md §2.2, §2.7).
const MAX_READ_SAS_MINUTES: u32 = 31 * 24 * 60;

/// A container client and when it was made.
type CachedClient = (Arc<BlobContainerClient>, Instant);

#[derive(Clone)]
pub struct Blob {
    label: String,
    /// `https://acct.blob.core.windows.net/container` or `http://127.0.0.1:port/acct/container`.
    container_url: String,
    account: String,
    container: String,
    /// Names the label covers start with this (empty, or ending in `/`).
    prefix: String,
    sas: Option<SecretRef>,
    account_key: Option<SecretRef>,
    /// An Entra ID identity instead of a SAS or key; the SDK fetches and renews its tokens.
    entra: Option<Arc<dyn TokenCredential>>,
    redactor: Redactor,
    /// The SDK client and when it was made. Reused so requests share one HTTP connection pool
    /// (a new client per call opened new connections and re-signed a SAS every time).
    cached: Arc<Mutex<Option<CachedClient>>>,
}

impl Blob {
    /// Reads a blob label's configuration; errors name the label and the URL.
    pub fn new(label: &str, cfg: &StorageLabel, redactor: &Redactor) -> Result<Blob, String> {
        let url = cfg.url.as_deref().unwrap_or_default();
        let address =
            BlobAddress::parse(url).map_err(|e| format!("storage label `{label}`: {e}"))?;
        let ways = [
            cfg.sas.is_some(),
            cfg.account_key.is_some(),
            cfg.entra.is_some(),
        ];
        match ways.iter().filter(|w| **w).count() {
            0 => {
                return Err(format!(
                    "storage label `{label}` (blob) needs `sas` or `account_key` (a secret \
                     reference), or `entra`"
                ));
            }
            1 => {}
            _ => {
                return Err(format!(
                    "storage label `{label}` (blob): choose one way to sign in — `sas`, \
                     `account_key` or `entra`"
                ));
            }
        }
        let entra = match cfg.entra {
            Some(source) => Some(
                crate::entra::credential(source, cfg.entra_client_id.as_deref(), redactor)
                    .map_err(|e| format!("storage label `{label}`: {e}"))?,
            ),
            None => None,
        };
        Ok(Blob {
            label: label.to_owned(),
            container_url: address.container_url,
            account: address.account,
            container: address.container,
            prefix: address.prefix,
            sas: cfg.sas.clone(),
            account_key: cfg.account_key.clone(),
            entra,
            redactor: redactor.clone(),
            cached: Arc::default(),
        })
    }

    fn secret(&self, r: &SecretRef) -> Result<String, PluginError> {
        let v = r
            .resolve()
            .map_err(|e| failed(format!("storage label `{}`: {e}", self.label)))?;
        self.redactor.register(&v);
        Ok(v)
    }

    fn signed(&self, permissions: &str, seconds: u64) -> Result<String, PluginError> {
        let Some(key) = &self.account_key else {
            if self.entra.is_some() {
                return Err(PluginError::Unsupported(format!(
                    "storage label `{}` signs in with Entra ID; a user-delegation SAS is not \
                     supported yet, so add `account_key` to [storage.{}] for SAS",
                    self.label, self.label
                )));
            }
            return Err(PluginError::Unsupported(format!(
                "storage label `{}` has a fixed `sas` and no `account_key`, so the host cannot \
                 sign a new SAS; add `account_key` to [storage.{}]",
                self.label, self.label
            )));
        };
        let key = self.secret(key)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let sas = ferry_sas::container_sas(
            &self.account,
            &key,
            &self.container,
            permissions,
            &ferry_sas::expiry_text(now + seconds),
        )
        .map_err(|e| failed(format!("storage label `{}`: {e}", self.label)))?;
        self.redactor.register(&sas);
        Ok(sas)
    }

    fn client(&self) -> Result<Arc<BlobContainerClient>, PluginError> {
        let mut cached = self.cached.lock();
        // Half the self-signed SAS lifetime, so a reused client never carries an expired one.
        if let Some((c, at)) = cached.as_ref()
            && at.elapsed().as_secs() < SELF_SAS_SECONDS / 2
        {
            return Ok(c.clone());
        }
        let mut url = Url::parse(&self.container_url)
            .map_err(|e| failed(format!("storage label `{}`: {e}", self.label)))?;
        if self.entra.is_none() {
            let sas = match &self.sas {
                Some(r) => self.secret(r)?,
                None => self.signed("racwdl", SELF_SAS_SECONDS)?,
            };
            url.set_query(Some(sas.trim_start_matches('?')));
        }
        let client = Arc::new(
            BlobContainerClient::new(url, self.entra.clone(), None)
                .map_err(|e| failed(format!("storage label `{}`: {e}", self.label)))?,
        );
        *cached = Some((client.clone(), Instant::now()));
        Ok(client)
    }

    /// An Azure error in terms a user can act on; the SDK's text may carry the request URL,
    /// so it goes through the redactor.
    pub fn error(&self, name: &str, e: azure_core::Error) -> PluginError {
        let why = match e.http_status() {
            Some(StatusCode::Forbidden) | Some(StatusCode::Unauthorized) => {
                "access denied: the SAS or key is wrong, expired or lacks a permission".to_owned()
            }
            Some(StatusCode::NotFound) => "not found (is the container there?)".to_owned(),
            _ => self.redactor.redact(&e.to_string()).into_owned(),
        };
        failed(format!("storage label `{}`: `{name}`: {why}", self.label))
    }

    fn full(&self, name: &str) -> Result<String, PluginError> {
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|s| s == "..") {
            return Err(failed(format!(
                "`{}` is not a blob name inside storage label `{}`",
                name.escape_default(),
                self.label
            )));
        }
        Ok(format!("{}{name}", self.prefix))
    }

    /// The SDK client for one blob of this label, for bulk transfers.
    pub fn blob_client(&self, name: &str) -> Result<azure_storage_blob::BlobClient, PluginError> {
        Ok(self.client()?.blob_client(&self.full(name)?))
    }

    /// The URL SQL Server and MI name `name` by (the container's URL for an empty name), with
    /// no query string.
    pub fn url(&self, name: &str) -> Result<String, PluginError> {
        if name.is_empty() {
            return Ok(self.container_url.clone());
        }
        Ok(format!("{}/{}", self.container_url, self.full(name)?))
    }

    /// The label's name, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub async fn list(
        &self,
        prefix: &str,
        marker: Option<String>,
        max: u32,
    ) -> Result<ListPage, PluginError> {
        let options = BlobContainerClientListBlobsOptions {
            prefix: Some(format!("{}{prefix}", self.prefix)),
            marker,
            maxresults: Some(max.clamp(1, 5000) as i32),
            ..Default::default()
        };
        let mut pages = self
            .client()?
            .list_blobs(Some(options))
            .map_err(|e| self.error(prefix, e))?
            .into_pages();
        let Some(page) = pages.next().await else {
            return Ok(ListPage {
                objects: vec![],
                next_marker: None,
            });
        };
        let body = page
            .map_err(|e| self.error(prefix, e))?
            .into_model()
            .map_err(|e| self.error(prefix, e))?;
        let objects = body
            .blob_items
            .into_iter()
            .filter_map(|b| {
                let name = b.name?;
                let props = b.properties.unwrap_or_default();
                Some(ObjectInfo {
                    name: name.strip_prefix(&self.prefix).unwrap_or(&name).to_owned(),
                    size: props.content_length.unwrap_or(0),
                    last_modified: props
                        .last_modified
                        .map(|t| azure_core::time::to_rfc3339(&t)),
                    content_md5: props.content_md5.map(azure_core::base64::encode),
                })
            })
            .collect();
        Ok(ListPage {
            objects,
            next_marker: body.next_marker.filter(|m| !m.is_empty()),
        })
    }

    pub async fn stat(&self, name: &str) -> Result<Option<ObjectInfo>, PluginError> {
        let blob = self.client()?.blob_client(&self.full(name)?);
        match blob.get_properties(None).await {
            Ok(r) => Ok(Some(ObjectInfo {
                name: name.to_owned(),
                size: r.content_length().ok().flatten().unwrap_or(0),
                last_modified: r
                    .last_modified()
                    .ok()
                    .flatten()
                    .map(|t| azure_core::time::to_rfc3339(&t)),
                content_md5: r
                    .content_md5()
                    .ok()
                    .flatten()
                    .map(azure_core::base64::encode),
            })),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(None),
            Err(e) => Err(self.error(name, e)),
        }
    }

    pub async fn read(&self, name: &str, offset: u64, length: u32) -> Result<Vec<u8>, PluginError> {
        if length == 0 {
            return Ok(Vec::new());
        }
        let blob = self.client()?.blob_client(&self.full(name)?);
        let options = BlobClientDownloadOptions {
            range: Some(HttpRange::new(offset, u64::from(length))),
            ..Default::default()
        };
        let result = blob
            .download(Some(options))
            .await
            .map_err(|e| self.error(name, e))?;
        let bytes = result
            .body
            .collect()
            .await
            .map_err(|e| self.error(name, e))?;
        Ok(bytes.to_vec())
    }

    pub async fn write(&self, name: &str, data: Vec<u8>) -> Result<(), PluginError> {
        let blob = self.client()?.blob_client(&self.full(name)?);
        blob.upload(RequestContent::from(data), None)
            .await
            .map(|_| ())
            .map_err(|e| self.error(name, e))
    }

    pub async fn delete(&self, name: &str) -> Result<bool, PluginError> {
        let blob = self.client()?.blob_client(&self.full(name)?);
        match blob.delete(None).await {
            Ok(_) => Ok(true),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(false),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// A container SAS for the plugin to hand on (to a CREATE CREDENTIAL, say). Azure service
    /// SAS cannot be narrowed to a blob prefix, so it is refused for a label that has one.
    pub fn create_sas(
        &self,
        permissions: &[SasPermission],
        minutes: u32,
    ) -> Result<String, PluginError> {
        if !self.prefix.is_empty() {
            return Err(PluginError::Unsupported(format!(
                "storage label `{}` covers only `{}` in its container; a container SAS would \
                 reach beyond it, so ferry does not sign one",
                self.label, self.prefix
            )));
        }
        let read_only = permissions
            .iter()
            .all(|p| matches!(p, SasPermission::Read | SasPermission::List));
        let max = if read_only {
            MAX_READ_SAS_MINUTES
        } else {
            MAX_SAS_MINUTES
        };
        if minutes == 0 || minutes > max {
            return Err(failed(format!(
                "a SAS that {} lasts 1 to {max} minutes; {minutes} was asked",
                if read_only { "only reads" } else { "can write" }
            )));
        }
        // Azure's required order of permission letters.
        let mut letters = String::new();
        for (p, c) in [
            (SasPermission::Read, 'r'),
            (SasPermission::Add, 'a'),
            (SasPermission::Create, 'c'),
            (SasPermission::Write, 'w'),
            (SasPermission::Delete, 'd'),
            (SasPermission::List, 'l'),
        ] {
            if permissions.contains(&p) {
                letters.push(c);
            }
        }
        if letters.is_empty() {
            return Err(failed("a SAS needs at least one permission"));
        }
        self.signed(&letters, u64::from(minutes) * 60)
    }
}
