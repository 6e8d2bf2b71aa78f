//! `upload-from-share` of one large file (default 2 GiB, FERRY_BENCH_MIB) from a share to
//! Azurite, against the Python azure-storage-blob SDK uploading the same file to the same
//! Azurite in the same run. Prints both throughputs and the ratio (target: ferry ≥ Python).
//! Run: `cargo bench -p ferry --bench upload` (needs Azurite from `npm ci --prefix
//! tools/azurite` and `pip install azure-storage-blob`). Both use 8 MiB blocks, 8 in flight.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::time::Instant;

use ferry_emulator::azurite::{self, Azurite};
use ferry_host::bindings::ferry::plugin::storage::{BlockChecksum, UploadOptions};
use ferry_host::config::{SecretRef, ShareOrBlob, StorageLabel};
use ferry_host::operations::Operations;
use ferry_host::redact::Redactor;
use ferry_host::storage::{blob::Blob, share::Share, upload};

/// Two workers, like the machine: the same budget the Python peer gets.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mib: u64 = std::env::var("FERRY_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let az = Azurite::start().expect("Azurite");
    az.create_container("bench").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let share_dir = work.path().join("share");
    std::fs::create_dir(&share_dir).unwrap();
    let path = share_dir.join("big.bak");
    {
        // Pseudo-random bytes: incompressible, like a compressed backup.
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for b in chunk.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
            }
            f.write_all(&chunk).unwrap();
        }
    }
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
    };
    let blob = Blob::new("bench", &label, &Redactor::default()).unwrap();
    let share = Share::new("share", &share_dir);
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
    upload::start(
        share,
        blob,
        vec!["big.bak".into()],
        "ferry/".into(),
        plan,
        reporter,
    );
    ops.wait(&id, |_| {}).await;
    let ours = t.elapsed().as_secs_f64();
    let our_cpu = cpu_seconds() - cpu_before;
    let our_rss = peak_rss_mib();
    let status = ops.status(&id, &owner).unwrap();
    assert!(
        status.result.is_some(),
        "the upload did not succeed: {:?}",
        status.state
    );

    let sas = azurite::devstore_container_sas("bench", "racwl").unwrap();
    let script = format!(
        r#"
import resource, time
from azure.storage.blob import BlobClient
client = BlobClient.from_blob_url("{container}/python.bak?{sas}", max_block_size=8*1024*1024, max_single_put_size=8*1024*1024)
u = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
with open("{path}", "rb") as f:
    client.upload_blob(f, overwrite=True, max_concurrency=8)
wall = time.perf_counter() - t
v = resource.getrusage(resource.RUSAGE_SELF)
cpu = (v.ru_utime + v.ru_stime) - (u.ru_utime + u.ru_stime)
# VmHWM, not ru_maxrss: Linux carries the parent's maxrss across fork and exec.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(wall, cpu, hwm / 1024)
"#,
        path = path.display()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3");
    let python: Option<Vec<f64>> = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .filter(|v: &Vec<f64>| v.len() == 3);
    let gib = mib as f64 / 1024.0;
    let rate = |secs: f64| mib as f64 / secs;
    println!("upload-from-share into Azurite, one {mib} MiB file (release build, this machine)");
    println!(
        "  ferry upload-from-share: {ours:.2} s → {:.0} MiB/s, {:.2} CPU s/GiB, peak RSS {our_rss:.0} MiB (8 MiB blocks, 8 in flight)",
        rate(ours),
        our_cpu / gib
    );
    match python {
        Some(p) => {
            println!(
                "  Python azure-storage-blob upload_blob: {:.2} s → {:.0} MiB/s, {:.2} CPU s/GiB, peak RSS {:.0} MiB (8 MiB blocks, max_concurrency=8)",
                p[0],
                rate(p[0]),
                p[1] / gib,
                p[2]
            );
            println!(
                "  throughput ratio ferry/Python: {:.2} (target ≥ 1.0); CPU ratio: {:.2} (target ≤ 0.5); peak RSS target < 300 MB",
                p[0] / ours,
                our_cpu / p[1]
            );
        }
        None => println!(
            "  Python peer did not run: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no output")
        ),
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
