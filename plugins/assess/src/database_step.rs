//! A database's assessment: its facts, the database rules and the instance's per-database
//! ones (version, edition), its method. Used by a database step (one work item per database)
//! and by the instance step (one database per call, for the drafts).

use std::collections::BTreeMap;

use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{Config, TargetTier};
use crate::facts::{InstanceFacts, database};
use crate::methods::{Choice, choose, not_online};
use crate::readiness::{Readiness, per_tier};
use crate::report::{finding_rows, method_row, passed_rows};
use crate::rules::{Finding, Rule, Scope, Subject, evaluate, rules_for};

/// What one database's assessment found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseAssessment {
    pub database: String,
    /// Per tier: ready or not, and the rules that block and warn.
    pub readiness: BTreeMap<TargetTier, Readiness>,
    pub findings: Vec<Finding>,
    pub choice: Choice,
    /// Module text the lexer could not read, how many modules were scanned, and whether the
    /// text was cut to the query's limit (then the module rules saw only part of it).
    pub modules_scanned: u64,
    pub modules_unreadable: Vec<String>,
    pub modules_truncated: bool,
}

/// A database step's output: the assessment, and the rules it names (title, reason, source,
/// action, methods blocked) once each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseOutput {
    #[serde(flatten)]
    pub assessment: DatabaseAssessment,
    pub rules: BTreeMap<String, Rule>,
}

/// What the instance step keeps of a database's assessment (its state and output stay within
/// the host's 1 MiB however many databases there are): readiness per tier, how many objects
/// each rule found, the method; the objects themselves are in the report rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseSummary {
    pub database: String,
    pub readiness: BTreeMap<TargetTier, Readiness>,
    /// Rule id → objects found.
    pub found: BTreeMap<String, usize>,
    pub choice: Choice,
    pub modules_scanned: u64,
    pub modules_truncated: bool,
}

impl DatabaseAssessment {
    pub fn summary(&self) -> DatabaseSummary {
        let mut found = BTreeMap::new();
        for f in &self.findings {
            *found.entry(f.rule.clone()).or_insert(0) += 1;
        }
        DatabaseSummary {
            database: self.database.clone(),
            readiness: self.readiness.clone(),
            found,
            choice: self.choice.clone(),
            modules_scanned: self.modules_scanned,
            modules_truncated: self.modules_truncated,
        }
    }
}

/// Assesses `db` on the source behind `conn`; None when the source has no such database.
pub fn assess(
    cx: &mut Context<'_, Config>,
    conn: ferry_sdk::SqlConnection,
    instance: &InstanceFacts,
    instance_findings: &[Finding],
    db: &str,
) -> Result<Option<DatabaseAssessment>> {
    let cfg = cx.config().clone();
    let Some(facts) = database::read(cx, conn, db)? else {
        return Ok(None);
    };
    let mut findings = evaluate(
        Scope::Database,
        &Subject {
            instance,
            database: Some(&facts),
            config: &cfg,
        },
    )?;
    // The instance's per-database findings (its version and edition) are this database's too.
    findings.extend(
        instance_findings
            .iter()
            .filter(|f| f.rule().is_some_and(|r| r.per_database))
            .cloned(),
    );
    let considered: Vec<&Finding> = findings.iter().collect();
    let mut choice = choose(db, facts.size_bytes, &considered, cfg.tier, &cfg);
    if !facts.state.is_empty() && !facts.state.eq_ignore_ascii_case("ONLINE") {
        choice = not_online(choice, &facts.state);
    }
    if facts.modules.truncated {
        cx.warn(&format!(
            "[{db}]'s module text was cut to the query's limit: the module rules covered only \
             the modules that came"
        ));
    }
    Ok(Some(DatabaseAssessment {
        database: db.to_owned(),
        readiness: per_tier(&findings),
        findings,
        choice,
        modules_scanned: facts.modules.modules,
        // The first few names say enough; the count is in the log.
        modules_unreadable: facts.modules.unreadable.iter().take(20).cloned().collect(),
        modules_truncated: facts.modules.truncated,
    }))
}

/// Reports `a`'s rows: one per rule that found something, a `passed` one per rule that did
/// not (unless `report_passed = false`), and its method.
pub fn report(cx: &mut Context<'_, Config>, a: &DatabaseAssessment) -> Result<()> {
    let cfg = cx.config().clone();
    for row in finding_rows(&a.database, &a.findings, cfg.tier) {
        cx.report(row);
    }
    if cfg.report_passed {
        let rules = rules_for(Scope::Database)?;
        for row in passed_rows(&a.database, &rules, &a.findings, cfg.tier) {
            cx.report(row);
        }
    }
    cx.report(method_row(&a.choice));
    Ok(())
}
