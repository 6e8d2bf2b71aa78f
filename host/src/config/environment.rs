//! `environment.toml`: what each label means on this site — servers, storage, Azure scopes and
//! secret references. The same migration runs against the emulator or production by swapping
//! this file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::limits::MAX_ENVIRONMENT_FILE_BYTES;
use super::names::{name_problem, quoted};
use super::{BlobAddress, InputError, SecretRef, read_toml};

/// A parsed `environment.toml`.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub path: PathBuf,
    pub sql: BTreeMap<String, SqlLabel>,
    pub storage: BTreeMap<String, StorageLabel>,
    pub azure: BTreeMap<String, AzureLabel>,
    pub secrets: BTreeMap<String, SecretRef>,
}

/// TLS for a SQL connection.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TDS 8.0: TLS before anything else.
    #[default]
    Strict,
    /// TLS negotiated in PRELOGIN and required.
    Required,
    /// No TLS; only with `insecure = true`.
    Off,
}

/// Where an Entra ID (Azure AD) token comes from, for labels that sign in as an identity
/// rather than with a password or key. ferry asks `azure_identity` for a token for the
/// resource's scope and never stores it.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum EntraSource {
    /// The identity signed in to the Azure CLI (`az login`) on this machine.
    AzureCli,
    /// The Azure VM's or App Service's managed identity (`entra_client_id` picks a
    /// user-assigned one).
    ManagedIdentity,
    /// Kubernetes workload identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
    /// `AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity,
    /// A service principal with a client secret, from ferry's environment:
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` (the variables the Azure
    /// SDKs' environment credential reads; `AZURE_AUTHORITY_HOST` for another cloud).
    Environment,
}

/// A SQL Server or Managed Instance.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct SqlLabel {
    /// An ADO.NET connection string without the password.
    pub connection_string: Option<String>,
    pub server: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    #[serde(default)]
    pub tls: TlsMode,
    #[serde(default)]
    pub insecure: bool,
    pub trust_ca_file: Option<PathBuf>,
    pub user: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<SecretRef>,
    #[serde(skip_serializing)]
    pub access_token: Option<SecretRef>,
    /// Sign in with an Entra ID token from this source.
    pub entra: Option<EntraSource>,
    /// The client id of a user-assigned managed identity.
    pub entra_client_id: Option<String>,
    /// Connections opened at once through this label.
    pub max_connections: Option<u32>,
}

/// Blob container or share.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ShareOrBlob {
    Blob,
    Share,
}

/// A blob container (or prefix) or a share directory.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct StorageLabel {
    pub kind: ShareOrBlob,
    /// Container URL, for blob labels.
    pub url: Option<String>,
    /// Directory, for share labels.
    pub path: Option<PathBuf>,
    #[serde(skip_serializing)]
    pub sas: Option<SecretRef>,
    #[serde(skip_serializing)]
    pub account_key: Option<SecretRef>,
    /// Reach the container with an Entra ID token from this source (https URLs only).
    pub entra: Option<EntraSource>,
    /// The client id of a user-assigned managed identity.
    pub entra_client_id: Option<String>,
}

/// An Azure Resource Manager scope.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct AzureLabel {
    pub endpoint: Option<String>,
    pub subscription: String,
    pub resource_group: Option<String>,
    pub managed_instance: Option<String>,
    /// A bearer token from a secret reference (the emulator's), instead of `entra`.
    #[serde(skip_serializing)]
    pub token: Option<SecretRef>,
    /// Sign in with an Entra ID token from this source.
    pub entra: Option<EntraSource>,
    /// The client id of a user-assigned managed identity.
    pub entra_client_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    sql: BTreeMap<String, SqlLabel>,
    #[serde(default)]
    storage: BTreeMap<String, StorageLabel>,
    #[serde(default)]
    azure: BTreeMap<String, AzureLabel>,
    #[serde(default)]
    secrets: BTreeMap<String, SecretRef>,
}

impl Environment {
    /// Reads and checks an environment file: every label's settings, its blob URL and its
    /// CA file. Secret references are resolved later, by `ferry check`, for the labels a
    /// migration grants.
    pub fn load(path: &Path) -> Result<Environment, InputError> {
        let (file, text): (File, String) = read_toml(path, MAX_ENVIRONMENT_FILE_BYTES)?;
        // Files the labels name are made absolute, so the same site gives the same fingerprint
        // whether ferry was started beside it or elsewhere (a plan is applied from anywhere).
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let base = &std::path::absolute(parent).unwrap_or_else(|_| parent.to_owned());
        let line_of_key = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map(|i| i + 1)
        };
        let names = file
            .sql
            .keys()
            .map(|l| ("sql", l))
            .chain(file.storage.keys().map(|l| ("storage", l)))
            .chain(file.azure.keys().map(|l| ("azure", l)))
            .chain(file.secrets.keys().map(|l| ("secrets", l)));
        for (kind, label) in names {
            if let Some(p) = name_problem(label) {
                let line = if kind == "secrets" {
                    line_of_key(label)
                } else {
                    line_of_key(&format!("[{kind}.{label}]"))
                };
                let message = format!("{kind} label {} {p}", quoted(label));
                return Err(InputError::new(path, line, message));
            }
        }
        for (label, sql) in &file.sql {
            let line = line_of_key(&format!("[sql.{label}]"));
            if let Some(cs) = &sql.connection_string {
                let lower = cs.to_ascii_lowercase();
                if lower.contains("password=") || lower.contains("pwd=") {
                    return Err(InputError::new(
                        path,
                        line,
                        format!(
                            "sql label `{label}`: the connection string holds a password; remove it and set `password = \"env:NAME\"` instead (the value is not shown)"
                        ),
                    ));
                }
            } else if sql.server.is_none() {
                return Err(InputError::new(
                    path,
                    line,
                    format!("sql label `{label}` needs `server` or `connection_string`"),
                ));
            }
            let ways = [
                sql.password.is_some(),
                sql.access_token.is_some(),
                sql.entra.is_some(),
            ];
            if ways.iter().filter(|w| **w).count() > 1 {
                return Err(InputError::new(
                    path,
                    line,
                    format!(
                        "sql label `{label}`: choose one way to sign in — `password`, `access_token` or `entra`"
                    ),
                ));
            }
            if sql.entra_client_id.is_some() && sql.entra != Some(EntraSource::ManagedIdentity) {
                return Err(InputError::new(
                    path,
                    line,
                    format!(
                        "sql label `{label}`: `entra_client_id` picks a user-assigned managed identity; it needs `entra = \"managed-identity\"`"
                    ),
                ));
            }
            if sql.tls == TlsMode::Off && !sql.insecure {
                return Err(InputError::new(
                    path,
                    line,
                    format!(
                        "sql label `{label}`: `tls = \"off\"` sends passwords in the clear; also set `insecure = true` if you mean it"
                    ),
                ));
            }
            if let Some(ca) = &sql.trust_ca_file {
                super::read_trust_ca(&base.join(ca)).map_err(|e| {
                    InputError::new(path, line, format!("sql label `{label}`: {e}"))
                })?;
            }
        }
        for (label, s) in &file.storage {
            let line = line_of_key(&format!("[storage.{label}]"));
            match s.kind {
                ShareOrBlob::Blob if s.url.is_none() => {
                    return Err(InputError::new(
                        path,
                        line,
                        format!("storage label `{label}` (blob) needs `url`"),
                    ));
                }
                // Azure refuses bearer tokens over plain http, and so does the SDK (Azurite
                // takes them only when started with https and `--oauth basic`).
                ShareOrBlob::Blob
                    if s.entra.is_some()
                        && !s.url.as_deref().unwrap_or_default().starts_with("https://") =>
                {
                    return Err(InputError::new(
                        path,
                        line,
                        format!("storage label `{label}`: `entra` needs an https `url`"),
                    ));
                }
                ShareOrBlob::Blob => {
                    if let Err(e) = BlobAddress::parse(s.url.as_deref().unwrap_or_default()) {
                        let message = format!("storage label `{label}`: {e}");
                        return Err(InputError::new(path, line, message));
                    }
                }
                ShareOrBlob::Share if s.path.is_none() => {
                    return Err(InputError::new(
                        path,
                        line,
                        format!("storage label `{label}` (share) needs `path`"),
                    ));
                }
                _ => {}
            }
        }
        let rel = |r: SecretRef| r.relative_to(base);
        Ok(Environment {
            path: path.to_owned(),
            sql: file
                .sql
                .into_iter()
                .map(|(k, mut v)| {
                    v.password = v.password.map(rel);
                    v.access_token = v.access_token.map(rel);
                    v.trust_ca_file = v.trust_ca_file.map(|p| base.join(p));
                    (k, v)
                })
                .collect(),
            storage: file
                .storage
                .into_iter()
                .map(|(k, mut v)| {
                    v.sas = v.sas.map(rel);
                    v.account_key = v.account_key.map(rel);
                    v.path = v.path.map(|p| base.join(p));
                    (k, v)
                })
                .collect(),
            azure: file
                .azure
                .into_iter()
                .map(|(k, mut v)| {
                    v.token = v.token.map(rel);
                    (k, v)
                })
                .collect(),
            secrets: file.secrets.into_iter().map(|(k, v)| (k, rel(v))).collect(),
        })
    }

    /// The labels defined for a kind, for "did you mean" messages.
    pub fn labels(&self, kind: crate::capability::Kind) -> Vec<String> {
        use crate::capability::Kind;
        match kind {
            Kind::Sql => self.sql.keys().cloned().collect(),
            Kind::Storage => self.storage.keys().cloned().collect(),
            Kind::Azure => self.azure.keys().cloned().collect(),
            Kind::Secret => self.secrets.keys().cloned().collect(),
            Kind::Scratch => vec![],
        }
    }

    /// Every secret reference the labels in `grants` use, with what uses it.
    pub fn secret_refs_for(&self, grants: &crate::config::Grants) -> Vec<(String, SecretRef)> {
        let mut out = Vec::new();
        for g in &grants.sql {
            if let Some(l) = self.sql.get(&g.label) {
                out.extend(
                    l.password
                        .clone()
                        .map(|r| (format!("sql.{}.password", g.label), r)),
                );
                out.extend(
                    l.access_token
                        .clone()
                        .map(|r| (format!("sql.{}.access_token", g.label), r)),
                );
            }
        }
        for g in &grants.storage {
            if let Some(l) = self.storage.get(&g.label) {
                out.extend(
                    l.sas
                        .clone()
                        .map(|r| (format!("storage.{}.sas", g.label), r)),
                );
                out.extend(
                    l.account_key
                        .clone()
                        .map(|r| (format!("storage.{}.account_key", g.label), r)),
                );
            }
        }
        for g in &grants.azure {
            if let Some(l) = self.azure.get(&g.label) {
                out.extend(
                    l.token
                        .clone()
                        .map(|r| (format!("azure.{}.token", g.label), r)),
                );
            }
        }
        for g in &grants.secrets {
            if let Some(r) = self.secrets.get(&g.label) {
                out.push((format!("secrets.{}", g.label), r.clone()));
            }
        }
        out
    }
}
