//! Runtime benchmark: prints, on this machine, the cost of a step call on a cached plugin, of
//! one host import call, of loading a plugin cold vs from the compile cache, and the peak RSS of
//! `ferry apply` over 200 work items with 16 in flight. Run with
//! `cargo bench -p ferry --bench runtime` (a release build). It measures and prints; it never
//! fails on a number.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_host::bindings::types::StepContext;
use ferry_host::config::{Grants, StepLimits};
use ferry_host::events::{LogLevel, NoEvents};
use ferry_host::redact::Redactor;
use ferry_host::runtime::cache::ComponentCache;
use ferry_host::runtime::plugin::{check_wit_version, sha256_hex};
use ferry_host::runtime::store::CallScope;
use ferry_host::runtime::{Runtime, RuntimeOptions, StepCall};
use ferry_host::vault::Vault;

fn hostile() -> Vec<u8> {
    std::fs::read(Path::new(env!("FERRY_FIXTURE_PLUGINS")).join("hostile.wasm"))
        .expect("fixture plugin")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn call() -> StepCall {
    StepCall {
        scope: Arc::new(CallScope {
            step: "bench".into(),
            item: "db".into(),
            grants: Grants::default(),
            vault: Arc::new(Vault::default()),
            redactor: Redactor::default(),
            sink: Arc::new(NoEvents),
            min_level: LogLevel::Info,
            sql: Arc::default(),
            ops: Arc::default(),
            storage: Arc::default(),
            azure: Arc::default(),
            signals: ferry_host::signals::Signals::default(),
            plan: ferry_host::plan::PlanGate::Off,
            scripts: None,
        }),
        limits: StepLimits {
            timeout_ms: 60_000,
            memory_bytes: 64 << 20,
            fuel: None,
            retries: Some(0),
            retry_window_ms: 0,
        },
        scratch: None,
    }
}

fn ctx(config: serde_json::Value) -> StepContext {
    StepContext {
        run_id: "r".into(),
        step: "bench".into(),
        item: "db".into(),
        attempt: 1,
        config: config.to_string(),
        scratch: None,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}

async fn bench() {
    let wasm = hostile();
    let cache = tempfile::tempdir().unwrap();

    // Cold load (compile) vs cached load (deserialize), each on a fresh runtime.
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for i in 0..5 {
        let dir = cache.path().join(format!("c{i}"));
        let runtime = Runtime::new(RuntimeOptions {
            cache_dir: Some(dir.clone()),
            fuel: false,
        })
        .unwrap();
        let t = Instant::now();
        runtime.load("hostile", &wasm, None).await.unwrap();
        cold.push(t.elapsed());
        let runtime = Runtime::new(RuntimeOptions {
            cache_dir: Some(dir),
            fuel: false,
        })
        .unwrap();
        let t = Instant::now();
        runtime.load("hostile", &wasm, None).await.unwrap();
        warm.push(t.elapsed());
    }
    let (cold, warm) = (median(cold), median(warm));

    // Step call on a cached plugin: new Store + instantiate + `step` + drop.
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(cache.path().join("c0")),
        fuel: false,
    })
    .unwrap();
    let plugin = runtime.load("hostile", &wasm, None).await.unwrap();
    let call = call();
    let none = ctx(serde_json::json!({ "attack": "none" }));
    for _ in 0..200 {
        runtime
            .step(&plugin, &call, none.clone(), None)
            .await
            .unwrap();
    }
    let mut steps = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        runtime
            .step(&plugin, &call, none.clone(), None)
            .await
            .unwrap();
        steps.push(t.elapsed());
    }
    let step = median(steps);

    // Import call: a step making 1,000,000 calls of `log.enabled` minus one making none.
    const N: u64 = 1_000_000;
    let mut per_call = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        runtime
            .step(
                &plugin,
                &call,
                ctx(serde_json::json!({ "attack": "imports", "n": 0 })),
                None,
            )
            .await
            .unwrap();
        let base = t.elapsed();
        let t = Instant::now();
        runtime
            .step(
                &plugin,
                &call,
                ctx(serde_json::json!({ "attack": "imports", "n": N })),
                None,
            )
            .await
            .unwrap();
        per_call.push(t.elapsed().saturating_sub(base) / N as u32);
    }
    let import = median(per_call);

    // Where a cached load's time goes.
    let engine_rt = Runtime::new(RuntimeOptions {
        cache_dir: None,
        fuel: false,
    })
    .unwrap();
    let cache_dir = ComponentCache::new(Some(cache.path().join("c0")));
    let time = |f: &mut dyn FnMut()| {
        let mut v = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            f();
            v.push(t.elapsed());
        }
        median(v)
    };
    let sha = sha256_hex(&wasm);
    let t_sha = time(&mut || drop(sha256_hex(&wasm)));
    let t_check = time(&mut || drop(check_wit_version("hostile", &wasm)));
    let t_deser = time(&mut || drop(cache_dir.load(engine_rt.engine(), &sha, &wasm).unwrap()));

    let rss = peak_rss_of_apply();

    println!("ferry runtime benchmark (release build, this machine)");
    println!("{:<48} {:>12} {:>12}", "measure", "value", "target");
    println!(
        "{:<48} {:>10.0}µs {:>12}",
        "step call, cached plugin (median of 2000)",
        step.as_secs_f64() * 1e6,
        "< 250 µs"
    );
    println!(
        "{:<48} {:>10.0}ns {:>12}",
        "host import call (median of 5 × 1e6)",
        import.as_secs_f64() * 1e9,
        "< 150 ns"
    );
    println!(
        "{:<48} {:>10.1}ms {:>12}",
        "plugin load, cold (compile)",
        cold.as_secs_f64() * 1e3,
        ""
    );
    println!(
        "{:<48} {:>10.2}ms {:>12}",
        "plugin load, from compile cache",
        warm.as_secs_f64() * 1e3,
        ""
    );
    println!(
        "{:<48} {:>11.0}× {:>12}",
        "cold / cached",
        cold.as_secs_f64() / warm.as_secs_f64(),
        "≥ 100×"
    );
    println!(
        "{:<48} {:>10.3}ms",
        "  of which: sha256 of the wasm",
        t_sha.as_secs_f64() * 1e3
    );
    println!(
        "{:<48} {:>10.3}ms",
        "  of which: component check + WIT version",
        t_check.as_secs_f64() * 1e3
    );
    println!(
        "{:<48} {:>10.3}ms",
        "  of which: map + deserialize compiled code",
        t_deser.as_secs_f64() * 1e3
    );
    match rss {
        Ok((kb, wall)) => println!(
            "{:<48} {:>10.1}MB {:>12}",
            format!(
                "peak RSS, apply 200 items × 16 in flight ({:.1} s)",
                wall.as_secs_f64()
            ),
            kb as f64 / 1024.0,
            "< 150 MB"
        ),
        Err(e) => println!("peak RSS: not measured: {e}"),
    }
}

