//! Rules as data (`rules.toml`, read into [`Rule`]s) and their evaluation: each rule's
//! predicate (same id, in `instance_rules` or `database_rules`) looks at the facts and names
//! what it found; a hit becomes a [`Finding`] carrying the rule's severities, reason, source,
//! action and the methods it blocks.

pub mod database_rules;
pub mod instance_rules;
mod subject;

pub use subject::{Hit, Predicate, Subject};

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ferry_sdk::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::config::TargetTier;

const RULES_TOML: &str = include_str!("rules.toml");

/// How much a finding stands in the way, on one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Blocker,
}

/// A migration method ferry bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Native,
    Lrs,
    MiLink,
    Dms,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::MiLink, Method::Lrs, Method::Dms, Method::Native];

    pub fn key(self) -> &'static str {
        match self {
            Method::Native => "native",
            Method::Lrs => "lrs",
            Method::MiLink => "mi-link",
            Method::Dms => "dms",
        }
    }
}

/// Where a rule is judged: once for the instance, or per database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Instance,
    Database,
}

/// A rule's severity on each tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Severities {
    pub general_purpose: Severity,
    pub business_critical: Severity,
    pub next_gen_general_purpose: Severity,
}

impl Severities {
    pub fn on(&self, tier: TargetTier) -> Severity {
        match tier {
            TargetTier::GeneralPurpose => self.general_purpose,
            TargetTier::BusinessCritical => self.business_critical,
            TargetTier::NextGenGeneralPurpose => self.next_gen_general_purpose,
        }
    }
}

/// One rule as `rules.toml` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub scope: Scope,
    /// The kind of object it concerns (`database`, `login`, `linked-server`, …).
    pub object: String,
    pub title: String,
    pub reason: String,
    /// The documentation page the reason follows.
    pub source: String,
    pub action: String,
    pub severity: Severities,
    /// The methods it keeps from moving the database, with why.
    #[serde(default)]
    pub blocks: BTreeMap<Method, String>,
    /// An instance rule that holds for each of its databases (the source's version and
    /// edition): its blocks count in every database's method choice.
    #[serde(default)]
    pub per_database: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<Rule>,
}

/// A rule that found something: the rule's id (its title, reason, source, action and the
/// methods it blocks are the rule's, in `rules.toml`), the object, what about it, and its
/// severity on each tier it concerns. Kept small: the host journals state and output within
/// 1 MiB, and an instance can have thousands of objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub object: String,
    pub detail: String,
    /// Its severity on each tier it concerns.
    pub severity: BTreeMap<TargetTier, Severity>,
}

impl Finding {
    /// Its severity on `tier`, or None when it does not concern that tier.
    pub fn on(&self, tier: TargetTier) -> Option<Severity> {
        self.severity.get(&tier).copied()
    }

    /// The rule it came from.
    pub fn rule(&self) -> Option<&'static Rule> {
        rule_by_id(&self.rule)
    }
}

/// Hits of one rule on one subject past this are summed up in one more: a report row lists
/// the objects, and the journal keeps state within 1 MiB.
pub const MAX_HITS: usize = 50;

/// The rule `id`, if the rule file has it.
pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    rules().ok()?.iter().find(|r| r.id == id)
}

/// The rules of `findings`, by id, for an output that names them once.
pub fn used(findings: &[&Finding]) -> BTreeMap<String, Rule> {
    findings
        .iter()
        .filter_map(|f| f.rule())
        .map(|r| (r.id.clone(), r.clone()))
        .collect()
}

/// The predicate of rule `id`.
fn predicate(id: &str) -> Option<Predicate> {
    instance_rules::PREDICATES
        .iter()
        .chain(database_rules::PREDICATES)
        .find(|(k, _)| *k == id)
        .map(|(_, p)| *p)
}

