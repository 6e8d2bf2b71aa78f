//! Adversarial plugins: each misbehaviour ends its own work item with a clean, specific error
//! while the run and the other items carry on; no secret value escapes through any channel.

mod common;

use common::*;

const LEAKY: &str = "Tr0ub4dor&3-leaky-VALUE";

fn hostile_site(databases: &[&str], limits: &str) -> Site {
    let wasm = fixture("hostile");
    let sha = sha256_file(&wasm);
    let dbs = databases
        .iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let migration = format!(
        r#"
[migration]
name = "hostile"

[plugins.hostile]
path = "{}"
sha256 = "{sha}"

[plugins.hello]
bundled = "hello-steps"

databases = [{dbs}]

[[steps]]
name = "attack"
plugin = "hostile"
config = {{ attack = "by-item" }}
[steps.grants]
secrets = ["leaky:reveal"]
scratch = true
[steps.limits]
{limits}

[[steps]]
name = "after"
plugin = "hello"
config = {{ greeting = "still here", wait_ms = 0 }}
[steps.grants]
secrets = ["demo-token"]
scratch = true

[limits]
concurrency = 4
"#,
        wasm.display()
    );
    // `databases` must sit before the first table to be top-level.
    let migration = migration.replacen(&format!("\ndatabases = [{dbs}]\n"), "\n", 1);
    let migration = migration.replacen(
        "[migration]",
        &format!("databases = [{dbs}]\n\n[migration]"),
        1,
    );
    Site::new(
        &migration,
        "[secrets]\nleaky = \"env:FERRY_TEST_LEAKY\"\ndemo-token = \"env:FERRY_TEST_LEAKY\"\n",
    )
}

