//! What an outage, a second operator and a large migration do to a run: a transient failure
//! that outlasts the retry window defers its item to the next `ferry apply` (never fails it);
//! `--retry-failed` calls failed items again deliberately; a second apply on the same state
//! directory is refused with who holds it while `status` still reads; and a migration of the
//! largest size the limits allow starts within a fixed memory budget.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;
use serde_json::Value;

const PASSWORD: &str = "Emul@tor-Pa55-resilience";

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn item(site: &Site, db: &str, step: &str) -> Value {
    items(&site.status())[&(db.to_owned(), step.to_owned())].clone()
}

/// A probe step that reads from `source`, a port where no server listens yet: every call fails
/// as a lost connection, which is transient. With a one-second retry window the item is
/// deferred, not failed; once the server is up, the next `apply` finishes it as a later attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_defers_items_and_the_next_apply_finishes_them() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let migration = fixture_migration(
        "outage",
        "sql-probe",
        &["one"],
        r#"[plugins.hello]
bundled = "hello-steps"
[[steps]]
name = "probe"
plugin = "sql-probe"
[steps.config]
statements = [{ label = "src", kind = "query", sql = "SELECT 1 AS up", propagate = true }]
[steps.grants]
sql = ["src"]
[steps.limits]
retry_window_seconds = 1

[[steps]]
name = "after"
plugin = "hello"
config = { greeting = "after the probe", wait_ms = 0 }
[steps.grants]
secrets = ["demo-token"]
scratch = true
"#,
    );
    let site = Site::new(&migration, "");
    write_secret(&site.path("token.txt"), "demo-token-value-outage\n");
    let env = |port: u16| {
        format!(
            "[sql.src]\nserver = \"localhost\"\nport = {port}\ntls = \"required\"\n\
             trust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA_PASSWORD\"\n\n\
             [secrets]\ndemo-token = \"file:token.txt\"\n"
        )
    };
    std::fs::write(site.path("environment.toml"), env(port)).unwrap();
    let certs = std::sync::Arc::new(ferry_emulator::ServerTls::generate(&[]).unwrap());
    std::fs::write(site.path("ca.pem"), &certs.ca_pem).unwrap();

    let apply = |site: &Site| {
        let mut cmd = site.ferry(&["apply", "--json", "migration.toml"]);
        cmd.env("TEST_SA_PASSWORD", PASSWORD);
        cmd
    };
    // The server is down: retried within the window, then deferred; the step after it waits.
    let mut first = apply(&site);
    let out = tokio::task::spawn_blocking(move || first.finish())
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let events = json_lines(&stdout);
    assert!(
        events.iter().any(|e| e["event"] == "item-retry"),
        "retried within the window: {stdout}"
    );
    let deferred = events
        .iter()
        .find(|e| e["event"] == "item-deferred")
        .unwrap_or_else(|| panic!("no item-deferred in {stdout}"));
    assert!(
        deferred["error"].as_str().unwrap().contains("cannot reach"),
        "{deferred}"
    );
    assert!(!events.iter().any(|e| e["event"] == "item-failed"));
    let summary = events.iter().find(|e| e["event"] == "summary").unwrap();
    assert_eq!(summary["summary"]["deferred"], 1, "{summary}");
    let probe = item(&site, "one", "probe");
    assert_eq!(probe["status"], "deferred", "{probe}");
    let attempts_before = probe["attempt"].as_u64().unwrap();
    assert_eq!(item(&site, "one", "after")["status"], "pending");

    // The server comes back on the same port: the next apply calls the item again, as the
    // next attempt, and the lane goes on.
    let dir = tempfile::tempdir().unwrap();
    let options =
        ferry_emulator::ServerOptions::local(sql2019(), &dir.path().join("src"), PASSWORD);
    let _server =
        ferry_emulator::Server::start(format!("127.0.0.1:{port}").parse().unwrap(), options, certs)
            .await
            .unwrap();
    let mut second = apply(&site);
    let out = tokio::task::spawn_blocking(move || second.finish())
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let probe = item(&site, "one", "probe");
    assert_eq!(probe["status"], "done", "{probe}");
    assert!(
        probe["attempt"].as_u64().unwrap() > attempts_before,
        "the retry counts as a later attempt: {probe}"
    );
    assert_eq!(item(&site, "one", "after")["status"], "done");
}

/// A site whose one step runs the hostile fixture's attack named like its one database.
fn hostile_site(database: &str, config: &str, limits: &str) -> Site {
    let steps = format!(
        "[[steps]]\nname = \"attack\"\nplugin = \"hostile\"\nconfig = {{ attack = \"by-item\"{config} }}\n\
         [steps.grants]\nsecrets = [\"leaky:reveal\"]\n[steps.limits]\n{limits}\n"
    );
    let migration = fixture_migration(database, "hostile", &[database], &steps);
    Site::new(&migration, "[secrets]\nleaky = \"env:FERRY_TEST_LEAKY\"\n")
}

fn sql2019() -> ferry_emulator::Personality {
    ferry_emulator::Personality::SqlServer {
        release: ferry_emulator::Release::Sql2019,
        edition: ferry_emulator::Edition::Enterprise,
        hadr: false,
        name: "SRC".into(),
    }
}

