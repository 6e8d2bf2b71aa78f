//! Loading a migration: its two files and every plugin it names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Environment, InputError, Migration, PluginSource};
use crate::runtime::plugin::{LoadError, LoadedPlugin};
use crate::runtime::{Runtime, RuntimeOptions};

/// A migration with its environment and plugins, ready to check or run.
pub struct Loaded {
    pub migration: Migration,
    pub env: Environment,
    /// Whether environment.toml existed (a migration that needs no labels may have none).
    pub env_found: bool,
    pub plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    pub runtime: Arc<Runtime>,
}

/// The environment file to use: the one given, else `environment.toml` beside the migration.
pub fn environment_path(migration: &Path, given: Option<&Path>) -> PathBuf {
    match given {
        Some(p) => p.to_owned(),
        None => migration
            .parent()
            .unwrap_or(Path::new("."))
            .join("environment.toml"),
    }
}

/// Reads both files and loads every plugin. The first problem found is returned. A `dev = true`
/// plugin loads only with `dev` (`--dev`): a migration someone runs for real never runs an
/// unpinned build by accident.
pub async fn load(
    migration_path: &Path,
    env_path: Option<&Path>,
    cache_dir: Option<PathBuf>,
    dev: bool,
) -> Result<Loaded, InputError> {
    let migration = Migration::load(migration_path)?;
    let env_file = environment_path(migration_path, env_path);
    let (env, env_found) = if env_file.is_file() {
        (Environment::load(&env_file)?, true)
    } else if env_path.is_some() {
        return Err(InputError::new(&env_file, None, "file not found"));
    } else {
        (
            Environment {
                path: env_file,
                ..Default::default()
            },
            false,
        )
    };
    let fuel = migration.steps.iter().any(|s| s.limits.fuel.is_some());
    let runtime = Runtime::new(RuntimeOptions { cache_dir, fuel }).map_err(|e| {
        InputError::new(
            migration_path,
            None,
            format!("cannot start the plugin runtime: {e:#}"),
        )
    })?;
    let runtime = Arc::new(runtime);
    let mut plugins = BTreeMap::new();
    for (key, source) in &migration.plugins {
        let line = plugin_line(&migration, key);
        if let (PluginSource::Dev { path }, false) = (source, dev) {
            return Err(InputError::new(
                &migration.path,
                line,
                dev_refusal(key, path),
            ));
        }
        let plugin = load_plugin(&runtime, source).await.map_err(|e| {
            let message = format!("plugin `{key}`: {e}");
            if e.is_refusal() {
                InputError::refused(&migration.path, line, message)
            } else {
                InputError::new(&migration.path, line, message)
            }
        })?;
        plugins.insert(key.clone(), plugin);
    }
    Ok(Loaded {
        migration,
        env,
        env_found,
        plugins,
        runtime,
    })
}

fn plugin_line(m: &Migration, key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(&m.path).ok()?;
    text.lines()
        .position(|l| l.trim() == format!("[plugins.{key}]"))
        .map(|i| i + 1)
}

/// Loads one plugin from its source.
pub async fn load_plugin(
    runtime: &Runtime,
    source: &PluginSource,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    match source {
        PluginSource::Bundled(name) => {
            let bytes = crate::bundled::get(name).ok_or_else(|| LoadError::UnknownBundled {
                name: name.clone(),
                bundled: crate::bundled::names().join(", "),
            })?;
            runtime.load(&format!("bundled:{name}"), bytes, None).await
        }
        PluginSource::File { path, sha256 } => load_file(runtime, path, Some(sha256), "").await,
        PluginSource::Dev { path } => {
            load_file(runtime, path, None, " (build the plugin first)").await
        }
    }
}

/// A component file, checked against `pinned` when given; `hint` follows an unreadable file's
/// error.
async fn load_file(
    runtime: &Runtime,
    path: &Path,
    pinned: Option<&str>,
    hint: &str,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LoadError::Unreadable {
        origin: origin.clone(),
        reason: format!("{e}{hint}"),
    })?;
    runtime.load(&origin, &bytes, pinned).await
}

/// Why a `dev = true` plugin was not loaded, with the pin that would load it for real.
fn dev_refusal(key: &str, path: &Path) -> String {
    let pin = std::fs::read(path)
        .map(|bytes| {
            format!(
                ", or pin this build in its place: sha256 = \"{}\"",
                crate::runtime::plugin::sha256_hex(&bytes)
            )
        })
        .unwrap_or_default();
    format!(
        "plugin `{key}` is a development build (`dev = true`, loaded from {} without a sha256 \
         pin); run with --dev to use it while you develop it{pin}",
        path.display()
    )
}
