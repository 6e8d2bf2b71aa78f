//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types
//! (`ferry_sdk::config_schema`): the doc comments are what `ferry plugins describe lrs` shows,
//! and the defaults are `Config::default()`, which the deserializer fills missing keys from.

use ferry_sdk::{Error, Result, Warning};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How LRS finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    // methods.md §2.4
    /// Restore new log backups as they arrive until `ferry cutover`.
    Continuous,
    /// The chain ferry uploads is final: LRS brings the database online after its last file.
    Autocomplete,
}

/// Where the backups LRS restores come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BackupsFrom {
    /// ferry takes a full and a log backup TO URL into the database's folder.
    Ferry,
    /// The database's own backups, already TO URL in its folder: the chain is read from the
    /// source's msdb history and checked (gaps, files outside the folder) before LRS starts.
    History,
    /// The database's own backups TO DISK on a share: the chain is read from msdb, its files
    /// are uploaded from the share's folder, and in continuous mode each new backup msdb
    /// records is uploaded as it appears.
    Share,
}

// methods.md §2.2: exactly one of the two.
/// How LRS reads the blob folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StorageIdentity {
    /// A Read+List SAS for the container, signed by ferry or taken from `sas_secret`.
    Sas,
    /// The Managed Instance's own identity, which needs the Storage Blob Data Reader role on
    /// the account or container; no SAS leaves ferry.
    ManagedIdentity,
}

/// What the tail-log backup at cutover leaves on the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TailLog {
    /// `WITH NORECOVERY`: the source goes RESTORING, so no write can follow the last backup.
    Norecovery,
    /// The source stays online; stop the applications first.
    Online,
    /// ferry takes none: you take the final log backup into the folder (or onto the share)
    /// before `ferry cutover`, and ferry completes with the newest backup msdb shows in the
    /// chain.
    None,
}

/// The `lrs` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SQL label of the source SQL Server.
    #[schemars(length(min = 1))]
    pub source: String,
    /// Azure label scoped to the target Managed Instance.
    #[schemars(length(min = 1))]
    pub azure: String,
    /// A SQL label of the target Managed Instance, optional. With it, ferry checks before LRS
    /// starts that the instance can read the folder (RESTORE HEADERONLY through a credential,
    /// as the LRS guide does by hand) and how much storage and how many files it has left.
    #[schemars(length(min = 1))]
    pub target: Option<String>,
    /// Storage label of the blob container the backups go through.
    #[schemars(length(min = 1))]
    pub backups: String,
    /// Folder per database in the container (flat, one database each); `{db}` is the name.
    #[schemars(length(min = 1))]
    pub folder: String,
    /// The database's name on the MI; `{db}` is its name on the source.
    #[schemars(length(min = 1))]
    pub target_name: String,
    /// How LRS finishes.
    pub mode: Mode,
    /// Where the backups LRS restores come from.
    pub backups_from: BackupsFrom,
    /// What the tail-log backup at cutover leaves on the source.
    pub tail_log: TailLog,
    /// With `backups_from = "share"`: the storage label of the share (its folder per database
    /// is `folder`, as in the container).
    #[schemars(length(min = 1))]
    pub share: Option<String>,
    /// With `backups_from = "share"` in continuous mode: the share's path as the source SQL
    /// Server sees it (`\\fs01\sqlbackups`), where it writes the tail-log backup at cutover.
    #[schemars(length(min = 1))]
    pub source_share_path: Option<String>,
    /// A secret label holding the SAS LRS reads the folder with, for sites where ferry cannot
    /// sign one (a blob label with a fixed `sas`). It must grant Read and List only.
    #[schemars(length(min = 1))]
    pub sas_secret: Option<String>,
    /// How LRS reads the blob folder.
    pub storage_identity: StorageIdentity,
    /// A TDE-protected database goes ahead when the MI already holds its certificate (by
    /// thumbprint, as an `instance-objects` step before this one leaves it); set this when
    /// the MI holds it in a way T-SQL cannot see, to go ahead anyway. Otherwise such a
    /// database stops before anything is backed up.
    pub tde_certificates_migrated: bool,
    /// A cutover gate in the migration file: in continuous mode, cutover begins by itself at
    /// this moment (RFC 3339, e.g. `2026-11-28T22:00:00Z`), as `ferry cutover` would then.
    #[schemars(length(min = 20))]
    pub cutover_after: Option<String>,
    /// Minutes the Read+List SAS LRS reads with stays valid. LRS cannot be given a new one, so
    /// it must outlast the migration: 31 days by default, past LRS's own 30-day limit.
    #[schemars(range(min = 60, max = 44640))]
    pub sas_minutes: u32,
    /// Days after the start to warn that the 30-day LRS limit is coming.
    #[schemars(range(min = 1, max = 29))]
    pub warn_days: u32,
    /// Seconds between looks at the restore's progress.
    #[schemars(range(min = 1, max = 3600))]
    pub poll_seconds: u32,
    /// With `backups_from = "ferry"` in continuous mode: seconds between the log backups
    /// ferry takes into the folder while LRS runs, so the tail-log backup at cutover stays
    /// small; 0 when your own log backup job writes into the folder.
    #[schemars(range(min = 0, max = 86400))]
    pub log_backup_seconds: u32,
    /// With `backups_from = "ferry"`: set once the database's own log-backup job is paused
    /// for the migration. Without it, log backups msdb shows written elsewhere since the last
    /// full backup stop the database before anything starts: ferry's log backups would split
    /// that job's chain, and its backups would break the chain LRS reads. A log backup written
    /// elsewhere while LRS runs ends the database either way.
    pub log_backup_job_paused: bool,
    /// With `backups_from = "ferry"`: database bytes per stripe of the full backup (at most 64
    /// stripes). Azure caps a block blob SQL Server writes at about 195 GiB (50,000 blocks ×
    /// 4 MiB); 150 GiB leaves room for a database that grows meanwhile.
    #[schemars(range(min = 1048576))]
    pub stripe_bytes: u64,
    /// The Microsoft.Sql api-version for the ARM calls.
    #[schemars(length(min = 10))]
    pub api_version: String,
}