/// An item deferred after transient failures is called again by each later `apply`, as its
/// next attempt, until it is done; then the run is finished and an apply has nothing to do.
#[test]
fn a_deferred_item_is_called_again_by_the_next_apply_with_its_attempt_count() {
    let site = hostile_site("transient", "", "retries = 0\nretry_window_seconds = 0");
    let env = [("FERRY_TEST_LEAKY", "x")];
    // The `transient` attack fails transiently until its third attempt: with no retries
    // allowed, each apply defers it once and the next apply makes the next attempt.
    for expected_attempt in [1, 2] {
        let out = site.run(&["apply", "migration.toml"], &env);
        assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
        let it = item(&site, "transient", "attack");
        assert_eq!(it["status"], "deferred", "{it}");
        assert_eq!(it["attempt"], expected_attempt, "{it}");
        let (stdout, _) = text(&out);
        assert!(stdout.contains("deferred"), "{stdout}");
    }
    let out = site.run(&["apply", "migration.toml"], &env);
    assert!(out.status.success(), "{:?}", text(&out));
    let it = item(&site, "transient", "attack");
    assert_eq!(
        (it["status"].as_str(), it["attempt"].as_u64()),
        (Some("done"), Some(3))
    );

    let out = site.run(&["apply", "migration.toml"], &env);
    assert!(out.status.success());
    assert!(text(&out).0.contains("Nothing to do"), "{:?}", text(&out));
}

/// `--retry-failed` after a permanent failure: the `panic` attack fails for good; the next
/// plain apply does nothing and names the flag; with the flag, the item is called again.
#[test]
fn a_failed_item_stays_failed_until_retry_failed() {
    let site = hostile_site("panic", "", "");
    let env = [("FERRY_TEST_LEAKY", "x")];
    let out = site.run(&["apply", "migration.toml"], &env);
    assert_eq!(out.status.code(), Some(1));
    let calls = item(&site, "panic", "attack")["calls"].as_u64().unwrap();
    let out = site.run(&["apply", "migration.toml"], &env);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("Nothing to do") && stdout.contains("--retry-failed"),
        "{stdout}"
    );
    assert_eq!(
        item(&site, "panic", "attack")["calls"].as_u64().unwrap(),
        calls
    );
    let out = site.run(&["apply", "--retry-failed", "migration.toml"], &env);
    assert_eq!(
        out.status.code(),
        Some(1),
        "it panics again: {:?}",
        text(&out)
    );
    let it = item(&site, "panic", "attack");
    assert_eq!(it["status"], "failed");
    assert_eq!(
        it["calls"].as_u64().unwrap(),
        calls + 1,
        "called once more: {it}"
    );
}

/// While one `ferry apply` runs, a second on the same state directory is refused (exit 3)
/// naming the holder's process; `ferry status` still reads; the first finishes untouched.
#[test]
fn a_second_apply_on_the_same_state_is_refused_while_status_reads() {
    let site = hostile_site("slow", ", ms = 1500", "");
    let mut first = site
        .ferry(&["apply", "--json", "migration.toml"])
        .env("FERRY_TEST_LEAKY", "x")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    // Wait until the first apply is inside its step call (it holds the lock from its start).
    for line in lines.by_ref() {
        if line.unwrap().contains("\"item-started\"") {
            break;
        }
    }
    let second = site.run(&["apply", "migration.toml"], &[("FERRY_TEST_LEAKY", "x")]);
    let (stdout, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("another `ferry apply` is running")
            && stderr.contains(&format!("pid {}", first.id())),
        "{stderr}"
    );
    assert!(
        !items(&site.status()).is_empty(),
        "status reads while apply runs"
    );
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = first.wait().unwrap();
    assert!(code.success(), "{rest:?}");
    assert_eq!(item(&site, "slow", "attack")["status"], "done");
    // The lock went with the process: a third apply runs (and finds nothing to do).
    let third = site.run(&["apply", "migration.toml"], &[("FERRY_TEST_LEAKY", "x")]);
    assert!(third.status.success(), "{:?}", text(&third));
}

/// The largest migration the documented limits allow starts its first item within 200 MB:
/// work items are written to the journal as they are made and read back a page of databases
/// at a time, so memory does not follow the number of databases.
#[test]
fn the_largest_allowed_migration_starts_within_200_mb() {
    const DATABASES: usize = ferry_host::config::limits::MAX_DATABASES;
    const BUDGET_KB: u64 = 200 * 1024;
    let names: Vec<String> = (0..DATABASES).map(|i| format!("\"db{i:05}\"")).collect();
    let migration = format!(
        "databases = [{}]\n[migration]\nname = \"large\"\n[plugins.hello]\nbundled = \
         \"hello-steps\"\n[[steps]]\nname = \"greet\"\nplugin = \"hello\"\nconfig = {{ greeting = \
         \"hi\", wait_ms = 0 }}\n[steps.grants]\nsecrets = [\"demo-token\"]\nscratch = true\n",
        names.join(", ")
    );
    let site = Site::new(&migration, "[secrets]\ndemo-token = \"file:token.txt\"\n");
    write_secret(&site.path("token.txt"), "demo-token-value-large\n");
    let mut child = site
        .ferry(&["apply", "--json", "migration.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak_kb = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        if line.contains("\"item-started\"") {
            // VmHWM: the highest resident set the process has had so far.
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            peak_kb = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let peak_kb = peak_kb.expect("ferry started an item");
    assert!(
        peak_kb < BUDGET_KB,
        "{DATABASES} databases: {peak_kb} kB before the first item, over {BUDGET_KB} kB"
    );
}
