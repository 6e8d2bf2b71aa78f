//! Steps that run once for the source instance (`scope = "instance"`), through the real `ferry`
//! binary with the bundled example plugin: those listed before every database step run before
//! the first wave, those listed after once the last wave has finished, each as one work item
//! named `(instance)`; one between database steps is a configuration error.

mod common;

use common::*;

const TOKEN: (&str, &str) = ("FERRY_DEMO_TOKEN", "demo-token-value-9c1f");
const ENV: &str = "[secrets]\ndemo-token = \"env:FERRY_DEMO_TOKEN\"\n";

fn step(name: &str, scope: Option<&str>) -> String {
    let scope = scope.map_or(String::new(), |s| format!("scope = \"{s}\"\n"));
    format!(
        "[[steps]]\nname = \"{name}\"\nplugin = \"hello\"\n{scope}config = {{ greeting = \"{name}\", wait_ms = 50 }}\n[steps.grants]\nsecrets = [\"demo-token\"]\nscratch = true\n\n"
    )
}

fn migration(steps: &[String]) -> String {
    format!(
        "[migration]\nname = \"instance\"\n[plugins.hello]\nbundled = \"hello-steps\"\n\n\
         [[waves]]\nname = \"first\"\ndatabases = [\"Sales\", \"HR\"]\n\
         [[waves]]\nname = \"second\"\ndatabases = [\"Inventory\"]\n\n{}",
        steps.concat()
    )
}

/// (event, step, item) of every item-started and item-done event, in order.
fn item_events(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "item-started" || e["event"] == "item-done")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("event"), s("step"), s("item"))
        })
        .collect()
}

#[test]
fn instance_steps_run_once_before_the_first_wave_and_after_the_last() {
    let site = Site::new(
        &migration(&[
            step("objects", Some("instance")),
            step("greet", None),
            step("remap", Some("instance")),
        ]),
        ENV,
    );
    let out = site.run(&["apply", "--json", "migration.toml"], &[TOKEN]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let events = item_events(&stdout);
    let at = |event: &str, step: &str, item: &str| {
        events
            .iter()
            .position(|e| e.0 == event && e.1 == step && e.2 == item)
            .unwrap_or_else(|| panic!("{event} {step} {item}: {events:?}"))
    };
    let objects_done = at("item-done", "objects", "(instance)");
    let remap_started = at("item-started", "remap", "(instance)");
    for db in ["Sales", "HR", "Inventory"] {
        assert!(objects_done < at("item-started", "greet", db), "{events:?}");
        assert!(at("item-done", "greet", db) < remap_started, "{events:?}");
    }
    // One item per instance step, one per database and database step.
    let status = site.status();
    let items = items(&status);
    assert_eq!(items.len(), 5, "{items:?}");
    for (key, it) in &items {
        assert_eq!(it["status"], "done", "{key:?}");
    }
    assert!(items.contains_key(&("(instance)".to_owned(), "objects".to_owned())));
    assert!(!items.contains_key(&("Sales".to_owned(), "objects".to_owned())));
    let report = std::fs::read_to_string(site.path(".ferry/migration/report.md")).unwrap();
    assert!(
        report.contains("instance (first)") && report.contains("instance (last)"),
        "{report}"
    );

    // Resumed, nothing runs again.
    let again = site.run(&["apply", "migration.toml"], &[TOKEN]);
    assert!(text(&again).0.contains("had already finished"));
}

#[test]
fn a_migration_of_instance_steps_alone_runs_them_once() {
    let site = Site::new(&migration(&[step("objects", Some("instance"))]), ENV);
    let out = site.run(&["apply", "--json", "migration.toml"], &[TOKEN]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let done: Vec<_> = item_events(&stdout)
        .into_iter()
        .filter(|e| e.0 == "item-done")
        .collect();
    assert_eq!(
        done,
        vec![("item-done".into(), "objects".into(), "(instance)".into())]
    );
}

#[test]
fn an_instance_step_between_database_steps_or_an_unknown_scope_is_refused_at_check() {
    let middle = Site::new(
        &migration(&[
            step("greet", None),
            step("objects", Some("instance")),
            step("confirm", None),
        ]),
        ENV,
    );
    let out = middle.run(&["check", "migration.toml"], &[TOKEN]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains("step `objects` runs once for the instance")
            && stderr.contains("between the database steps `greet` and `confirm`"),
        "{stderr}"
    );

    let unknown = Site::new(&migration(&[step("objects", Some("server"))]), ENV);
    let out = unknown.run(&["check", "migration.toml"], &[TOKEN]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains("scope `server` is not one ferry knows")
            && stderr.contains("migration.toml:16"),
        "{stderr}"
    );
}
