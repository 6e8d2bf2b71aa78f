//! `migration.toml`: what a migration does. Plugins, steps with their config and grants,
//! databases in waves, limits. It holds no secrets and no server addresses, so it can be
//! reviewed and committed; `environment.toml` says where each label points.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{InputError, line_of, read_toml};
use crate::capability::{Access, Kind};

/// A parsed, checked `migration.toml`.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Plugins by the name steps use.
    pub plugins: BTreeMap<String, PluginSource>,
    /// Steps, in the order each database goes through them.
    pub steps: Vec<Step>,
    /// Databases in waves; a wave starts when the one before it has finished.
    pub waves: Vec<Wave>,
    /// Run-wide limits.
    pub limits: Limits,
}

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PluginSource {
    /// One of the plugins built into the `ferry` binary.
    Bundled(String),
    /// A component file, pinned by its sha256 (hex).
    File { path: PathBuf, sha256: String },
}

/// One step: a plugin run once per database, with its config and grants.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub plugin: String,
    /// The `config` table, as JSON (what the plugin receives).
    pub config: serde_json::Value,
    pub grants: Grants,
    pub limits: StepLimits,
    /// The line of the step's `name`, for messages.
    pub line: usize,
}

/// A group of databases migrated together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub name: String,
    pub databases: Vec<String>,
}

/// What a step may use, by label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub sql: Vec<Grant>,
    pub storage: Vec<Grant>,
    pub azure: Vec<Grant>,
    pub secrets: Vec<Grant>,
    pub scratch: bool,
}

/// One granted label with its access.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grant {
    pub label: String,
    pub access: Access,
    /// The line the grant is on, for messages.
    pub line: usize,
}

impl Grants {
    /// The grants of one capability kind.
    pub fn of(&self, kind: Kind) -> &[Grant] {
        match kind {
            Kind::Sql => &self.sql,
            Kind::Storage => &self.storage,
            Kind::Azure => &self.azure,
            Kind::Secret => &self.secrets,
            Kind::Scratch => &[],
        }
    }
}

/// Limits on every call of a step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StepLimits {
    /// Hard wall-clock limit for one step call. Long work belongs in host operations.
    pub timeout_ms: u64,
    /// Linear memory limit.
    pub memory_bytes: usize,
    /// Fuel per call (deterministic instruction budget), if set.
    pub fuel: Option<u64>,
    /// At most this many retries of a transient failure in a row, if set; the retry window
    /// bounds them otherwise.
    pub retries: Option<u32>,
    /// How long transient failures in a row are retried, with backoff, before the item is
    /// deferred to the next `ferry apply` (it is never failed for a transient reason).
    pub retry_window_ms: u64,
}

