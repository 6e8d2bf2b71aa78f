//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types; the
//! doc comments are what `ferry plugins describe dms` shows and the defaults are
//! `Config::default()`. Secrets are only ever named by their secret labels: the host writes
//! their values into the ARM bodies, the plugin never holds them.

use ferry_sdk::{Error, Result, Warning};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rules::{account_id, container_rules, cutover_ms, join_unc};

/// Online migrations restore log backups as they arrive until `ferry cutover`; offline ones
/// restore up to the last backup and bring the database online by themselves ("Migrate SQL
/// Server to Azure SQL Managed Instance online/offline", learn.microsoft.com).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Online,
    Offline,
}

/// How DMS (its integration runtime) logs in to the source to validate the backups
/// (`sourceSqlConnection.authentication`, sqlmigration.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Authentication {
    SqlAuthentication,
    WindowsAuthentication,
}

impl Authentication {
    pub fn as_str(self) -> &'static str {
        match self {
            Authentication::SqlAuthentication => "SqlAuthentication",
            Authentication::WindowsAuthentication => "WindowsAuthentication",
        }
    }
}

/// Backups on an SMB share, read by the self-hosted integration runtime.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Share {
    /// The share as the integration runtime reaches it, e.g. `\\fs01\sqlbackups`.
    #[schemars(length(min = 3))]
    pub path: String,
    /// The folder per database under `path` (one flat folder each); `{db}` is its name. Empty:
    /// the share's root holds one database's backups.
    pub folder: String,
    /// The Windows account (`DOMAIN\user`) that reads the share.
    #[schemars(length(min = 1))]
    pub user: String,
    /// Secret label of that account's password.
    #[schemars(length(min = 1))]
    pub password_secret: String,
    /// The share as the source SQL Server writes to it (often the same UNC path), for the
    /// tail-log backup at cutover. Needed with `tail_log_backup`.
    #[schemars(length(min = 1))]
    pub source_path: Option<String>,
}

/// Backups already in a blob container (no integration runtime).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Blob {
    /// The storage account's ARM resource id.
    #[schemars(length(min = 1))]
    pub storage_account_id: String,
    /// The container; `{db}` is the database's name in lower case (container names are). Not
    /// `backup` (DMS refuses it with
    /// `InvalidContainerName`).
    #[schemars(length(min = 3, max = 63))]
    pub container: String,
    /// Secret label of the account key.
    #[schemars(length(min = 1))]
    pub account_key_secret: String,
    /// A folder in the container holding the database's backups; `{db}` is its name. The
    /// databaseMigrations body has no folder field (sqlmigration.json `AzureBlob`): it only
    /// prefixes `last_backup_name` for an offline migration.
    pub folder: Option<String>,
}

/// The storage account DMS uploads a share's backups to.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetStorage {
    /// The storage account's ARM resource id.
    #[schemars(length(min = 1))]
    pub storage_account_id: String,
    /// Secret label of the account key.
    #[schemars(length(min = 1))]
    pub account_key_secret: String,
}

