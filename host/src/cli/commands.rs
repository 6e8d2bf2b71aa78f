//! What each subcommand does. Errors are printed as one `error:` line naming the file, key and
//! fix; nothing here panics on bad input.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::common::{cache_dir, error, input_error, load_checked, open_journal, runtime};
use super::view;
use super::{ApplyArgs, Exit, Global, MigrationArgs, StatusArgs};
use crate::capability::{Access, Kind};
use crate::config::{InputError, PluginSource};
use crate::events::{LogLevel, RunEvent};
use crate::journal::{Journal, SqliteJournal};
use crate::pipeline::run::{default_state_dir, journal_path};
use crate::pipeline::{self, ApplyError, ApplyOptions};
use crate::plan::{PlanFile, PlanGate};
use crate::runtime::plugin::{LoadError, LoadedPlugin};

fn access_name(a: Access) -> &'static str {
    match a {
        Access::Read => "read",
        Access::Write => "write",
        Access::Reveal => "reveal",
    }
}

fn plugin_json(p: &LoadedPlugin) -> serde_json::Value {
    let needs: Vec<_> = p
        .info
        .needs
        .iter()
        .map(|n| json!({ "kind": Kind::from(n.kind), "label": n.label, "access": access_name(n.access.into()), "why": n.why }))
        .collect();
    json!({
        "name": p.info.name,
        "version": p.info.version,
        "summary": p.info.summary,
        "wit_version": p.wit_version,
        "sha256": p.sha256,
        "size": p.size,
        "origin": p.origin,
        "needs": needs,
        "config_schema": serde_json::from_str::<serde_json::Value>(&p.info.config_schema).unwrap_or(serde_json::Value::Null),
    })
}

