//! `ferry plugin new` as a plugin author meets it: the generated Rust project builds, passes its
//! own tests, and gates a native restore on the emulator through the real `ferry` binary, as a
//! development build (`dev = true`, `--dev`) that is rebuilt once along the way; then it is
//! pinned for a real run. The JavaScript and Python projects, built by their own build.sh
//! (and the Python one's own tests run), gate the same restore.

mod common;

use std::time::{Duration, Instant};

use common::gate_rig::{DATABASES, GateRig, cargo, plugin_new, project_target};
use common::*;

fn ok(out: &std::process::Output, what: &str) -> String {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{stderr}");
    format!("{stdout}\n{stderr}")
}

/// The component `cargo build --release --target wasm32-wasip2` made, where migration.toml
/// looks for it (the tests build in a shared target directory; an author's is `target/`).
fn build_component(project: &std::path::Path) -> String {
    let out = cargo(
        project,
        &[
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ],
    );
    ok(&out, "cargo build --target wasm32-wasip2");
    let built = project_target().join("wasm32-wasip2/release/approvals.wasm");
    let wanted = project.join("target/wasm32-wasip2/release/approvals.wasm");
    std::fs::create_dir_all(wanted.parent().unwrap()).unwrap();
    std::fs::copy(&built, &wanted).unwrap();
    sha256_file(&wanted)
}

