//! `migration.toml`: what a migration does. Plugins, steps with their config and grants,
//! databases in waves, limits. It holds no secrets and no server addresses, so it can be
//! reviewed and committed; `environment.toml` says where each label points.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::limits::{
    MAX_CONCURRENCY, MAX_GRANTS, MAX_MIGRATION_FILE_BYTES, MAX_PLUGINS, MAX_RETRIES, MAX_STEPS,
};
use super::names::{name_problem, quoted};
use super::waves::{DatabaseList, Wave, WaveEntry, waves};
use super::{InputError, Lines, read_toml};
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
    /// A component file, pinned by its sha256 (hex). The path is absolute: a relative `path`
    /// is resolved against the migration's directory, which it may not leave.
    File { path: PathBuf, sha256: String },
    /// A development build (`dev = true`): a component file loaded by path without a pin, only
    /// when the command is given `--dev`. A rebuild between two `ferry apply --dev` restarts
    /// the plugin's unfinished work items instead of refusing the resume.
    Dev { path: PathBuf },
}

/// One step: a plugin run once per database (or once for the instance), with its config and
/// grants.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub plugin: String,
    pub scope: Scope,
    /// The `config` table, as JSON (what the plugin receives).
    pub config: serde_json::Value,
    pub grants: Grants,
    pub limits: StepLimits,
    /// The line of the step's `name`, for messages.
    pub line: usize,
}

/// What a step runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Once per database of the migration (the default): the work item is the database.
    Database,
    /// Once per run, for the source instance as a whole (logins, jobs, certificates): the work
    /// item is [`INSTANCE_ITEM`]. Instance steps listed before every database step run before
    /// the first wave; those listed after, once the last wave has finished.
    Instance,
}

/// The work item of an instance step, as status, reports and plugins (`item()`) name it. The
/// parentheses keep it apart from database names in a listing; instance items run in waves of
/// their own, so a database of the same name would still be a separate item.
pub const INSTANCE_ITEM: &str = "(instance)";

