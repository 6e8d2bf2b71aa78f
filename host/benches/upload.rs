//! `upload-from-share` of a share folder (default 2 GiB, FERRY_BENCH_MIB: one file of three
//! quarters of it plus 32 small files) to Azurite, against the Python azure-storage-blob SDK
//! uploading the same files to the same Azurite in the same run. Three rounds; prints the median
//! throughput, client CPU seconds per GiB and peak RSS of each, and the ratios (targets: ferry's
//! throughput ≥ Python's, its CPU ≤ half, its RSS < 300 MB).
//! Run: `cargo bench -p ferry --bench upload` (needs Azurite from `npm ci --prefix
//! tools/azurite` and `pip install azure-storage-blob`). Both use 8 MiB blocks, 8 in flight.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Instant;

use ferry_emulator::azurite::{self, Azurite};
use ferry_host::bindings::ferry::plugin::storage::{BlockChecksum, UploadOptions};
use ferry_host::config::{SecretRef, ShareOrBlob, StorageLabel};
use ferry_host::operations::Operations;
use ferry_host::redact::Redactor;
use ferry_host::storage::{blob::Blob, share::Share, upload};

const ROUNDS: usize = 3;
const SMALL_FILES: u64 = 32;

/// Two workers, like the machine: the same budget the Python peer gets.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mib: u64 = std::env::var("FERRY_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048)
        .max(SMALL_FILES * 4);
    let az = Azurite::start().expect("Azurite");
    az.create_container("bench").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let share_dir = work.path().join("share");
    let set = share_dir.join("set");
    std::fs::create_dir_all(&set).unwrap();
    let big = mib * 3 / 4;
    write_random(&set.join("big.bak"), big << 20, 1);
    for i in 0..SMALL_FILES {
        write_random(
            &set.join(format!("log_{i:02}.trn")),
            ((mib - big) << 20) / SMALL_FILES,
            i + 2,
        );
    }
    let bytes: u64 = std::fs::read_dir(&set)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let gib = bytes as f64 / f64::from(1 << 30);
    let mib_total = bytes as f64 / f64::from(1 << 20);

    let key_file = work.path().join("key");
    std::fs::write(&key_file, azurite::ACCOUNT_KEY).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let container = az.container_url("bench");
    let label = StorageLabel {
        kind: ShareOrBlob::Blob,
        url: Some(container.clone()),
        path: None,
        sas: None,
        account_key: Some(SecretRef::parse(&format!("file:{}", key_file.display())).unwrap()),
        entra: None,
        entra_client_id: None,
    };
    let blob = Blob::new("bench", &label, &Redactor::default()).unwrap();
    let sas = azurite::devstore_container_sas("bench", "racwl").unwrap();

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        ours.push(ferry_round(&blob, &share_dir, round).await);
        match python_round(&container, &sas, &set, round) {
            Ok(p) => theirs.push(p),
            Err(why) => println!("  Python peer did not run: {why}"),
        }
        // Azurite keeps blobs in memory with a size cap: free each round's copies.
        for prefix in [format!("ferry-{round}/"), format!("python-{round}/")] {
            let page = blob.list(&prefix, None, 5000).await.unwrap();
            for o in page.objects {
                blob.delete(&o.name).await.unwrap();
            }
        }
    }
    let our_rss = peak_rss_mib();
    let median = |v: &mut Vec<(f64, f64, f64)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() / 2]
    };
    let (t, cpu, _) = median(&mut ours);
    println!(
        "upload-from-share into Azurite, {mib_total:.0} MiB in {} files, median of {ROUNDS} (release build, this machine)",
        SMALL_FILES + 1
    );
    println!(
        "  ferry upload-from-share: {t:.2} s → {:.0} MiB/s, {:.2} CPU s/GiB, peak RSS {our_rss:.0} MiB",
        mib_total / t,
        cpu / gib
    );
    if theirs.is_empty() {
        return;
    }
    let (pt, pcpu, prss) = median(&mut theirs);
    println!(
        "  Python azure-storage-blob upload_blob per file (max_concurrency=8): {pt:.2} s → {:.0} MiB/s, {:.2} CPU s/GiB, peak RSS {prss:.0} MiB",
        mib_total / pt,
        pcpu / gib
    );
    println!(
        "  throughput ratio ferry/Python: {:.2} (target ≥ 1.0); CPU ratio {:.2} (target ≤ 0.5)",
        pt / t,
        cpu / pcpu
    );
}

/// Pseudo-random bytes (xorshift): incompressible, like a compressed backup.
fn write_random(path: &Path, len: u64, seed: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for b in chunk.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
}

/// (wall seconds, CPU seconds, 0) of one ferry upload into a fresh prefix.
async fn ferry_round(blob: &Blob, share_dir: &Path, round: usize) -> (f64, f64, f64) {
    let options = UploadOptions {
        block_size: None,
        concurrency: None,
        checksum: BlockChecksum::None,
    };
    let ops = Operations::default();
    let owner = ("bench".to_owned(), String::new());
    let cpu_before = cpu_seconds();
    let t = Instant::now();
    let (id, reporter) = ops.begin(owner.clone(), "bench".into());
    let plan = upload::UploadPlan::new(&options).unwrap();
    let share = Share::new("share", share_dir);
    let dest = format!("ferry-{round}/");
    upload::start(
        share,
        blob.clone(),
        vec!["set".into()],
        dest,
        plan,
        reporter,
    );
    ops.wait(&id, |_| {}).await;
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let status = ops.status(&id, &owner).unwrap();
    assert!(
        status.result.is_some(),
        "the upload did not succeed: {:?}",
        status.state
    );
    (wall, cpu, 0.0)
}

/// (wall seconds, CPU seconds, peak RSS MiB) of Python uploading the same files.
fn python_round(
    container: &str,
    sas: &str,
    set: &Path,
    round: usize,
) -> Result<(f64, f64, f64), String> {
    let script = format!(
        r#"
import os, resource, time
from azure.storage.blob import ContainerClient
client = ContainerClient.from_container_url("{container}?{sas}", max_block_size=8*1024*1024, max_single_put_size=8*1024*1024)
u = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
for name in sorted(os.listdir("{set}")):
    with open(os.path.join("{set}", name), "rb") as f:
        client.upload_blob("python-{round}/" + name, f, overwrite=True, max_concurrency=8)
wall = time.perf_counter() - t
v = resource.getrusage(resource.RUSAGE_SELF)
cpu = (v.ru_utime + v.ru_stime) - (u.ru_utime + u.ru_stime)
# VmHWM, not ru_maxrss: Linux carries the parent's maxrss across fork and exec.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(wall, cpu, hwm / 1024)
"#,
        set = set.display()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .map_err(|e| e.to_string())?;
    let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    match v[..] {
        [wall, cpu, rss] => Ok((wall, cpu, rss)),
        _ => {
            // The SDK's exception ends with the service's XML; its ErrorCode line says why.
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            let line = err
                .lines()
                .find(|l| l.contains("ErrorCode"))
                .or(err.lines().last());
            Err(line.unwrap_or("no output").to_owned())
        }
    }
}

/// User + system CPU seconds of this process so far, from /proc/self/stat (fields 14 and 15,
/// in clock ticks of 1/100 s on Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; fields are counted after its closing ')'.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

/// Peak resident set of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
