//! The step configuration (`[steps.config]`). Its JSON schema is derived from these types: the
//! doc comments are what `ferry plugins describe validate` shows.

use ferry_sdk::{Error, Result, Warning};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How far the data comparison goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Depth {
    /// Exact row counts (`COUNT_BIG(*)`) on both sides only.
    Counts,
    /// Counts, then `sample_ranges` key ranges of `range_rows` rows per table hashed on both
    /// sides and bisected where they differ.
    Sampled,
    /// Counts, then every row: the whole key space hashed range by range and bisected.
    Full,
}

/// `DBCC CHECKDB` on the target (methods.md §6; "DBCC CHECKDB (Transact-SQL)",
/// learn.microsoft.com: repair options are not allowed on Managed Instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Checkdb {
    Off,
    /// `WITH PHYSICAL_ONLY`: page and allocation consistency, much shorter on big databases.
    PhysicalOnly,
    /// The full logical and physical check.
    Full,
}

/// `UPDATE STATISTICS` after the migration (methods.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatistics {
    Off,
    /// `sp_updatestats`: statistics with modified rows, at the default sample.
    Sampled,
    /// `UPDATE STATISTICS … WITH FULLSCAN` on every user table.
    Fullscan,
}

/// What happens to the target database's compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompatibilityMode {
    /// Checked equal to the source's level (a restore keeps it); nothing changed.
    Keep,
    /// Raised to the highest level the target supports, read from the target.
    Raise,
}

/// `"keep"`, `"raise"`, or a level (100, 110, …, 170).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CompatibilityLevel {
    Mode(CompatibilityMode),
    Level(u16),
}

/// The compatibility levels ALTER DATABASE takes on the versions ferry migrates from and to
/// ("ALTER DATABASE (Transact-SQL) compatibility level", learn.microsoft.com).
pub const LEVELS: [u16; 8] = [100, 110, 120, 130, 140, 150, 160, 170];

/// The `validate` step's `[steps.config]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SQL label of the source SQL Server (only read).
    #[schemars(length(min = 1))]
    pub source: String,
    /// SQL label of the target Managed Instance (read; written only by `checkdb`,
    /// `compatibility_level` other than "keep" and `update_statistics`).
    #[schemars(length(min = 1))]
    pub target: String,
    /// The database's name on the target; `{db}` is the source name.
    #[schemars(length(min = 1))]
    pub target_name: String,
    /// Compare database properties (sys.databases).
    pub properties: bool,
    /// Compare the object inventory: counts by type, module text hashes, indexes, constraints.
    pub objects: bool,
    /// Compare database principals, role members and permissions; find orphaned users.
    pub security: bool,
    /// Compare the data: row counts, then hashed key ranges as `depth` says.
    pub data: bool,
    /// How far the data comparison goes.
    pub depth: Depth,
    /// With `depth = "sampled"`: how many key ranges per table are hashed.
    #[schemars(range(min = 1, max = 10000))]
    pub sample_ranges: u32,
    /// Rows in a leaf range: a differing range is bisected until it holds at most this many
    /// rows, whose (key, row hash) pairs are then read and compared. Each differing row costs
    /// about two leaves' rows plus three per halving, so small leaves move fewest rows: at 64,
    /// a table with 0.01 % of its rows changed moves over 150 times fewer rows than comparing
    /// every row (256 would be under 40 times); smaller still adds round trips.
    #[schemars(range(min = 1, max = 4096))]
    pub range_rows: u32,
    /// Differing rows listed (by key) per table; the count is always exact up to the point
    /// the listing stops.
    #[schemars(range(min = 1, max = 100000))]
    pub max_listed_rows: u32,
    /// Tables left out of the data comparison (`schema.table`, `*` and `?` wildcards,
    /// case-insensitive).
    pub exclude_tables: Vec<String>,
    /// Logins left out of the instance comparison (`*` and `?` wildcards, case-insensitive):
    /// the Managed Instance's admin login, made with the instance, is only on the target.
    pub exclude_logins: Vec<String>,
    /// Queries a step call makes in the data comparison before it hands back (the state
    /// journals where it is, so a big table spreads over several calls).
    #[schemars(range(min = 1, max = 100000))]
    pub queries_per_call: u32,
    /// Seconds a step call spends on the data comparison before it hands back (keep it well
    /// under the step's `limits.timeout_seconds`, 60 by default): the next call carries on.
    #[schemars(range(min = 1, max = 3000))]
    pub seconds_per_call: u32,
    /// With `depth = "full"`: a table is first cut into ranges of this many rows (boundary keys
    /// read on the source), so no single hash query reads more of a big table.
    #[schemars(range(min = 1000, max = 100000000))]
    pub top_range_rows: u64,
    /// DBCC CHECKDB on the target.
    pub checkdb: Checkdb,
    /// The target's compatibility level: kept (checked), raised, or set to a level.
    pub compatibility_level: CompatibilityLevel,
    /// Statistics update on the target.
    pub update_statistics: UpdateStatistics,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: "source".into(),
            target: "target".into(),
            target_name: "{db}".into(),
            properties: true,
            objects: true,
            security: true,
            data: true,
            depth: Depth::Sampled,
            sample_ranges: 8,
            range_rows: 64,
            max_listed_rows: 100,
            exclude_tables: Vec::new(),
            exclude_logins: Vec::new(),
            queries_per_call: 200,
            seconds_per_call: 20,
            top_range_rows: 1_000_000,
            checkdb: Checkdb::Off,
            compatibility_level: CompatibilityLevel::Mode(CompatibilityMode::Keep),
            update_statistics: UpdateStatistics::Off,
        }
    }
}

