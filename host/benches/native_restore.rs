//! ferry's overhead per database in a native-restore migration: 50 databases, 8 in flight,
//! through `ferry apply` against the emulator (source SQL Server and MI) and Azurite, with the
//! MI's restores on a sped-up virtual clock. Printed: the median of (a database's wall time −
//! the emulated restore time) and the run's wall time against the ideal schedule (the sum of
//! emulated restore times ÷ 8). Targets: under 100 ms median, within 1.3× of ideal.
//! Run: `cargo bench -p ferry --bench native_restore`. FERRY_BENCH_DATABASES,
//! FERRY_BENCH_RESTORE_MS (emulated, real time).
//!
//! The backups (the source writing a few KiB into Azurite) count as ferry's overhead here: the
//! emulated server time is only the restore, so the figure is an upper bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls};

const PASSWORD: &str = "Bench#native-1";
/// Databases in flight, as the benchmark asks.
const IN_FLIGHT: usize = 8;
/// How much faster than real time the MI's clock runs: a 10 s (virtual) restore takes 1 s.
const SPEED: f64 = 10.0;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn server(p: Personality, dir: &std::path::Path, certs: Arc<ServerTls>) -> Server {
    let options = ServerOptions::local(p, dir, PASSWORD);
    Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let databases = env_or("FERRY_BENCH_DATABASES", 50) as usize;
    let restore = Duration::from_millis(env_or("FERRY_BENCH_RESTORE_MS", 1000));
    let az = Azurite::start().unwrap();
    az.create_container("backups").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let src = server(
        Personality::SqlServer {
            release: Release::Sql2019,
            edition: Edition::Enterprise,
            hadr: false,
            name: "BENCH-SRC".into(),
        },
        &data.path().join("src"),
        certs.clone(),
    )
    .await;
    let mi = server(
        Personality::ManagedInstance {
            name: "bench-mi.database.windows.net".into(),
        },
        &data.path().join("mi"),
        certs.clone(),
    )
    .await;
    mi.clock().set_speed(SPEED);
    mi.set_restore_time(Some(restore.mul_f64(SPEED)));
    let names: Vec<String> = (0..databases).map(|i| format!("Db{i:03}")).collect();
    tokio::task::block_in_place(|| {
        for n in &names {
            src.run_sql(&format!(
                "CREATE DATABASE [{n}]; CREATE TABLE [{n}].dbo.T (Id int PRIMARY KEY); INSERT INTO [{n}].dbo.T VALUES (1), (2)"
            ))
            .unwrap();
        }
    });
    let site = tempfile::tempdir().unwrap();
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        site.path().join("migration.toml"),
        format!(
            "databases = [{list}]\n[migration]\nname = \"bench\"\n[limits]\nconcurrency = {IN_FLIGHT}\n[plugins.native]\nbundled = \"native-restore\"\n[[steps]]\nname = \"restore\"\nplugin = \"native\"\n[steps.grants]\nsql = [\"source\", \"target\"]\nstorage = [\"backups\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(site.path().join("ca.pem"), src.ca_pem()).unwrap();
    let label = |port: u16| {
        format!(
            "server = \"localhost\"\nport = {port}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:BENCH_SA\"\n"
        )
    };
    std::fs::write(
        site.path().join("environment.toml"),
        format!(
            "[sql.source]\n{}\n[sql.target]\n{}\n[storage.backups]\nkind = \"blob\"\nurl = \"{}\"\naccount_key = \"env:BENCH_KEY\"\n",
            label(src.addr.port()),
            label(mi.addr.port()),
            az.container_url("backups")
        ),
    )
    .unwrap();

    let started = Instant::now();
    let dir = site.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .current_dir(&dir)
            .args(["apply", "--json", "migration.toml"])
            .env(
                "FERRY_CACHE_DIR",
                std::env::temp_dir().join("ferry-bench-cache"),
            )
            .env("BENCH_SA", PASSWORD)
            .env("BENCH_KEY", azurite::ACCOUNT_KEY)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.path().join(".ferry/migration/report.json")).unwrap(),
    )
    .unwrap();
    let mut overhead: Vec<f64> = report["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["duration_ms"].as_f64().unwrap() - restore.as_secs_f64() * 1000.0)
        .collect();
    let ideal = restore.as_secs_f64() * databases as f64 / IN_FLIGHT as f64;
    println!(
        "native-restore: {databases} databases, {IN_FLIGHT} in flight, each restore {} ms (emulated, clock ×{SPEED})",
        restore.as_millis()
    );
    println!(
        "  overhead per database (wall − emulated restore), median: {:.0} ms  (target < 100 ms)",
        median(&mut overhead)
    );
    println!(
        "  total wall {:.2} s vs ideal {:.2} s (sum of restores ÷ {IN_FLIGHT}): ratio {:.2}  (target ≤ 1.30)",
        wall.as_secs_f64(),
        ideal,
        wall.as_secs_f64() / ideal
    );
}