fn needs_text(p: &LoadedPlugin) -> String {
    p.info
        .needs
        .iter()
        .map(|n| {
            let kind = Kind::from(n.kind);
            if kind == Kind::Scratch {
                "scratch".to_owned()
            } else {
                format!(
                    "{}:{}:{}",
                    kind.grant_key(),
                    n.label,
                    access_name(n.access.into())
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn plugins_list(g: &Global) -> Exit {
    let rt = match runtime(g) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut rows = Vec::new();
    for name in crate::bundled::names() {
        match pipeline::load::load_plugin(&rt, &PluginSource::Bundled(name.to_owned())).await {
            Ok(p) => rows.push(p),
            Err(e) => return error(g, Exit::Internal, &format!("bundled plugin {name}: {e}")),
        }
    }
    if g.json {
        outln!(
            "{}",
            serde_json::Value::Array(rows.iter().map(|p| plugin_json(p)).collect())
        );
    } else {
        outln!(
            "{:<16} {:<8} {:<5} {:<16} NEEDS",
            "NAME",
            "VERSION",
            "WIT",
            "SHA256"
        );
        for p in &rows {
            outln!(
                "{:<16} {:<8} {:<5} {:<16} {}",
                p.info.name,
                p.info.version,
                p.wit_version,
                &p.sha256[..16],
                needs_text(p)
            );
        }
    }
    Exit::Ok
}

pub(super) async fn plugins_describe(g: &Global, plugin: &str) -> Exit {
    let rt = match runtime(g) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let loaded = if crate::bundled::get(plugin).is_some() {
        pipeline::load::load_plugin(&rt, &PluginSource::Bundled(plugin.to_owned())).await
    } else if Path::new(plugin).is_file() {
        match std::fs::read(plugin) {
            Ok(bytes) => rt.load(plugin, &bytes, None).await,
            Err(e) => Err(LoadError::Unreadable {
                origin: plugin.to_owned(),
                reason: e.to_string(),
            }),
        }
    } else {
        return error(
            g,
            Exit::InvalidInput,
            &format!(
                "`{plugin}` is neither a bundled plugin ({}) nor a file",
                crate::bundled::names().join(", ")
            ),
        );
    };
    let p = match loaded {
        Ok(p) => p,
        Err(e) => {
            let code = if e.is_refusal() {
                Exit::Refused
            } else {
                Exit::InvalidInput
            };
            return error(g, code, &e.to_string());
        }
    };
    if g.json {
        outln!("{}", plugin_json(&p));
        return Exit::Ok;
    }
    outln!("{} {} — {}", p.info.name, p.info.version, p.info.summary);
    outln!("  from:        {}", p.origin);
    outln!("  WIT version: {}", p.wit_version);
    outln!("  sha256:      {}", p.sha256);
    outln!("  size:        {} bytes", p.size);
    outln!("  needs:");
    if p.info.needs.is_empty() {
        outln!("    nothing");
    }
    for n in &p.info.needs {
        let kind = Kind::from(n.kind);
        outln!(
            "    {:<8} {:<16} {:<7} {}",
            kind.grant_key(),
            n.label,
            access_name(n.access.into()),
            n.why
        );
    }
    let schema: serde_json::Value =
        serde_json::from_str(&p.info.config_schema).unwrap_or(serde_json::Value::Null);
    outln!("  config schema:");
    for line in serde_json::to_string_pretty(&schema)
        .unwrap_or_default()
        .lines()
    {
        outln!("    {line}");
    }
    Exit::Ok
}

pub(super) async fn check(g: &Global, args: &MigrationArgs) -> Exit {
    let loaded = match pipeline::load(
        &args.migration,
        args.environment.as_deref(),
        cache_dir(g),
        args.dev,
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return input_error(g, &e),
    };
    let report = pipeline::check(&loaded).await;
    if g.json {
        let list = |v: &[InputError]| {
            v.iter()
                .map(|e| json!({ "file": e.file, "line": e.line, "message": e.message }))
                .collect::<Vec<_>>()
        };
        outln!(
            "{}",
            json!({ "ok": report.problems.is_empty(), "problems": list(&report.problems), "warnings": list(&report.warnings) })
        );
    } else {
        for w in &report.warnings {
            errln!("warning: {w}");
        }
        for p in &report.problems {
            errln!("error: {p}");
        }
        if report.problems.is_empty() {
            let m = &loaded.migration;
            outln!(
                "{}: ok — {} step(s) × {} database(s) in {} wave(s); {} plugin(s)",
                args.migration.display(),
                m.steps.len(),
                m.databases().count(),
                m.waves.len(),
                loaded.plugins.len()
            );
            // Where each plugin resolved to, so a reviewer sees which file runs.
            for (key, p) in &loaded.plugins {
                outln!("  plugin `{key}`: {} (sha256 {})", p.origin, p.sha256);
            }
        }
    }
    if report.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::InvalidInput
    }
}

/// A reviewed plan's migration, loaded, with the gate that lets only its changes run; refused
/// if any input changed since the plan was made.
async fn load_plan(
    g: &Global,
    path: &Path,
    dev: bool,
) -> Result<(pipeline::Loaded, PlanGate), Exit> {
    let plan = PlanFile::read(path).map_err(|e| error(g, Exit::InvalidInput, &e))?;
    let loaded = load_checked(g, &plan.migration_file, Some(&plan.environment_file), dev).await?;
    let now = crate::pipeline::fingerprint::fingerprint(&loaded);
    let mut changed = crate::pipeline::fingerprint::changes(&plan.inputs, &now);
    // A plan is for exactly the bytes it was made with, a development build's too.
    changed.extend(
        crate::pipeline::fingerprint::rebuilt_dev_plugins(&plan.inputs, &now)
            .into_iter()
            .map(|key| format!("plugin `{key}` was rebuilt")),
    );
    if !changed.is_empty() {
        return Err(error(
            g,
            Exit::Refused,
            &format!(
                "{}: the migration's inputs changed since this plan was made: {}. Make a new \
                 plan with `ferry plan {}` and review it",
                path.display(),
                changed.join("; "),
                plan.migration_file.display()
            ),
        ));
    }
    let allowed = plan
        .items
        .iter()
        .flat_map(|i| {
            i.actions
                .iter()
                .map(|a| (i.step.clone(), i.item.clone(), a.clone()))
        })
        .collect();
    Ok((loaded, PlanGate::Enforce(Arc::new(allowed))))
}

pub(super) async fn apply(g: &Global, args: &ApplyArgs) -> Exit {
    let is_plan = args
        .files
        .migration
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let (loaded, gate) = if is_plan {
        match load_plan(g, &args.files.migration, args.files.dev).await {
            Ok(lg) => lg,
            Err(code) => return code,
        }
    } else {
        match load_checked(
            g,
            &args.files.migration,
            args.files.environment.as_deref(),
            args.files.dev,
        )
        .await
        {
            Ok(l) => (l, PlanGate::Off),
            Err(code) => return code,
        }
    };
    let migration_path = loaded.migration.path.clone();
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| default_state_dir(&migration_path));
    let opts = ApplyOptions {
        scripts_dir: state_dir.join("scripts"),
        state_dir: state_dir.clone(),
        fresh: args.fresh,
        log_level: if g.verbose > 0 {
            LogLevel::Debug
        } else {
            LogLevel::Info
        },
        gate,
        retry_failed: args.retry_failed,
    };
    let observer = view::for_output(g.json);
    let loaded_migration = loaded.migration.clone();
    let run = pipeline::apply(Arc::new(loaded), opts, observer.clone());
    let result = tokio::select! {
        r = run => r,
        _ = tokio::signal::ctrl_c() => {
            observer.finish();
            return error(g, Exit::Interrupted, &format!(
                "interrupted; the journal in {} is intact — run `ferry apply` again to resume", state_dir.display()
            ));
        }
    };
    observer.finish();
    let report = match &result {
        Ok(s) => write_report(&state_dir, &s.run, &loaded_migration),
        Err(_) => None,
    };
    if let Some(path) = &report
        && g.json
    {
        view::print_json(&RunEvent::Report {
            html: path.clone(),
            markdown: path.with_extension("md"),
            json: path.with_extension("json"),
        });
    }
    match result {
        Ok(s) => {
            if g.json {
                view::print_json(&RunEvent::Summary { summary: s.clone() });
            } else if s.already_finished {
                let again = if s.failed + s.skipped > 0 {
                    "`ferry apply --retry-failed` calls the failed items again; "
                } else {
                    ""
                };
                outln!(
                    "run {} had already finished: {} done, {} failed, {} skipped. Nothing to do; {again}`ferry apply --fresh` starts a new run.",
                    s.run,
                    s.done,
                    s.failed,
                    s.skipped
                );
            } else {
                outln!(
                    "run {}: {} done, {} failed, {} skipped{}{}",
                    s.run,
                    s.done,
                    s.failed,
                    s.skipped,
                    if s.deferred > 0 {
                        format!(
                            ", {} deferred after transient failures — run `ferry apply` again to retry them",
                            s.deferred
                        )
                    } else {
                        String::new()
                    },
                    if s.resumed { " (resumed)" } else { "" }
                );
                if let Some(path) = &report {
                    outln!(
                        "report: {} (also report.md and report.json beside it)",
                        path.display()
                    );
                }
                if s.failed + s.skipped > 0 {
                    outln!(
                        "see the report or `ferry status {}` for the reasons",
                        migration_path.display()
                    );
                }
            }
            if s.failed + s.skipped + s.deferred > 0 {
                Exit::ItemsFailed
            } else {
                Exit::Ok
            }
        }
        Err(e @ (ApplyError::InputsChanged { .. } | ApplyError::Locked(_))) => {
            error(g, Exit::Refused, &e.to_string())
        }
        Err(e) => error(g, Exit::Internal, &e.to_string()),
    }
}

pub(super) fn status(g: &Global, args: &StatusArgs) -> Exit {
    let journal = match open_journal(g, &args.migration, args.state_dir.as_deref()) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let path = journal_path(
        &args
            .state_dir
            .clone()
            .unwrap_or_else(|| default_state_dir(&args.migration)),
    );
    let runs = match journal.runs() {
        Ok(r) => r,
        Err(e) => return error(g, Exit::Internal, &format!("{e:#}")),
    };
    let run = match &args.run {
        Some(id) => runs.iter().find(|r| &r.id == id),
        None => runs.last(),
    };
    let Some(run) = run else {
        return error(
            g,
            Exit::InvalidInput,
            &match &args.run {
                Some(id) => format!("no run `{id}` in {}", path.display()),
                None => format!("{} holds no runs yet", path.display()),
            },
        );
    };
    let items = match journal.items(&run.id) {
        Ok(i) => i,
        Err(e) => return error(g, Exit::Internal, &format!("{e:#}")),
    };
    if g.json {
        outln!("{}", json!({ "runs": runs, "run": run, "items": items }));
        return Exit::Ok;
    }
    for r in &runs {
        let marker = if r.id == run.id { "*" } else { " " };
        outln!(
            "{marker} {} {} started {}",
            r.id,
            serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            view::when(r.started_at_ms)
        );
    }
    outln!();
    outln!(
        "{:<24} {:<16} {:<8} {:>5} {:>7}  DETAIL",
        "DATABASE",
        "STEP",
        "STATUS",
        "CALLS",
        "ATTEMPT"
    );
    for it in &items {
        let progress = it.progress.as_deref().filter(|p| !p.is_empty());
        let detail = match (&it.error, &it.wait, progress) {
            (Some(e), ..) if it.status != crate::journal::ItemStatus::Done => e.clone(),
            (_, Some(w), Some(p)) => format!("waiting: {} — {p}", w.reason),
            (_, Some(w), None) => format!("waiting: {}", w.reason),
            (_, None, Some(p)) if it.status != crate::journal::ItemStatus::Done => p.to_owned(),
            _ => String::new(),
        };
        outln!(
            "{:<24} {:<16} {:<8} {:>5} {:>7}  {}",
            it.item,
            it.step,
            it.status.as_str(),
            it.calls,
            it.attempt,
            detail
        );
    }
    Exit::Ok
}

/// Writes the run's report into the state directory; a failure to write it is a warning, not
/// a failed migration.
fn write_report(
    state_dir: &Path,
    run: &str,
    migration: &crate::config::Migration,
) -> Option<std::path::PathBuf> {
    let written = SqliteJournal::open(&journal_path(state_dir))
        .and_then(|j| crate::report::RunReport::build(&j, run, migration))
        .map_err(|e| format!("{e:#}"))
        .and_then(|r| crate::report::write(&r, state_dir));
    match written {
        Ok(p) => Some(p),
        Err(e) => {
            errln!("warning: the report could not be written: {e}");
            None
        }
    }
}
