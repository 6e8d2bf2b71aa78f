//! BACKUP DATABASE … TO URL of a ~1 GiB database into Azurite, against the Python
//! azure-storage-blob SDK uploading the same number of bytes to the same Azurite in the same run.
//! Prints both throughputs and the ratio (target: the emulator ≥ 70 % of Python).
//! Run: `cargo bench -p ferry-emulator --bench backup_to_azurite` (needs Azurite from
//! `npm ci --prefix tools/azurite` and `pip install azure-storage-blob`). Size: FERRY_BENCH_MIB.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls, TlsMode};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let mib: usize = std::env::var("FERRY_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let az = Azurite::start().expect("Azurite");
    az.create_container("bench").await.unwrap();
    let sas = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "bench",
        "racwl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        personality: Personality::SqlServer {
            release: Release::Sql2019,
            edition: Edition::Enterprise,
            hadr: false,
            name: "BENCH".into(),
        },
        tls: TlsMode::Optional,
        logins: HashMap::from([("sa".to_owned(), "Bench#1".to_owned())]),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: data.path().to_owned(),
    };
    let server = Server::start(
        "127.0.0.1:0".parse().unwrap(),
        options,
        Arc::new(ServerTls::generate(&[]).unwrap()),
    )
    .await
    .unwrap();
    server.run_sql("CREATE DATABASE Big; CREATE TABLE Big.dbo.Blobs (Id int PRIMARY KEY, Data varbinary(max))").unwrap();
    // 4 MiB random rows: incompressible, like real backup data.
    for i in 0..(mib / 4).max(1) {
        server
            .run_sql(&format!(
                "INSERT INTO Big.dbo.Blobs VALUES ({i}, randomblob(4194304))"
            ))
            .unwrap();
    }
    let container = az.container_url("bench");
    server.run_sql(&format!("CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'")).unwrap();

    let t = Instant::now();
    server
        .run_sql(&format!(
            "BACKUP DATABASE Big TO URL = '{container}/Big.bak' WITH FORMAT"
        ))
        .unwrap();
    let ours = t.elapsed().as_secs_f64();
    let bytes = (mib as u64) * 1_048_576;

    let script = format!(
        r#"
import os, time, tempfile
from azure.storage.blob import BlobClient
# The file lives in a directory removed on exit, so repeated runs leave no copies behind.
with tempfile.TemporaryDirectory() as work:
    path = os.path.join(work, "same.bin")
    with open(path, "wb") as f:
        for _ in range({chunks}):
            f.write(os.urandom(4194304))
    client = BlobClient.from_blob_url("{container}/python.bin?{sas}")
    t = time.perf_counter()
    with open(path, "rb") as f:
        client.upload_blob(f, overwrite=True, max_concurrency=8)
    print(time.perf_counter() - t)
"#,
        chunks = (mib / 4).max(1),
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let python: Option<f64> = text.trim().lines().last().and_then(|l| l.parse().ok());

    let rate = |secs: f64| bytes as f64 / 1_048_576.0 / secs;
    println!("BACKUP TO URL into Azurite, {mib} MiB database (release build, this machine)");
    println!(
        "  ferry-emulator BACKUP DATABASE … TO URL: {ours:.2} s → {:.0} MiB/s (reads the database file, writes 8 MiB blocks)",
        rate(ours)
    );
    match python {
        Some(p) => {
            println!(
                "  Python azure-storage-blob upload_blob:   {p:.2} s → {:.0} MiB/s",
                rate(p)
            );
            println!("  ratio emulator / Python: {:.2} (target ≥ 0.70)", p / ours);
        }
        None => println!(
            "  Python peer not measured: {} {}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
    }
}
