//! The change-ticket gate of docs/plugins.md 5, written in Python
//! (examples/plugins/ticket-gate-python), built by its own build.sh with componentize-py from
//! PyPI, and run through the real `ferry` binary: described, checked, planned, and applied
//! before the bundled `native-restore` against the emulator, with the tickets in a SQL Server
//! whose HTTP control API the test uses as a plugin author would (`POST /source/sql`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::native_rig::*;
use common::*;
use ferry_emulator::{Server, ServerTls};
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

    assert!(
        shown.starts_with(
            "ticket-gate 0.1.0 — Waits until each database's change ticket is approved"
        ),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "sql",
                    "tickets",
                    "read",
                    "reads",
                    "the",
                    "change-ticket",
                    "table"
                ]),
        "{shown}"
    );
    let info: Value = serde_json::from_str(&json_shown).unwrap();
    assert_eq!(info["name"], "ticket-gate");
    assert_eq!(info["wit_version"], "0.1.0");
    assert_eq!(
        info["needs"],
        json!([{"kind": "sql", "label": "tickets", "access": "read", "why": "reads the change-ticket table"}])
    );
    let schema = &info["config_schema"];
    assert_eq!(schema["additionalProperties"], false, "{schema}");
    let defaults: Vec<(&str, &Value)> = schema["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), &v["default"]))
        .collect();
    assert_eq!(
        defaults,
        [
            ("give_up_hours", &json!(72)),
            ("poll_seconds", &json!(60)),
            ("tickets", &json!("tickets"))
        ],
        "the Rust gate's keys and defaults"
    );
}

/// A SQL Server from the emulator that holds the change tickets, with its HTTP control API on
/// a loopback port under `/source`, as `ferry-emulator serve` nests it.
struct Tickets {
    server: Arc<Server>,
    control: String,
    _dir: tempfile::TempDir,
}

