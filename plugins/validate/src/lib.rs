//! `validate`: after a migration step, compares each database (or, as an instance step, the
//! instance) on the target with its source and fails the work item on any difference, every
//! check a report row (methods.md §6):
//!
//! - database properties (`sys.databases`), with Managed Instance's deliberate differences
//!   explained rather than failed ([`properties`]);
//! - the object inventory: objects and their counts by type, module text hashes, indexes,
//!   constraints' trust, triggers ([`objects`]);
//! - security: principals, orphaned users with the fix, role members, permissions
//!   ([`security`]); at instance scope logins, server roles, Agent jobs and operators, linked
//!   servers, credentials and audits ([`instance`]);
//! - data: exact row counts, then hashed key ranges compared and bisected down to the rows that
//!   differ, listed by key, without moving the tables ([`data`]);
//! - on the target: DBCC CHECKDB, the compatibility level, statistics ([`integrity`]).
//!
//! The source is only read. The target is read, and written only by CHECKDB, a compatibility
//! level change and a statistics update, each off unless configured.
//!
//! A step after the method's, in the same wave (a failed validation fails that database's row
//! with the differences as the reason), and one for the instance after the last wave:
//!
//! ```toml
//! [[steps]]
//! name = "validate"
//! plugin = "validate"
//! config = { depth = "full", checkdb = "physical_only", update_statistics = "sampled" }
//! [steps.grants]
//! sql = ["source:read", "target"]    # target:read is enough with the defaults
//!
//! [[steps]]
//! name = "validate-instance"
//! plugin = "validate"
//! scope = "instance"
//! config = { exclude_logins = ["miadmin"] }
//! [steps.grants]
//! sql = ["source:read", "target:read"]
//! ```
//!
//! # Resuming
//!
//! | Work (in state) | Killed during it, the journal holds | How the repeat converges |
//! |---|---|---|
//! | a comparison phase (`Properties` … `Security`, `Instance`) | the phase | it reads and compares again; its rows may show twice, its verdicts are the same |
//! | the table list (`Tables`) | `Tables` | read again |
//! | a table's counts, key and ranges (`Data`, table `pending`) | the table `pending` | read again |
//! | a bisection (`Data`, table `bisecting`) | the stack of ranges at the last call's end | the same ranges compared again: a call runs at most `queries_per_call` queries |
//! | DBCC CHECKDB, a statistics update (host operations, `Integrity`) | the operation's id | followed to its end; an id a restarted ferry does not know: started again (both are safe to repeat) |
//! | the compatibility level (`Integrity`) | `Integrity` at `compatibility` | the level is read before it is set, so a level already set is reported, not set twice |
//!
//! # Modules
//!
//! ```text
//! lib ── properties ── objects ── security ── instance ── integrity ── compat
//!  │        (each: sql, compare, report)
//!  └── data ── table ── remote ── statements ── encode
//!                 └── bisect (pure) ── key
//! ```

pub mod compare;
pub mod compat;
pub mod config;
pub mod data;
pub mod instance;
pub mod integrity;
pub mod objects;
pub mod properties;
pub mod report;
pub mod security;
pub mod sql;

use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use config::Config;
use data::job::TableJob;
use report::Tally;

/// The work item of an instance step (host `INSTANCE_ITEM`).
pub const INSTANCE_ITEM: &str = "(instance)";

pub struct Validate;

/// Where a work item is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    #[default]
    Start,
    Properties,
    Objects,
    Security,
    Tables,
    Data,
    Integrity,
    Instance,
    Finish,
}

/// The journaled state: the phase, what was found so far, and each table's progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub phase: Phase,
    pub tally: Tally,
    pub tables: Vec<TableJob>,
    /// Where the target's checks are.
    #[serde(default)]
    pub integrity: integrity::Work,
}

fn next(mut state: State, phase: Phase) -> Result<Outcome<State>> {
    state.phase = phase;
    Ok(Outcome::Next(state))
}

