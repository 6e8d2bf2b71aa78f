//! Streams `SELECT` of 100,000 rows × 5 columns from the emulator to tiberius over TLS and prints
//! rows per second against the 200,000 rows/s target, with tiberius against the same server as
//! the only peer. Run: `cargo bench -p ferry-emulator --bench select_throughput`. Prints; never fails on a number.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls, TlsMode};
use futures_util::TryStreamExt;
use tokio_util::compat::TokioAsyncWriteCompatExt;

const ROWS: i32 = 100_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let options = ServerOptions {
        personality: Personality::SqlServer {
            release: Release::Sql2019,
            edition: Edition::Enterprise,
            hadr: false,
            name: "BENCH".into(),
        },
        tls: TlsMode::Required,
        logins: HashMap::from([("sa".to_owned(), "Bench#1".to_owned())]),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: data.path().to_owned(),
    };
    let server = Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap();
    server.run_sql("CREATE DATABASE B; CREATE TABLE B.dbo.T (Id int PRIMARY KEY, Name nvarchar(50), Amount decimal(12,2), Ratio float, At datetime2)").unwrap();
    let t = Instant::now();
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(2000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "({i}, N'name {i}', {}.{:02}, {}.5, '2026-11-26 12:00:00')",
                    i % 100_000,
                    i % 100,
                    i % 1000
                )
            })
            .collect();
        server
            .run_sql(&format!("INSERT INTO B.dbo.T VALUES {}", rows.join(", ")))
            .unwrap();
    }
    let seed = t.elapsed();

    let ca = tempfile::Builder::new().suffix(".pem").tempfile().unwrap();
    std::fs::write(ca.path(), server.ca_pem()).unwrap();
    let mut config = tiberius::Config::new();
    config.host("localhost");
    config.port(server.addr.port());
    config.authentication(tiberius::AuthMethod::sql_server("sa", "Bench#1"));
    config.encryption(tiberius::EncryptionLevel::Required);
    config.trust_cert_ca(ca.path().to_str().unwrap());
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut client = tiberius::Client::connect(config, tcp.compat_write())
        .await
        .unwrap();

    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let mut stream = client
            .simple_query("SELECT Id, Name, Amount, Ratio, At FROM B.dbo.T")
            .await
            .unwrap()
            .into_row_stream();
        let mut n = 0u64;
        while let Some(row) = stream.try_next().await.unwrap() {
            n += u64::from(row.get::<i32, _>(0).is_some());
        }
        assert_eq!(n, ROWS as u64);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let rate = ROWS as f64 / best;
    println!("emulator SELECT throughput (this machine; cargo bench builds release)");
    println!(
        "  seeded {ROWS} rows × 5 columns in {:.1} s",
        seed.as_secs_f64()
    );
    println!(
        "  SELECT of all rows to tiberius over TLS: best of 3 = {:.3} s → {:.0} rows/s",
        best, rate
    );
    println!("  target ≥ 200,000 rows/s: ratio {:.2}", rate / 200_000.0);
}
