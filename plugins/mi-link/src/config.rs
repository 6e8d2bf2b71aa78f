//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types; the
//! doc comments are what `ferry plugins describe mi-link` shows and the defaults are
//! `Config::default()`.

use ferry_sdk::{Error, Result, Warning};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How cutover fails over ("Fail over link", learn.microsoft.com). `ferry cutover
/// --allow-data-loss` forces it whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Failover {
    /// Both sides reachable: synchronous commit, `last_hardened_lsn` equal and stable, then a
    /// planned failover (or, on SQL Server 2016–2019, the link is deleted).
    Planned,
    /// The source is lost: ARM `failover` with `ForcedAllowDataLoss`. Needs
    /// `allow_data_loss = true`; transactions not yet on the MI are lost.
    Forced,
}

/// A root certificate authority SQL Server must trust for the MI's endpoint certificate
/// ("Configure link with T-SQL": import the Azure-trusted root CA keys).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RootCa {
    /// The certificate's name on SQL Server, e.g. `MicrosoftPKI` or `DigiCertPKI`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Storage label of the container or share holding the DER file.
    #[schemars(length(min = 1))]
    pub storage: String,
    /// The DER file's name in it.
    #[schemars(length(min = 1))]
    pub object: String,
}

/// The `mi-link` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SQL label of the source SQL Server (connected to master, sysadmin).
    #[schemars(length(min = 1))]
    pub source: String,
    /// SQL label of the Managed Instance: its Agent runs the MI → SQL Server connectivity
    /// test and its msdb shows the first full backup after cutover.
    #[schemars(length(min = 1))]
    pub target: String,
    /// Azure label scoped to the Managed Instance.
    #[schemars(length(min = 1))]
    pub azure: String,
    /// Azure label scoped to the MI's resource group, to look for an auto-failover group
    /// (`locations/{region}/instanceFailoverGroups`), which cannot coexist with a link. Without
    /// it that check is reported as not made.
    #[schemars(length(min = 1))]
    pub resource_group_azure: Option<String>,
    /// The address the MI reaches SQL Server at (IP or a name the MI resolves): it goes into
    /// `ENDPOINT_URL`, `LISTENER_URL` and the link's `partnerEndpoint`.
    #[schemars(length(min = 1))]
    pub source_address: String,
    /// The mirroring endpoint's port when ferry creates it (5022 for a default instance; a
    /// named instance needs its own). An existing endpoint keeps its port.
    #[schemars(range(min = 1, max = 65535))]
    pub endpoint_port: u16,
    /// The mirroring endpoint's name when ferry creates it.
    #[schemars(length(min = 1))]
    pub endpoint_name: String,
    /// The availability group per database; `{db}` is the database's name.
    #[schemars(length(min = 1))]
    pub ag_name: String,
    /// The distributed availability group (the link) per database; `{db}` is its name.
    #[schemars(length(min = 1))]
    pub dag_name: String,
    /// Create the database master key in master when it is missing, its password generated
    /// by ferry and never shown. Without it a missing key stops the database.
    pub create_master_key: bool,
    /// Days the endpoint certificate ferry creates stays valid.
    #[schemars(range(min = 30, max = 3650))]
    pub certificate_days: u32,
    /// Replace the endpoint certificate when fewer days than this remain (a new certificate,
    /// uploaded, the endpoint switched to it). 0 never rotates; a certificate this close to
    /// expiry is then only warned about.
    #[schemars(range(min = 0, max = 3650))]
    pub rotate_certificate_days: u32,
    /// Root CAs imported on SQL Server (`sp_certificate_add_issuer … '*.database.windows.net'`).
    pub root_cas: Vec<RootCa>,
    /// Run the two documented connectivity tests (SQL Server → MI on 5022 and the HADR port,
    /// MI → SQL Server on the endpoint port) through temporary Agent jobs before any change.
    pub connectivity_test: bool,
    /// Only check: preconditions (and the connectivity tests when asked), nothing changed.
    pub check_only: bool,
    /// The Microsoft.Sql api-version; from 2024-05-01-preview on, the link's body has
    /// `databases[]` and `instanceLinkRole`, before it `targetDatabase`.
    #[schemars(length(min = 10))]
    pub api_version: String,
    /// How cutover fails over.
    pub failover: Failover,
    /// Required for `failover = "forced"`.
    pub allow_data_loss: bool,
    /// Seconds `last_hardened_lsn` must stay equal on both sides before a planned failover.
    #[schemars(range(min = 0, max = 3600))]
    pub stable_seconds: u32,
    /// Seconds a planned failover (cutover or failback) waits for SQL Server and the MI to
    /// reconnect before it ends the database with the reason; 0 waits as long as it takes.
    /// A short partition is held through; the docs give no bound, so this is ferry's.
    #[schemars(range(min = 0, max = 604800))]
    pub disconnected_limit_seconds: u32,
    /// A cutover gate (RFC 3339): cutover begins by itself at this moment, as `ferry cutover`.
    #[schemars(length(min = 20))]
    pub cutover_after: Option<String>,
    /// After cutover, drop the DAG and AG on SQL Server (once the MI took its first full
    /// backup of the database).
    pub drop_source_ag: bool,
    /// After a two-way cutover keep the link, SQL Server its secondary: `ferry failback` fails
    /// back (a planned failover once the LSNs are equal and stable), `ferry finish` ends the
    /// wait (dropping the link and AGs as `drop_source_ag` says).
    pub keep_link: bool,
    /// Seconds between looks at the link.
    #[schemars(range(min = 1, max = 3600))]
    pub poll_seconds: u32,
    /// Warn when the log the link holds on SQL Server uses more than this percent of the log.
    #[schemars(range(min = 1, max = 100))]
    pub log_warn_percent: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: "source".into(),
            target: "target".into(),
            azure: "mi".into(),
            resource_group_azure: None,
            source_address: String::new(),
            endpoint_port: 5022,
            endpoint_name: "database_mirroring_endpoint".into(),
            ag_name: "AG_{db}".into(),
            dag_name: "DAG_{db}".into(),
            create_master_key: false,
            certificate_days: 365,
            rotate_certificate_days: 30,
            root_cas: Vec::new(),
            connectivity_test: false,
            check_only: false,
            api_version: "2024-05-01-preview".into(),
            failover: Failover::Planned,
            allow_data_loss: false,
            stable_seconds: 30,
            disconnected_limit_seconds: 900,
            cutover_after: None,
            drop_source_ag: true,
            keep_link: false,
            poll_seconds: 10,
            log_warn_percent: 70,
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<Vec<Warning>> {
        if self.source_address.trim().is_empty() {
            return Err(Error::invalid_config(
                Some("source_address"),
                "the address the Managed Instance reaches SQL Server at (IP or resolvable name) \
                 is needed for the endpoint URLs and the link",
            ));
        }
        if self.failover == Failover::Forced && !self.allow_data_loss {
            return Err(Error::invalid_config(
                Some("allow_data_loss"),
                "a forced failover may lose the transactions the MI has not hardened: set \
                 allow_data_loss = true to mean it, or use failover = \"planned\"",
            ));
        }
        if let Some(at) = &self.cutover_after {
            cutover_ms(at).map_err(|why| Error::invalid_config(Some("cutover_after"), why))?;
        }
        for (key, v) in [("ag_name", &self.ag_name), ("dag_name", &self.dag_name)] {
            if !v.contains("{db}") {
                return Err(Error::invalid_config(
                    Some(key),
                    "one availability group per database: the name must contain `{db}`",
                ));
            }
        }
        Ok(Vec::new())
    }

    pub fn ag_for(&self, db: &str) -> String {
        self.ag_name.replace("{db}", db)
    }
    pub fn dag_for(&self, db: &str) -> String {
        self.dag_name.replace("{db}", db)
    }

    /// The link body's shape: `databases[]`, `instanceLinkRole`, `failoverMode` in the preview
    /// api-versions from 2023-05-01-preview (DistributedAvailabilityGroups.json there); the
    /// stable 2023-08-01 and older have `targetDatabase`/`sourceEndpoint` (methods.md §1.3). A
    /// stable version after 2023-08-01 is taken to have the newer shape (not checked).
    pub fn databases_shape(&self) -> bool {
        let date = self.api_version.get(..10).unwrap_or("");
        if self.api_version.ends_with("-preview") {
            date >= "2023-05-01"
        } else {
            date > "2023-08-01"
        }
    }

    /// Whether the api-version has `POST …/failover`: the 2023-08-01-preview and 2024-05-01-
    /// preview specs define it (with `setRole`), the stable 2023-08-01 does not; the 2023-05-01-
    /// preview spec is taken to lack it too (its file has neither action's request body).
    pub fn arm_failover(&self) -> bool {
        let date = self.api_version.get(..10).unwrap_or("");
        if self.api_version.ends_with("-preview") {
            date >= "2023-08-01"
        } else {
            date > "2023-08-01"
        }
    }
}

