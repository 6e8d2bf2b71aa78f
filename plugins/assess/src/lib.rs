//! `assess`: whether an instance and each of its databases can go to Azure SQL Managed
//! Instance, on which tier and by which method, before anything changes (methods.md §1.2,
//! §2.2, §3.2, §4.1, §5; anchors.md §2.9). It only reads: its SQL need is `read`, and it never
//! calls `execute`.
//!
//! - An instance step (`scope = "instance"`): the instance's facts and rules, a sampled window
//!   of CPU, memory and IO (a wait between samples, resumable), each database's assessment,
//!   vCores and storage per tier with the reasoning, and `migration.toml` drafts that pick a
//!   method per database.
//! - A database step (the default scope): that database's rules and method.
//!
//! Rules are data (`src/rules/rules.toml`): severity per tier, reason and source, what to do,
//! the methods each blocks. Each has a predicate of the same id over typed facts.
//!
//! # Modules
//!
//! ```text
//! lib ── instance_step ── sizing (sample)      database_step ── methods, readiness
//!   │          ├── draft                             ├── facts (instance, database, modules,
//!   │          ├── database_step                     │          target)
//!   │          └── report                            └── rules (instance_rules, database_rules,
//!   └── database_step, report, state (State,                    subject; data: rules.toml)
//!       Progress)
//! data: config
//! ```
//!
//! # Output
//!
//! The instance step's output: `instance` (server, version, edition, collation), `readiness`
//! per tier (ready, blocking and warning rule ids), `findings` (rule, object, detail,
//! severity per tier), `sizing` (what the window measured, and per tier the vCores, storage
//! and the reasoning), `databases` (per database: readiness, objects found per rule, the
//! method picked, why, and why not each other), `drafts` (one migration.toml per method),
//! `rules` (each rule named, once), `missing_databases` and `cut` (what was left out to stay
//! within the host's 1 MiB). A database step's: its readiness, findings, method and `rules`.

pub mod charts;
pub mod config;
pub mod database_step;
pub mod draft;
pub mod facts;
pub mod instance_step;
pub mod methods;
pub mod readiness;
pub mod report;
pub mod rules;
pub mod sizing;
pub mod state;

use config::Config;
use ferry_sdk::prelude::*;
use rules::{Scope, Severity, Subject, evaluate};
pub use state::{Progress, State};

/// The work item of an instance step (the host's `INSTANCE_ITEM`).
pub const INSTANCE_ITEM: &str = "(instance)";

pub struct Assess;

/// A database step: rows, and the output with its findings and method.
fn database(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    cx.phase("facts", Some(0.0), Some(&db));
    let conn = cx.sql(&cfg.source)?;
    let mut instance = facts::instance::read(cx, conn)?;
    facts::target::attach(cx, &mut instance)?;
    let instance_findings = evaluate(
        Scope::Instance,
        &Subject {
            instance: &instance,
            database: None,
            config: &cfg,
        },
    )?;
    let Some(a) = database_step::assess(cx, conn, &instance, &instance_findings, &db)? else {
        return Err(Error::failed(format!(
            "the source has no database [{db}]: check its name in migration.toml"
        )));
    };
    database_step::report(cx, &a)?;
    let blockers: Vec<&str> = a
        .findings
        .iter()
        .filter(|f| f.on(cfg.tier) == Some(Severity::Blocker))
        .map(|f| f.rule.as_str())
        .collect();
    if cfg.fail_on_blockers && !blockers.is_empty() {
        return Err(Error::failed(format!(
            "[{db}] cannot go to {} as it is: {} (see its assessment rows)",
            cfg.tier.tier().describe(),
            blockers.join(", ")
        )));
    }
    let rules = rules::used(&a.findings.iter().collect::<Vec<_>>());
    let out = database_step::DatabaseOutput {
        assessment: a,
        rules,
    };
    Ok(Outcome::Done(serde_json::to_value(out).unwrap_or_default()))
}

impl Plugin for Assess {
    const NAME: &'static str = "assess";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Managed Instance readiness before anything changes: rules per tier and method, sizing from a sampled window, a method per database and migration.toml drafts";
    type Config = Config;
    type State = State;

    fn needs() -> Vec<CapabilityNeed> {
        vec![need(
            CapabilityKind::Sql,
            "source",
            Access::Read,
            "reads catalog views, DMVs, msdb and module text; changes nothing",
        )]
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        if let Some(why) = config.entra.problem() {
            return Err(Error::invalid_config(Some("entra"), why));
        }
        rules::rules()?;
        Ok(Vec::new())
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start if cx.item() == INSTANCE_ITEM => instance_step::start(cx),
            State::Start => database(cx),
            State::Sampling(p) => instance_step::sampling(cx, *p),
            State::Databases(p) => instance_step::databases(cx, *p),
        }
    }
}

ferry_sdk::register!(Assess);