/// `ferry plan`: the target is compared only once the steps before this one have run, so a
/// plan says what the step will compare and change, reads nothing and fails nothing.
fn plan(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let item = cx.item().to_owned();
    let what = if item == INSTANCE_ITEM {
        "logins, server roles and members, Agent jobs and operators, linked servers,          credentials and audits"
            .to_owned()
    } else {
        let mut parts = Vec::new();
        for (on, part) in [
            (cfg.properties, "properties"),
            (cfg.objects, "objects"),
            (cfg.security, "security"),
            (cfg.data, "data"),
        ] {
            if on {
                parts.push(part);
            }
        }
        let data = if cfg.data {
            format!(" (data: {:?})", cfg.depth).to_lowercase()
        } else {
            String::new()
        };
        let changes = [
            integrity::checkdb_statement(&cfg.target_db(&item), cfg.checkdb),
            (cfg.compatibility_level
                != config::CompatibilityLevel::Mode(config::CompatibilityMode::Keep))
            .then(|| format!("compatibility level {:?}", cfg.compatibility_level)),
            (cfg.update_statistics != config::UpdateStatistics::Off)
                .then(|| format!("statistics update {:?}", cfg.update_statistics)),
        ];
        let changes: Vec<String> = changes.into_iter().flatten().collect();
        let changes = if changes.is_empty() {
            String::new()
        } else {
            format!("; on the target: {}", changes.join("; "))
        };
        format!("{}{data}{changes}", parts.join(", "))
    };
    cx.report(ObjectRow {
        object_type: "validation".into(),
        name: item,
        status: report::status(report::Verdict::NotCompared),
        reason_code: Some("planned".into()),
        notes: Some(format!(
            "Compared when the step runs, after the steps before it: {what}."
        )),
    });
    Ok(Outcome::done())
}

fn finish(cx: &mut Context<'_, Config>, state: &State) -> Result<Outcome<State>> {
    let costs = data::costs(&state.tables);
    cx.info(&format!("data comparison cost: {costs}"));
    if let Some(e) = state.tally.failure() {
        return Err(e);
    }
    Ok(Outcome::Done(serde_json::json!({
        "passed": state.tally.passed,
        "expected_differences": state.tally.expected,
        "not_compared": state.tally.not_compared,
        "data": costs,
    })))
}

impl Plugin for Validate {
    const NAME: &'static str = "validate";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Validates a migrated database (or the instance) against its source: properties, objects, security, exact row counts and a bisecting diff of hashed key ranges that lists the differing rows by key; DBCC CHECKDB, compatibility level and statistics on the target";
    type Config = Config;
    type State = State;

    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Read,
                "reads the catalog and hashes key ranges of the source's tables; never writes",
            ),
            need(
                CapabilityKind::Sql,
                "target",
                Access::Read,
                "reads the same on the target; grant write only for `checkdb`, \
                 `compatibility_level` other than \"keep\" and `update_statistics`",
            ),
        ]
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        config.validate()
    }

    fn step(cx: &mut Context<'_, Config>, mut state: State) -> Result<Outcome<State>> {
        let cfg = cx.config().clone();
        match state.phase {
            Phase::Start if cx.planning() => plan(cx),
            Phase::Start if cx.item() == INSTANCE_ITEM => next(state, Phase::Instance),
            Phase::Start => next(state, Phase::Properties),
            Phase::Properties => {
                cx.phase(
                    "properties",
                    Some(0.0),
                    Some("comparing database properties"),
                );
                if cfg.properties && !properties::run(cx, &mut state.tally)? {
                    return next(state, Phase::Finish);
                }
                next(state, Phase::Objects)
            }
            Phase::Objects => {
                if cfg.objects {
                    cx.phase("objects", Some(0.1), Some("comparing the object inventory"));
                    objects::run(cx, &mut state.tally)?;
                }
                next(state, Phase::Security)
            }
            Phase::Security => {
                if cfg.security {
                    cx.phase(
                        "security",
                        Some(0.2),
                        Some("comparing principals and permissions"),
                    );
                    security::run(cx, &mut state.tally)?;
                }
                next(state, Phase::Tables)
            }
            Phase::Tables => {
                if !cfg.data {
                    return next(state, Phase::Integrity);
                }
                cx.phase("data", Some(0.0), Some("listing the tables"));
                state.tables = data::list(cx, &mut state.tally)?;
                next(state, Phase::Data)
            }
            Phase::Data => {
                if data::work(cx, &mut state.tables, &mut state.tally)? {
                    return next(state, Phase::Integrity);
                }
                Ok(Outcome::Next(state))
            }
            Phase::Integrity => {
                cx.phase("integrity", Some(0.9), Some("checks on the target"));
                let work = std::mem::take(&mut state.integrity);
                match integrity::step(cx, &mut state.tally, work)? {
                    integrity::Next::Go(integrity::Work::Done) => next(state, Phase::Finish),
                    integrity::Next::Go(work) => {
                        state.integrity = work;
                        Ok(Outcome::Next(state))
                    }
                    integrity::Next::Wait { work, op, reason } => {
                        state.integrity = work;
                        Ok(Outcome::wait_operation(op, state, reason))
                    }
                }
            }
            Phase::Instance => {
                cx.phase("instance", Some(0.0), Some("comparing instance objects"));
                instance::run(cx, &mut state.tally)?;
                next(state, Phase::Finish)
            }
            Phase::Finish => finish(cx, &state),
        }
    }
}

ferry_sdk::register!(Validate);
