//! The step configuration (`[steps.config]`) and its JSON schema.

use serde::Deserialize;

/// Where the backups come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceCredential {
    /// Reuse one named after the container URL, or create it (and drop it afterwards).
    Create,
    /// Only reuse an existing one; stop with a reason if there is none.
    Existing,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQL label of the source SQL Server.
    #[serde(default = "source")]
    pub source: String,
    /// SQL label of the target Managed Instance.
    #[serde(default = "target")]
    pub target: String,
    /// Storage label of the blob container the backups go through.
    #[serde(default = "backups")]
    pub backups: String,
    #[serde(default = "mode")]
    pub mode: Mode,
    /// Storage label of the share, for `mode = "share"`.
    #[serde(default)]
    pub share: Option<String>,
    /// Folder per database, on the share and in the container; `{db}` is the database name.
    #[serde(default = "folder")]
    pub folder: String,
    /// The database's name on the MI; `{db}` is the source name.
    #[serde(default = "folder")]
    pub target_name: String,
    #[serde(default = "create")]
    pub source_credential: SourceCredential,
    /// A secret label holding the SAS to put in credentials, for sites where ferry cannot sign
    /// one (a blob label with a fixed `sas`). Without it ferry signs a short-lived SAS.
    #[serde(default)]
    pub sas_secret: Option<String>,
    /// How long the SAS ferry signs for a credential lasts, in minutes.
    #[serde(default = "sas_minutes")]
    pub sas_minutes: u32,
    /// Database bytes per backup stripe. Azure caps a block blob that SQL Server writes at about
    /// 200 GB (50,000 blocks × 4 MB); 150 GiB leaves room for a database that grows meanwhile.
    #[serde(default = "stripe_bytes")]
    pub stripe_bytes: u64,
    /// Set when a certificate step moves TDE certificates to the MI before this one.
    #[serde(default)]
    pub tde_certificates_migrated: bool,
}

fn source() -> String {
    "source".into()
}
fn target() -> String {
    "target".into()
}
fn backups() -> String {
    "backups".into()
}
fn mode() -> Mode {
    Mode::BackupToUrl
}
fn folder() -> String {
    "{db}".into()
}
fn create() -> SourceCredential {
    SourceCredential::Create
}
fn sas_minutes() -> u32 {
    240
}
fn stripe_bytes() -> u64 {
    150 << 30
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

pub fn schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "source": { "type": "string", "minLength": 1, "default": "source",
                "description": "SQL label of the source SQL Server" },
            "target": { "type": "string", "minLength": 1, "default": "target",
                "description": "SQL label of the target Managed Instance" },
            "backups": { "type": "string", "minLength": 1, "default": "backups",
                "description": "Storage label of the blob container the backups go through" },
            "mode": { "enum": ["backup-to-url", "share"], "default": "backup-to-url",
                "description": "backup-to-url: the source backs up into the container; share: ferry uploads full backups from `share`" },
            "share": { "type": "string", "minLength": 1,
                "description": "With mode = share: the share's storage label" },
            "folder": { "type": "string", "minLength": 1, "default": "{db}",
                "description": "Folder per database, on the share and in the container; {db} is its name" },
            "target_name": { "type": "string", "minLength": 1, "default": "{db}",
                "description": "The database's name on the MI" },
            "source_credential": { "enum": ["create", "existing"], "default": "create",
                "description": "create (and drop afterwards) the source's credential, or only reuse an existing one" },
            "sas_secret": { "type": "string", "minLength": 1,
                "description": "A secret label holding the SAS for the credentials, where ferry cannot sign one" },
            "sas_minutes": { "type": "integer", "minimum": 15, "maximum": 10080, "default": 240,
                "description": "Lifetime of the SAS ferry signs for a credential" },
            "stripe_bytes": { "type": "integer", "minimum": 1048576, "default": 161061273600_u64,
                "description": "Database bytes per backup stripe (Azure caps a block blob SQL Server writes at about 195 GiB)" },
            "tde_certificates_migrated": { "type": "boolean", "default": false,
                "description": "Set when the TDE certificates are already on the MI" }
        },
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) =
            ferry_sdk::stated_and_real_defaults::<super::Config>(&super::schema()).unwrap();
        assert_eq!(stated, real);
    }
}