/// What a step may use, by label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub sql: Vec<Grant>,
    pub storage: Vec<Grant>,
    pub azure: Vec<Grant>,
    pub secrets: Vec<Grant>,
    pub scratch: bool,
    /// May write reviewable `.sql` files (the `scripts` interface) into the state directory.
    /// They hold the sealed values the step passes in clear, so the grant is explicit.
    pub scripts: bool,
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
    databases: Option<DatabaseList>,
    #[serde(default)]
    limits: LimitsEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: Spanned<String>,
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
    #[serde(default)]
    dev: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepEntry {
    name: Spanned<String>,
    plugin: Spanned<String>,
    #[serde(default)]
    scope: Option<Spanned<String>>,
    #[serde(default)]
    config: Option<toml::Table>,
    /// Config keys whose value lives in a file of its own (`entra = "entra-map.toml"`),
    /// relative to the migration file: a mapping a team reviews and commits apart.
    #[serde(default)]
    config_files: BTreeMap<String, Spanned<String>>,
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
    #[serde(default)]
    scripts: bool,
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
/// A step's config file (a Windows → Entra mapping for thousands of principals is ~100 KiB).
const MAX_CONFIG_FILE_BYTES: u64 = 4 << 20;

impl Migration {
    /// Reads and checks a migration file. Plugin needs are checked later, against the plugins.
    pub fn load(path: &Path) -> Result<Migration, InputError> {
        let (file, text): (File, String) = read_toml(path, MAX_MIGRATION_FILE_BYTES)?;
        let lines = Lines::new(&text);
        let err = |line: Option<usize>, msg: String| InputError::new(path, line, msg);
        let line_of_key = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map(|i| i + 1)
        };

        let name_line = lines.of(file.migration.name.span().start);
        let name = file.migration.name.into_inner();
        if let Some(p) = name_problem(&name) {
            return Err(err(
                Some(name_line),
                format!("migration name {} {p}", quoted(&name)),
            ));
        }

        if file.plugins.len() > MAX_PLUGINS {
            return Err(err(
                None,
                format!(
                    "{} [plugins.…] tables; a migration names at most {MAX_PLUGINS} (see \
                     \"Limits\" in the README)",
                    file.plugins.len()
                ),
            ));
        }
        let base = migration_dir(path);
        let mut plugins = BTreeMap::new();
        for (name, entry) in file.plugins {
            let line = line_of_key(&format!("[plugins.{name}]"));
            let source = plugin_source(&base, &name, entry).map_err(|m| err(line, m))?;
            plugins.insert(name, source);
        }

        if let Some(extra) = file.steps.get(MAX_STEPS) {
            return Err(err(
                Some(lines.of(extra.name.span().start)),
                format!(
                    "more than {MAX_STEPS} [[steps]], the most a migration has (see \"Limits\" \
                     in the README)"
                ),
            ));
        }
        let mut steps = Vec::new();
        let mut names = BTreeSet::new();
        for s in file.steps {
            let line = lines.of(s.name.span().start);
            let name = s.name.into_inner();
            if let Some(p) = name_problem(&name) {
                return Err(err(Some(line), format!("step name {} {p}", quoted(&name))));
            }
            if !names.insert(name.clone()) {
                return Err(err(
                    Some(line),
                    format!("step name `{name}` is used twice; step names must be unique"),
                ));
            }
            let plugin_line = lines.of(s.plugin.span().start);
            let plugin = s.plugin.into_inner();
            if !plugins.contains_key(&plugin) {
                let known: Vec<_> = plugins.keys().cloned().collect();
                return Err(err(
                    Some(plugin_line),
                    format!(
                        "step `{name}` uses plugin {}, which no [plugins.…] table defines \
                         (defined: {})",
                        quoted(&plugin),
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
            let scope = match s.scope.map(|v| (lines.of(v.span().start), v.into_inner())) {
                None => Scope::Database,
                Some((_, v)) if v == "database" => Scope::Database,
                Some((_, v)) if v == "instance" => Scope::Instance,
                Some((l, v)) => {
                    return Err(err(
                        Some(l),
                        format!(
                            "step `{name}`: scope {} is not one ferry knows; use \"database\" (once \
                             per database, the default) or \"instance\" (once for the source instance)",
                            quoted(&v)
                        ),
                    ));
                }
            };
            let grants = parse_grants(&lines, s.grants)
                .map_err(|(line, m)| err(Some(line), format!("step `{name}`: {m}")))?;
            let limits = step_limits(s.limits)
                .map_err(|m| err(Some(line), format!("step `{name}`: {m}")))?;
            let mut table = s.config.unwrap_or_default();
            for (key, file) in s.config_files {
                let file_line = lines.of(file.span().start);
                if table.contains_key(&key) {
                    return Err(err(
                        Some(file_line),
                        format!(
                            "step `{name}`: `{key}` is in both [steps.config] and \
                             [steps.config_files]; keep one"
                        ),
                    ));
                }
                let at = path
                    .parent()
                    .unwrap_or_else(|| Path::new("."))
                    .join(file.get_ref());
                let (value, _): (toml::Table, String) = read_toml(&at, MAX_CONFIG_FILE_BYTES)?;
                table.insert(key, toml::Value::Table(value));
            }
            let config = serde_json::to_value(table).map_err(|e| {
                err(
                    Some(line),
                    format!("step `{name}`: config cannot be represented as JSON: {e}"),
                )
            })?;
            steps.push(Step {
                name,
                plugin,
                scope,
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

        instance_steps_at_the_ends(&steps).map_err(|(l, m)| err(Some(l), m))?;
        let waves = waves(&lines, file.databases, file.waves).map_err(|(l, m)| err(l, m))?;

        let concurrency = file.limits.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 || concurrency > MAX_CONCURRENCY {
            return Err(err(
                line_of_key("concurrency"),
                format!("limits.concurrency must be between 1 and {MAX_CONCURRENCY}"),
            ));
        }
        Ok(Migration {
            path: path.to_owned(),
            name,
            plugins,
            steps,
            waves,
            limits: Limits { concurrency },
        })
    }

    /// Whether instance steps run before the first wave.
    pub fn instance_first(&self) -> bool {
        self.steps
            .first()
            .is_some_and(|s| s.scope == Scope::Instance)
    }

    /// Whether instance steps run after the last wave.
    pub fn instance_last(&self) -> bool {
        self.steps
            .last()
            .is_some_and(|s| s.scope == Scope::Instance)
            && self.steps.iter().any(|s| s.scope == Scope::Database)
    }

    /// The journal's wave number of database wave `index`: instance steps run first take wave
    /// 0, so the databases' waves come after it. A migration without them numbers its waves as
    /// earlier ferry versions did, so their journals read the same.
    pub fn stored_wave(&self, index: usize) -> u32 {
        index as u32 + u32::from(self.instance_first())
    }

    /// The wave after every database wave, for instance steps run last.
    pub fn last_stored_wave(&self) -> u32 {
        self.stored_wave(self.waves.len())
    }

    /// What a journal wave number is called: a wave's name, or where the instance steps run.
    pub fn wave_name(&self, stored: u32) -> String {
        let first = u32::from(self.instance_first());
        if first == 1 && stored == 0 {
            return "instance (first)".into();
        }
        match self.waves.get((stored - first) as usize) {
            Some(w) => w.name.clone(),
            None if self.instance_last() && stored == self.last_stored_wave() => {
                "instance (last)".into()
            }
            None => stored.to_string(),
        }
    }

    /// Every database, in wave order.
    pub fn databases(&self) -> impl Iterator<Item = (&Wave, &String)> {
        self.waves
            .iter()
            .flat_map(|w| w.databases.iter().map(move |d| (w, d)))
    }
}

/// The migration's directory, absolute, so that plugin paths and messages say where a file
/// is wherever ferry was started.
/// Instance steps run before the first wave or after the last one, so they must stand before
/// every database step or after every one: the line of one between database steps, and why.
fn instance_steps_at_the_ends(steps: &[Step]) -> Result<(), (usize, String)> {
    let database = |s: &&Step| s.scope == Scope::Database;
    let (Some(first), Some(last)) = (
        steps.iter().position(|s| database(&s)),
        steps.iter().rposition(|s| database(&s)),
    ) else {
        return Ok(());
    };
    match steps[first..last]
        .iter()
        .find(|s| s.scope == Scope::Instance)
    {
        Some(s) => Err((
            s.line,
            format!(
                "step `{}` runs once for the instance (scope = \"instance\") but stands between \
                 the database steps `{}` and `{}`; put instance steps before every database step \
                 (they run before the first wave) or after every one (they run after the last)",
                s.name, steps[first].name, steps[last].name
            ),
        )),
        None => Ok(()),
    }
}

fn migration_dir(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_owned())
}

fn plugin_source(base: &Path, name: &str, entry: PluginEntry) -> Result<PluginSource, String> {
    if let Some(p) = name_problem(name) {
        return Err(format!("plugin name {} {p}", quoted(name)));
    }
    match (entry.bundled, entry.path, entry.sha256, entry.dev) {
        (Some(b), None, None, false) => Ok(PluginSource::Bundled(b)),
        (None, Some(p), Some(sha), false) => {
            let sha = sha.to_ascii_lowercase();
            if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "plugin `{name}`: sha256 must be 64 hex digits (run `sha256sum` on the file)"
                ));
            }
            let path = plugin_path(base, &p).map_err(|m| format!("plugin `{name}`: {m}"))?;
            Ok(PluginSource::File { path, sha256: sha })
        }
        (None, Some(p), None, true) => {
            let path = plugin_path(base, &p).map_err(|m| format!("plugin `{name}`: {m}"))?;
            Ok(PluginSource::Dev { path })
        }
        (None, Some(_), Some(_), true) => Err(format!(
            "plugin `{name}`: `dev = true` loads a build without a pin, so it takes no `sha256`; \
             keep one of them (the pin, to run exactly that file)"
        )),
        (_, _, _, true) => Err(format!(
            "plugin `{name}`: `dev = true` is for a plugin you are building: give its `path`"
        )),
        (None, Some(_), None, false) => Err(format!(
            "plugin `{name}`: a plugin loaded from a path needs `sha256 = \"…\"` to pin exactly \
             which file runs (or, while you develop it, `dev = true` and `ferry apply --dev`)"
        )),
        _ => Err(format!(
            "plugin `{name}`: give either `bundled = \"NAME\"` or `path` with `sha256`"
        )),
    }
}

/// Where a plugin's `path` points. An absolute path is taken as written. A relative one is
/// resolved against the migration's directory and may not climb out of it with `..`: a
/// reviewed migration directory then holds every plugin it runs by a relative name, and one
/// outside it is named in full, where a reviewer sees it. (Symbolic links are followed; the
/// sha256 pins the bytes either way.)
fn plugin_path(base: &Path, path: &Path) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    let mut resolved = base.to_owned();
    let mut depth = 0usize;
    for part in path.components() {
        match part {
            Component::Normal(p) => {
                depth += 1;
                resolved.push(p);
            }
            Component::ParentDir if depth > 0 => {
                depth -= 1;
                resolved.pop();
            }
            Component::ParentDir => {
                return Err(format!(
                    "`path = \"{}\"` leaves the migration's directory {} (it would resolve \
                     outside it, to {}); a relative path stays inside that directory, so move \
                     the file there or give its absolute path",
                    path.display(),
                    base.display(),
                    base.join(path).display()
                ));
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(resolved)
}

fn parse_grants(lines: &Lines, g: GrantsEntry) -> Result<Grants, (usize, String)> {
    let parse = |kind: Kind, list: Vec<Spanned<String>>| -> Result<Vec<Grant>, (usize, String)> {
        if let Some(extra) = list.get(MAX_GRANTS) {
            return Err((
                lines.of(extra.span().start),
                format!(
                    "more than {MAX_GRANTS} labels in {}, the most one step is granted (see \
                     \"Limits\" in the README)",
                    kind.grant_key()
                ),
            ));
        }
        let mut out: Vec<Grant> = Vec::new();
        for item in list {
            let line = lines.of(item.span().start);
            let raw = item.into_inner();
            let (label, access) = match raw.rsplit_once(':') {
                Some((l, a)) => (
                    l.to_owned(),
                    Access::parse(a).ok_or_else(|| {
                        (
                            line,
                            format!(
                                "grant {}: unknown access {}; use `read`, `write`{}",
                                quoted(&raw),
                                quoted(a),
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
                    format!("grant {}: `reveal` applies to secrets only", quoted(&raw)),
                ));
            }
            if label.is_empty() {
                return Err((line, format!("grant {} has no label", quoted(&raw))));
            }
            if let Some(p) = name_problem(&label) {
                return Err((line, format!("grant label {} {p}", quoted(&label))));
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
        scripts: g.scripts,
    })
}

fn step_limits(l: StepLimitsEntry) -> Result<StepLimits, String> {
    let timeout_ms = match l.timeout_seconds {
        None => DEFAULT_TIMEOUT_MS,
        Some(s) if (0.001..=3600.0).contains(&s) => (s * 1000.0) as u64,
        Some(_) => {
            return Err("limits.timeout_seconds must be at least 0.001 and at most 3600".into());
        }
    };
    let memory_mb = l.memory_mb.unwrap_or(DEFAULT_MEMORY_MB);
    if !(16..=4096).contains(&memory_mb) {
        return Err("limits.memory_mb must be between 16 and 4096".into());
    }
    if l.fuel == Some(0) {
        return Err("limits.fuel must be positive (leave it out for no fuel limit)".into());
    }
    if l.retries.is_some_and(|r| r > MAX_RETRIES) {
        return Err(format!("limits.retries must be at most {MAX_RETRIES}"));
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