/// The `dms` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SQL label of the source SQL Server (reads msdb's backup history; takes the tail-log
    /// backup when asked).
    #[schemars(length(min = 1))]
    pub source: String,
    /// SQL label of the Managed Instance (read: the target name is free, TDE certificates).
    #[schemars(length(min = 1))]
    pub target: String,
    /// Azure label scoped to the Managed Instance: the databaseMigrations live under it.
    #[schemars(length(min = 1))]
    pub azure: String,
    /// Azure label scoped to the resource group holding (or to hold) the sqlMigrationServices.
    #[schemars(length(min = 1))]
    pub service_azure: String,
    /// The sqlMigrationServices resource's name.
    #[schemars(length(min = 1))]
    pub service_name: String,
    /// Create the service when it does not exist (a long-running PUT); without it a missing
    /// service stops the database.
    pub create_service: bool,
    /// The region to create the service in (the MI's and the storage account's region).
    #[schemars(length(min = 1))]
    pub location: Option<String>,
    /// Online (cutover on `ferry cutover`) or offline.
    pub mode: Mode,
    /// Backups on an SMB share (needs the self-hosted integration runtime Online).
    pub share: Option<Share>,
    /// Backups in a blob container.
    pub blob: Option<Blob>,
    /// With `share`: the storage account DMS uploads to.
    pub target_storage: Option<TargetStorage>,
    /// Azure label (read is enough) scoped to the storage account's resource group, or to its
    /// subscription: before anything starts, the account (`blob.storage_account_id` or
    /// `target_storage.storage_account_id`) is read to check it exists, is in the service's
    /// region and, premium, of kind BlockBlobStorage. Without it DMS refuses a wrong account
    /// only at the start (InvalidLocation / InvalidStorageAccount).
    #[schemars(length(min = 1))]
    pub storage_azure: Option<String>,
    /// The source as the integration runtime reaches it (`host\instance` or `host,port`).
    #[schemars(length(min = 1))]
    pub source_data_source: String,
    /// The login DMS uses on the source (sysadmin or CONTROL SERVER).
    #[schemars(length(min = 1))]
    pub source_user: String,
    /// Secret label of that login's password.
    #[schemars(length(min = 1))]
    pub source_password_secret: String,
    pub authentication: Authentication,
    /// Offline from blob: the last backup file to restore (with a share DMS picks the
    /// newest when it is absent).
    #[schemars(length(min = 1))]
    pub last_backup_name: Option<String>,
    /// At cutover, take the tail-log backup `WITH NORECOVERY, CHECKSUM` into the share's
    /// folder through the `source` label (needs `share.source_path`).
    pub tail_log_backup: bool,
    /// A cutover gate (RFC 3339): cutover begins by itself at this moment, as `ferry cutover`.
    #[schemars(length(min = 20))]
    pub cutover_after: Option<String>,
    /// The database's name on the MI; `{db}` is its source name.
    #[schemars(length(min = 1))]
    pub target_name: String,
    /// The collation of the database on the MI (`targetDatabaseCollation`).
    #[schemars(length(min = 1))]
    pub target_collation: Option<String>,
    /// After a cancel (`ferry cancel`-style `cancel` signal), also DELETE the migration's record.
    pub delete_on_cancel: bool,
    /// Ask the service's `validateIr` before starting, where the service has it.
    pub validate_ir: bool,
    /// The Microsoft.DataMigration api-version.
    #[schemars(length(min = 10))]
    pub api_version: String,
    /// The Microsoft.Sql api-version for reading the MI itself.
    #[schemars(length(min = 10))]
    pub sql_api_version: String,
    /// The Microsoft.Storage api-version for reading the storage account.
    #[schemars(length(min = 10))]
    pub storage_api_version: String,
    /// Seconds between looks at the migration.
    #[schemars(range(min = 1, max = 3600))]
    pub poll_seconds: u32,
    /// How long the self-hosted integration runtime may stay not Online — before the start,
    /// or while DMS retries a running migration with 2014 — before the database ends with
    /// what to do (the migration in DMS stays as it is; `--retry-failed` follows it). 0: as
    /// long as DMS itself retries. An hour by default: long enough for a node to restart or
    /// be re-registered, short enough that a wave does not wait a day on a dead machine.
    #[schemars(range(max = 604_800))]
    pub runtime_offline_limit_seconds: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: "source".into(),
            target: "target".into(),
            azure: "mi".into(),
            service_azure: "dms".into(),
            service_name: String::new(),
            create_service: false,
            location: None,
            mode: Mode::Online,
            share: None,
            blob: None,
            target_storage: None,
            storage_azure: None,
            source_data_source: String::new(),
            source_user: String::new(),
            source_password_secret: String::new(),
            authentication: Authentication::SqlAuthentication,
            last_backup_name: None,
            tail_log_backup: false,
            cutover_after: None,
            target_name: "{db}".into(),
            target_collation: None,
            delete_on_cancel: false,
            validate_ir: false,
            // sqlmigration.json stable/2025-06-30, the version azure-mgmt-datamigration 10.1.0
            // calls (and the only one the emulator answers).
            api_version: "2025-06-30".into(),
            sql_api_version: "2023-08-01".into(),
            // storage.json stable/2026-09-01, the version azure-mgmt-storage 25.3.0 calls (and
            // the only one the emulator answers).
            storage_api_version: "2026-09-01".into(),
            poll_seconds: 30,
            runtime_offline_limit_seconds: 3600,
        }
    }
}

fn bad(key: &str, why: impl Into<String>) -> Error {
    Error::invalid_config(Some(key), why)
}

impl Blob {
    /// The container of database `db` (`{db}` in lower case: container names are).
    pub fn container_for(&self, db: &str) -> String {
        self.container.replace("{db}", &db.to_ascii_lowercase())
    }
}

