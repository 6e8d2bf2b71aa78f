//! The instance step (`scope = "instance"`): the instance's facts and rules, the sampling
//! window (one sample per call, a wait between them, so a restart of ferry resumes the window
//! where the journal left it), then each database's assessment (one per call), then the
//! sizing per tier and the drafts.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::charts;
use crate::config::{Config, TargetTier};
use crate::database_step::{DatabaseSummary, assess};
use crate::draft::{Draft, drafts};
use crate::facts::{InstanceFacts, instance};
use crate::readiness::{Readiness, per_tier};
use crate::report::{finding_rows, passed_rows};
use crate::rules::{Finding, Rule, Scope, Subject, evaluate, rule_by_id, rules_for};
use crate::sizing::{Measured, Suggestion, measure, sample, suggest};
use crate::state::{Progress, State};

/// The instance step's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceOutput {
    pub instance: InstanceSummary,
    /// Per tier, the instance's own findings: ready or not, what blocks and warns.
    pub readiness: BTreeMap<TargetTier, Readiness>,
    pub findings: Vec<Finding>,
    pub sizing: Sizing,
    pub databases: Vec<DatabaseSummary>,
    /// The rules the findings name, once each.
    pub rules: BTreeMap<String, Rule>,
    /// What was left out to stay within the host's 1 MiB output, if anything.
    pub cut: Option<String>,
    pub missing_databases: Vec<String>,
    pub drafts: Vec<Draft>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSummary {
    pub server_name: String,
    pub product_version: String,
    pub edition: String,
    pub collation: String,
    pub trace_flags_source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sizing {
    pub measured: Measured,
    pub suggestions: Vec<Suggestion>,
}

/// The first call: facts, rules, rows, the first sample.
pub fn start(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    cx.phase("facts", Some(0.0), Some("reading the instance"));
    let conn = cx.sql(&cfg.source)?;
    let mut facts = instance::read(cx, conn)?;
    crate::facts::target::attach(cx, &mut facts)?;
    let findings = evaluate(
        Scope::Instance,
        &Subject {
            instance: &facts,
            database: None,
            config: &cfg,
        },
    )?;
    for row in finding_rows("instance", &findings, cfg.tier) {
        cx.report(row);
    }
    if cfg.report_passed {
        let rules = rules_for(Scope::Instance)?;
        for row in passed_rows("instance", &rules, &findings, cfg.tier) {
            cx.report(row);
        }
    }
    // The later calls need the sizes, the server's figures and the target, not the lists the
    // instance rules read (thousands of logins or job steps would crowd the 1 MiB state).
    facts.windows_logins.clear();
    facts.job_steps.clear();
    facts.linked_servers.clear();
    facts.mail_profiles.clear();
    let (databases, missing) = selected(&facts, &cfg.databases);
    let first = sample::take(cx, conn)?;
    let p = Progress {
        facts,
        findings,
        samples: vec![first],
        databases,
        assessed: Vec::new(),
        missing,
    };
    Ok(after_sample(&cfg, p))
}

/// The databases to assess: the configured ones the source has (and those it lacks), or all.
fn selected(facts: &InstanceFacts, wanted: &[String]) -> (Vec<String>, Vec<String>) {
    let all: Vec<String> = facts.databases.iter().map(|d| d.name.clone()).collect();
    if wanted.is_empty() {
        return (all, Vec::new());
    }
    let have = |w: &String| all.iter().find(|a| a.eq_ignore_ascii_case(w)).cloned();
    (
        wanted.iter().filter_map(have).collect(),
        wanted
            .iter()
            .filter(|w| have(w).is_none())
            .cloned()
            .collect(),
    )
}

/// Waits for the next sample, or goes on to the databases once the window is full.
fn after_sample(cfg: &Config, p: Progress) -> Outcome<State> {
    let taken = p.samples.len() as u32;
    if taken < cfg.samples {
        let reason = format!(
            "sampling CPU, memory and IO: {taken} of {} samples, the next in {} s",
            cfg.samples, cfg.sample_seconds
        );
        return Outcome::wait_for(
            Duration::from_secs(u64::from(cfg.sample_seconds)),
            State::Sampling(Box::new(p)),
            reason,
        );
    }
    Outcome::Next(State::Databases(Box::new(p)))
}

/// A later sample of the window.
pub fn sampling(cx: &mut Context<'_, Config>, mut p: Progress) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let conn = cx.sql(&cfg.source)?;
    let fraction = p.samples.len() as f32 / cfg.samples.max(1) as f32;
    cx.phase("sampling", Some(fraction * 0.5), None);
    p.samples.push(sample::take(cx, conn)?);
    Ok(after_sample(&cfg, p))
}

/// One database's assessment per call; the output once all are done.
pub fn databases(cx: &mut Context<'_, Config>, mut p: Progress) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let Some(db) = p.databases.get(p.assessed.len()).cloned() else {
        return Ok(finish(cx, p));
    };
    let done = p.assessed.len() as f32 / p.databases.len().max(1) as f32;
    cx.phase("databases", Some(0.5 + done * 0.5), Some(&db));
    let conn = cx.sql(&cfg.source)?;
    match assess(cx, conn, &p.facts, &p.findings, &db)? {
        Some(a) => {
            crate::database_step::report(cx, &a)?;
            p.assessed.push(a.summary());
        }
        // Dropped since the instance was read: said in the output, not assessed.
        None => {
            p.missing.push(db.clone());
            p.databases.retain(|d| *d != db);
        }
    }
    Ok(Outcome::Next(State::Databases(Box::new(p))))
}

