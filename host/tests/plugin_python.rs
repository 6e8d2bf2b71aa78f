//! The change-ticket gate written in Python (examples/plugins/ticket-gate-python), built by its
//! own build.sh with componentize-py from PyPI, and run through the real `ferry` binary: its
//! own Python tests, what `plugins describe` shows (and the compile cache making the second
//! load fast), `check` refusing config mistakes, and the example's migration (the gate, then
//! the bundled native-restore) planned and applied against the emulator with approved,
//! rejected and pending tickets.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::gate_rig::{GateRig, assert_describes_the_gate};
use common::*;
use serde_json::{Value, json};

/// The component, built once per test process by the example's build.sh (which installs the
/// pinned componentize-py into the example's .venv/ the first time). Nothing is skipped: a
/// machine that cannot build it fails here, saying what to install.
fn component() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/plugins/ticket-gate-python");
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(dir.join("build.sh"))
            .stdin(Stdio::null())
            .finish();
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "examples/plugins/ticket-gate-python/build.sh failed. It needs Python 3.11 or later \
             with `venv` (Debian: apt-get install python3 python3-venv) and PyPI, from which it \
             installs componentize-py as pinned in requirements.txt.\n{stdout}\n{stderr}"
        );
        eprintln!(
            "build.sh: {:.1} s{}",
            started.elapsed().as_secs_f64(),
            if stdout.is_empty() {
                ", already built".to_owned()
            } else {
                format!(": {}", stdout.trim())
            }
        );
        dir.join("ticket_gate.wasm")
    })
}