/// `cutover_after` as milliseconds since the Unix epoch.
pub fn cutover_ms(at: &str) -> std::result::Result<u64, String> {
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{at}` is not an RFC 3339 time like 2026-11-28T22:00:00Z ({e})"))?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("`{at}` is before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) = ferry_sdk::stated_and_real_defaults::<Config>().unwrap();
        assert_eq!(stated, real);
    }

    #[test]
    fn the_body_shape_follows_the_api_version() {
        let mut c = Config::default();
        assert!(c.databases_shape() && c.arm_failover());
        c.api_version = "2023-08-01".into();
        assert!(!c.databases_shape());
        assert!(!c.arm_failover());
        c.api_version = "2023-05-01-preview".into();
        assert!(c.databases_shape() && !c.arm_failover());
        c.api_version = "2023-08-01-preview".into();
        assert!(c.databases_shape() && c.arm_failover());
        c.api_version = "2021-11-01".into();
        assert!(!c.databases_shape());
        c.api_version = "2025-01-01".into();
        assert!(c.databases_shape());
    }

    #[test]
    fn forced_failover_needs_its_flag_and_names_need_db() {
        let mut c = Config {
            source_address: "10.0.0.4".into(),
            ..Config::default()
        };
        assert!(c.validate().is_ok());
        c.failover = Failover::Forced;
        assert!(c.validate().is_err());
        c.allow_data_loss = true;
        assert!(c.validate().is_ok());
        c.dag_name = "DAG".into();
        assert!(c.validate().is_err());
        assert!(Config::default().validate().is_err(), "no source_address");
    }
}