fn finish(cx: &mut Context<'_, Config>, p: Progress) -> Outcome<State> {
    let cfg = cx.config().clone();
    let size: u64 = p.facts.databases.iter().map(|d| d.size_bytes).sum();
    let measured = measure(&p.samples, p.facts.cpu_count, size);
    let suggestions: Vec<Suggestion> = TargetTier::ALL
        .iter()
        .map(|&t| {
            suggest(
                &measured,
                t,
                cfg.target_cpu_percent,
                cfg.storage_growth_percent,
            )
        })
        .collect();
    if let Some(s) = suggestions.iter().find(|s| s.tier == cfg.tier) {
        cx.info(&format!(
            "sizing on {}: {}",
            cfg.tier.key(),
            s.reasoning.join(" | ")
        ));
    }
    let choices: Vec<_> = p.assessed.iter().map(|a| a.choice.clone()).collect();
    let mut ids: Vec<&str> = p.findings.iter().map(|f| f.rule.as_str()).collect();
    ids.extend(
        p.assessed
            .iter()
            .flat_map(|a| a.found.keys().map(String::as_str)),
    );
    let rules = ids
        .into_iter()
        .filter_map(rule_by_id)
        .map(|r| (r.id.clone(), r.clone()))
        .collect();
    let name = instance_name(&p.facts.server_name, &cfg.source);
    let output = InstanceOutput {
        instance: InstanceSummary {
            server_name: p.facts.server_name.clone(),
            product_version: p.facts.product_version.clone(),
            edition: p.facts.edition.clone(),
            collation: p.facts.collation.clone(),
            trace_flags_source: p.facts.trace_flags_source.clone(),
        },
        readiness: per_tier(&p.findings),
        findings: p.findings,
        sizing: Sizing {
            measured,
            suggestions,
        },
        drafts: drafts(&name, &choices),
        databases: p.assessed,
        rules,
        cut: None,
        missing_databases: p.missing,
    };
    cx.chart(charts::readiness(&output.readiness, &output.databases));
    cx.chart(charts::vcores(&output.sizing.suggestions));
    cx.chart(charts::methods(&output.databases));
    let output = fit(output, cfg.tier, &name, &choices, OUTPUT_LIMIT);
    if let Some(cut) = &output.cut {
        cx.warn(&format!(
            "the output leaves out {cut}; the report rows have it all"
        ));
    }
    Outcome::Done(serde_json::to_value(output).unwrap_or_default())
}

/// The host keeps a step's output up to 1 MiB; a little room is left for the JSON around it.
const OUTPUT_LIMIT: usize = 1_000_000;

fn size(o: &InstanceOutput) -> usize {
    serde_json::to_string(o).map_or(usize::MAX, |s| s.len())
}

/// `o` cut, in steps, until it is at most `limit` bytes of JSON: first the databases ready on
/// `tier`, then the drafts' per-database comments, then every database and finding (the
/// readiness per tier, the sizing and the drafts stay).
pub fn fit(
    mut o: InstanceOutput,
    tier: TargetTier,
    name: &str,
    choices: &[crate::methods::Choice],
    limit: usize,
) -> InstanceOutput {
    if size(&o) <= limit {
        return o;
    }
    let before = o.databases.len();
    o.databases
        .retain(|d| d.readiness.get(&tier).is_some_and(|r| !r.ready));
    o.cut = Some(format!(
        "the {} databases ready on {}",
        before - o.databases.len(),
        tier.key()
    ));
    if size(&o) <= limit {
        return o;
    }
    let bare: Vec<_> = choices
        .iter()
        .map(|c| crate::methods::Choice {
            rationale: String::new(),
            methods: Default::default(),
            ..c.clone()
        })
        .collect();
    o.drafts = drafts(name, &bare);
    o.cut = Some(format!(
        "{}, and the drafts' reasons per database",
        o.cut.unwrap_or_default()
    ));
    if size(&o) <= limit {
        return o;
    }
    o.databases.clear();
    o.findings.clear();
    o.cut = Some(
        "every database's and the instance's findings (the readiness per tier, the \
                  sizing and the drafts stay)"
            .into(),
    );
    o
}

/// The instance as the drafts name it: its server name, else its label.
fn instance_name(server_name: &str, label: &str) -> String {
    if server_name.trim().is_empty() {
        format!("the server labelled `{label}`")
    } else {
        server_name.to_owned()
    }
}
