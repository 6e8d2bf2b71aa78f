//! Helpers for tests that run the `ferry` binary as a user does.
#![allow(dead_code)]

pub mod assess_rig;
pub mod baseline_rig;
pub mod dms_rig;
pub mod gate_rig;
pub mod link_rig;
pub mod lrs_rig;
pub mod native_rig;
pub mod validate_rig;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// How long a test lets one `ferry` run take. Generous: a cold compile cache makes the debug
/// build's Cranelift compile every plugin first on this 2-core machine.
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// `Command::output`, but a run that does not end within [`RUN_LIMIT`] is killed and fails
/// its test: a ferry that never finishes must not hang the whole suite.
pub trait Finish {
    fn finish(&mut self) -> Output;
}

impl Finish for Command {
    fn finish(&mut self) -> Output {
        use std::io::Read;
        use std::process::Stdio;
        let mut child = self
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Both pipes are drained while the child runs, so a chatty run cannot block on a full
        // pipe while this waits for it.
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut b = Vec::new();
                let _ = r.read_to_end(&mut b);
                b
            })
        };
        let out = drain(Box::new(child.stdout.take().unwrap()));
        let err = drain(Box::new(child.stderr.take().unwrap()));
        let deadline = std::time::Instant::now() + RUN_LIMIT;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{self:?} did not finish within {RUN_LIMIT:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }
}

/// A compiled test-fixture plugin (built by the host's build script).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("FERRY_FIXTURE_PLUGINS")).join(format!("{name}.wasm"))
}

/// Writes a secret file readable by its owner only, as ferry requires.
pub fn write_secret(path: &Path, value: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, value).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub fn sha256_file(path: &Path) -> String {
    ferry_host::runtime::plugin::sha256_hex(&std::fs::read(path).unwrap())
}

/// A migration named `name` over `databases` whose plugin `plugin` is the test fixture of that
/// name (path and sha256 filled in), followed by `rest` (its steps and limits, as TOML).
pub fn fixture_migration(name: &str, plugin: &str, databases: &[&str], rest: &str) -> String {
    let wasm = fixture(&plugin.replace('-', "_"));
    let dbs: Vec<String> = databases.iter().map(|d| format!("{d:?}")).collect();
    format!(
        "databases = [{}]\n[migration]\nname = {name:?}\n[plugins.{plugin}]\npath = {:?}\nsha256 = \"{}\"\n{rest}",
        dbs.join(", "),
        wasm.display().to_string(),
        sha256_file(&wasm)
    )
}

/// The compile cache every test's `ferry` shares, so debug-built Cranelift compiles each
/// plugin once per test run.
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("ferry-cache")
}

/// A temporary directory holding a migration, its environment and its state.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new(migration: &str, environment: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("migration.toml"), migration).unwrap();
        std::fs::write(dir.path().join("environment.toml"), environment).unwrap();
        Site { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn migration(&self) -> PathBuf {
        self.path("migration.toml")
    }

    /// A `ferry` command in this site, with a shared compile cache so debug-built Cranelift
    /// compiles each plugin once per test run.
    pub fn ferry(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(FERRY);
        cmd.current_dir(self.dir.path())
            .args(args)
            .env("FERRY_CACHE_DIR", shared_cache())
            .env_remove("FERRY_LOG");
        cmd
    }

    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.ferry(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.finish()
    }

    /// `ferry status --json` for this site's migration.
    pub fn status(&self) -> serde_json::Value {
        let out = self.run(&["status", "--json", "migration.toml"], &[]);
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn journal(&self) -> PathBuf {
        self.path(".ferry/migration/journal.db")
    }
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that output is a clean error: exit code, the expected phrases, and no panic.
pub fn assert_clean_error(out: &Output, code: i32, phrases: &[&str]) {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    for p in phrases {
        assert!(stderr.contains(p), "expected `{p}` in stderr:\n{stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "panic: {stderr}"
    );
}

/// Every item of the latest run, as (database, step) → item JSON.
pub fn items(
    status: &serde_json::Value,
) -> std::collections::BTreeMap<(String, String), serde_json::Value> {
    status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                (
                    i["item"].as_str().unwrap().to_owned(),
                    i["step"].as_str().unwrap().to_owned(),
                ),
                i.clone(),
            )
        })
        .collect()
}

