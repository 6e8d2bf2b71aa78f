//! The bundled `assess` plugin through the `ferry` binary: examples/assess/migration.toml
//! against emulated sources seeded with one of each fact a readiness rule looks for, a test per
//! rule of plugins/assess/src/rules/rules.toml (its rows, the status on General Purpose, the
//! other tiers' severities, the object and the reason), clean databases with nothing against
//! them, and a method per database with the drafts it lands in.
//!
//! Four runs (assess/runs.rs), each shared by its tests: a SQL Server 2019 with a Managed
//! Instance to read ([`main_run`]); a SQL Server 2008 R2 with 101 user databases and no
//! Managed Instance yet, judged against the config's collation ([`legacy_run`]); a SQL Server
//! 2025 with `fail_on_blockers` ([`newer_run`]); a SQL Server 2019 Express ([`express_run`]).
//! The rules' tests are in assess/instance_rules.rs and assess/database_rules.rs.
mod common;

#[path = "assess/checks.rs"]
mod checks;
#[path = "assess/database_rules.rs"]
mod database_rules;
#[path = "assess/instance_rules.rs"]
mod instance_rules;
#[path = "assess/runs.rs"]
mod runs;

use checks::*;
use ferry_emulator::seed_assess as facts;
use runs::*;
use serde_json::{Value, json};

// ---- the run itself and its report files ----

#[test]
fn the_example_runs_to_the_end_with_every_item_done() {
    for r in [main_run(), legacy_run()] {
        assert!(r.success, "{}", r.all);
        assert!(
            !r.events.iter().any(|e| e["event"] == "item-failed"),
            "{}",
            r.all
        );
    }
    // The sampling window was two samples, taken on the source.
    let sizing = &main_run().instance_output()["sizing"]["measured"];
    assert_eq!(sizing["samples"], 2, "{sizing}");
    assert!(
        sizing["window_seconds"].as_f64().unwrap() >= 1.0,
        "{sizing}"
    );
    assert!(sizing["cpu_count"].as_u64().unwrap() > 0, "{sizing}");
    // Memory from the Memory Manager counter, files from sys.master_files (18 TB and more).
    assert!(sizing["memory_gb"].as_f64().unwrap() > 0.0, "{sizing}");
    assert!(sizing["size_gb"].as_f64().unwrap() > 18_000.0, "{sizing}");
    let tiers = main_run().instance_output()["sizing"]["suggestions"].clone();
    for t in tiers.as_array().unwrap() {
        assert!(!t["reasoning"].as_array().unwrap().is_empty(), "{t}");
    }
}

#[test]
fn the_markdown_html_and_json_reports_hold_the_findings() {
    let r = main_run();
    for row in [
        "| FactsFilestream | assessment | FactsFilestream: filestream | blocked | filestream |",
        "| (instance) | assessment | instance: linked-server-provider | blocked | linked-server-provider |",
        "| HRDb | assessment | HRDb: tde-certificate | warning | tde-certificate |",
    ] {
        assert!(r.report_md.contains(row), "report.md lacks {row}");
    }
    for text in [
        "FactsFilestream: filestream",
        "FactsInMemory: in-memory-oltp",
        "instance: windows-login-unmapped",
        "blocked",
    ] {
        assert!(r.report_html.contains(text), "report.html lacks {text}");
    }
    // A row per rule and database; only the FILESTREAM database's (in both steps) found it.
    let found: Vec<Value> = r
        .rows("filestream")
        .into_iter()
        .filter(|x| x["status"] != "passed")
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|x| x["name"] == "FactsFilestream: filestream")
    );
}

// ---- nothing against a clean database; a method per database ----

#[test]
fn a_clean_database_has_no_blocker_and_no_warning() {
    let r = main_run();
    for db in [CLEAN_DB, "SalesDb"] {
        let out = database_output(r, db);
        for tier in [
            "general-purpose",
            "business-critical",
            "next-gen-general-purpose",
        ] {
            assert_eq!(out["readiness"][tier]["ready"], true, "{db} {tier}: {out}");
            assert_eq!(out["readiness"][tier]["blockers"], json!([]), "{db}: {out}");
            assert_eq!(out["readiness"][tier]["warnings"], json!([]), "{db}: {out}");
        }
        let mut rows = Vec::new();
        common::collect_rows(&r.report_json, &mut rows);
        let own: Vec<&Value> = rows
            .iter()
            .filter(|x| {
                x["name"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&format!("{db}: "))
            })
            .collect();
        assert!(!own.is_empty());
        assert!(own.iter().all(|x| x["status"] == "passed"), "{db}: {own:?}");
    }
}

#[test]
fn each_database_gets_a_method_with_its_reason() {
    let out = main_run().instance_output();
    let pick = |db: &str| {
        let d = out["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["database"] == db)
            .unwrap_or_else(|| panic!("{db} not assessed: {out}"));
        (
            d["choice"]["pick"].clone(),
            d["choice"]["rationale"].as_str().unwrap().to_owned(),
        )
    };
    // Small and minimal downtime: LRS first.
    let (m, why) = pick(CLEAN_DB);
    assert_eq!(m, "lrs");
    assert!(
        why.contains("minimal downtime") && why.contains("lrs is the first"),
        "{why}"
    );
    // SIMPLE recovery: only native restore.
    let (m, why) = pick(SIMPLE_DB);
    assert_eq!(m, "native");
    assert!(why.contains("lrs cannot (recovery-model"), "{why}");
    // A blocker on the tier: nothing moves it.
    for db in [
        facts::FILESTREAM_DATABASE,
        facts::IN_MEMORY_DATABASE,
        "InventoryDb",
        RESTORING_DB,
    ] {
        let (m, why) = pick(db);
        assert_eq!(m, Value::Null, "{db}: {why}");
    }
    // The drafts hold each database under its method, and none of the blocked ones.
    let drafts = out["drafts"].as_array().unwrap();
    let draft = |method: &str| {
        drafts
            .iter()
            .find(|d| d["method"] == method)
            .unwrap_or_else(|| panic!("no {method} draft: {drafts:?}"))
    };
    let lrs = draft("lrs");
    assert!(
        lrs["databases"]
            .as_array()
            .unwrap()
            .contains(&json!(CLEAN_DB))
    );
    assert!(
        !lrs["databases"]
            .as_array()
            .unwrap()
            .contains(&json!(RESTORING_DB))
    );
    assert_eq!(draft("native")["databases"], json!([SIMPLE_DB]));
    for d in drafts {
        let text = d["text"].as_str().unwrap();
        let parsed: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        // A migration.toml: its wave is the method's databases, its step runs a bundled plugin.
        let wave: Vec<&str> = parsed["waves"][0]["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let listed: Vec<&str> = d["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(wave, listed, "{text}");
        let plugin = parsed["steps"][0]["plugin"].as_str().unwrap();
        assert!(parsed["plugins"][plugin]["bundled"].is_str(), "{text}");
        assert!(
            text.contains("Not in any draft until their blockers are fixed"),
            "{text}"
        );
        assert!(
            !d["databases"]
                .as_array()
                .unwrap()
                .contains(&json!(facts::FILESTREAM_DATABASE))
        );
    }
}
