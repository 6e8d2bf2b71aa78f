//! Per-call overhead of `tsql.query` through a plugin: 10,000 `SELECT 1` calls made by the
//! sql-probe fixture in `ferry apply` against the emulator, against the same 10,000 calls made
//! by tiberius directly on one connection, in the same run. Printed: both per-call medians of 3
//! runs and ferry's added cost per call (target: under 50 µs).
//! Run: `cargo bench -p ferry --bench query_overhead`. Calls: FERRY_BENCH_CALLS.
//!
//! ferry's figure comes from two `ferry apply` runs, one with 1 call and one with N+1, so
//! process start, plugin load and the connection's login cancel out: (t(N+1) − t(1)) / N.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ferry_emulator::{Personality, Server, ServerOptions, ServerTls, TlsMode};
use tokio_util::compat::TokioAsyncWriteCompatExt as _;

const PASSWORD: &str = "Bench#query-1";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: u32 = std::env::var("FERRY_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let data = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        personality: Personality::ManagedInstance {
            name: "bench.database.windows.net".into(),
        },
        tls: TlsMode::Required,
        logins: HashMap::from([("sa".to_owned(), PASSWORD.to_owned())]),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: data.path().to_owned(),
    };
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let server = Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap();
    let ca = data.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).unwrap();

    let mut direct = Vec::new();
    let mut ferry = Vec::new();
    for _ in 0..3 {
        // The direct client gets its own thread and runtime, as `ferry apply` gets its own
        // process: neither shares the emulator's workers.
        let (addr, ca_path) = (server.addr, ca.clone());
        direct.push(
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(tiberius_direct(addr, &ca_path, calls))
            })
            .join()
            .unwrap(),
        );
        let many = ferry_apply(&server, &ca, calls);
        let one = ferry_apply(&server, &ca, 0);
        ferry.push((many - one) / f64::from(calls));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (d, f) = (median(&mut direct), median(&mut ferry));
    println!("{calls} × SELECT 1 against the emulator over TLS (release build, this machine)");
    println!(
        "  tiberius directly, one connection: {:.1} µs per call",
        d * 1e6
    );
    println!(
        "  through a plugin in `ferry apply`:  {:.1} µs per call",
        f * 1e6
    );
    println!(
        "  overhead ferry adds: {:.1} µs per call (target < 50 µs)",
        (f - d) * 1e6
    );
}

async fn tiberius_direct(addr: std::net::SocketAddr, ca: &std::path::Path, calls: u32) -> f64 {
    let mut config = tiberius::Config::new();
    config.host("localhost");
    config.port(addr.port());
    config.authentication(tiberius::AuthMethod::sql_server("sa", PASSWORD));
    config.encryption(tiberius::EncryptionLevel::Required);
    config.trust_cert_ca(ca.to_str().unwrap());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut client = tiberius::Client::connect(config, tcp.compat_write())
        .await
        .unwrap();
    let t = Instant::now();
    for _ in 0..calls {
        let rows = client
            .query("SELECT 1", &[])
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
    }
    t.elapsed().as_secs_f64() / f64::from(calls)
}

/// Wall time of `ferry apply` running the probe with `repeat` extra queries.
fn ferry_apply(server: &Server, ca: &std::path::Path, repeat: u32) -> f64 {
    let site = tempfile::tempdir().unwrap();
    let wasm = std::path::Path::new(env!("FERRY_FIXTURE_PLUGINS")).join("sql_probe.wasm");
    let sha = ferry_host::runtime::plugin::sha256_hex(&std::fs::read(&wasm).unwrap());
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"bench\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{sha}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nstatements = [{{ label = \"src\", kind = \"query\", sql = \"SELECT 1\", repeat = {repeat} }}]\n[steps.grants]\nsql = [\"src\"]\n[steps.limits]\ntimeout_seconds = 600\n",
        wasm.display()
    );
    let env = format!(
        "[sql.src]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"{}\"\nuser = \"sa\"\npassword = \"env:BENCH_SA\"\n",
        server.addr.port(),
        ca.display()
    );
    std::fs::write(site.path().join("migration.toml"), migration).unwrap();
    std::fs::write(site.path().join("environment.toml"), env).unwrap();
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .current_dir(site.path())
        .args(["apply", "--json", "migration.toml"])
        .env("BENCH_SA", PASSWORD)
        .env(
            "FERRY_CACHE_DIR",
            std::env::temp_dir().join("ferry-bench-cache"),
        )
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}
