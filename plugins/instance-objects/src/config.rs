//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types: the
//! doc comments are what `ferry plugins describe instance-objects` shows.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::patterns::Patterns;

/// What this step does: the instance's objects (an instance step, before the databases), or
/// the remapping of each restored database's Windows users to Microsoft Entra logins (a
/// database step, after the step that restores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// Certificates, credentials, logins, roles, permissions, Agent, Mail, linked servers,
    /// audits, triggers and the rest, in dependency order. Needs `scope = "instance"`.
    Objects,
    /// `ALTER USER … WITH LOGIN` in each migrated database. Needs `scope = "database"`.
    Users,
}

/// One family of objects: on or off, and which names.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FamilyConfig {
    /// Whether this family is moved at all.
    pub enabled: bool,
    /// Names to move (`*` and `?` wildcards, case-insensitive); empty means every name.
    pub include: Vec<String>,
    /// Names to leave alone, even when `include` matches them.
    pub exclude: Vec<String>,
}

impl Default for FamilyConfig {
    fn default() -> Self {
        FamilyConfig {
            enabled: true,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

impl FamilyConfig {
    pub fn patterns(&self) -> Patterns {
        Patterns::new(&self.include, &self.exclude)
    }
}

/// The Windows → Microsoft Entra mapping, shared with `assess` (which says before anything runs
/// which Windows logins it leaves unmapped).
pub use ferry_sdk::entra::EntraMap;

/// The `instance-objects` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// What this step does.
    pub part: Part,
    /// SQL label of the source SQL Server (read is enough).
    #[schemars(length(min = 1))]
    pub source: String,
    /// SQL label of the target Managed Instance.
    #[schemars(length(min = 1))]
    pub target: String,
    /// Azure label of the Managed Instance, for uploading TDE certificates through ARM
    /// (`tdeCertificates`). Without it, TDE certificates are reported, not moved.
    #[schemars(length(min = 1))]
    pub azure: Option<String>,
    /// An object that exists on the target and differs from the source is reported as a
    /// conflict and left alone; with `replace = true` it is dropped and made again.
    pub replace: bool,
    /// The Windows → Microsoft Entra mapping (usually kept in its own file: see the README).
    pub entra: EntraMap,
    /// Secret labels for what a source never reveals, by object: a credential's secret
    /// (`"credential:AzureBackup" = "backup-sas"`), a Database Mail account's SMTP password
    /// (`"mail-account:Ops" = "smtp-password"`), a linked server login's remote password
    /// (`"linked-login:SALESSRV/report_reader" = "sales-remote"`).
    pub secrets: BTreeMap<String, String>,
    /// TDE certificates (through ARM, for the databases' restores).
    pub tde_certificates: FamilyConfig,
    /// Certificates in `master` (not TDE ones, not `##MS_…##`).
    pub certificates: FamilyConfig,
    /// Server credentials.
    pub credentials: FamilyConfig,
    /// Logins: SQL (with SID and password hash), Windows (→ Entra), certificate-mapped.
    pub logins: FamilyConfig,
    /// User-defined server roles and role membership.
    pub server_roles: FamilyConfig,
    /// Server-level permissions (GRANT/DENY).
    pub server_permissions: FamilyConfig,
    /// Database Mail accounts and profiles.
    pub database_mail: FamilyConfig,
    /// SQL Agent operators.
    pub agent_operators: FamilyConfig,
    /// SQL Agent jobs with their steps, schedules and notifications.
    pub agent_jobs: FamilyConfig,
    /// Linked servers and their logins.
    pub linked_servers: FamilyConfig,
    /// Server audits and audit specifications.
    pub audits: FamilyConfig,
    /// Storage label of the blob container a `TO FILE` server audit is rewritten to write to
    /// (`TO URL`): Managed Instance writes audits only to Azure Blob storage or Azure Monitor.
    /// The MI needs a credential for that container (a SAS or its managed identity). Without
    /// it, file audits are refused.
    #[schemars(length(min = 1))]
    pub audit_storage: Option<String>,
    /// Server-level DDL triggers.
    pub server_triggers: FamilyConfig,
    /// User-defined error messages (`sys.messages` above 50000).
    pub messages: FamilyConfig,
    /// `sp_configure` options Managed Instance lets a user set.
    pub configuration: FamilyConfig,
    /// Server-scoped extended event sessions (not the built-in ones); an `event_file` target
    /// on disk is moved to the `audit_storage` container, keeping its file name.
    pub event_sessions: FamilyConfig,
    /// Resource Governor: user resource pools and workload groups (by name), the `default`
    /// pool's and group's settings, and whether the governor is on. A classifier function is
    /// reported, not moved.
    pub resource_governor: FamilyConfig,
    /// For `part = "users"`: the database's name on the MI; `{db}` is the source name.
    #[schemars(length(min = 1))]
    pub target_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            part: Part::Objects,
            source: "source".into(),
            target: "target".into(),
            azure: None,
            replace: false,
            entra: EntraMap::default(),
            secrets: BTreeMap::new(),
            tde_certificates: FamilyConfig::default(),
            certificates: FamilyConfig::default(),
            credentials: FamilyConfig::default(),
            logins: FamilyConfig::default(),
            server_roles: FamilyConfig::default(),
            server_permissions: FamilyConfig::default(),
            database_mail: FamilyConfig::default(),
            agent_operators: FamilyConfig::default(),
            agent_jobs: FamilyConfig::default(),
            linked_servers: FamilyConfig::default(),
            audits: FamilyConfig::default(),
            audit_storage: None,
            server_triggers: FamilyConfig::default(),
            messages: FamilyConfig::default(),
            configuration: FamilyConfig::default(),
            event_sessions: FamilyConfig::default(),
            resource_governor: FamilyConfig::default(),
            target_name: "{db}".into(),
        }
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
