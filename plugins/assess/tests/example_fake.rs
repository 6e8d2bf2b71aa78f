//! examples/assess: read as the host reads a migration.toml, each step's config (with its
//! config_files) accepted by the plugin, and run on the scripted source and target.

mod common;

use std::path::Path;

use assess::Assess;
use assess::config::Config;
use common::migration_file::File;
use common::{Source, Target, run};
use ferry_sdk::Plugin;
use serde_json::Value;

fn example() -> (File, Vec<Value>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/assess");
    let text = std::fs::read_to_string(dir.join("migration.toml")).unwrap();
    let file: File = toml::from_str(&text).unwrap();
    let configs = file
        .steps
        .iter()
        .map(|s| {
            let mut c = s.config.clone().unwrap_or_default();
            for (key, path) in &s.config_files {
                let t: toml::Table =
                    toml::from_str(&std::fs::read_to_string(dir.join(path)).unwrap()).unwrap();
                c.insert(key.clone(), toml::Value::Table(t));
            }
            serde_json::to_value(c).unwrap()
        })
        .collect();
    (file, configs)
}

#[test]
fn the_example_is_a_migration_the_plugin_accepts_and_runs() {
    let (file, configs) = example();
    assert_eq!(file.plugins["assess"].bundled.as_deref(), Some("assess"));
    assert_eq!(file.steps[0].scope.as_deref(), Some("instance"));
    for (step, config) in file.steps.iter().zip(&configs) {
        assert!(step.grants.sql.iter().all(|g| g.ends_with(":read")));
        let c: Config = ferry_sdk::parse_config(&config.to_string()).unwrap();
        Assess::validate(&c).unwrap();
        assert!(c.entra.domains.contains_key("CONTOSO"));
    }
    let source = || Source {
        target: Some(Target::default()),
        ..Source::default()
    };
    // The instance step with a short window; the database step on one database.
    let mut instance = configs[0].clone();
    instance["samples"] = 2.into();
    let (out, h) = run(source(), "(instance)", instance);
    let out = out.unwrap();
    assert_eq!(h.waits.len(), 1);
    assert_eq!(out["databases"].as_array().unwrap().len(), 2);
    let (out, _) = run(source(), "Sales", configs[1].clone());
    assert_eq!(out.unwrap()["choice"]["pick"], "lrs");
}

#[test]
fn an_entra_mapping_with_an_empty_side_is_refused_at_validate() {
    let c: Config = ferry_sdk::parse_config(r#"{"entra": {"domains": {"CONTOSO": " "}}}"#).unwrap();
    let e = Assess::validate(&c).unwrap_err().describe();
    assert!(e.contains("empty side"), "{e}");
}
