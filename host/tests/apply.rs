//! `ferry apply` end to end with the bundled example plugin.

mod common;

use common::*;

fn example() -> Site {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello");
    Site::new(
        &std::fs::read_to_string(root.join("migration.toml")).unwrap(),
        &std::fs::read_to_string(root.join("environment.toml")).unwrap(),
    )
}

const TOKEN: (&str, &str) = ("FERRY_DEMO_TOKEN", "demo-token-value-9c1f");

#[test]
fn example_runs_every_item_through_a_wait_on_fresh_instances() {
    let site = example();
    let out = site.run(&["apply", "migration.toml"], &[TOKEN]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("6 done, 0 failed, 0 skipped"), "{stdout}");

    let status = site.status();
    let items = items(&status);
    assert_eq!(items.len(), 6);
    for ((db, step), it) in &items {
        assert_eq!(it["status"], "done", "{db} {step}");
        // One call before the wait, one after it on a fresh instance from the journaled state.
        assert_eq!(it["calls"], 2, "{db} {step}");
        assert!(it["output"]["marker_bytes"].as_u64().unwrap() > 0);
    }
    assert_eq!(status["run"]["status"], "finished");

    // A second apply is a no-op that says so.
    let again = site.run(&["apply", "migration.toml"], &[TOKEN]);
    let (stdout, _) = text(&again);
    assert!(again.status.success());
    assert!(stdout.contains("had already finished"), "{stdout}");
}

#[test]
fn json_events_are_one_object_per_line() {
    let site = example();
    let out = site.run(&["apply", "--json", "migration.toml"], &[TOKEN]);
    assert!(out.status.success(), "{}", text(&out).1);
    let (stdout, _) = text(&out);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    let kinds = |k: &str| events.iter().filter(|e| e["event"] == k).count();
    assert_eq!(kinds("item-done"), 6);
    assert_eq!(kinds("item-waiting"), 6);
    assert_eq!(kinds("row"), 6);
    assert!(kinds("progress") >= 12);
    assert_eq!(events.last().unwrap()["event"], "summary");
}

#[test]
fn changed_inputs_refuse_to_resume_and_say_what_changed() {
    let site = example();
    assert!(
        site.run(&["apply", "migration.toml"], &[TOKEN])
            .status
            .success()
    );
    let m = std::fs::read_to_string(site.migration())
        .unwrap()
        .replace("greeting = \"hello\"", "greeting = \"bonjour\"");
    std::fs::write(site.migration(), m).unwrap();
    let out = site.run(&["apply", "migration.toml"], &[TOKEN]);
    assert_clean_error(&out, 3, &["step `greet` changed", "--fresh"]);
    // Secrets are not inputs: a new value changes nothing.
    let m = std::fs::read_to_string(site.migration())
        .unwrap()
        .replace("bonjour", "hello");
    std::fs::write(site.migration(), m).unwrap();
    let out = site.run(
        &["apply", "migration.toml"],
        &[("FERRY_DEMO_TOKEN", "another-value")],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    // --fresh starts a new run.
    let out = site.run(&["apply", "--fresh", "migration.toml"], &[TOKEN]);
    assert!(out.status.success());
    assert_eq!(site.status()["runs"].as_array().unwrap().len(), 2);
}

#[test]
fn check_reports_ok_and_lists_plugins() {
    let site = example();
    let out = site.run(&["check", "migration.toml"], &[TOKEN]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = site.run(&["plugins", "list", "--json"], &[]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hello = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hello-steps")
        .unwrap();
    assert_eq!(hello["wit_version"], "0.1.0");
    assert_eq!(hello["sha256"].as_str().unwrap().len(), 64);
    assert!(
        hello["needs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "secret" && n["label"] == "demo-token")
    );
    let out = site.run(&["plugins", "describe", "hello-steps"], &[]);
    let (stdout, _) = text(&out);
    assert!(
        out.status.success() && stdout.contains("config schema") && stdout.contains("greeting"),
        "{stdout}"
    );
}

#[test]
fn a_missing_secret_is_named_without_a_value() {
    let site = example();
    let out = site
        .ferry(&["check", "migration.toml"])
        .env_remove("FERRY_DEMO_TOKEN")
        .finish();
    assert_clean_error(
        &out,
        2,
        &["FERRY_DEMO_TOKEN is not set", "secrets.demo-token"],
    );
}