/// The `results` a probe run returned (its item-done output), after checking the run
/// succeeded; with stdout and stderr for messages.
pub fn probe_results(out: &Output) -> (serde_json::Value, String, String) {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let output = item_done_output(&stdout);
    (output["results"].clone(), stdout, stderr)
}

/// The output of the first `item-done` event in `apply --json` lines.
pub fn item_done_output(stdout: &str) -> serde_json::Value {
    let done = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "item-done")
        .unwrap_or_else(|| panic!("no item-done event in {stdout}"));
    done["output"].clone()
}

/// JSON objects and arrays as TOML inline tables and arrays (keys here are bare words).
/// A TOML array of inline tables from JSON objects (their keys must be bare TOML keys).
pub fn toml_array(values: &[serde_json::Value]) -> String {
    let items: Vec<String> = values.iter().map(toml_value).collect();
    format!("[\n  {}\n]", items.join(",\n  "))
}

pub fn toml_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => format!(
            "{{ {} }}",
            m.iter()
                .map(|(k, v)| format!("{k} = {}", toml_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// A source SQL Server 2019 Enterprise from the emulator, TLS required, `sa` with `password`.
pub async fn emulated_sql2019(
    dir: &Path,
    password: &str,
    certs: std::sync::Arc<ferry_emulator::ServerTls>,
) -> ferry_emulator::Server {
    let personality = ferry_emulator::Personality::SqlServer {
        release: ferry_emulator::Release::Sql2019,
        edition: ferry_emulator::Edition::Enterprise,
        hadr: false,
        name: "SRC".into(),
    };
    let options = ferry_emulator::ServerOptions::local(personality, dir, password);
    ferry_emulator::Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap()
}

/// An emulated Managed Instance named `name`, TLS required, `sa` with `password`.
pub async fn emulated_mi(
    name: &str,
    dir: &Path,
    password: &str,
    certs: std::sync::Arc<ferry_emulator::ServerTls>,
) -> ferry_emulator::Server {
    let personality = ferry_emulator::Personality::ManagedInstance {
        name: format!("{name}.database.windows.net"),
    };
    let options = ferry_emulator::ServerOptions::local(personality, dir, password);
    ferry_emulator::Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap()
}

/// Starts `cmd` (a `ferry apply`, its stdout going to `log`) and SIGKILLs it once `reached()`
/// holds: the change under test has reached its server, which holds the reply, so ferry is
/// still waiting for it and cannot have journaled what came of it. Fails the test if ferry
/// ends first, or nothing is reached within [`RUN_LIMIT`].
pub async fn kill_when(mut cmd: Command, log: &Path, reached: impl Fn() -> bool) {
    let out = std::fs::File::create(log).unwrap();
    cmd.stdout(out).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    while !reached() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = std::fs::read_to_string(log).unwrap_or_default();
            panic!("ferry ended ({status}) before the change under test was made:\n{out}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the change under test was never made"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL: no chance to journal anything more
    child.wait().unwrap();
}

/// How many statements `server` received that contain `needle`.
pub fn received(server: &ferry_emulator::Server, needle: &str) -> usize {
    server
        .statements()
        .iter()
        .filter(|s| s.text.contains(needle))
        .count()
}

/// How many times the journal recorded the work item `item` as done.
pub fn times_done(site: &Site, item: &str) -> i64 {
    let j = rusqlite::Connection::open(site.journal()).unwrap();
    j.query_row(
        "SELECT COUNT(*) FROM events WHERE kind = 'item-done' AND item = ?1",
        [item],
        |r| r.get(0),
    )
    .unwrap()
}

/// Every object row anywhere in a report.json (they sit under their work item).
pub fn collect_rows(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            if m.contains_key("object_type") && m.contains_key("status") {
                out.push(v.clone());
            }
            for x in m.values() {
                collect_rows(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_rows(x, out)),
        _ => {}
    }
}
