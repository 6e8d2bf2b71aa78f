//! The rig of the plugin-author tests: a project `ferry plugin new` wrote, built with cargo as
//! its README says, and the servers its `environment.toml` names — a source SQL Server with
//! the sample databases and the change tickets of the project's `tickets.json`, a Managed
//! Instance and Azurite — with only the addresses in that file changed to theirs. The tickets
//! are made as `ferry-emulator serve --source-sql tickets.sql` makes them: the file, run on the
//! source as one batch.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Server, ServerTls};

use super::native_rig::source_server;
use super::*;

const SA: &str = "Emul@tor-Pa55-plugin-new";
/// The databases the generated migration.toml moves (the ones `ferry-emulator serve` seeds).
pub const DATABASES: [&str; 3] = ["HRDb", "InventoryDb", "SalesDb"];

/// Where generated projects are built: one target directory for all of them, kept between
/// test runs, so their dependencies compile once.
pub fn project_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-projects")
}

/// `cargo args` in `project`, as its author runs it (the project's own lockfile, `--locked`).
pub fn cargo(project: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("cargo {args:?} in {}", project.display());
    Command::new(cargo)
        .current_dir(project)
        .args(args)
        .env("CARGO_TARGET_DIR", project_target())
        .finish()
}

/// `ferry plugin new` with `args`, in `dir`.
pub fn plugin_new(dir: &Path, args: &[&str]) -> Output {
    Command::new(FERRY)
        .current_dir(dir)
        .args(["plugin", "new"])
        .args(args)
        .finish()
}

/// The servers of a generated project, and the project pointed at them.
pub struct GateRig {
    pub az: Azurite,
    pub src: Server,
    pub mi: Server,
    pub project: PathBuf,
    _data: tempfile::TempDir,
}

impl GateRig {
    pub async fn start(project: &Path) -> GateRig {
        let az = Azurite::start().unwrap();
        az.create_container("backups").await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let certs = Arc::new(ServerTls::generate(&[]).unwrap());
        let src = source_server("2019", &data.path().join("src"), SA, certs.clone()).await;
        let mi = emulated_mi("mi-gate", &data.path().join("mi"), SA, certs).await;
        mi.set_restore_time(Some(std::time::Duration::from_millis(500)));
        let rig = GateRig {
            az,
            src,
            mi,
            project: project.to_owned(),
            _data: data,
        };
        for db in DATABASES {
            rig.on_source(&format!(
                "CREATE DATABASE [{db}]; CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); \
                 INSERT INTO [{db}].dbo.T VALUES (1), (2)"
            ));
        }
        // The emulator's addresses where the generated file has `serve`'s defaults.
        let env_file = project.join("environment.toml");
        let env = std::fs::read_to_string(&env_file).unwrap();
        let pointed = env
            .replace("port = 14330", &format!("port = {}", rig.src.addr.port()))
            .replace("port = 14331", &format!("port = {}", rig.mi.addr.port()))
            .replace(
                "http://127.0.0.1:10000/devstoreaccount1/backups",
                &rig.az.container_url("backups"),
            );
        assert_ne!(env, pointed, "environment.toml names serve's default ports");
        std::fs::write(&env_file, pointed).unwrap();
        std::fs::write(project.join("ferry-emulator-ca.pem"), rig.src.ca_pem()).unwrap();
        let tickets = std::fs::read_to_string(project.join("tickets.sql")).unwrap();
        rig.on_source(&tickets);
        rig
    }

    /// Runs `sql` on the source.
    pub fn on_source(&self, sql: &str) {
        tokio::task::block_in_place(|| self.src.run_sql(sql)).unwrap();
    }

    /// What `curl localhost:14339/source/sql -d @file` does with one of the project's files.
    pub fn post_sql(&self, file: &str) {
        let body: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.project.join(file)).unwrap())
                .unwrap_or_else(|e| panic!("{file} is the control API's JSON: {e}"));
        self.on_source(body["sql"].as_str().expect("{\"sql\": …}"));
    }

    /// `ferry args` in the project, with the two variables its README exports.
    pub fn ferry(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(FERRY);
        cmd.current_dir(&self.project)
            .args(args)
            .env("FERRY_EMULATOR_SA_PASSWORD", SA)
            .env("FERRY_DEMO_BLOB_KEY", azurite::ACCOUNT_KEY)
            .env("FERRY_CACHE_DIR", shared_cache())
            .env_remove("FERRY_LOG");
        cmd
    }

    /// `ferry status --json`: each (database, step) item's status.
    pub fn statuses(&self) -> std::collections::BTreeMap<(String, String), String> {
        let out = self.ferry(&["status", "--json"]).finish();
        if !out.status.success() {
            return Default::default();
        }
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        items(&status)
            .into_iter()
            .map(|(k, v)| (k, v["status"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }

    /// Whether the MI has `db` online.
    pub fn restored(&self, db: &str) -> bool {
        let sql = format!(
            "SELECT COUNT(*) FROM sys.databases WHERE name = N'{db}' AND state_desc = N'ONLINE'"
        );
        matches!(
            super::native_rig::Rig::scalar(&self.mi, &sql),
            Some(ferry_emulator::protocol::types::Value::Int(1))
        )
    }
}

impl GateRig {
    /// The project's README path from a clean start: `ferry apply --dev` restores HRDb and
    /// InventoryDb and waits at SalesDb's gate (its ticket pending), `approve.json` goes to the
    /// control API, and the waiting apply restores SalesDb (its wait reason shown).
    pub async fn gated_restore(&self) {
        let out = self.ferry(&["check", "--dev"]).finish();
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "ferry check --dev:\n{stdout}\n{stderr}"
        );
        let mut apply = self.ferry(&["apply", "--dev"]);
        apply
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = apply.spawn().unwrap();
        let deadline = std::time::Instant::now() + RUN_LIMIT;
        let waiting = ("SalesDb".to_owned(), "ticket".to_owned());
        while self.statuses().get(&waiting).map(String::as_str) != Some("waiting") {
            assert!(
                std::time::Instant::now() < deadline,
                "SalesDb's gate never waited"
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        self.post_sql("approve.json");
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "ferry apply --dev:\n{stdout}\n{stderr}"
        );
        for db in DATABASES {
            assert!(self.restored(db), "{db} on the MI");
        }
        let said = format!("{stdout}\n{stderr}");
        assert!(
            said.contains("waiting for change ticket CHG-2 (pending)"),
            "{said}"
        );
    }
}

/// What `ferry plugins describe` must show of any language's ticket gate, as text (`shown`) and
/// as `--json` (`json`): the Rust gate's name, need, WIT version, and config keys with their
/// defaults.
pub fn assert_describes_the_gate(shown: &str, json: &str) {
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
        "the need is shown: {shown}"
    );
    assert!(shown.contains("WIT version: 0.1.0"), "{shown}");
    let info: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(info["name"], "ticket-gate");
    assert_eq!(
        info["wit_version"], "0.1.0",
        "read from the interface names"
    );
    assert_eq!(
        info["needs"],
        serde_json::json!([{"kind": "sql", "label": "tickets", "access": "read", "why": "reads the change-ticket table"}])
    );
    let schema = &info["config_schema"];
    assert_eq!(schema["additionalProperties"], false, "{schema}");
    let defaults: Vec<(&str, &serde_json::Value)> = schema["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), &v["default"]))
        .collect();
    assert_eq!(
        defaults,
        [
            ("give_up_hours", &serde_json::json!(72)),
            ("poll_seconds", &serde_json::json!(60)),
            ("tickets", &serde_json::json!("tickets"))
        ],
        "the Rust gate's keys and defaults"
    );
}
