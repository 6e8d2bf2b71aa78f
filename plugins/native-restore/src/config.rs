//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types
//! (`ferry_sdk::config_schema`): the doc comments are what `ferry plugins describe
//! native-restore` shows, and the defaults are `Config::default()`, which the deserializer fills
//! missing keys from.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the backups come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The source backs the database up itself, straight into the container
    /// (`BACKUP DATABASE … TO URL`, SQL Server 2016 and later).
    BackupToUrl,
    /// Full backups already on a share (`share` label, one folder per database) are checked and
    /// uploaded by ferry.
    Share,
}

/// Whether ferry may make the source's credential for the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceCredential {
    /// Reuse one named after the container URL, or create it (and drop it afterwards).
    Create,
    /// Only reuse an existing one; stop with a reason if there is none.
    Existing,
}

/// The `native-restore` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SQL label of the source SQL Server.
    #[schemars(length(min = 1))]
    pub source: String,
    /// SQL label of the target Managed Instance.
    #[schemars(length(min = 1))]
    pub target: String,
    /// Storage label of the blob container the backups go through.
    #[schemars(length(min = 1))]
    pub backups: String,
    /// Where the backups come from.
    pub mode: Mode,
    /// Storage label of the share, for `mode = "share"`.
    #[schemars(length(min = 1))]
    pub share: Option<String>,
    /// Folder per database, on the share and in the container; `{db}` is the database name.
    #[schemars(length(min = 1))]
    pub folder: String,
    /// The database's name on the MI; `{db}` is the source name.
    #[schemars(length(min = 1))]
    pub target_name: String,
    /// Whether ferry may make the source's credential for the container.
    pub source_credential: SourceCredential,
    /// A secret label holding the SAS to put in credentials, for sites where ferry cannot sign
    /// one (a blob label with a fixed `sas`). Without it ferry signs a short-lived SAS.
    #[schemars(length(min = 1))]
    pub sas_secret: Option<String>,
    /// The least time, in minutes, a SAS ferry signs for a credential lasts. ferry lengthens it
    /// from the database's size (a day plus its transfer at 10 MiB/s) so that it outlasts the
    /// backup, and on the MI the whole restore, which goes on after ferry's statement ends.
    #[schemars(range(min = 15, max = 10080))]
    pub sas_minutes: u32,
    /// Database bytes per backup stripe. Azure caps a block blob that SQL Server writes at about
    /// 195 GiB (50,000 blocks × 4 MiB); 150 GiB leaves room for a database that grows meanwhile.
    #[schemars(range(min = 1048576))]
    pub stripe_bytes: u64,
    /// A TDE-protected database goes ahead when the MI already holds its certificate (by
    /// thumbprint, as an `instance-objects` step before this one leaves it); set this when
    /// the MI holds it in a way T-SQL cannot see, to go ahead anyway. Otherwise such a
    /// database stops before anything is backed up.
    pub tde_certificates_migrated: bool,
}

/// The defaults, once: serde fills a missing key from here, and the schema states these values.
impl Default for Config {
    fn default() -> Self {
        Config {
            source: "source".into(),
            target: "target".into(),
            backups: "backups".into(),
            mode: Mode::BackupToUrl,
            share: None,
            folder: "{db}".into(),
            target_name: "{db}".into(),
            source_credential: SourceCredential::Create,
            sas_secret: None,
            sas_minutes: 240,
            stripe_bytes: ferry_sdk::striping::DEFAULT_STRIPE_BYTES,
            tde_certificates_migrated: false,
        }
    }
}

impl Config {
    /// The database's folder (no trailing slash).
    pub fn folder_for(&self, db: &str) -> String {
        self.folder.replace("{db}", db).trim_matches('/').to_owned()
    }

    pub fn target_for(&self, db: &str) -> String {
        self.target_name.replace("{db}", db)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) = ferry_sdk::stated_and_real_defaults::<super::Config>().unwrap();
        assert_eq!(stated, real);
    }
}
