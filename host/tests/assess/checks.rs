//! Reading a run: findings in the steps' outputs, and the report rows of a rule.

use serde_json::Value;

use super::common::assess_rig::Run;

/// The instance step's finding of `rule` on `object`, from its output.
pub fn finding<'a>(out: &'a Value, rule: &str, object: &str) -> &'a Value {
    out["findings"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|f| f["rule"] == rule && f["object"] == object)
        })
        .unwrap_or_else(|| panic!("no {rule} finding on {object}: {out}"))
}

/// The database step's output for `db`.
pub fn database_output<'a>(run: &'a Run, db: &str) -> &'a Value {
    &run.events
        .iter()
        .find(|e| e["event"] == "item-done" && e["item"] == db)
        .unwrap_or_else(|| panic!("no item-done for {db}: {}", run.all))["output"]
}

/// Asserts the report rows `<subject>: <rule>` (the instance step's, and a database's own
/// step's): each `status` on General Purpose, the other tiers as `others` says, the notes
/// naming each of `objects`. The rows' notes, joined.
pub fn rows_of(
    run: &Run,
    subject: &str,
    rule: &str,
    status: &str,
    others: &str,
    objects: &[&str],
) -> String {
    let name = format!("{subject}: {rule}");
    let rows: Vec<Value> = run
        .rows(rule)
        .into_iter()
        .filter(|r| r["name"] == name)
        .collect();
    let want = if subject == "instance" { 1 } else { 2 };
    assert_eq!(rows.len(), want, "{name}: {rows:?}\n{}", run.all);
    let mut notes = String::new();
    for r in &rows {
        assert_eq!(r["status"], status, "{r}");
        let n = r["notes"].as_str().unwrap_or_default();
        assert!(n.contains(&format!("Other tiers: {others}.")), "{r}");
        for o in objects {
            assert!(n.contains(o), "{name} should name {o}: {n}");
        }
        notes.push_str(n);
    }
    notes
}

/// The per-tier severities of `rule`'s finding on `object` of database `db` (its own step's
/// output).
pub fn db_severity(run: &Run, db: &str, rule: &str, object: &str) -> Value {
    finding(database_output(run, db), rule, object)["severity"].clone()
}

pub fn tiers(gp: Option<&str>, bc: Option<&str>, ng: Option<&str>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("general-purpose", gp),
        ("business-critical", bc),
        ("next-gen-general-purpose", ng),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    Value::Object(m)
}

pub const ALL_BLOCK: &str = "business-critical: blocker, next-gen-general-purpose: blocker";
pub const ALL_WARN: &str = "business-critical: warning, next-gen-general-purpose: warning";
pub const ALL_INFO: &str = "business-critical: info, next-gen-general-purpose: info";