/// Run-wide limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Databases in flight at once.
    pub concurrency: usize,
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    migration: Header,
    #[serde(default)]
    plugins: BTreeMap<String, PluginEntry>,
    #[serde(default)]
    steps: Vec<StepEntry>,
    #[serde(default)]
    waves: Vec<WaveEntry>,
    #[serde(default)]
    databases: Option<Vec<String>>,
    #[serde(default)]
    limits: LimitsEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginEntry {
    bundled: Option<String>,
    path: Option<PathBuf>,
    sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepEntry {
    name: Spanned<String>,
    plugin: Spanned<String>,
    #[serde(default)]
    config: Option<toml::Table>,
    #[serde(default)]
    grants: GrantsEntry,
    #[serde(default)]
    limits: StepLimitsEntry,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GrantsEntry {
    #[serde(default)]
    sql: Vec<Spanned<String>>,
    #[serde(default)]
    storage: Vec<Spanned<String>>,
    #[serde(default)]
    azure: Vec<Spanned<String>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    #[serde(default)]
    scratch: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StepLimitsEntry {
    timeout_seconds: Option<f64>,
    memory_mb: Option<u64>,
    fuel: Option<u64>,
    retries: Option<u32>,
    retry_window_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaveEntry {
    name: String,
    databases: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsEntry {
    concurrency: Option<usize>,
}

/// 60 s: a step call does a bounded piece of work; anything longer (a RESTORE) runs as a host
/// operation the step waits on, so a long deadline would only delay noticing a stuck plugin.
const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// 256 MiB: the bundled plugins use a few MiB; the cap stops a runaway plugin long before it
/// hurts a 24 GB machine running 16 of them.
const DEFAULT_MEMORY_MB: u64 = 256;
/// 5 minutes of retries with backoff (1 s doubling to 60 s): a server restart, a failover or a
/// throttled API recovers within it; an outage that lasts longer defers the item to the next
/// `ferry apply` instead of failing it.
const DEFAULT_RETRY_WINDOW_SECONDS: u64 = 300;
const DEFAULT_CONCURRENCY: usize = 4;

impl Migration {
    /// Reads and checks a migration file. Plugin needs are checked later, against the plugins.
    pub fn load(path: &Path) -> Result<Migration, InputError> {
        let (file, text): (File, String) = read_toml(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let err = |line: Option<usize>, msg: String| InputError::new(path, line, msg);
        let line_of_key = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map(|i| i + 1)
        };

        let mut plugins = BTreeMap::new();
        for (name, entry) in file.plugins {
            let line = line_of_key(&format!("[plugins.{name}]"));
            let source = match (entry.bundled, entry.path, entry.sha256) {
                (Some(b), None, None) => PluginSource::Bundled(b),
                (None, Some(p), Some(sha)) => {
                    let sha = sha.to_ascii_lowercase();
                    if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(err(
                            line,
                            format!(
                                "plugin `{name}`: sha256 must be 64 hex digits (run `sha256sum` on the file)"
                            ),
                        ));
                    }
                    PluginSource::File {
                        path: base.join(p),
                        sha256: sha,
                    }
                }
                (None, Some(_), None) => {
                    return Err(err(
                        line,
                        format!(
                            "plugin `{name}`: a plugin loaded from a path needs `sha256 = \"…\"` to pin exactly which file runs"
                        ),
                    ));
                }
                _ => {
                    return Err(err(
                        line,
                        format!(
                            "plugin `{name}`: give either `bundled = \"NAME\"` or `path` with `sha256`"
                        ),
                    ));
                }
            };
            plugins.insert(name, source);
        }

        let mut steps = Vec::new();
        let mut names = BTreeSet::new();
        for s in file.steps {
            let line = line_of(&text, s.name.span().start);
            let name = s.name.into_inner();
            if !names.insert(name.clone()) {
                return Err(err(
                    Some(line),
                    format!("step name `{name}` is used twice; step names must be unique"),
                ));
            }
            let plugin_line = line_of(&text, s.plugin.span().start);
            let plugin = s.plugin.into_inner();
            if !plugins.contains_key(&plugin) {
                let known: Vec<_> = plugins.keys().cloned().collect();
                return Err(err(
                    Some(plugin_line),
                    format!(
                        "step `{name}` uses plugin `{plugin}`, which no [plugins.{plugin}] table defines (defined: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
            let grants = parse_grants(&text, s.grants)
                .map_err(|(line, m)| err(Some(line), format!("step `{name}`: {m}")))?;
            let limits = step_limits(s.limits)
                .map_err(|m| err(Some(line), format!("step `{name}`: {m}")))?;
            let config = match s.config {
                Some(t) => serde_json::to_value(t).map_err(|e| {
                    err(
                        Some(line),
                        format!("step `{name}`: config cannot be represented as JSON: {e}"),
                    )
                })?,
                None => serde_json::Value::Object(Default::default()),
            };
            steps.push(Step {
                name,
                plugin,
                config,
                grants,
                limits,
                line,
            });
        }
        if steps.is_empty() {
            return Err(err(
                None,
                "no steps: add at least one [[steps]] table".into(),
            ));
        }

        let waves = match (file.waves.is_empty(), file.databases) {
            (true, Some(dbs)) => vec![Wave {
                name: "all".into(),
                databases: dbs,
            }],
            (false, None) => file
                .waves
                .into_iter()
                .map(|w| Wave {
                    name: w.name,
                    databases: w.databases,
                })
                .collect(),
            (true, None) => {
                return Err(err(
                    None,
                    "no databases: add `databases = [\"…\"]` or [[waves]] tables".into(),
                ));
            }
            (false, Some(_)) => {
                return Err(err(
                    line_of_key("databases"),
                    "give databases either at the top level or in [[waves]], not both".into(),
                ));
            }
        };
        let mut seen = BTreeSet::new();
        for w in &waves {
            for db in &w.databases {
                if db.trim().is_empty() {
                    return Err(err(
                        line_of_key("databases"),
                        format!("wave `{}` lists an empty database name", w.name),
                    ));
                }
                if !seen.insert(db.clone()) {
                    return Err(err(
                        None,
                        format!(
                            "database `{db}` is listed twice; each database belongs to one wave"
                        ),
                    ));
                }
            }
        }

        let concurrency = file.limits.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 || concurrency > 256 {
            return Err(err(
                line_of_key("concurrency"),
                "limits.concurrency must be between 1 and 256".into(),
            ));
        }
        Ok(Migration {
            path: path.to_owned(),
            name: file.migration.name,
            plugins,
            steps,
            waves,
            limits: Limits { concurrency },
        })
    }

    /// Every database, in wave order.
    pub fn databases(&self) -> impl Iterator<Item = (&Wave, &String)> {
        self.waves
            .iter()
            .flat_map(|w| w.databases.iter().map(move |d| (w, d)))
    }
}

fn parse_grants(text: &str, g: GrantsEntry) -> Result<Grants, (usize, String)> {
    let parse = |kind: Kind, list: Vec<Spanned<String>>| -> Result<Vec<Grant>, (usize, String)> {
        let mut out: Vec<Grant> = Vec::new();
        for item in list {
            let line = line_of(text, item.span().start);
            let raw = item.into_inner();
            let (label, access) = match raw.rsplit_once(':') {
                Some((l, a)) => (
                    l.to_owned(),
                    Access::parse(a).ok_or_else(|| {
                        (
                            line,
                            format!(
                                "grant `{raw}`: unknown access `{a}`; use `read`, `write`{}",
                                if kind == Kind::Secret {
                                    " or `reveal`"
                                } else {
                                    ""
                                }
                            ),
                        )
                    })?,
                ),
                None => (
                    raw.clone(),
                    if kind == Kind::Secret {
                        Access::Read
                    } else {
                        Access::Write
                    },
                ),
            };
            if access == Access::Reveal && kind != Kind::Secret {
                return Err((
                    line,
                    format!("grant `{raw}`: `reveal` applies to secrets only"),
                ));
            }
            if label.is_empty() {
                return Err((line, format!("grant `{raw}` has no label")));
            }
            if out.iter().any(|o| o.label == label) {
                return Err((
                    line,
                    format!("label `{label}` is granted twice in {}", kind.grant_key()),
                ));
            }
            out.push(Grant {
                label,
                access,
                line,
            });
        }
        Ok(out)
    };
    Ok(Grants {
        sql: parse(Kind::Sql, g.sql)?,
        storage: parse(Kind::Storage, g.storage)?,
        azure: parse(Kind::Azure, g.azure)?,
        secrets: parse(Kind::Secret, g.secrets)?,
        scratch: g.scratch,
    })
}

fn step_limits(l: StepLimitsEntry) -> Result<StepLimits, String> {
    let timeout_ms = match l.timeout_seconds {
        None => DEFAULT_TIMEOUT_MS,
        Some(s) if s > 0.0 && s <= 3600.0 => (s * 1000.0) as u64,
        Some(_) => {
            return Err("limits.timeout_seconds must be more than 0 and at most 3600".into());
        }
    };
    let memory_mb = l.memory_mb.unwrap_or(DEFAULT_MEMORY_MB);
    if !(16..=4096).contains(&memory_mb) {
        return Err("limits.memory_mb must be between 16 and 4096".into());
    }
    if l.fuel == Some(0) {
        return Err("limits.fuel must be positive (leave it out for no fuel limit)".into());
    }
    let window = l
        .retry_window_seconds
        .unwrap_or(DEFAULT_RETRY_WINDOW_SECONDS);
    if window > 86_400 {
        return Err("limits.retry_window_seconds must be at most 86400 (a day)".into());
    }
    Ok(StepLimits {
        timeout_ms,
        memory_bytes: (memory_mb as usize) << 20,
        fuel: l.fuel,
        retries: l.retries,
        retry_window_ms: window * 1000,
    })
}
