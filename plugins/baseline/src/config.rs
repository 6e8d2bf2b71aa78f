//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types; the
//! doc comments are what `ferry plugins describe baseline` shows and the defaults are
//! `Config::default()`.

use ferry_sdk::{Error, Result, Warning};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which side of the cutover a step captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// On the source SQL Server, before cutover: the baseline, kept in `baseline_from`.
    Before,
    /// On the Managed Instance, after cutover: captured the same way and compared with the
    /// baseline read back from `baseline_from`.
    After,
}

/// What a query that regressed makes its report row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RegressionStatus {
    /// A warning row; the database's step still succeeds.
    Warning,
    /// A failed row, and the database's step fails with the regressions as the reason.
    Failed,
}

/// The `baseline` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `before` (on the source, before cutover) or `after` (on the Managed Instance). Needed:
    /// a migration has one step of each.
    pub phase: Option<Phase>,
    /// SQL label of the source SQL Server (read by `before`; `write` when
    /// `enable_query_store` has to turn Query Store on).
    #[schemars(length(min = 1))]
    pub source: String,
    /// SQL label of the Managed Instance (read by `after`; `write` to turn Query Store on,
    /// to set the source's compatibility level back, or to raise it).
    #[schemars(length(min = 1))]
    pub target: String,
    /// The database's name on the Managed Instance; `{db}` is its source name.
    #[schemars(length(min = 1))]
    pub target_name: String,
    /// Storage label (a blob container or a share) the baseline is kept in: `before` writes
    /// it there (`write` grant), `after` reads it back (`read`). Needed: one step cannot read
    /// another's output, so this is how the capture crosses from one step to the next.
    #[schemars(length(min = 1))]
    pub baseline_from: Option<String>,
    /// The baseline's object name in `baseline_from`; `{db}` is the source database's name.
    #[schemars(length(min = 1))]
    pub baseline_path: String,
    /// Minutes of workload each capture covers.
    #[schemars(range(min = 1, max = 10080))]
    pub window_minutes: u32,
    /// Seconds of workload each capture covers, in place of `window_minutes`: for rehearsals
    /// against the emulator and tests, where a minute's window is too long. A real
    /// workload needs minutes (Query Store aggregates per interval of at least a minute).
    #[schemars(range(min = 1, max = 3600))]
    pub window_seconds: Option<u32>,
    /// Wait `window_minutes` before capturing, so the capture covers the workload that runs
    /// meanwhile. `false`: capture at once what Query Store already holds for the last
    /// `window_minutes` (history). Waiting is forced where there is no history to read: when
    /// Query Store was just turned on, or without Query Store (sys.dm_exec_query_stats only
    /// has totals since each plan was cached, so the window is the difference of two reads).
    pub wait: bool,
    /// Queries kept: the top `top` by total CPU, by total duration and by total logical
    /// reads (their union). At most 100: the comparison is journaled while a raised level's
    /// window runs, and a step's state is at most 1 MiB.
    #[schemars(range(min = 1, max = 100))]
    pub top: u32,
    /// A query regressed when its average CPU time or duration per execution on the Managed
    /// Instance exceeds the source's times this ratio; it improved when both fell below the
    /// source's divided by it. Waits grew past it the same way.
    #[schemars(range(min = 1.0, max = 1000.0))]
    pub regression_ratio: f64,
    /// Queries with fewer executions on either side in the window are listed, not judged.
    #[schemars(range(min = 1))]
    pub min_executions: u64,
    /// A wait category grows only when it also rose by at least these milliseconds over the
    /// window (noise in idle categories is not a finding).
    pub min_wait_ms: u64,
    /// What a regressed query's row is.
    pub regression_status: RegressionStatus,
    /// Turn Query Store on (`OPERATION_MODE = READ_WRITE`) where it is off or read-only
    /// (needs `write` on the label). Without it such a database is captured from
    /// sys.dm_exec_query_stats, with a warning.
    pub enable_query_store: bool,
    /// `after`: once the capture at the source's compatibility level is compared, raise the
    /// level to the highest the Managed Instance supports (or `compatibility_level`), wait
    /// another window, capture and compare again (methods.md §6).
    pub raise_compatibility: bool,
    /// The level to raise to; by default the Managed Instance's highest (its major version
    /// times ten).
    #[schemars(range(min = 100, max = 200))]
    pub compatibility_level: Option<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            phase: None,
            source: "source".into(),
            target: "target".into(),
            target_name: "{db}".into(),
            baseline_from: None,
            baseline_path: "baseline/{db}.before.json".into(),
            window_minutes: 60,
            window_seconds: None,
            wait: true,
            top: 25,
            regression_ratio: 1.5,
            min_executions: 10,
            min_wait_ms: 1000,
            regression_status: RegressionStatus::Warning,
            enable_query_store: false,
            raise_compatibility: false,
            compatibility_level: None,
        }
    }
}

fn bad(key: &str, why: impl Into<String>) -> Error {
    Error::invalid_config(Some(key), why)
}