/// Parses and checks `text` as a rule file.
fn parse(text: &str) -> std::result::Result<Vec<Rule>, String> {
    let file: RuleFile = toml::from_str(text).map_err(|e| format!("rules.toml: {e}"))?;
    let mut seen = std::collections::BTreeSet::new();
    for r in &file.rules {
        if !seen.insert(r.id.as_str()) {
            return Err(format!("rules.toml: rule `{}` is defined twice", r.id));
        }
        if predicate(&r.id).is_none() {
            return Err(format!("rules.toml: rule `{}` has no predicate", r.id));
        }
        let empty = [&r.object, &r.title, &r.reason, &r.action]
            .iter()
            .any(|s| s.trim().is_empty());
        if empty || !r.source.starts_with("https://learn.microsoft.com/") {
            return Err(format!(
                "rules.toml: rule `{}` needs an object, title, reason, action and a \
                 learn.microsoft.com source",
                r.id
            ));
        }
        if r.blocks.values().any(|why| why.trim().is_empty()) {
            return Err(format!(
                "rules.toml: rule `{}` blocks a method without saying why",
                r.id
            ));
        }
    }
    Ok(file.rules)
}

/// Every rule, parsed once.
pub fn rules() -> Result<&'static [Rule]> {
    static RULES: OnceLock<std::result::Result<Vec<Rule>, String>> = OnceLock::new();
    match RULES.get_or_init(|| parse(RULES_TOML)) {
        Ok(r) => Ok(r),
        Err(e) => Err(Error::failed(e.clone())),
    }
}

/// The rules a subject of `scope` is checked by: the instance's, or a database's own and the
/// instance's per-database ones (its version and edition).
pub fn rules_for(scope: Scope) -> Result<Vec<&'static Rule>> {
    Ok(rules()?
        .iter()
        .filter(|r| r.scope == scope || (scope == Scope::Database && r.per_database))
        .collect())
}

/// The findings of every rule of `scope` over `subject`.
pub fn evaluate(scope: Scope, subject: &Subject) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for rule in rules()?.iter().filter(|r| r.scope == scope) {
        let Some(p) = predicate(&rule.id) else {
            continue;
        };
        let mut hits = p(subject);
        if hits.len() > MAX_HITS {
            let more = hits.len() - (MAX_HITS - 1);
            hits.truncate(MAX_HITS - 1);
            let tiers = hits.first().and_then(|h| h.tiers.clone());
            hits.push(Hit {
                object: format!("{more} more"),
                detail: "not listed here, found the same way".into(),
                tiers,
            });
        }
        for hit in hits {
            let tiers = hit
                .tiers
                .clone()
                .unwrap_or_else(|| TargetTier::ALL.to_vec());
            out.push(Finding {
                rule: rule.id.clone(),
                object: hit.object,
                detail: hit.detail,
                severity: tiers.iter().map(|&t| (t, rule.severity.on(t))).collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_file_parses_and_every_rule_has_a_predicate_and_back() {
        let rules = parse(RULES_TOML).unwrap();
        assert!(rules.len() >= 30, "{}", rules.len());
        for (id, _) in instance_rules::PREDICATES
            .iter()
            .chain(database_rules::PREDICATES)
        {
            let r = rules.iter().find(|r| r.id == *id);
            assert!(r.is_some(), "predicate `{id}` has no rule in rules.toml");
        }
        for (id, _) in instance_rules::PREDICATES {
            assert_eq!(
                rules.iter().find(|r| r.id == *id).unwrap().scope,
                Scope::Instance
            );
        }
        for (id, _) in database_rules::PREDICATES {
            assert_eq!(
                rules.iter().find(|r| r.id == *id).unwrap().scope,
                Scope::Database
            );
        }
    }

    #[test]
    fn a_broken_rule_file_is_refused_with_the_rule_named() {
        let one = |extra: &str| {
            format!(
                "[[rules]]\nid = \"filestream\"\nscope = \"database\"\nobject = \"database\"\n\
                 title = \"t\"\nreason = \"r\"\nsource = \"https://learn.microsoft.com/x\"\n\
                 action = \"a\"\nseverity = {{ general-purpose = \"blocker\", \
                 business-critical = \"blocker\", next-gen-general-purpose = \"blocker\" }}\n{extra}"
            )
        };
        assert!(parse(&one("")).is_ok());
        assert!(
            parse(&format!("{}{}", one(""), one("")))
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            parse(&one("").replace("filestream", "no-such"))
                .unwrap_err()
                .contains("no-such")
        );
        assert!(parse(&one("").replace("https://learn.microsoft.com/x", "http://x")).is_err());
        assert!(
            parse(&one("blocks = { lrs = \"\" }"))
                .unwrap_err()
                .contains("without saying")
        );
        assert!(parse(&one("colour = 1")).is_err());
        assert!(parse(&one("").replace("\"blocker\" }", "\"fatal\" }")).is_err());
    }
}
