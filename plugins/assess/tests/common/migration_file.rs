//! The host's migration.toml as host/src/config/migration.rs reads it (unknown keys refused),
//! mirrored here because a plugin's tests cannot depend on the host crate.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub migration: Header,
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginEntry>,
    #[serde(default)]
    pub steps: Vec<StepEntry>,
    #[serde(default)]
    pub waves: Vec<WaveEntry>,
    #[serde(default)]
    pub databases: Option<Vec<String>>,
    #[serde(default)]
    pub limits: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    pub bundled: Option<String>,
    #[allow(dead_code)]
    pub path: Option<String>,
    #[allow(dead_code)]
    sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepEntry {
    pub name: String,
    pub plugin: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub config: Option<toml::Table>,
    #[serde(default)]
    #[allow(dead_code)]
    pub config_files: BTreeMap<String, String>,
    #[serde(default)]
    pub grants: Grants,
    #[serde(default)]
    #[allow(dead_code)]
    pub limits: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    #[serde(default)]
    pub sql: Vec<String>,
    #[serde(default)]
    pub storage: Vec<String>,
    #[serde(default)]
    pub azure: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub scratch: bool,
    #[serde(default)]
    #[allow(dead_code)]
    pub scripts: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveEntry {
    #[allow(dead_code)]
    pub name: String,
    pub databases: Vec<String>,
}
