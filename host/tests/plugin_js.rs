//! The JavaScript ticket gate (`examples/plugins/ticket-gate-js`), built by its own `build.sh`
//! with jco and componentize-js from the npm registry, through the real `ferry` binary: what
//! `plugins describe` shows, a gated native-restore migration against the emulator (approved,
//! rejected and pending tickets, `plan` not waiting), a config mistake refused by `check`, and
//! the compile cache turning a cold load of the ~13 MB component into a cached one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::gate_rig::assert_describes_the_gate;
use common::native_rig::*;
use common::*;
use serde_json::Value;

/// The example's directory in this checkout.
fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/plugins/ticket-gate-js")
}

/// The component, built once per test process by the example's `build.sh`: the same command
/// an author runs, so the test proves the example builds as documented. Nothing is skipped
/// when the tool cannot be had: the test fails and says what to install.
fn gate_wasm() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = example_dir();
        let started = Instant::now();
        let out = Command::new("bash").arg(dir.join("build.sh")).finish();
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "examples/plugins/ticket-gate-js/build.sh failed. It needs Node.js 20 or later with \
             npm on PATH (Debian: apt-get install nodejs npm) and the npm registry, from which \
             it installs the jco and componentize-js versions package-lock.json pins.\n\
             stdout: {stdout}\nstderr: {stderr}"
        );
        eprintln!(
            "examples/plugins/ticket-gate-js/build.sh took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let wasm = dir.join("ticket_gate.wasm");
        assert!(wasm.is_file(), "build.sh wrote no {}", wasm.display());
        wasm
    })
}

