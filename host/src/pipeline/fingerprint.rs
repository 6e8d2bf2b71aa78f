//! The fingerprint of a migration's inputs: one hash per part (each step, each plugin, the
//! databases, each label used), so a refused resume can say exactly what changed. Secrets are
//! never part of it — neither values nor references.

use std::collections::BTreeMap;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::capability::Kind;
use crate::config::PluginSource;
use crate::pipeline::Loaded;

fn short_hash(value: &serde_json::Value) -> String {
    hex::encode(&Sha256::digest(value.to_string().as_bytes())[..12])
}

/// Part name → hash.
pub fn fingerprint(l: &Loaded) -> BTreeMap<String, String> {
    let mut fp = BTreeMap::new();
    let m = &l.migration;
    fp.insert("migration name".to_owned(), short_hash(&json!(m.name)));
    let waves: Vec<_> = m
        .waves
        .iter()
        .map(|w| json!([w.name, w.databases]))
        .collect();
    fp.insert("databases and waves".to_owned(), short_hash(&json!(waves)));
    fp.insert(
        "limits".to_owned(),
        short_hash(&json!(m.limits.concurrency)),
    );
    for (i, s) in m.steps.iter().enumerate() {
        let grants = |kind: Kind| {
            s.grants
                .of(kind)
                .iter()
                .map(|g| format!("{}:{}", g.label, g.access))
                .collect::<Vec<_>>()
        };
        let mut value = json!({
            "position": i,
            "plugin": s.plugin,
            "config": s.config,
            "grants": {
                "sql": grants(Kind::Sql), "storage": grants(Kind::Storage), "azure": grants(Kind::Azure),
                "secrets": grants(Kind::Secret), "scratch": s.grants.scratch,
            },
            "limits": [s.limits.timeout_ms, s.limits.memory_bytes, s.limits.fuel, s.limits.retries, s.limits.retry_window_ms],
        });
        // Only an instance step says its scope, so a run an earlier ferry started (every step
        // per database) keeps its fingerprint.
        if s.scope == crate::config::Scope::Instance {
            value["scope"] = "instance".into();
        }
        fp.insert(format!("step `{}`", s.name), short_hash(&value));
    }
    for (key, p) in &l.plugins {
        match m.plugins.get(key) {
            // A development build is expected to change between runs: its place in the
            // migration is the part a resume compares, its bytes a part of their own that
            // [`rebuilt_dev_plugins`] reads.
            Some(PluginSource::Dev { path }) => {
                fp.insert(
                    format!("plugin `{key}`"),
                    format!("dev:{}", short_hash(&json!(path))),
                );
                fp.insert(format!("{DEV_BUILD}`{key}`"), p.sha256[..24].to_owned());
            }
            _ => {
                fp.insert(format!("plugin `{key}`"), p.sha256[..24].to_owned());
            }
        }
    }
    // Labels as the steps use them; serialization skips every secret field.
    for s in &m.steps {
        for g in &s.grants.sql {
            if let Some(v) = l.env.sql.get(&g.label) {
                fp.insert(format!("sql label `{}`", g.label), short_hash(&json!(v)));
            }
        }
        for g in &s.grants.storage {
            if let Some(v) = l.env.storage.get(&g.label) {
                fp.insert(
                    format!("storage label `{}`", g.label),
                    short_hash(&json!(v)),
                );
            }
        }
        for g in &s.grants.azure {
            if let Some(v) = l.env.azure.get(&g.label) {
                fp.insert(format!("azure label `{}`", g.label), short_hash(&json!(v)));
            }
        }
    }
    fp
}

/// The fingerprint part that holds a `dev = true` plugin's build, followed by the plugin's key
/// in backticks.
const DEV_BUILD: &str = "dev build of plugin ";

/// The `dev = true` plugins whose build differs from the journaled one (by key).
pub fn rebuilt_dev_plugins(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    new.iter()
        .filter(|(k, v)| k.starts_with(DEV_BUILD) && old.get(*k) != Some(*v))
        .map(|(k, _)| k[DEV_BUILD.len()..].trim_matches('`').to_owned())
        .collect()
}

/// What differs between a journaled fingerprint and the current one, one phrase per part. A
/// development build's bytes are not compared here (see [`rebuilt_dev_plugins`]).
pub fn changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let old: BTreeMap<_, _> = old
        .iter()
        .filter(|(k, _)| !k.starts_with(DEV_BUILD))
        .collect();
    let new: BTreeMap<_, _> = new
        .iter()
        .filter(|(k, _)| !k.starts_with(DEV_BUILD))
        .collect();
    for (k, v) in &new {
        match old.get(*k) {
            None => out.push(format!("{k} was added")),
            Some(o) if o != v => out.push(format!("{k} changed")),
            _ => {}
        }
    }
    for k in old.keys() {
        if !new.contains_key(*k) {
            out.push(format!("{k} was removed"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_each_part() {
        let old: BTreeMap<_, _> = [
            ("step `a`", "1"),
            ("databases and waves", "2"),
            ("plugin `p`", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut new = old.clone();
        new.insert("step `a`".into(), "9".into());
        new.remove("plugin `p`");
        new.insert("step `b`".into(), "4".into());
        let c = changes(&old, &new);
        assert_eq!(
            c,
            vec![
                "step `a` changed",
                "step `b` was added",
                "plugin `p` was removed"
            ]
        );
        assert!(changes(&old, &old).is_empty());
    }

    #[test]
    fn a_dev_build_is_not_a_change_that_refuses_a_resume_but_is_reported_as_rebuilt() {
        let old: BTreeMap<String, String> = [
            ("plugin `g`", "dev:aaa"),
            ("dev build of plugin `g`", "111"),
            ("plugin `n`", "222"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut new = old.clone();
        assert!(rebuilt_dev_plugins(&old, &new).is_empty());
        new.insert("dev build of plugin `g`".into(), "999".into());
        assert!(changes(&old, &new).is_empty());
        assert_eq!(rebuilt_dev_plugins(&old, &new), vec!["g".to_owned()]);
        // Its place in the migration still counts, as does a pinned plugin's build.
        new.insert("plugin `g`".into(), "dev:bbb".into());
        new.insert("plugin `n`".into(), "333".into());
        assert_eq!(
            changes(&old, &new),
            vec!["plugin `g` changed", "plugin `n` changed"]
        );
    }
}
