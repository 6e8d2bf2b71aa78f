//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types: the
//! doc comments are what `ferry plugins describe assess` shows.

use ferry_sdk::entra::EntraMap;
use ferry_sdk::mi_limits::Tier;
use ferry_sdk::sql_version::UpdatePolicy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Managed Instance service tier the findings are judged for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum TargetTier {
    GeneralPurpose,
    BusinessCritical,
    NextGenGeneralPurpose,
}

impl TargetTier {
    pub const ALL: [TargetTier; 3] = [
        TargetTier::GeneralPurpose,
        TargetTier::BusinessCritical,
        TargetTier::NextGenGeneralPurpose,
    ];

    /// The SDK's tier, whose limits the sizing and the rules read.
    pub fn tier(self) -> Tier {
        match self {
            TargetTier::GeneralPurpose => Tier::GeneralPurpose,
            TargetTier::BusinessCritical => Tier::BusinessCritical,
            TargetTier::NextGenGeneralPurpose => Tier::NextGenGeneralPurpose,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            TargetTier::GeneralPurpose => "general-purpose",
            TargetTier::BusinessCritical => "business-critical",
            TargetTier::NextGenGeneralPurpose => "next-gen-general-purpose",
        }
    }
}

/// The target instance's update policy ("Update policy in Azure SQL Managed Instance").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    #[serde(rename = "sql-server-2022")]
    SqlServer2022,
    #[serde(rename = "sql-server-2025")]
    SqlServer2025,
    AlwaysUpToDate,
}

impl Policy {
    pub fn policy(self) -> UpdatePolicy {
        match self {
            Policy::SqlServer2022 => UpdatePolicy::SqlServer2022,
            Policy::SqlServer2025 => UpdatePolicy::SqlServer2025,
            Policy::AlwaysUpToDate => UpdatePolicy::AlwaysUpToDate,
        }
    }
}

/// How long the applications may be down at cutover: it decides between the methods that can
/// move a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Downtime {
    /// Seconds to minutes: the link (failover), else LRS or DMS (the last log backup).
    Minimal,
    /// An offline window is fine: native backup and restore for databases up to
    /// `large_database_gb`, LRS above it.
    OfflineWindow,
}

/// The `assess` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SQL label of the source SQL Server (read is enough: the step never changes anything).
    #[schemars(length(min = 1))]
    pub source: String,
    /// SQL label of the target Managed Instance, when it exists already (read is enough): its
    /// collation and update policy replace `target_collation` and `update_policy`, and its
    /// free room, database names and TDE certificates are checked per database.
    #[schemars(length(min = 1))]
    pub target: Option<String>,
    /// The tier report rows are judged for; the output holds every tier's verdicts.
    pub tier: TargetTier,
    /// The target instance's update policy: a source newer than it cannot be restored.
    pub update_policy: Policy,
    /// The target instance's collation (a new Managed Instance's default unless chosen at
    /// creation).
    #[schemars(length(min = 1))]
    pub target_collation: String,
    /// For the instance step: the databases to assess for the migration.toml draft (names,
    /// compared without case); empty means every user database.
    pub databases: Vec<String>,
    /// How long the applications may be down at cutover.
    pub downtime: Downtime,
    /// From this size (GB of files) a database counts as large: with minimal downtime the
    /// link is preferred for it, with an offline window LRS instead of native restore.
    #[schemars(range(min = 1))]
    pub large_database_gb: u64,
    /// The Windows → Microsoft Entra mapping (the same one `instance-objects` uses): Windows
    /// logins it does not map are findings.
    pub entra: EntraMap,
    /// Seconds between two samples of CPU, memory and IO (the instance step waits between
    /// them; a restart of ferry resumes the window).
    #[schemars(range(min = 1, max = 3600))]
    pub sample_seconds: u32,
    /// Samples over the window; 1 reads sizes and configuration only (no rates).
    #[schemars(range(min = 1, max = 1000))]
    pub samples: u32,
    /// The CPU share of the suggested vCores the measured peak may use, percent.
    #[schemars(range(min = 10, max = 100))]
    pub target_cpu_percent: u32,
    /// Room for growth added to the databases' size when suggesting storage, percent.
    #[schemars(range(max = 1000))]
    pub storage_growth_percent: u32,
    /// A database step fails its database when a finding is a blocker on `tier` (after its
    /// rows are reported), so the steps after it in the same migration do not run for it.
    pub fail_on_blockers: bool,
    /// A `passed` row for every rule that found nothing, so the report lists every check made;
    /// false keeps only what was found.
    pub report_passed: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: "source".into(),
            target: None,
            tier: TargetTier::GeneralPurpose,
            update_policy: Policy::SqlServer2022,
            // The collation a Managed Instance gets when none is chosen ("Collation", Azure
            // SQL Managed Instance create, learn.microsoft.com).
            target_collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            databases: Vec::new(),
            downtime: Downtime::Minimal,
            large_database_gb: 100,
            entra: EntraMap::default(),
            sample_seconds: 60,
            samples: 5,
            target_cpu_percent: 70,
            storage_growth_percent: 20,
            fail_on_blockers: false,
            report_passed: true,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn policies_read_as_written() {
        let p: super::Policy = serde_json::from_str("\"sql-server-2025\"").unwrap();
        assert_eq!(p, super::Policy::SqlServer2025);
    }

    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) = ferry_sdk::stated_and_real_defaults::<super::Config>().unwrap();
        assert_eq!(stated, real);
    }
}
