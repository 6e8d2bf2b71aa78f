//! The rig of the `assess` tests: an emulated source seeded with one of each fact the
//! readiness rules look for (`ferry_emulator::seed_assess`, `ferry_emulator::seed`), an
//! emulated Managed Instance, and `examples/assess/migration.toml` run once through the
//! `ferry` binary with a short sampling window. The run is shared: each rule's test reads the
//! report files it left.

use std::sync::Arc;

use ferry_emulator::{Server, ServerTls};
use serde_json::Value;

use super::native_rig::source_server;
use super::*;

pub const SA: &str = "Emul@tor-Pa55-assess";
pub const MI_SA: &str = "Mi#Pa55-assess";

/// What one `ferry apply` of the example left behind.
pub struct Run {
    /// `apply --json` events, and stdout and stderr as one text (for failure messages).
    pub events: Vec<Value>,
    pub all: String,
    pub success: bool,
    pub report_json: Value,
    pub report_md: String,
    pub report_html: String,
}

impl Run {
    /// The instance step's output (its `item-done` for `(instance)`).
    pub fn instance_output(&self) -> &Value {
        &self
            .events
            .iter()
            .find(|e| e["event"] == "item-done" && e["item"] == "(instance)")
            .unwrap_or_else(|| panic!("no item-done for (instance): {}", self.all))["output"]
    }

    /// The report rows (JSON report) whose reason code is `rule`.
    pub fn rows(&self, rule: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        collect_rows(&self.report_json, &mut rows);
        rows.into_iter()
            .filter(|r| r["reason_code"] == rule)
            .collect()
    }
}

/// A source of SQL Server `release` (with `-express`: its Express edition, else Enterprise),
/// seeded by `seed` (batches run as `sa`; `{backups}` in
/// them is a directory the source may back up to), a Managed
/// Instance holding databases `on_target` (None: no target label at all, the config's
/// assumptions stand), and the example migration over `databases` with each `(from, to)` of
/// `edits` made to its text; applied once.
pub fn run(
    release: &str,
    seed: Vec<String>,
    on_target: Option<&[&str]>,
    databases: &[&str],
    edits: &[(&str, &str)],
) -> Run {
    // Its own runtime: the servers live for the run, and the run outlives any one test.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let certs = Arc::new(ServerTls::generate(&[]).unwrap());
        let src = match release.strip_suffix("-express") {
            Some(r) => express_server(r, &data.path().join("src"), certs.clone()).await,
            None => source_server(release, &data.path().join("src"), SA, certs.clone()).await,
        };
        let mi = emulated_mi("assess-mi", &data.path().join("mi"), MI_SA, certs).await;
        src.set_windows_groups(&ferry_emulator::seed::windows_groups())
            .unwrap();
        // Batches name this directory `{backups}`: the source may back up into it.
        let backups = data.path().join("backups");
        std::fs::create_dir(&backups).unwrap();
        src.allow_backup_directory(&backups).unwrap();
        let seeding = std::time::Instant::now();
        tokio::task::block_in_place(|| {
            for batch in &seed {
                let batch = batch.replace("{backups}", &backups.display().to_string());
                src.run_sql(&batch).unwrap_or_else(|e| {
                    panic!("seed batch failed: {} ({}): {batch}", e.text, e.number)
                });
            }
            for db in on_target.unwrap_or_default() {
                mi.run_sql(&format!("CREATE DATABASE [{db}]")).unwrap();
            }
        });
        eprintln!("assess rig: {release} seeded in {:?}", seeding.elapsed());
        let site = site(&src, &mi, on_target.is_some(), databases, edits);
        let mut cmd = site.ferry(&["apply", "--json", "migration.toml"]);
        cmd.env("TEST_SA", SA).env("TEST_MI_SA", MI_SA);
        let out = tokio::task::spawn_blocking(move || cmd.finish())
            .await
            .unwrap();
        let (stdout, stderr) = text(&out);
        eprintln!(
            "assess rig: ferry apply on {release} took {:?}",
            seeding.elapsed()
        );
        let events = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let state = site.path(".ferry/migration");
        let read = |f: &str| std::fs::read_to_string(state.join(f)).unwrap_or_default();
        let run = Run {
            events,
            all: format!("{stdout}\n{stderr}"),
            success: out.status.success(),
            report_json: serde_json::from_str(&read("report.json")).unwrap_or(Value::Null),
            report_md: read("report.md"),
            report_html: read("report.html"),
        };
        for s in [SA, MI_SA] {
            assert!(!run.all.contains(s), "a password in ferry's output");
            assert!(!run.report_md.contains(s) && !run.report_html.contains(s));
        }
        drop((src, mi, data));
        run
    })
}

/// A SQL Server `release` of the Express edition.
async fn express_server(release: &str, dir: &std::path::Path, certs: Arc<ServerTls>) -> Server {
    let personality = ferry_emulator::Personality::SqlServer {
        release: ferry_emulator::Release::parse(release).unwrap(),
        edition: ferry_emulator::Edition::Express,
        hadr: false,
        name: "SRC".into(),
    };
    let options = ferry_emulator::ServerOptions::local(personality, dir, SA);
    Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap()
}

/// The example's migration.toml, pointed at `databases`, with a two-sample window of a
/// second, and (without a target) neither target label nor grant.
fn site(
    src: &Server,
    mi: &Server,
    target: bool,
    databases: &[&str],
    edits: &[(&str, &str)],
) -> Site {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/assess");
    let mut migration = std::fs::read_to_string(example.join("migration.toml")).unwrap();
    let list = databases
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let window = [
        (
            "databases = [\"SalesDb\", \"HRDb\", \"InventoryDb\"]".to_owned(),
            format!("databases = [{list}]"),
        ),
        ("samples = 5".into(), "samples = 2".into()),
        ("sample_seconds = 60".into(), "sample_seconds = 1".into()),
    ];
    let edits = edits.iter().map(|(f, t)| (f.to_string(), t.to_string()));
    for (from, to) in window.into_iter().chain(edits) {
        assert!(migration.contains(&from), "the example lost `{from}`");
        migration = migration.replace(&from, &to);
    }
    if !target {
        migration = migration
            .replace("target = \"target\"\n", "")
            .replace(", \"target:read\"", "");
    }
    let env = format!(
        "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
         [sql.target]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_MI_SA\"\n",
        src.addr.port(),
        mi.addr.port(),
    );
    let site = Site::new(&migration, &env);
    std::fs::copy(example.join("entra-map.toml"), site.path("entra-map.toml")).unwrap();
    std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
    site
}