/// Runs the release `ferry apply` over 200 databases (one step each, a short wait in the
/// middle) with 16 in flight, sampling VmHWM from /proc until it exits.
fn peak_rss_of_apply() -> Result<(u64, Duration), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dbs: Vec<String> = (0..200).map(|i| format!("\"db{i:03}\"")).collect();
    let migration = format!(
        "databases = [{}]\n[migration]\nname = \"rss\"\n[plugins.hello]\nbundled = \"hello-steps\"\n[[steps]]\nname = \"greet\"\nplugin = \"hello\"\nconfig = {{ greeting = \"hi\", wait_ms = 20, token = \"demo-token\" }}\n[steps.grants]\nsecrets = [\"demo-token\"]\nscratch = true\n[limits]\nconcurrency = 16\n",
        dbs.join(", ")
    );
    std::fs::write(dir.path().join("migration.toml"), migration).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.path().join("environment.toml"),
        "[secrets]\ndemo-token = \"env:BENCH_TOKEN\"\n",
    )
    .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .current_dir(dir.path())
        .args(["apply", "migration.toml"])
        .env("BENCH_TOKEN", "bench-token")
        .env("FERRY_CACHE_DIR", dir.path().join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_file)
            && let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            if !status.success() {
                return Err(format!("ferry apply exited with {status}"));
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok((peak, t.elapsed()))
}