/// The example's own tests (test_app.py: app.py on CPython against fakes of the host's imports),
/// kept passing here because they are what a plugin author copies and runs first.
#[test]
fn the_plugins_own_python_tests_pass() {
    let dir = component().parent().unwrap();
    let out = Command::new(dir.join(".venv/bin/python"))
        .args(["-m", "unittest", "-v"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .finish();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // unittest reports on stderr: "Ran 8 tests in 0.002s" then "OK".
    let ran = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split(' ')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .unwrap_or(0);
    assert!(ran >= 8 && stderr.trim_end().ends_with("OK"), "{stderr}");
}

#[test]
fn describe_names_the_need_and_the_schema_and_a_second_load_uses_the_cache() {
    let wasm = component();
    let cache = tempfile::tempdir().unwrap();
    let describe = |args: &[&str]| {
        let started = Instant::now();
        let out = Command::new(FERRY)
            .args(["plugins", "describe"])
            .args(args)
            .arg(wasm)
            .env("FERRY_CACHE_DIR", cache.path())
            .env_remove("FERRY_LOG")
            .finish();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        (stdout, started.elapsed())
    };
    let compiled = || -> Vec<(PathBuf, u64)> {
        use std::os::unix::fs::MetadataExt;
        std::fs::read_dir(cache.path())
            .map(|d| {
                d.map(|e| {
                    let e = e.unwrap();
                    (e.path(), e.metadata().unwrap().ino())
                })
                .collect()
            })
            .unwrap_or_default()
    };
    assert!(compiled().is_empty());

    let (shown, cold) = describe(&[]);
    let after_cold = compiled();
    let sha = sha256_file(wasm);
    assert!(
        after_cold.len() == 1
            && after_cold[0]
                .0
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&sha),
        "the first load compiled the component into the cache: {after_cold:?}"
    );
    let (json_shown, cached) = describe(&["--json"]);
    eprintln!(
        "ferry plugins describe ticket_gate.wasm ({} bytes): cold {:.2} s (compiled into an empty \
         FERRY_CACHE_DIR), cached {:.2} s",
        std::fs::metadata(wasm).unwrap().len(),
        cold.as_secs_f64(),
        cached.as_secs_f64()
    );
    // The second load read the compiled file: a miss would have renamed a new one over it.
    assert_eq!(compiled(), after_cold, "the second load used the cache");

    assert_describes_the_gate(&shown, &json_shown);
}

/// The example's run files (migration.toml, environment.toml, tickets.sql, approve.json) and
/// its component, copied into a project directory of their own, as an author has them.
fn project() -> tempfile::TempDir {
    let wasm = component();
    let example = wasm.parent().unwrap();
    let project = tempfile::tempdir().unwrap();
    for file in [
        "migration.toml",
        "environment.toml",
        "tickets.sql",
        "approve.json",
        "ticket_gate.wasm",
    ] {
        std::fs::copy(example.join(file), project.path().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    project
}

/// `ferry args` in the rig's project, run to its end: its output, `--json` events, all text.
fn ferry(rig: &GateRig, args: &[&str]) -> (std::process::Output, Vec<Value>, String) {
    eprintln!("ferry {args:?}");
    let out = tokio::task::block_in_place(|| rig.ferry(args).finish());
    let (stdout, stderr) = text(&out);
    (out, events_in(&stdout), format!("{stdout}\n{stderr}"))
}

fn events_in(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn row<'a>(events: &'a [Value], step: &str, db: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == "row" && e["step"] == step && e["item"] == db)
        .unwrap_or_else(|| panic!("a `{step}` report row for {db} in {events:#?}"))
}

fn step_event<'a>(events: &'a [Value], kind: &str, step: &str, db: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["event"] == kind && e["step"] == step && e["item"] == db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_gate_passes_approved_stops_rejected_and_waits_for_pending_tickets() {
    let project = project();
    let rig = GateRig::start(project.path()).await;
    // tickets.sql made HRDb's and InventoryDb's tickets approved and SalesDb's pending. HRDb
    // also gets an older rejected ticket (the latest decides) and InventoryDb's is rejected.
    rig.on_source(
        "INSERT INTO Tickets.dbo.change_tickets VALUES (N'CHG-0', N'HRDb', N'rejected', '2020-01-01T00:00:00'); \
         UPDATE Tickets.dbo.change_tickets SET status = N'rejected' WHERE ticket_id = N'CHG-3'",
    );

    let (out, _, all) = ferry(&rig, &["check", "--dev"]);
    assert!(out.status.success(), "{all}");

    // A plan reads the tickets but waits for nobody: the pending one is reported and passed.
    let (out, events, all) = ferry(&rig, &["plan", "--dev", "--json"]);
    assert_eq!(out.status.code(), Some(1), "InventoryDb would stop: {all}");
    let planned =
        step_event(&events, "item-done", "ticket", "SalesDb").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(
        planned["output"],
        json!({"ticket": "CHG-2", "planned": true}),
        "{all}"
    );
    assert!(
        step_event(&events, "item-waiting", "ticket", "SalesDb").is_none(),
        "a plan does not wait: {all}"
    );
    assert_eq!(
        row(&events, "ticket", "SalesDb")["reason_code"],
        "ticket-not-approved"
    );
    let plan: Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join("migration.plan.json")).unwrap(),
    )
    .unwrap();
    let outcome = |step: &str, db: &str| {
        plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["step"] == step && i["item"] == db)
            .map(|i| {
                (
                    i["outcome"].as_str().unwrap().to_owned(),
                    i["reason"].as_str().unwrap_or("").to_owned(),
                )
            })
            .unwrap()
    };
    assert_eq!(outcome("ticket", "SalesDb").0, "ready");
    assert_eq!(outcome("restore", "SalesDb").0, "ready");
    let (stops, why) = outcome("ticket", "InventoryDb");
    assert!(stops == "stops" && why.contains("CHG-3"), "{stops}: {why}");
    assert_eq!(outcome("restore", "InventoryDb").0, "skipped");
    assert!(!rig.restored("HRDb"), "a plan restores nothing");

    // Apply: SalesDb waits at its gate until its ticket is approved.
    let log = project.path().join("apply.jsonl");
    let mut apply = rig.ferry(&["apply", "--dev", "--json"]);
    apply
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(project.path().join("apply.err")).unwrap());
    let mut child = apply.spawn().unwrap();
    let started = Instant::now();
    let reason = "waiting for change ticket CHG-2 (pending)";
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "ferry apply ended ({status}) before SalesDb waited:\n{}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        assert!(
            started.elapsed() < RUN_LIMIT,
            "SalesDb never waited at its gate"
        );
        // Until apply has opened its journal there is no run for `status` to show.
        let out = tokio::task::block_in_place(|| rig.ferry(&["status", "--json"]).finish());
        let status = serde_json::from_slice::<Value>(&out.stdout).unwrap_or_default();
        if status["items"].is_array() {
            let items = items(&status);
            if let Some(gate) = items.get(&("SalesDb".to_owned(), "ticket".to_owned()))
                && gate["status"] == "waiting"
            {
                assert_eq!(gate["wait"]["reason"], reason, "{gate}");
                assert_eq!(
                    items[&("SalesDb".to_owned(), "restore".to_owned())]["status"],
                    "pending"
                );
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, _, shown) = ferry(&rig, &["status"]);
    assert!(shown.contains(reason), "{shown}");
    assert!(
        !rig.restored("SalesDb"),
        "nothing passes the gate before approval"
    );

    rig.post_sql("approve.json");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!(
                "ferry apply did not finish after the approval:\n{}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stdout = std::fs::read_to_string(&log).unwrap();
    let all = format!(
        "{stdout}\n{}",
        std::fs::read_to_string(project.path().join("apply.err")).unwrap()
    );
    assert_eq!(status.code(), Some(1), "InventoryDb failed: {all}");
    let events = events_in(&stdout);

    // Approved: the latest ticket (not the older rejected one) opens the gate at the first look.
    let hr = step_event(&events, "item-done", "ticket", "HRDb").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(hr["output"], json!({"ticket": "CHG-1", "looks": 1}));
    let r = row(&events, "ticket", "HRDb");
    assert_eq!(
        (&r["status"], &r["reason_code"]),
        (&json!("passed"), &json!("ticket-approved"))
    );

    // Pending, then approved: it looked more than once, its state carried between the calls.
    let sales =
        step_event(&events, "item-done", "ticket", "SalesDb").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(sales["output"]["ticket"], "CHG-2");
    assert!(sales["output"]["looks"].as_u64().unwrap() >= 2, "{sales}");
    assert!(
        step_event(&events, "item-waiting", "ticket", "SalesDb").is_some(),
        "{all}"
    );
    for db in ["HRDb", "SalesDb"] {
        assert!(
            step_event(&events, "item-done", "restore", db).is_some(),
            "{db}: {all}"
        );
        assert!(rig.restored(db), "{db} was restored after its gate");
    }

    // Rejected: the item fails with the ticket in the reason, and its restore is skipped.
    let failed = step_event(&events, "item-failed", "ticket", "InventoryDb")
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(
        failed["error"], "failed: change ticket CHG-3 for `InventoryDb` was rejected",
        "{failed}"
    );
    let r = row(&events, "ticket", "InventoryDb");
    assert_eq!(
        (&r["status"], &r["reason_code"]),
        (&json!("blocked"), &json!("ticket-rejected"))
    );
    assert!(
        step_event(&events, "item-skipped", "restore", "InventoryDb").is_some(),
        "{all}"
    );
    assert_eq!(received(&rig.src, "BACKUP DATABASE [InventoryDb]"), 0);
    assert!(!rig.restored("InventoryDb"));

    // The gate only reads, and names no database in its text: the host sends `@db` as the
    // typed parameter @P1.
    let sent: Vec<String> = rig
        .src
        .statements()
        .into_iter()
        .map(|s| s.text)
        .filter(|t| t.contains("FROM dbo.change_tickets"))
        .collect();
    assert!(!sent.is_empty());
    for t in &sent {
        assert!(
            t.contains("WHERE database_name = @P1")
                && !t.contains('\'')
                && ferry_tsql::read_only::check(t).is_ok(),
            "{t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_refuses_an_unknown_key_and_shows_what_validate_warns() {
    let project = project();
    let rig = GateRig::start(project.path()).await;
    let file = project.path().join("migration.toml");
    let m = std::fs::read_to_string(&file).unwrap();
    let check = |from: &str, to: &str| {
        assert!(m.contains(from), "{from}");
        std::fs::write(&file, m.replacen(from, to, 1)).unwrap();
        tokio::task::block_in_place(|| rig.ferry(&["check", "--dev"]).finish())
    };

    // A misspelt key: the host refuses it against the schema the plugin published.
    let out = check("tickets = \"tickets\"", "ticket = \"tickets\"");
    assert_clean_error(
        &out,
        2,
        &[
            "step `ticket`: `config`",
            "Additional properties are not allowed ('ticket' was unexpected)",
        ],
    );
    // A key out of its bounds, named with its path.
    let out = check("poll_seconds = 5", "poll_seconds = 1");
    assert_clean_error(
        &out,
        2,
        &["`config.poll_seconds`: 1 is less than the minimum of 5"],
    );
    // The key the schema marks `x-ferry-need` is followed to the label it names: a grant of
    // another label is refused.
    std::fs::write(
        &file,
        m.replacen("tickets = \"tickets\"", "tickets = \"change-db\"", 1),
    )
    .unwrap();
    let out = tokio::task::block_in_place(|| rig.ferry(&["check", "--dev"]).finish());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("needs sql `change-db` (its `tickets` in the step's config)"),
        "{stderr}"
    );

    // The plugin's own `validate` runs in Python: no time limit is allowed, with a warning.
    let out = check("give_up_hours = 1", "give_up_hours = 0");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "config `give_up_hours`: a ticket nobody approves keeps its database waiting forever"
        ),
        "{stderr}"
    );
}