#[test]
fn refuses_bad_names_and_a_directory_in_use_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["Approvals", "2fa", "a--b", "std"] {
        let out = plugin_new(dir.path(), &[bad]);
        assert_clean_error(&out, 2, &[&format!("plugin name `{bad}`")]);
    }
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/notes.txt"), "mine").unwrap();
    let out = plugin_new(dir.path(), &["approvals", "--dir", "taken"]);
    assert_clean_error(&out, 2, &["taken already exists and is not empty"]);
    assert_eq!(
        std::fs::read_dir(dir.path().join("taken")).unwrap().count(),
        1,
        "nothing written beside the user's file"
    );
    let out = plugin_new(dir.path(), &["approvals", "--sdk", "/nonexistent"]);
    assert_clean_error(&out, 2, &["no ferry-sdk crate at /nonexistent", "--sdk"]);
    assert!(!dir.path().join("approvals").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_plugin_builds_tests_and_gates_a_restore_as_a_dev_build() {
    let home = tempfile::tempdir().unwrap();
    let out = plugin_new(home.path(), &["approvals"]);
    let said = ok(&out, "ferry plugin new");
    assert!(said.contains("cargo test"), "{said}");
    let project = home.path().join("approvals");
    let lib = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
    assert!(lib.contains("pub struct Approvals;") && lib.contains("\"approvals\""));
    assert!(!lib.contains("TicketGate") && !lib.contains("ticket-gate"));

    // Its own tests, natively against FakeHost, as generated.
    let tested = ok(&cargo(&project, &["test", "--locked"]), "cargo test");
    assert!(tested.contains("test result: ok. 5 passed"), "{tested}");
    let first_build = build_component(&project);

    let rig = GateRig::start(&project).await;
    // Without --dev the unpinned build is refused, with the pin to paste.
    let out = rig.ferry(&["check"]).finish();
    assert_clean_error(
        &out,
        2,
        &[
            "plugin `approvals` is a development build",
            "--dev",
            &format!("sha256 = \"{first_build}\""),
        ],
    );
    ok(
        &rig.ferry(&["check", "--dev"]).finish(),
        "ferry check --dev",
    );
    // A grant wider than the plugin's need is worth a warning (it still checks).
    let migration = std::fs::read_to_string(project.join("migration.toml")).unwrap();
    let wide = migration.replace(r#"sql = ["tickets:read"]"#, r#"sql = ["tickets"]"#);
    assert_ne!(migration, wide);
    std::fs::write(project.join("migration.toml"), &wide).unwrap();
    let said = ok(
        &rig.ferry(&["check", "--dev"]).finish(),
        "ferry check --dev (wide)",
    );
    assert!(
        said.contains(
            "grants sql `tickets` with write access, but plugin `approvals` needs only read \
             access there; grant \"tickets:read\""
        ),
        "{said}"
    );
    std::fs::write(project.join("migration.toml"), &migration).unwrap();

    // SalesDb's ticket is rejected: its gate fails and its restore is skipped; the others run.
    rig.on_source(
        "UPDATE Tickets.dbo.change_tickets SET status = N'rejected' WHERE ticket_id = N'CHG-2'",
    );
    let out = rig.ferry(&["apply", "--dev"]).finish();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("change ticket CHG-2 for `SalesDb` was rejected"),
        "{stdout}\n{stderr}"
    );
    let s = rig.statuses();
    let at = |db: &str, step: &str| s[&(db.to_owned(), step.to_owned())].clone();
    assert_eq!(at("SalesDb", "ticket"), "failed");
    assert_eq!(at("SalesDb", "restore"), "skipped");
    for db in ["HRDb", "InventoryDb"] {
        assert_eq!(at(db, "restore"), "done");
        assert!(rig.restored(db), "{db} on the MI");
    }
    assert!(!rig.restored("SalesDb"));
    let restores_before = rig
        .mi
        .statements()
        .iter()
        .filter(|s| s.text.contains("RESTORE"))
        .count();

    // The author changes the rule (a rejected ticket can be reopened, so it is waited on like
    // a pending one) and rebuilds: the next `apply --dev` restarts SalesDb's items only.
    let lib = lib.replace("\"rejected\" => {", "\"rejected-final\" => {");
    std::fs::write(project.join("src/lib.rs"), &lib).unwrap();
    let second_build = build_component(&project);
    assert_ne!(first_build, second_build);
    let mut apply = rig.ferry(&["apply", "--dev"]);
    apply
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = apply.spawn().unwrap();
    // SalesDb waits at its gate until the ticket is approved through the control API.
    let deadline = Instant::now() + RUN_LIMIT;
    while rig
        .statuses()
        .get(&("SalesDb".to_owned(), "ticket".to_owned()))
        != Some(&"waiting".to_owned())
    {
        assert!(Instant::now() < deadline, "SalesDb's gate never waited");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    rig.post_sql("approve.json");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let said = ok(&out, "ferry apply --dev after the rebuild");
    assert!(
        said.contains("plugin `approvals` was rebuilt (dev): 1 unfinished work item(s)"),
        "{said}"
    );
    assert!(
        said.contains("waiting for change ticket CHG-2 (rejected)"),
        "{said}"
    );
    for db in DATABASES {
        assert!(rig.restored(db), "{db} on the MI");
    }
    let s = rig.statuses();
    assert!(s.values().all(|v| v == "done"), "{s:?}");
    // HRDb and InventoryDb were not restored again: one more restore, SalesDb's.
    let restored_dbs: Vec<String> = rig
        .mi
        .statements()
        .iter()
        .filter(|s| s.text.contains("RESTORE"))
        .map(|s| s.text.clone())
        .collect();
    assert!(restored_dbs.len() > restores_before);
    assert!(
        restored_dbs[restores_before..]
            .iter()
            .all(|t| !t.contains("HRDb") && !t.contains("InventoryDb")),
        "{restored_dbs:?}"
    );

    // The report shows SalesDb's time at the gate as a phase of its own.
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join(".ferry/migration/report.json")).unwrap(),
    )
    .unwrap();
    let sales = report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "SalesDb")
        .unwrap();
    let waited = sales["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "ticket (waiting)")
        .unwrap_or_else(|| panic!("a waiting phase: {sales}"));
    assert!(waited[1].as_u64().unwrap() > 0, "{sales}");

    // A plan made with --dev is for exactly that build: a rebuild refuses it.
    let planned = rig.ferry(&["plan", "--dev"]).finish();
    assert!(project.join("migration.plan.json").is_file(), "{planned:?}");
    std::fs::write(
        project.join("src/lib.rs"),
        lib.replace("\"rejected-final\" => {", "\"rejected-for-good\" => {"),
    )
    .unwrap();
    let third_build = build_component(&project);
    let out = rig
        .ferry(&["apply", "--dev", "migration.plan.json"])
        .finish();
    assert_clean_error(&out, 3, &["plugin `approvals` was rebuilt", "ferry plan"]);

    // Pinned for a real run: the line `check` printed replaces `dev = true`.
    let migration = std::fs::read_to_string(project.join("migration.toml")).unwrap();
    let pinned = migration.replace("dev = true", &format!("sha256 = \"{third_build}\""));
    std::fs::write(project.join("migration.toml"), pinned).unwrap();
    ok(&rig.ferry(&["check"]).finish(), "ferry check with the pin");
}