impl Config {
    pub fn validate(&self) -> Result<Vec<Warning>> {
        for (key, v) in [
            ("service_name", &self.service_name),
            ("source_data_source", &self.source_data_source),
            ("source_user", &self.source_user),
            ("source_password_secret", &self.source_password_secret),
        ] {
            if v.trim().is_empty() {
                return Err(bad(key, "is needed: DMS logs in to the source with it"));
            }
        }
        match (&self.share, &self.blob) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "share",
                    "give `share` or `blob`, not both: a migration reads one source of backups",
                ));
            }
            (None, None) => {
                return Err(bad(
                    "share",
                    "give `share` (backups on an SMB share) or `blob` (backups in a container)",
                ));
            }
            (Some(s), None) => {
                if !s.path.starts_with("\\\\") {
                    return Err(bad(
                        "share.path",
                        format!("`{}` is not a UNC path like \\\\host\\share", s.path),
                    ));
                }
                if self.target_storage.is_none() {
                    return Err(bad(
                        "target_storage",
                        "a share's backups are uploaded to a storage account: give its id and key",
                    ));
                }
                if self.tail_log_backup && s.source_path.is_none() {
                    return Err(bad(
                        "share.source_path",
                        "the tail-log backup is written by the source into the share: give \
                         the share's path as the source SQL Server sees it",
                    ));
                }
            }
            (None, Some(b)) => {
                // A sample name stands for `{db}` here; each database's own name is checked
                // before its migration starts (preflight).
                container_rules(&b.container.replace("{db}", "db1"))
                    .map_err(|why| bad("blob.container", why))?;
                if self.mode == Mode::Offline && self.last_backup_name.is_none() {
                    return Err(bad(
                        "last_backup_name",
                        "an offline migration from blob needs the last backup's file name \
                         (the service only picks one itself on a share)",
                    ));
                }
                if self.tail_log_backup {
                    return Err(bad(
                        "tail_log_backup",
                        "the tail-log backup goes into the share's folder; with blob, back up \
                         the tail into the container yourself before `ferry cutover`",
                    ));
                }
            }
        }
        if self.storage_azure.is_some() {
            for (key, id) in self.storage_account_ids() {
                account_id(id).map_err(|why| bad(key, why))?;
            }
        }
        if let Some(at) = &self.cutover_after {
            cutover_ms(at).map_err(|why| bad("cutover_after", why))?;
        }
        let mut warnings = Vec::new();
        if self.mode == Mode::Offline && self.cutover_after.is_some() {
            warnings.push(Warning {
                key: Some("cutover_after".into()),
                message: "an offline migration completes by itself: the gate is not used".into(),
            });
        }
        if self.create_service && self.location.is_none() {
            return Err(bad(
                "location",
                "creating the service needs its region (the MI's and the storage account's)",
            ));
        }
        Ok(warnings)
    }

    pub fn target_for(&self, db: &str) -> String {
        self.target_name.replace("{db}", db)
    }

    /// The storage accounts the migration uses, by config key: the blob source's, or the one a
    /// share's backups are uploaded to.
    pub fn storage_account_ids(&self) -> Vec<(&'static str, &str)> {
        let mut ids = Vec::new();
        if let Some(b) = &self.blob {
            ids.push(("blob.storage_account_id", b.storage_account_id.as_str()));
        }
        if let (Some(_), Some(t)) = (&self.share, &self.target_storage) {
            ids.push((
                "target_storage.storage_account_id",
                t.storage_account_id.as_str(),
            ));
        }
        ids
    }

    /// The share folder DMS reads for `db` (`\\host\share\db`).
    pub fn share_path_for(&self, db: &str) -> Option<String> {
        self.share
            .as_ref()
            .map(|s| join_unc(&s.path, &s.folder.replace("{db}", db)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> Config {
        Config {
            service_name: "dms1".into(),
            source_data_source: "SQL01".into(),
            source_user: "dms".into(),
            source_password_secret: "src-pw".into(),
            share: Some(Share {
                path: "\\\\fs01\\backups".into(),
                folder: "{db}".into(),
                user: "CORP\\svc".into(),
                password_secret: "share-pw".into(),
                source_path: None,
            }),
            target_storage: Some(TargetStorage {
                storage_account_id: "/s/sa".into(),
                account_key_secret: "sa-key".into(),
            }),
            ..Config::default()
        }
    }

    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) = ferry_sdk::stated_and_real_defaults::<Config>().unwrap();
        assert_eq!(stated, real);
    }

    #[test]
    fn a_share_needs_target_storage_and_a_source_path_for_the_tail() {
        let mut c = share();
        assert!(c.validate().is_ok());
        assert_eq!(
            c.share_path_for("Sales").unwrap(),
            "\\\\fs01\\backups\\Sales"
        );
        c.tail_log_backup = true;
        assert!(c.validate().is_err());
        c.target_storage = None;
        assert!(c.validate().is_err());
    }

    #[test]
    fn blob_offline_needs_the_last_backup_and_a_valid_container() {
        let mut c = share();
        c.share = None;
        c.blob = Some(Blob {
            storage_account_id: "/s/sa".into(),
            container: "backup".into(),
            account_key_secret: "k".into(),
            folder: None,
        });
        assert!(c.validate().is_err(), "backup is refused");
        c.blob.as_mut().unwrap().container = "sales-{db}".into();
        assert!(c.validate().is_ok());
        c.mode = Mode::Offline;
        assert!(c.validate().is_err());
        c.last_backup_name = Some("Sales_log3.trn".into());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn with_storage_azure_the_account_ids_must_be_arm_ids() {
        let mut c = share();
        c.storage_azure = Some("storage".into());
        assert!(c.validate().is_err(), "/s/sa is no ARM id");
        c.target_storage.as_mut().unwrap().storage_account_id =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa"
                .into();
        assert!(c.validate().is_ok());
    }

    #[test]
    fn secrets_and_service_are_needed() {
        assert!(Config::default().validate().is_err());
        let mut c = share();
        c.create_service = true;
        assert!(c.validate().is_err(), "no location");
    }
}