/// The defaults, once: serde fills a missing key from here, and the schema states these values.
impl Default for Config {
    fn default() -> Self {
        Config {
            source: "source".into(),
            azure: "mi".into(),
            target: None,
            backups: "backups".into(),
            folder: "{db}".into(),
            target_name: "{db}".into(),
            mode: Mode::Continuous,
            backups_from: BackupsFrom::Ferry,
            tail_log: TailLog::Norecovery,
            share: None,
            source_share_path: None,
            sas_secret: None,
            storage_identity: StorageIdentity::Sas,
            tde_certificates_migrated: false,
            cutover_after: None,
            sas_minutes: 31 * 24 * 60,
            warn_days: 25,
            poll_seconds: 10,
            // Fifteen minutes: a common log backup interval; the tail then holds at most that.
            log_backup_seconds: 15 * 60,
            log_backup_job_paused: false,
            stripe_bytes: ferry_sdk::striping::DEFAULT_STRIPE_BYTES,
            api_version: "2023-08-01".into(),
        }
    }
}

impl Config {
    /// Checks what the schema cannot: settings that only make sense together.
    pub fn validate(&self) -> Result<Vec<Warning>> {
        if let Some(at) = &self.cutover_after {
            if self.mode == Mode::Autocomplete {
                return Err(Error::invalid_config(
                    Some("cutover_after"),
                    "autocomplete mode completes by itself; cutover_after is for continuous mode",
                ));
            }
            cutover_ms(at).map_err(|why| Error::invalid_config(Some("cutover_after"), why))?;
        }
        if self.storage_identity == StorageIdentity::ManagedIdentity && self.sas_secret.is_some() {
            return Err(Error::invalid_config(
                Some("sas_secret"),
                "LRS reads with either a SAS or the instance's managed identity, not both: drop \
                 `sas_secret` or `storage_identity`",
            ));
        }
        if self.backups_from == BackupsFrom::Share {
            if self.share.is_none() {
                return Err(Error::invalid_config(
                    Some("share"),
                    "backups_from = \"share\" needs `share`, the storage label of the share holding the backups",
                ));
            }
            if self.mode == Mode::Continuous && self.source_share_path.is_none() {
                return Err(Error::invalid_config(
                    Some("source_share_path"),
                    "continuous mode from a share needs `source_share_path`, the share's path as the source \
                     SQL Server sees it, for the tail-log backup at cutover",
                ));
            }
        } else if self.share.is_some() || self.source_share_path.is_some() {
            return Ok(vec![Warning {
                key: Some("share".into()),
                message:
                    "`share` and `source_share_path` are used only with backups_from = \"share\""
                        .into(),
            }]);
        }
        Ok(vec![])
    }

    pub fn folder_for(&self, db: &str) -> String {
        self.folder.replace("{db}", db).trim_matches('/').to_owned()
    }
    pub fn target_for(&self, db: &str) -> String {
        self.target_name.replace("{db}", db)
    }
}

/// `cutover_after` as milliseconds since the Unix epoch.
pub fn cutover_ms(at: &str) -> std::result::Result<u64, String> {
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{at}` is not an RFC 3339 time like 2026-11-28T22:00:00Z ({e})"))?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("`{at}` is before 1970"))
}

/// LRS reserves `backup` and `backups` in the container name and folder path (methods.md
/// §2.2); found before anything is uploaded.
pub fn reserved_word(container_url: &str, folder: &str) -> Option<String> {
    let container = container_url.rsplit('/').next().unwrap_or_default();
    std::iter::once(container)
        .chain(folder.split('/'))
        .find(|s| s.eq_ignore_ascii_case("backup") || s.eq_ignore_ascii_case("backups"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::{cutover_ms, reserved_word};

    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) = ferry_sdk::stated_and_real_defaults::<super::Config>().unwrap();
        assert_eq!(stated, real);
    }

    #[test]
    fn cutover_after_is_rfc3339_with_an_offset() {
        assert_eq!(cutover_ms("1970-01-01T00:00:01Z"), Ok(1000));
        assert_eq!(cutover_ms("1970-01-01T01:00:01+01:00"), Ok(1000));
        assert!(
            cutover_ms("2026-11-28 22:00")
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert!(
            cutover_ms("1969-12-31T23:59:59Z")
                .unwrap_err()
                .contains("before 1970")
        );
    }

    #[test]
    fn backup_and_backups_are_reserved_in_container_and_folder() {
        assert_eq!(
            reserved_word("https://a.blob.core.windows.net/migration", "Sales"),
            None
        );
        assert_eq!(
            reserved_word("https://a.blob.core.windows.net/backups", "Sales").as_deref(),
            Some("backups")
        );
        assert_eq!(
            reserved_word("http://127.0.0.1:1/devstoreaccount1/m", "x/Backup").as_deref(),
            Some("Backup")
        );
        assert_eq!(
            reserved_word("https://a/c", "Sales_backup"),
            None,
            "only whole segments"
        );
    }
}