#[test]
fn plugin_docs_builds_the_sdk_reference() {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-docs");
    let out = std::process::Command::new(FERRY)
        .args(["plugin", "docs", "--target-dir"])
        .arg(&target)
        .finish();
    let said = ok(&out, "ferry plugin docs");
    let index = target.join("doc/ferry_sdk/index.html");
    assert!(said.contains(&index.display().to_string()), "{said}");
    let context = std::fs::read_to_string(target.join("doc/ferry_sdk/struct.Context.html"))
        .expect("the Context page");
    // Each method of the guide's table has its documented entry.
    for method in [
        "method.query",
        "method.execute",
        "method.start_statement",
        "method.report",
    ] {
        assert!(context.contains(method), "{method}");
    }
    let out = std::process::Command::new(FERRY)
        .args(["plugin", "docs", "--sdk", "/nonexistent"])
        .finish();
    assert_clean_error(&out, 2, &["no ferry-sdk crate at /nonexistent"]);
}

/// `ferry plugin new approvals --lang LANG` in `home`, built by its `build.sh` (which needs
/// `needs`), its own tests run (`test` in the project) and passed (`passed` all in their
/// output), and the component described by ferry. Returns the project.
fn generated_and_built(
    home: &std::path::Path,
    lang: &str,
    needs: &str,
    test: &[&str],
    passed: &[&str],
) -> std::path::PathBuf {
    ok(
        &plugin_new(home, &["approvals", "--lang", lang]),
        &format!("ferry plugin new --lang {lang}"),
    );
    let project = home.join("approvals");
    let built = std::process::Command::new(project.join("build.sh")).finish();
    ok(&built, &format!("build.sh (needs {needs})"));
    // A program in the project (`.venv/bin/python`), or one on PATH (`npm`).
    let program = match test[0].contains('/') {
        true => project.join(test[0]),
        false => test[0].into(),
    };
    let tested = std::process::Command::new(program)
        .current_dir(&project)
        .args(&test[1..])
        .finish();
    let said = ok(&tested, &test.join(" "));
    assert!(passed.iter().all(|p| said.contains(p)), "{said}");
    let out = std::process::Command::new(FERRY)
        .args(["plugins", "describe"])
        .arg(project.join("approvals.wasm"))
        .env("FERRY_CACHE_DIR", shared_cache())
        .finish();
    let described = ok(&out, "ferry plugins describe");
    assert!(described.contains("approvals 0.1.0"), "{described}");
    assert!(
        described.contains("tickets") && described.contains("read"),
        "{described}"
    );
    project
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_javascript_plugin_builds_and_gates_a_restore() {
    let home = tempfile::tempdir().unwrap();
    // build.sh type-checks gate.js against the project's copy of the WIT; `npm test` runs
    // gate.js on Node.js with the host's imports faked.
    let project = generated_and_built(
        home.path(),
        "js",
        "Node.js 20+ with npm and the npm registry",
        &["npm", "test", "--silent"],
        &["# pass 8", "# fail 0"],
    );
    GateRig::start(&project).await.gated_restore().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_python_plugin_builds_tests_and_gates_a_restore() {
    let home = tempfile::tempdir().unwrap();
    // Its own tests, on CPython with the host's imports faked.
    let project = generated_and_built(
        home.path(),
        "python",
        "Python 3.11+ with venv and PyPI",
        &[".venv/bin/python", "-m", "unittest"],
        &["OK", "Ran 8 tests"],
    );
    let rig = GateRig::start(&project).await;
    rig.gated_restore().await;

    // A bug: an uncaught exception names itself in the item's error, not only in the log.
    let app = std::fs::read_to_string(project.join("app.py")).unwrap();
    let broken = app.replacen(
        "        cfg = parse_config(context.config)\n",
        "        cfg = parse_config(context.config)\n        cfg = {}[\"nope\"]\n",
        1,
    );
    assert_ne!(app, broken, "app.py's step starts as the test expects");
    std::fs::write(project.join("app.py"), broken).unwrap();
    let built = std::process::Command::new(project.join("build.sh")).finish();
    ok(&built, "build.sh of the broken app.py");
    let out = rig.ferry(&["plan", "--dev"]).finish();
    let (stdout, stderr) = text(&out);
    assert!(
        format!("{stdout}{stderr}").contains("(Python: KeyError: 'nope')"),
        "{stdout}\n{stderr}"
    );
}