impl Config {
    pub fn validate(&self) -> Result<Vec<Warning>> {
        let Some(phase) = self.phase else {
            return Err(bad(
                "phase",
                "is needed: `before` (on the source, before cutover) or `after` (on the \
                 Managed Instance)",
            ));
        };
        if !(self.regression_ratio.is_finite() && self.regression_ratio > 1.0) {
            return Err(bad(
                "regression_ratio",
                format!(
                    "must be a number above 1 (e.g. 1.5: half as slow again), not {}",
                    self.regression_ratio
                ),
            ));
        }
        if !(1..=10080).contains(&self.window_minutes) {
            return Err(bad("window_minutes", "must be from 1 to 10080 (a week)"));
        }
        if let Some(s) = self.window_seconds
            && !(1..=3600).contains(&s)
        {
            return Err(bad(
                "window_seconds",
                format!(
                    "must be from 1 to 3600 (an hour; longer windows are window_minutes), not {s}"
                ),
            ));
        }
        if !(1..=100).contains(&self.top) {
            return Err(bad(
                "top",
                format!("must be from 1 to 100, not {}", self.top),
            ));
        }
        if self.min_executions == 0 {
            return Err(bad("min_executions", "must be at least 1"));
        }
        if !self.baseline_path.contains("{db}") {
            return Err(bad(
                "baseline_path",
                "must hold `{db}`: each database's baseline is its own object",
            ));
        }
        if let Some(level) = self.compatibility_level
            && (level % 10 != 0 || !(100..=200).contains(&level))
        {
            return Err(bad(
                "compatibility_level",
                format!("{level} is not a compatibility level (100, 110, … 170)"),
            ));
        }
        if self.baseline_from.is_none() {
            // Also for `before`: its capture is what `after` compares with, and the host's
            // check asks every step for the storage need.
            return Err(bad(
                "baseline_from",
                "is needed: the storage label (a blob container or a share) the `before` step \
                 writes the baseline to and the `after` step reads it from",
            ));
        }
        let mut warnings = Vec::new();
        if phase == Phase::Before
            && (self.raise_compatibility || self.compatibility_level.is_some())
        {
            warnings.push(Warning {
                key: Some("raise_compatibility".into()),
                message: "only `after` raises the compatibility level; `before` ignores it".into(),
            });
        }
        Ok(warnings)
    }

    pub fn phase(&self) -> Phase {
        self.phase.unwrap_or(Phase::Before)
    }

    /// The database's name on the side this step captures.
    pub fn database(&self, item: &str) -> String {
        match self.phase() {
            Phase::Before => item.to_owned(),
            Phase::After => self.target_name.replace("{db}", item),
        }
    }

    /// The SQL label this step captures through.
    pub fn label(&self) -> &str {
        match self.phase() {
            Phase::Before => &self.source,
            Phase::After => &self.target,
        }
    }

    /// The window's length: `window_seconds` when set, else `window_minutes`.
    pub fn window_secs(&self) -> u64 {
        self.window_seconds
            .map_or(u64::from(self.window_minutes) * 60, u64::from)
    }

    pub fn object_name(&self, item: &str) -> String {
        self.baseline_path.replace("{db}", item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: serde_json::Value) -> std::result::Result<Config, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) = ferry_sdk::stated_and_real_defaults::<Config>().unwrap();
        assert_eq!(stated, real);
    }

    #[test]
    fn a_phase_is_needed_and_after_needs_the_baseline() {
        let e = cfg(serde_json::json!({})).unwrap().validate().unwrap_err();
        assert!(e.describe().contains("phase"), "{e:?}");
        let e = cfg(serde_json::json!({"phase": "after"}))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.describe().contains("baseline_from"), "{e:?}");
        let e = cfg(serde_json::json!({"phase": "before"}))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.describe().contains("baseline_from"), "{e:?}");
        let w = cfg(serde_json::json!({"phase": "before", "baseline_from": "b",
                                       "raise_compatibility": true}))
        .unwrap()
        .validate()
        .unwrap();
        assert_eq!(w[0].key.as_deref(), Some("raise_compatibility"));
    }

    #[test]
    fn bad_figures_are_refused_by_name() {
        for (v, key) in [
            (
                serde_json::json!({"regression_ratio": 1.0}),
                "regression_ratio",
            ),
            (serde_json::json!({"window_minutes": 0}), "window_minutes"),
            (serde_json::json!({"window_seconds": 0}), "window_seconds"),
            (
                serde_json::json!({"window_seconds": 3601}),
                "window_seconds",
            ),
            (serde_json::json!({"top": 0}), "top"),
            (serde_json::json!({"top": 101}), "top"),
            (serde_json::json!({"min_executions": 0}), "min_executions"),
            (
                serde_json::json!({"baseline_path": "x.json"}),
                "baseline_path",
            ),
            (
                serde_json::json!({"compatibility_level": 155}),
                "compatibility_level",
            ),
        ] {
            let mut v = v;
            v["phase"] = "before".into();
            v["baseline_from"] = "b".into();
            let e = cfg(v).unwrap().validate().unwrap_err();
            assert!(e.describe().contains(key), "{key}: {e:?}");
        }
        assert!(cfg(serde_json::json!({"phase": "sideways"})).is_err());
        assert!(cfg(serde_json::json!({"phase": "before", "nope": 1})).is_err());
    }
}
