//! What the subcommands share: one way to print an error and choose the exit code, to start the
//! plugin runtime, to load and check a migration, and to open a run's journal.

use std::path::Path;

use serde_json::json;

use super::{Exit, Global};
use crate::config::InputError;
use crate::journal::SqliteJournal;
use crate::pipeline;
use crate::pipeline::run::{default_state_dir, journal_path};
use crate::runtime::cache::ComponentCache;
use crate::runtime::{Runtime, RuntimeOptions};

pub(super) fn error(g: &Global, code: Exit, message: &str) -> Exit {
    if g.json {
        outln!("{}", json!({ "error": message, "exit_code": code as i32 }));
    } else {
        errln!("error: {message}");
    }
    code
}

pub(super) fn input_error(g: &Global, e: &InputError) -> Exit {
    let code = if e.refused {
        Exit::Refused
    } else {
        Exit::InvalidInput
    };
    error(g, code, &e.to_string())
}

pub(super) fn cache_dir(g: &Global) -> Option<std::path::PathBuf> {
    if g.no_cache {
        None
    } else {
        g.cache_dir.clone().or_else(ComponentCache::default_dir)
    }
}

pub(super) fn runtime(g: &Global) -> Result<Runtime, Exit> {
    Runtime::new(RuntimeOptions {
        cache_dir: cache_dir(g),
        fuel: false,
    })
    .map_err(|e| {
        error(
            g,
            Exit::Internal,
            &format!("cannot start the plugin runtime: {e:#}"),
        )
    })
}

/// Loads a migration and checks it as `ferry check` does; problems are printed and become the
/// exit code.
pub(super) async fn load_checked(
    g: &Global,
    migration: &Path,
    environment: Option<&Path>,
    dev: bool,
) -> Result<pipeline::Loaded, Exit> {
    let loaded = match pipeline::load(migration, environment, cache_dir(g), dev).await {
        Ok(l) => l,
        Err(e) => return Err(input_error(g, &e)),
    };
    let report = pipeline::check(&loaded).await;
    if !report.problems.is_empty() {
        for p in &report.problems[1..] {
            if !g.json {
                errln!("error: {p}");
            }
        }
        return Err(input_error(g, &report.problems[0]));
    }
    if !g.json {
        for w in &report.warnings {
            errln!("warning: {w}");
        }
    }
    Ok(loaded)
}

/// The journal of a migration's state directory; an error says to run `ferry apply` first
/// when there is none.
pub(super) fn open_journal(
    g: &Global,
    migration: &Path,
    state_dir: Option<&Path>,
) -> Result<SqliteJournal, Exit> {
    let state_dir = state_dir
        .map(Path::to_owned)
        .unwrap_or_else(|| default_state_dir(migration));
    let path = journal_path(&state_dir);
    if !path.is_file() {
        return Err(error(
            g,
            Exit::InvalidInput,
            &format!(
                "no journal at {}: `ferry apply {}` has not run here yet (or pass --state-dir)",
                path.display(),
                migration.display()
            ),
        ));
    }
    SqliteJournal::open(&path).map_err(|e| error(g, Exit::Internal, &format!("{e:#}")))
}