impl Tickets {
    async fn start() -> Tickets {
        let dir = tempfile::tempdir().unwrap();
        let certs = Arc::new(ServerTls::generate(&[]).unwrap());
        let server = Arc::new(emulated_sql2019(dir.path(), SA, certs).await);
        let app = axum::Router::new().nest(
            "/source",
            ferry_emulator::control_http::router(server.clone()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let control = format!("http://{}/source", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Tickets {
            server,
            control,
            _dir: dir,
        }
    }

    /// `POST /source/sql`: runs a batch on the tickets server, as docs/plugins.md 5.2 does with curl.
    async fn sql(&self, batch: &str) -> Value {
        let reply = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}/sql", self.control))
            .header("content-type", "application/json")
            .body(json!({ "sql": batch }).to_string())
            .send()
            .await
            .unwrap();
        let status = reply.status();
        let body = reply.text().await.unwrap();
        assert!(status.is_success(), "{batch}\n→ {status}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// The Rig of the native-restore tests (source, Managed Instance, Azurite) with the gate as the
/// first step, as in docs/plugins.md 5.2, reading the tickets through the `change-db` label.
async fn gated_rig(dbs: &[&str], tickets: &Tickets) -> Rig {
    let rig = Rig::new(dbs, "").await;
    let wasm = component();
    let m = std::fs::read_to_string(rig.site.migration()).unwrap();
    let gate = format!(
        "[plugins.ticket-gate]\npath = {:?}\nsha256 = \"{}\"\n\n\
         [[steps]]\nname = \"ticket\"\nplugin = \"ticket-gate\"\n\
         [steps.config]\ntickets = \"change-db\"\npoll_seconds = 5\ngive_up_hours = 48\n\
         [steps.grants]\nsql = [\"change-db:read\"]\n\n[[steps]]\n",
        wasm.display().to_string(),
        sha256_file(wasm)
    );
    assert!(m.contains("[[steps]]\nname = \"restore\""), "{m}");
    std::fs::write(rig.site.migration(), m.replacen("[[steps]]\n", &gate, 1)).unwrap();
    let env = std::fs::read_to_string(rig.site.path("environment.toml")).unwrap();
    let label = format!(
        "\n[sql.change-db]\nserver = \"localhost\"\nport = {}\ndatabase = \"Tickets\"\ntls = \"required\"\n\
         trust_ca_file = \"tickets-ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n",
        tickets.server.addr.port()
    );
    std::fs::write(rig.site.path("environment.toml"), env + &label).unwrap();
    std::fs::write(rig.site.path("tickets-ca.pem"), tickets.server.ca_pem()).unwrap();
    rig
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
    let tickets = Tickets::start().await;
    // The batch of docs/plugins.md 5.2, plus an older rejected ticket for HRDb (the latest
    // ticket decides) and none at all for OpsDb.
    tickets
        .sql(
            "CREATE DATABASE Tickets; USE Tickets; \
             CREATE TABLE dbo.change_tickets (ticket_id nvarchar(20), database_name nvarchar(128), status nvarchar(20), requested_at datetime2); \
             INSERT INTO dbo.change_tickets VALUES \
               (N'CHG-0', N'HRDb', N'rejected', '2020-01-01T00:00:00'), \
               (N'CHG-1', N'HRDb', N'approved', SYSUTCDATETIME()), \
               (N'CHG-2', N'SalesDb', N'pending', SYSUTCDATETIME()), \
               (N'CHG-3', N'RiskDb', N'rejected', SYSUTCDATETIME()); \
             USE master",
        )
        .await;
    let rig = gated_rig(&["HRDb", "SalesDb", "RiskDb", "OpsDb"], &tickets).await;

    let (out, _, all) = rig.ferry(&["check", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");

    // A plan reads the tickets but waits for nobody: the pending one is reported and passed.
    let (out, events, all) = rig.ferry(&["plan", "--json", "migration.toml"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "RiskDb and OpsDb would stop: {all}"
    );
    let planned =
        step_event(&events, "item-done", "ticket", "SalesDb").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(
        planned["output"],
        json!({"ticket": "CHG-2", "planned": true}),
        "{all}"
    );
    assert_eq!(
        row(&events, "ticket", "SalesDb")["reason_code"],
        "ticket-not-approved"
    );
    let plan: Value = serde_json::from_str(
        &std::fs::read_to_string(rig.site.path("migration.plan.json")).unwrap(),
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
    let (risk, why) = outcome("ticket", "RiskDb");
    assert!(risk == "stops" && why.contains("CHG-3"), "{risk}: {why}");
    assert_eq!(outcome("restore", "RiskDb").0, "skipped");
    assert_eq!(rig.state("SalesDb"), "", "a plan restores nothing");

    // Apply: SalesDb waits at its gate until the test approves its ticket.
    let log = rig.site.path("apply.jsonl");
    let mut apply = rig.command(&["apply", "--json", "migration.toml"]);
    apply
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(rig.site.path("apply.err")).unwrap());
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
        let out = tokio::task::block_in_place(|| {
            rig.site.run(&["status", "--json", "migration.toml"], &[])
        });
        let status = serde_json::from_slice::<Value>(&out.stdout).unwrap_or_default();
        if !status["items"].is_array() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let shown = tokio::task::block_in_place(|| rig.site.run(&["status", "migration.toml"], &[]));
    assert!(text(&shown).0.contains(reason), "{}", text(&shown).0);

    tickets
        .sql(
            "UPDATE Tickets.dbo.change_tickets SET status = N'approved' WHERE ticket_id = N'CHG-2'",
        )
        .await;
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
        std::fs::read_to_string(rig.site.path("apply.err")).unwrap()
    );
    assert_eq!(status.code(), Some(1), "RiskDb and OpsDb failed: {all}");
    let events = events_in(&stdout);

    // Approved: the latest ticket (not the older rejected one) opens the gate at the first look.
    let hr = step_event(&events, "item-done", "ticket", "HRDb").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(hr["output"], json!({"ticket": "CHG-1", "looks": 1}));
    assert_eq!(row(&events, "ticket", "HRDb")["status"], "passed");
    assert_eq!(
        row(&events, "ticket", "HRDb")["reason_code"],
        "ticket-approved"
    );

    // Pending, then approved: it looked more than once, its state carried between the calls.
    let sales =
        step_event(&events, "item-done", "ticket", "SalesDb").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(sales["output"]["ticket"], "CHG-2");
    assert!(sales["output"]["looks"].as_u64().unwrap() >= 2, "{sales}");
    for db in ["HRDb", "SalesDb"] {
        assert!(
            step_event(&events, "item-done", "restore", db).is_some(),
            "{db}: {all}"
        );
        assert_eq!(rig.state(db), "ONLINE", "{db} was restored");
    }

    // Rejected, and no ticket at all: the item fails with the reason, its restore is skipped.
    for (db, code, words) in [
        (
            "RiskDb",
            "ticket-rejected",
            "change ticket CHG-3 for `RiskDb` was rejected",
        ),
        (
            "OpsDb",
            "ticket-missing",
            "no change ticket names database `OpsDb` in sql label `change-db`",
        ),
    ] {
        let failed = step_event(&events, "item-failed", "ticket", db)
            .unwrap_or_else(|| panic!("{db}: {all}"));
        assert!(
            failed["error"].as_str().unwrap().contains(words),
            "{failed}"
        );
        let r = row(&events, "ticket", db);
        assert_eq!(
            (&r["status"], &r["reason_code"]),
            (&json!("blocked"), &json!(code)),
            "{r}"
        );
        assert!(
            step_event(&events, "item-skipped", "restore", db).is_some(),
            "{db}'s restore is skipped: {all}"
        );
        assert_eq!(rig.state(db), "", "{db} was not restored");
    }
    // The gate only reads: what reached the tickets server was its query, parameterised.
    let sent: Vec<String> = tickets
        .server
        .statements()
        .into_iter()
        .map(|s| s.text)
        .filter(|t| {
            t.contains("change_tickets") && !t.contains("CREATE TABLE") && !t.starts_with("UPDATE")
        })
        .collect();
    assert!(!sent.is_empty());
    for t in &sent {
        assert!(
            // The host sends `@db` as the typed parameter @P1: no name is quoted into the text.
            t.contains("WHERE database_name = @P1")
                && !t.contains('\'')
                && ferry_tsql::read_only::check(t).is_ok(),
            "{t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_refuses_an_unknown_key_and_shows_what_validate_warns() {
    let tickets = Tickets::start().await;
    let rig = gated_rig(&["HRDb"], &tickets).await;
    let m = std::fs::read_to_string(rig.site.migration()).unwrap();
    let config = "tickets = \"change-db\"\n";

    // A misspelt key: the host refuses it against the schema the plugin published.
    std::fs::write(
        rig.site.migration(),
        m.replacen(config, "ticket = \"change-db\"\n", 1),
    )
    .unwrap();
    let (out, _, all) = rig.ferry(&["check", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("step `ticket`: `config`") && all.contains("'ticket' was unexpected"),
        "{all}"
    );
    assert!(!all.contains("panicked"), "{all}");

    // A key out of its bounds, named with its path.
    std::fs::write(
        rig.site.migration(),
        m.replacen("poll_seconds = 5", "poll_seconds = 1", 1),
    )
    .unwrap();
    let (out, _, all) = rig.ferry(&["check", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("`config.poll_seconds`"), "{all}");

    // The plugin's own `validate` runs in Python: no time limit is allowed, with a warning.
    std::fs::write(
        rig.site.migration(),
        m.replacen("give_up_hours = 48", "give_up_hours = 0", 1),
    )
    .unwrap();
    let (out, _, all) = rig.ferry(&["check", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(
            "config `give_up_hours`: a ticket nobody approves keeps its database waiting forever"
        ),
        "{all}"
    );
}