#[test]
fn each_attack_fails_its_own_item_with_a_specific_reason() {
    let attacks = [
        "none",
        "loop",
        "alloc",
        "panic",
        "oversized-output",
        "oversized-state",
        "oversized-log",
        "ungranted-secret",
        "ungranted-sql",
        "read-host-file",
        "transient",
        "ambient",
    ];
    let site = hostile_site(&attacks, "timeout_seconds = 2\nmemory_mb = 64\nretries = 3");
    let out = site.run(&["apply", "migration.toml"], &[("FERRY_TEST_LEAKY", LEAKY)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        !stderr.contains("panicked at") || stderr.contains("the plugin panicked"),
        "{stderr}"
    );

    let items = items(&site.status());
    let error = |db: &str| {
        items[&(db.to_owned(), "attack".to_owned())]["error"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let status = |db: &str, step: &str| {
        items[&(db.to_owned(), step.to_owned())]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    for ok in ["none", "oversized-log", "transient"] {
        assert_eq!(status(ok, "attack"), "done", "{ok}: {}", error(ok));
        assert_eq!(status(ok, "after"), "done", "{ok}: the next step runs");
    }
    let expect = [
        ("loop", "ran past its 2 s limit"),
        ("alloc", "more than its 64 MiB memory limit"),
        ("panic", "the plugin panicked"),
        (
            "oversized-output",
            "final output of 8388610 bytes, over the limit of 1048576",
        ),
        (
            "oversized-state",
            "state of 4194306 bytes, over the limit of 1048576",
        ),
        (
            "ungranted-secret",
            "was not granted secrets label `not-granted`",
        ),
        ("ungranted-sql", "was not granted sql label `elsewhere`"),
        ("read-host-file", "host files are out of reach"),
    ];
    for (db, phrase) in expect {
        assert_eq!(status(db, "attack"), "failed", "{db}");
        assert!(
            error(db).contains(phrase),
            "{db}: expected `{phrase}` in `{}`",
            error(db)
        );
        assert_eq!(
            status(db, "after"),
            "skipped",
            "{db}: later steps are skipped"
        );
    }
    assert!(
        error("panic").contains("hostile plugin panics on purpose"),
        "{}",
        error("panic")
    );
    let ambient = error("ambient");
    assert!(
        ambient.contains("env: 0 vars; args: 0;") && ambient.contains("socket: refused"),
        "{ambient}"
    );
    assert!(
        !ambient.contains("root dir: Ok"),
        "the plugin sees no host files: {ambient}"
    );

    // The transient failures were retried with the attempt number raised.
    let transient = &items[&("transient".to_owned(), "attack".to_owned())];
    assert_eq!(transient["output"]["attempts"], 3);

    // A flood of log lines is cut per line and per call.
    let events = ferry_host_events(&site);
    let log_lines: Vec<_> = events
        .iter()
        .filter(|e| e.1 == "oversized-log" && e.0 == "log")
        .collect();
    assert!(
        log_lines.iter().all(|e| e.2.len() < 17 << 10),
        "lines are cut at 16 KiB"
    );
    assert!(
        log_lines.iter().any(|e| e.2.contains("log budget")),
        "the budget note is logged"
    );
    assert!(
        log_lines.len() < 100,
        "{} lines kept of 200",
        log_lines.len()
    );
}

/// (kind, item, message) of every journaled event of the latest run.
fn ferry_host_events(site: &Site) -> Vec<(String, String, String)> {
    use ferry_host::events::{PluginEvent, RunEvent};
    use ferry_host::journal::{Journal, SqliteJournal};
    let j = SqliteJournal::open(&site.journal()).unwrap();
    let run = j.latest_run().unwrap().unwrap();
    j.events(&run.id)
        .unwrap()
        .into_iter()
        .map(|e| {
            let message = match e.event {
                RunEvent::Plugin(PluginEvent::Log { message, .. }) => message,
                _ => String::new(),
            };
            (e.kind, e.item.unwrap_or_default(), message)
        })
        .collect()
}

#[test]
fn fuel_stops_a_spinning_plugin_deterministically() {
    let site = hostile_site(&["loop", "none"], "fuel = 5000000");
    let out = site.run(&["apply", "migration.toml"], &[("FERRY_TEST_LEAKY", LEAKY)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let items = items(&site.status());
    let e = items[&("loop".to_owned(), "attack".to_owned())]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(e.contains("used all of its fuel (5000000)"), "{e}");
    assert_eq!(
        items[&("none".to_owned(), "attack".to_owned())]["status"],
        "done"
    );
}

#[test]
fn no_secret_value_escapes_through_any_channel() {
    let attacks = [
        "leak-secret",
        "leak-wait",
        "leak-state",
        "leak-output",
        "none",
    ];
    let site = hostile_site(&attacks, "");
    let mut all = Vec::new();
    for args in [
        &["apply", "migration.toml"][..],
        &["apply", "--json", "--fresh", "-v", "migration.toml"][..],
    ] {
        let out = site.run(args, &[("FERRY_TEST_LEAKY", LEAKY)]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
        all.extend_from_slice(&out.stdout);
        all.extend_from_slice(&out.stderr);
    }
    for args in [
        &["status", "migration.toml"][..],
        &["status", "--json", "migration.toml"][..],
    ] {
        let out = site.run(args, &[]);
        all.extend_from_slice(&out.stdout);
        all.extend_from_slice(&out.stderr);
    }
    let items = items(&site.status());
    let error = |db: &str| {
        items[&(db.to_owned(), "attack".to_owned())]["error"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        error("leak-secret").contains("leaking through the error: ***"),
        "{}",
        error("leak-secret")
    );
    assert!(
        error("leak-wait").contains("secret value into its wait reason"),
        "{}",
        error("leak-wait")
    );
    assert!(
        error("leak-state").contains("secret value into its state"),
        "{}",
        error("leak-state")
    );
    assert!(
        error("leak-output").contains("secret value into its final output"),
        "{}",
        error("leak-output")
    );

    // The reveal itself is audited, without the value.
    let out = site.run(&["status", "--json", "migration.toml"], &[]);
    assert!(out.status.success());
    let events = ferry_host_events(&site);
    assert!(events.iter().any(|e| e.0 == "secret-revealed"));
    assert!(
        events
            .iter()
            .any(|e| e.0 == "log" && e.2.contains("the secret is ***")),
        "logs are masked"
    );

    // Everything ferry wrote: its outputs, the journal and its WAL, scratch files.
    for entry in walk(site.dir.path()) {
        if entry.extension().is_some_and(|e| e == "toml") {
            continue;
        }
        all.extend_from_slice(&std::fs::read(&entry).unwrap());
    }
    let haystack = String::from_utf8_lossy(&all);
    assert!(!haystack.contains(LEAKY), "the secret value leaked");
    let escaped = serde_json::to_string(LEAKY).unwrap();
    assert!(
        !haystack.contains(escaped.trim_matches('"')),
        "the JSON-escaped secret value leaked"
    );
    assert!(haystack.contains("***"), "masking happened");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A step granted `source:read` tries every way found to change the source through `query`:
/// plain DDL, an implicit EXEC, statements hidden after a bracketed name with `]]`, a comment, a
/// string and a line comment, and a sealed value spliced into a bracketed name. Each is refused
/// before anything is sent, names the label and the statement kind, and is not retried; the
/// emulator received none of them, and the database is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_grant_refuses_every_way_to_write_through_query() {
    const PASSWORD: &str = "Emul@tor-Pa55-hostile";
    let data = tempfile::tempdir().unwrap();
    let certs = std::sync::Arc::new(ferry_emulator::ServerTls::generate(&[]).unwrap());
    let src = emulated_sql2019(&data.path().join("src"), PASSWORD, certs).await;
    src.run_sql("CREATE DATABASE Victim").unwrap();

    let attacks = [
        ("DROP DATABASE Victim", "DROP DATABASE"),
        (
            "sp_addsrvrolemember 'evil', 'sysadmin'",
            "EXEC sp_addsrvrolemember",
        ),
        (
            "sp_configure 'show advanced options', 1",
            "EXEC sp_configure",
        ),
        ("SELECT 1 AS [a]]b]; DROP DATABASE Victim", "DROP DATABASE"),
        ("SELECT 1 /* ' */; DROP DATABASE Victim", "DROP DATABASE"),
        ("SELECT 'it''s' AS s; DROP DATABASE Victim", "DROP DATABASE"),
        ("SELECT 1 -- x\nDROP DATABASE Victim", "DROP DATABASE"),
        (
            "SELECT 1 /* /* */ */ ALTER DATABASE Victim SET OFFLINE",
            "ALTER DATABASE",
        ),
        ("DISABLE TRIGGER ALL ON DATABASE", "DISABLE TRIGGER"),
        ("CHECKPOINT", "CHECKPOINT"),
        (
            "SELECT * FROM OPENDATASOURCE('SQLNCLI', 'Data Source=x').m.dbo.t",
            "OPENDATASOURCE",
        ),
        (
            "SELECT * INTO Victim.dbo.Copy FROM sys.databases",
            "SELECT … INTO",
        ),
    ];
    let read = "SELECT name FROM sys.databases WHERE name = N'Victim'";
    let statements: Vec<String> = attacks
        .iter()
        .map(|(sql, _)| (*sql).to_owned())
        .chain([read.to_owned()])
        .collect();
    let wasm = fixture("hostile");
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"read-grant\"\n[plugins.hostile]\npath = \
         \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"attack\"\nplugin = \"hostile\"\n[steps.config]\n\
         attack = \"write-through-read\"\nstatements = {}\n[steps.grants]\nsql = [\"source:read\"]\n\
         secrets = [\"leaky:reveal\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        toml_value(&serde_json::json!(statements)),
    );
    let site = Site::new(&migration, "");
    std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
    std::fs::write(
        site.path("environment.toml"),
        format!(
            "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \
             \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA_PASSWORD\"\n\n[secrets]\nleaky = \
             \"env:FERRY_TEST_LEAKY\"\n",
            src.addr.port()
        ),
    )
    .unwrap();
    let before = src.statements().len();
    let mut apply = site.ferry(&["apply", "--json", "migration.toml"]);
    apply
        .env("TEST_SA_PASSWORD", PASSWORD)
        .env("FERRY_TEST_LEAKY", LEAKY);
    let out = tokio::task::spawn_blocking(move || apply.finish())
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let output = item_done_output(&stdout);
    let fates = output["fates"].as_array().unwrap();
    for ((sql, kind), fate) in attacks.iter().zip(fates) {
        let error = fate["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("denied") && error.contains("`source`") && error.contains(kind),
            "{sql}: {fate}"
        );
        assert!(error.contains("nothing was sent"), "{sql}: {error}");
    }
    assert_eq!(fates.last().unwrap()["ran"], true, "a real read still runs");
    assert_eq!(
        output["spliced_column"], "x]@tok",
        "the sealed value stayed out of the bracketed name"
    );
    assert!(!stdout.contains(LEAKY) && !stderr.contains(LEAKY));

    // None of the refused statements reached the server, and nothing was retried.
    let sent: Vec<String> = src.statements()[before..]
        .iter()
        .map(|s| s.text.clone())
        .collect();
    for (sql, _) in &attacks {
        assert!(
            !sent.iter().any(|s| s.contains(sql)),
            "{sql} reached the server: {sent:?}"
        );
    }
    assert!(sent.iter().any(|s| s.contains("name = N'Victim'")));

    // `ferry plan` reads through the same classifier: the same attacks are refused there too.
    let before_plan = src.statements().len();
    let mut plan = site.ferry(&["plan", "migration.toml"]);
    plan.env("TEST_SA_PASSWORD", PASSWORD)
        .env("FERRY_TEST_LEAKY", LEAKY);
    let planned = tokio::task::spawn_blocking(move || plan.finish())
        .await
        .unwrap();
    let (plan_out, plan_err) = text(&planned);
    assert!(planned.status.success(), "{plan_out}\n{plan_err}");
    let sent_while_planning: Vec<String> = src.statements()[before_plan..]
        .iter()
        .map(|s| s.text.clone())
        .collect();
    for (sql, _) in &attacks {
        assert!(
            !sent_while_planning.iter().any(|s| s.contains(sql)),
            "planning sent {sql}: {sent_while_planning:?}"
        );
    }
    assert!(
        sent_while_planning
            .iter()
            .any(|s| s.contains("name = N'Victim'")),
        "planning ran the step's reads: {sent_while_planning:?}"
    );
    assert!(
        src.run_sql("SELECT name FROM sys.databases WHERE name = 'Victim'")
            .map(|o| format!("{o:?}").contains("Victim"))
            .unwrap_or(false),
        "the database is still there"
    );
}
