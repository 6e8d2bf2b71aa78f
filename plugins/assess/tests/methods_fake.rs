//! A method per database and the migration.toml drafts, through the instance step on
//! FakeHost; each draft read as the host reads migration.toml (unknown keys refused) and each
//! step's config checked by the real plugin's config type and `validate`. And: the plugin only
//! reads.

mod common;

use assess::Assess;
use common::migration_file::File;
use common::{Db, Source, row, run};
use ferry_sdk::{Access, ObjectStatus, Plugin};
use serde_json::{Value, json};

fn source() -> Source {
    let mut s = Source::default();
    // Sales 10 GB (small), Hr 200 GB (large), both FULL.
    let mut legacy = Db::new("Legacy", 7, 5);
    legacy.recovery = "SIMPLE".into();
    let mut docs = Db::new("Docs", 8, 5);
    docs.filegroups.push("FD".into());
    s.databases.push(legacy);
    s.databases.push(docs);
    s
}

fn pick(out: &Value, db: &str) -> Value {
    out["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["database"] == db)
        .unwrap()["choice"]["pick"]
        .clone()
}

#[test]
fn each_database_gets_the_method_its_findings_and_size_allow() {
    let (out, h) = run(source(), "(instance)", json!({}));
    let out = out.unwrap();
    assert_eq!(pick(&out, "Hr"), "mi-link");
    assert_eq!(pick(&out, "Sales"), "lrs");
    assert_eq!(pick(&out, "Legacy"), "native");
    assert_eq!(pick(&out, "Docs"), Value::Null);
    // Readiness per tier, per database.
    let docs = out["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["database"] == "Docs")
        .unwrap();
    assert_eq!(docs["readiness"]["business-critical"]["ready"], false);
    assert_eq!(
        docs["readiness"]["general-purpose"]["blockers"],
        json!(["filestream"])
    );
    assert_eq!(out["readiness"]["general-purpose"]["ready"], true);
    let hr = row(&h.rows, "Hr: method").unwrap();
    assert_eq!(hr.reason_code.as_deref(), Some("method-mi-link"));
    assert_eq!(hr.status, ObjectStatus::Passed);
    let docs = row(&h.rows, "Docs: method").unwrap();
    assert_eq!(docs.status, ObjectStatus::Blocked);
    assert!(docs.notes.as_deref().unwrap().contains("no method"));
    let legacy = row(&h.rows, "Legacy: method")
        .unwrap()
        .notes
        .clone()
        .unwrap();
    assert!(legacy.contains("lrs cannot (recovery-model"), "{legacy}");
    // Why each method cannot move Docs is in the output.
    let docs_methods = &out["databases"][3]["choice"]["methods"];
    assert!(
        docs_methods["native"][0]
            .as_str()
            .unwrap()
            .contains("filestream")
    );
}

#[test]
fn an_older_source_moves_its_large_databases_by_lrs_and_an_offline_window_by_native() {
    let mut s = source();
    s.version = "13.0.6300.2".into();
    let (out, _) = run(s, "(instance)", json!({}));
    let out = out.unwrap();
    assert_eq!(pick(&out, "Hr"), "lrs");
    let (out, _) = run(
        source(),
        "(instance)",
        json!({"downtime": "offline-window"}),
    );
    let out = out.unwrap();
    assert_eq!(pick(&out, "Sales"), "native");
    assert_eq!(pick(&out, "Hr"), "lrs");
}

#[test]
fn the_databases_setting_limits_the_assessment_and_names_the_missing() {
    let (out, _) = run(
        source(),
        "(instance)",
        json!({"databases": ["sales", "Gone"]}),
    );
    let out = out.unwrap();
    assert_eq!(out["databases"].as_array().unwrap().len(), 1);
    assert_eq!(out["databases"][0]["database"], "Sales");
    assert_eq!(out["missing_databases"], json!(["Gone"]));
}

/// The config checked by plugin `P`'s own type and `validate`.
fn valid<P: Plugin>(config: &toml::Table) -> Result<(), String> {
    let json = serde_json::to_string(config).unwrap();
    let c: P::Config = ferry_sdk::parse_config(&json).map_err(|e| e.describe())?;
    P::validate(&c).map(|_| ()).map_err(|e| e.describe())
}

#[test]
fn each_draft_is_a_migration_toml_its_plugin_accepts() {
    let (out, _) = run(source(), "(instance)", json!({}));
    let out = out.unwrap();
    let drafts = out["drafts"].as_array().unwrap();
    let methods: Vec<&str> = drafts
        .iter()
        .map(|d| d["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["mi-link", "lrs", "native"]);
    for d in drafts {
        let text = d["text"].as_str().unwrap();
        let file: File = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(file.migration.name.starts_with("assess-"));
        assert!(file.databases.is_none() && file.limits.is_none());
        let dbs: Vec<String> = file
            .waves
            .iter()
            .flat_map(|w| w.databases.clone())
            .collect();
        assert_eq!(json!(dbs), d["databases"]);
        assert!(!dbs.contains(&"Docs".to_owned()));
        assert!(text.contains("Not in any draft until their blockers are fixed: Docs."));
        assert!(text.starts_with("# A draft ferry's `assess` step wrote for SQL01"));
        assert_eq!(file.steps.len(), 1);
        let step = &file.steps[0];
        assert!(step.scope.is_none() && !step.name.is_empty());
        let bundled = file.plugins[&step.plugin].bundled.clone().unwrap();
        let config = step.config.clone().unwrap();
        let checked = match bundled.as_str() {
            "native-restore" => valid::<native_restore::NativeRestore>(&config),
            "lrs" => valid::<lrs::Lrs>(&config),
            "mi-link" => valid::<mi_link::MiLink>(&config),
            "dms" => valid::<dms::Dms>(&config),
            other => panic!("unknown plugin {other}"),
        };
        checked.unwrap_or_else(|e| panic!("{bundled}: {e}\n{text}"));
        // Every label a step's plugin needs is granted.
        let granted: Vec<&String> = [&step.grants.sql, &step.grants.storage, &step.grants.azure]
            .into_iter()
            .flatten()
            .collect();
        assert!(!granted.is_empty());
    }
}

#[test]
fn the_dms_draft_is_accepted_by_dms() {
    // DMS is picked only when the methods before it cannot move a database; its draft is
    // checked from a choice made here.
    let text = assess::draft::drafts(
        "src",
        &[assess::methods::Choice {
            database: "Sales".into(),
            size_gb: 1,
            methods: Default::default(),
            pick: Some(assess::rules::Method::Dms),
            rationale: "Sales: why".into(),
        }],
    )[0]
    .text
    .clone();
    let file: File = toml::from_str(&text).unwrap();
    let step = &file.steps[0];
    valid::<dms::Dms>(step.config.as_ref().unwrap()).unwrap();
    assert!(step.grants.secrets.contains(&"source-password".to_owned()));
}

#[test]
fn the_plugin_only_reads() {
    assert!(Assess::needs().iter().all(|n| n.access == Access::Read));
    let (out, h) = run(
        source(),
        "(instance)",
        json!({"samples": 2, "sample_seconds": 1}),
    );
    out.unwrap();
    assert!(h.executed.is_empty(), "{:?}", h.executed);
    let (out, h) = run(source(), "Sales", json!({}));
    out.unwrap();
    assert!(h.executed.is_empty(), "{:?}", h.executed);
}

#[test]
fn every_query_passes_the_read_grant_classifier_but_dbcc() {
    let src = std::rc::Rc::new(std::cell::RefCell::new(source()));
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut h = common::host(src, seen.clone());
    h.run_item::<Assess>(common::config(json!({})), "(instance)")
        .unwrap();
    h.run_item::<Assess>(common::config(json!({})), "Sales")
        .unwrap();
    for q in seen.borrow().iter() {
        let reads = ferry_tsql::read_only::check(q).is_ok();
        assert!(
            reads || q.starts_with("DBCC TRACESTATUS"),
            "a read grant refuses: {q}"
        );
    }
}

#[test]
fn the_report_charts_readiness_vcores_and_methods() {
    let (out, h) = run(source(), "(instance)", json!({}));
    out.unwrap();
    assert_eq!(h.charts.len(), 3);
    let ready = &h.charts[0];
    assert_eq!(
        ready.labels,
        [
            "general-purpose",
            "business-critical",
            "next-gen-general-purpose"
        ]
    );
    // Docs (FILESTREAM) is blocked on every tier.
    assert_eq!(ready.series[0].values, [1.0, 1.0, 1.0]);
    let methods = &h.charts[2];
    assert_eq!(
        methods.labels,
        ["mi-link", "lrs", "dms", "native", "none yet"]
    );
    assert_eq!(methods.series[0].values, [1.0, 1.0, 0.0, 1.0, 1.0]);
    assert!(h.charts[1].series[0].values.iter().all(|v| *v >= 4.0));
}