impl Config {
    /// Checks beyond the schema: every number in its range, every name non-empty.
    pub fn validate(&self) -> Result<Vec<Warning>> {
        for (key, v) in [
            ("source", &self.source),
            ("target", &self.target),
            ("target_name", &self.target_name),
        ] {
            if v.trim().is_empty() {
                return Err(Error::invalid_config(Some(key), "must not be empty"));
            }
        }
        for (key, v, max) in [
            ("sample_ranges", self.sample_ranges, 10_000),
            ("range_rows", self.range_rows, 4096),
            ("max_listed_rows", self.max_listed_rows, 100_000),
            ("queries_per_call", self.queries_per_call, 100_000),
            ("seconds_per_call", self.seconds_per_call, 3000),
        ] {
            if v == 0 || v > max {
                return Err(Error::invalid_config(
                    Some(key),
                    format!("{v} is outside 1..={max}"),
                ));
            }
        }
        if !(1000..=100_000_000).contains(&self.top_range_rows) {
            return Err(Error::invalid_config(
                Some("top_range_rows"),
                format!("{} is outside 1000..=100000000", self.top_range_rows),
            ));
        }
        if let CompatibilityLevel::Level(n) = self.compatibility_level
            && !LEVELS.contains(&n)
        {
            return Err(Error::invalid_config(
                Some("compatibility_level"),
                format!(
                    "{n} is not a compatibility level; use \"keep\", \"raise\" or one of {}",
                    LEVELS.map(|l| l.to_string()).join(", ")
                ),
            ));
        }
        for (key, list) in [
            ("exclude_tables", &self.exclude_tables),
            ("exclude_logins", &self.exclude_logins),
        ] {
            if let Some(p) = list.iter().find(|p| p.trim().is_empty()) {
                return Err(Error::invalid_config(
                    Some(key),
                    format!("an empty pattern ({p:?}) matches nothing; remove it"),
                ));
            }
        }
        let mut warnings = Vec::new();
        if !self.data && self.depth != Depth::Counts {
            warnings.push(Warning {
                key: Some("depth".into()),
                message: "`data = false`: `depth` has no effect".into(),
            });
        }
        Ok(warnings)
    }

    /// The target database's name for source database `db`.
    pub fn target_db(&self, db: &str) -> String {
        self.target_name.replace("{db}", db)
    }

    /// Whether the table `schema.table` is left out of the data comparison.
    pub fn excluded(&self, schema: &str, table: &str) -> bool {
        matches_any(&self.exclude_tables, &format!("{schema}.{table}"))
    }

    /// Whether the login `name` is left out of the instance comparison.
    pub fn login_excluded(&self, name: &str) -> bool {
        matches_any(&self.exclude_logins, name)
    }
}

/// Whether a pattern matches `name`, case-insensitively as SQL Server's default collations
/// compare names.
fn matches_any(patterns: &[String], name: &str) -> bool {
    let name = name.to_lowercase();
    patterns
        .iter()
        .any(|p| wildmatch::WildMatch::new(&p.to_lowercase()).matches(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> std::result::Result<Config, String> {
        serde_json::from_value::<Config>(v).map_err(|e| e.to_string())
    }

    #[test]
    fn the_schema_states_the_defaults_the_plugin_uses() {
        let (stated, real) = ferry_sdk::stated_and_real_defaults::<Config>().unwrap();
        assert_eq!(stated, real);
    }

    #[test]
    fn compatibility_level_is_a_mode_or_a_known_level() {
        let c = parse(serde_json::json!({"compatibility_level": "raise"})).unwrap();
        assert_eq!(
            c.compatibility_level,
            CompatibilityLevel::Mode(CompatibilityMode::Raise)
        );
        let c = parse(serde_json::json!({"compatibility_level": 150})).unwrap();
        assert!(c.validate().is_ok());
        let c = parse(serde_json::json!({"compatibility_level": 155})).unwrap();
        let e = c.validate().unwrap_err().describe();
        assert!(
            e.contains("compatibility_level") && e.contains("155"),
            "{e}"
        );
        assert!(parse(serde_json::json!({"compatibility_level": "lower"})).is_err());
    }

    #[test]
    fn unknown_keys_and_bad_numbers_are_refused_by_name() {
        assert!(parse(serde_json::json!({"depht": "full"})).is_err());
        assert!(parse(serde_json::json!({"checkdb": "repair"})).is_err());
        let c = parse(serde_json::json!({"range_rows": 0})).unwrap();
        assert!(c.validate().unwrap_err().describe().contains("range_rows"));
        let c = parse(serde_json::json!({"exclude_tables": [" "]})).unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .describe()
                .contains("exclude_tables")
        );
    }

    #[test]
    fn exclusions_match_schema_dot_table_case_insensitively() {
        let c = parse(serde_json::json!({"exclude_tables": ["dbo.Audit*", "stage.*"]})).unwrap();
        assert!(c.excluded("dbo", "auditlog"));
        assert!(c.excluded("Stage", "x"));
        assert!(!c.excluded("dbo", "Orders"));
        assert_eq!(c.target_db("Sales"), "Sales");
    }
}