/// The compiled-component files in a cache directory.
fn cached_files(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .map(|e| (e.path(), e.metadata().unwrap().modified().unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn describe_shows_the_gate_and_the_second_load_comes_from_the_cache() {
    let wasm = gate_wasm();
    let cache = tempfile::tempdir().unwrap();
    let describe = |json: bool| {
        let mut cmd = Command::new(FERRY);
        cmd.args(["plugins", "describe"]);
        if json {
            cmd.arg("--json");
        }
        cmd.arg(wasm).env("FERRY_CACHE_DIR", cache.path());
        let started = Instant::now();
        let out = cmd.finish();
        let took = started.elapsed();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        (stdout, took)
    };

    let (shown, cold) = describe(false);
    let first = cached_files(cache.path());
    let (json, cached) = describe(true);
    eprintln!(
        "ferry plugins describe ticket_gate.wasm ({} bytes): cold {:.2} s, cached {:.2} s",
        std::fs::metadata(wasm).unwrap().len(),
        cold.as_secs_f64(),
        cached.as_secs_f64()
    );
    // The first run compiled the component and kept it; the second loaded that file rather
    // than compiling and writing another.
    assert_eq!(first.len(), 1, "one compiled component cached: {first:?}");
    assert_eq!(
        cached_files(cache.path()),
        first,
        "the second run reused it"
    );

    assert_describes_the_gate(&shown, &json);
}

/// A migration whose steps are the JavaScript gate on `change-db`, then the bundled
/// native-restore.
fn gated_migration(wasm: &Path, dbs: &[&str], gate_config: &str) -> String {
    let list: Vec<String> = dbs.iter().map(|d| format!("{d:?}")).collect();
    format!(
        "databases = [{}]\n[migration]\nname = \"gated\"\n\
         [plugins.ticket-gate]\npath = {:?}\nsha256 = \"{}\"\n\
         [plugins.native]\nbundled = \"native-restore\"\n\
         [[steps]]\nname = \"ticket\"\nplugin = \"ticket-gate\"\n[steps.config]\n{gate_config}\n\
         [steps.grants]\nsql = [\"change-db:read\"]\n\
         [[steps]]\nname = \"restore\"\nplugin = \"native\"\n\
         [steps.grants]\nsql = [\"source\", \"target\"]\nstorage = [\"backups\"]\n",
        list.join(", "),
        wasm.display().to_string(),
        sha256_file(wasm)
    )
}

fn event<'a>(events: &'a [Value], kind: &str, step: &str, db: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["event"] == kind && e["step"] == step && e["item"] == db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_passes_approved_stops_rejected_and_waits_for_pending_tickets() {
    let wasm = gate_wasm();
    let dbs = ["Approved", "Rejected", "Pending"];
    let rig = Rig::new(&dbs, "").await;
    std::fs::write(
        rig.site.migration(),
        gated_migration(
            wasm,
            &dbs,
            "tickets = \"change-db\"\npoll_seconds = 5\ngive_up_hours = 48",
        ),
    )
    .unwrap();
    let env = rig.site.path("environment.toml");
    let mut labels = std::fs::read_to_string(&env).unwrap();
    labels.push_str(&format!(
        "\n[sql.change-db]\nserver = \"localhost\"\nport = {}\ndatabase = \"Tickets\"\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n",
        rig.src.addr.port()
    ));
    std::fs::write(&env, labels).unwrap();
    // The control API's `POST /source/sql`, in process: the tickets live on the source server.
    rig.on_source(
        "CREATE DATABASE Tickets; USE Tickets; \
         CREATE TABLE dbo.change_tickets (ticket_id nvarchar(20), database_name nvarchar(128), status nvarchar(20), requested_at datetime2); \
         INSERT INTO dbo.change_tickets VALUES \
           (N'CHG-1', N'Approved', N'approved', SYSUTCDATETIME()), \
           (N'CHG-2', N'Rejected', N'rejected', SYSUTCDATETIME()), \
           (N'CHG-3', N'Pending', N'pending', SYSUTCDATETIME()); \
         USE master",
    );

    // A plan reports the pending ticket and moves on: were it to wait, `finish` would kill it.
    let (_, events, all) = rig.ferry(&["plan", "--json", "migration.toml"]).await;
    let planned =
        event(&events, "item-done", "ticket", "Pending").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(
        planned["output"],
        serde_json::json!({"ticket": "CHG-3", "planned": true})
    );
    assert!(
        event(&events, "item-waiting", "ticket", "Pending").is_none(),
        "a plan does not wait: {all}"
    );
    let row = event(&events, "row", "ticket", "Pending").unwrap();
    assert_eq!(
        (&row["status"], &row["reason_code"]),
        (&"blocked".into(), &"ticket-not-approved".into())
    );
    assert_eq!(rig.state("Approved"), "", "a plan restores nothing");

    let apply = rig.command(&["apply", "--json", "migration.toml"]);
    let apply = tokio::task::spawn_blocking(move || {
        let mut apply = apply;
        apply.finish()
    });
    // The pending ticket keeps its database at the gate, saying why in `ferry status`.
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        // Until apply has loaded its plugins and opened the journal, there is no run to show.
        let out = rig.site.run(&["status", "--json", "migration.toml"], &[]);
        let status: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let by_item = if out.status.success() {
            items(&status)
        } else {
            Default::default()
        };
        if let Some(gate) = by_item.get(&("Pending".to_owned(), "ticket".to_owned()))
            && gate["status"] == "waiting"
        {
            assert_eq!(
                gate["wait"]["reason"], "waiting for change ticket CHG-3 (pending)",
                "{gate}"
            );
            assert_eq!(
                by_item[&("Pending".to_owned(), "restore".to_owned())]["status"],
                "pending"
            );
            break;
        }
        assert!(
            Instant::now() < deadline && !apply.is_finished(),
            "Pending never waited at the gate: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        rig.state("Pending"),
        "",
        "nothing passes the gate before approval"
    );
    rig.on_source(
        "UPDATE Tickets.dbo.change_tickets SET status = N'approved' WHERE ticket_id = N'CHG-3'",
    );

    let out = apply.await.unwrap();
    let (stdout, stderr) = text(&out);
    let all = format!("{stdout}\n{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(out.status.code(), Some(1), "one database failed: {all}");

    for (db, ticket) in [("Approved", "CHG-1"), ("Pending", "CHG-3")] {
        let gate =
            event(&events, "item-done", "ticket", db).unwrap_or_else(|| panic!("{db}: {all}"));
        assert_eq!(gate["output"]["ticket"], ticket);
        assert!(
            event(&events, "item-done", "restore", db).is_some(),
            "{db}: {all}"
        );
        assert_eq!(rig.state(db), "ONLINE", "{db} was restored after its gate");
    }
    let pending = event(&events, "item-done", "ticket", "Pending").unwrap();
    assert!(
        pending["output"]["looks"].as_u64().unwrap() >= 2,
        "{pending}"
    );
    assert!(
        event(&events, "item-waiting", "ticket", "Pending").is_some(),
        "{all}"
    );

    let failed =
        event(&events, "item-failed", "ticket", "Rejected").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(
        failed["error"], "failed: change ticket CHG-2 for `Rejected` was rejected",
        "{failed}"
    );
    assert!(
        event(&events, "item-skipped", "restore", "Rejected").is_some(),
        "{all}"
    );
    assert_eq!(
        received(&rig.src, "BACKUP DATABASE [Rejected]"),
        0,
        "never backed up"
    );
    assert_eq!(rig.state("Rejected"), "");

    // The gate's rows in the report, as the Rust gate writes them.
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(rig.site.path(".ferry/migration/report.json")).unwrap(),
    )
    .unwrap();
    let mut rows = Vec::new();
    collect_rows(&report, &mut rows);
    let mut gate_rows: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r["object_type"] == "change-ticket")
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("name"), s("status"), s("reason_code"))
        })
        .collect();
    gate_rows.sort();
    let expect = |n: &str, s: &str, c: &str| (n.to_owned(), s.to_owned(), c.to_owned());
    assert_eq!(
        gate_rows,
        [
            expect("Approved", "passed", "ticket-approved"),
            expect("Pending", "passed", "ticket-approved"),
            expect("Rejected", "blocked", "ticket-rejected"),
        ],
        "{report}"
    );
}

#[test]
fn check_refuses_a_misspelt_key_and_passes_on_the_gates_own_warning() {
    let wasm = gate_wasm();
    let env = "[sql.change-db]\nserver = \"localhost\"\nport = 1\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\
               [sql.source]\nserver = \"localhost\"\nport = 1\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\
               [sql.target]\nserver = \"localhost\"\nport = 1\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\
               [storage.backups]\nkind = \"share\"\npath = \"backups\"\n";
    let check = |gate_config: &str| {
        let site = Site::new(&gated_migration(wasm, &["Sales"], gate_config), env);
        std::fs::create_dir(site.path("backups")).unwrap();
        site.run(&["check", "migration.toml"], &[("TEST_SA", "unused")])
    };

    // `ticket` for `tickets`: the schema the gate publishes refuses it, naming the key.
    let out = check("ticket = \"change-db\"");
    assert_clean_error(
        &out,
        2,
        &[
            "step `ticket`",
            "Additional properties are not allowed ('ticket' was unexpected)",
        ],
    );
    let out = check("tickets = \"change-db\"\npoll_seconds = 1");
    assert_clean_error(
        &out,
        2,
        &["`config.poll_seconds`: 1 is less than the minimum of 5"],
    );

    // The gate's `validate` runs too: a gate that never gives up is allowed, with a warning.
    let out = check("tickets = \"change-db\"\ngive_up_hours = 0");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "config `give_up_hours`: a ticket nobody approves keeps its database waiting forever"
        ),
        "{stderr}"
    );
}
