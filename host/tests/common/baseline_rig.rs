//! The rig of the `baseline` tests: the native-restore rig (a source SQL Server 2019, a
//! Managed Instance, Azurite) running `examples/baseline`'s three steps — `baseline-before` on
//! the source, `restore`, `baseline-after` on the MI — the baselines kept in an Azurite container,
//! and a way to run `ferry` that drives the emulator's workload generator while ferry waits
//! each window.

use std::io::{BufRead, Read};
use std::process::Stdio;
use std::time::Instant;

use ferry_emulator::Server;
use ferry_emulator::azurite;
use ferry_emulator::instance::QueryWorkload;
use serde_json::{Value, json};

use super::native_rig::Rig;
use super::*;

pub const DB: &str = "SalesDb";

/// How long before a window's end the test runs its workload.
pub const LEAD: std::time::Duration = std::time::Duration::from_millis(2500);

/// The windows' length: the workload, run [`LEAD`] before a window's end, falls between the
/// window's first read and its last however the machine's load delays either.
pub const WINDOW_SECONDS: u32 = 8;

/// The rig, its migration `examples/baseline/migration.toml` as shipped but for the windows
/// (`window_seconds` in place of an hour) and, unless `raise`, the raised level's comparison;
/// its baselines kept in an Azurite container.
pub async fn setup(raise: bool) -> Rig {
    setup_with("2019", raise).await
}

/// [`setup`] with a source of SQL Server `release`.
pub async fn setup_with(release: &str, raise: bool) -> Rig {
    let rig = Rig::with_source(&[DB], "", release).await;
    rig.az.create_container("baselines").await.unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/baseline");
    let shipped = std::fs::read_to_string(example.join("migration.toml")).unwrap();
    let mut migration = shipped.replace(
        "window_minutes = 60",
        &format!("window_seconds = {WINDOW_SECONDS}"),
    );
    assert_ne!(
        migration, shipped,
        "the example's windows are set by window_minutes"
    );
    if !raise {
        migration = migration.replace("raise_compatibility = true", "raise_compatibility = false");
    }
    std::fs::write(rig.site.migration(), migration).unwrap();
    let env = rig.site.path("environment.toml");
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str(&format!(
        "\n[storage.baselines]\nkind = \"blob\"\nurl = \"{}\"\naccount_key = \"env:TEST_BLOB_KEY\"\n",
        rig.az.container_url("baselines")
    ));
    std::fs::write(env, text).unwrap();
    rig
}

/// One query of a workload, its figures per execution: `cpu_us` of CPU (twice that of
/// duration), `reads` logical reads, `io_ms` of PAGEIOLATCH_SH and 1 ms of LCK_M_S.
pub fn query(
    text: &str,
    executions: i64,
    cpu_us: i64,
    reads: i64,
    io_ms: i64,
    plan: &str,
) -> Value {
    json!({
        "text": text, "executions": executions, "cpu_us": cpu_us, "duration_us": cpu_us * 2,
        "logical_reads": reads, "plan": plan, "waits": {"PAGEIOLATCH_SH": io_ms, "LCK_M_S": 1},
    })
}

/// Records `queries` on `server` as run over the last second (inside the window ferry is
/// waiting); each query's `query_plan_hash` as the emulator answers it.
pub fn run_workload(server: &Server, queries: Vec<Value>) -> Vec<String> {
    let w: QueryWorkload = serde_json::from_value(json!({
        "db": DB, "interval_minutes": 0.02, "queries": queries,
    }))
    .unwrap();
    server
        .run_query_workload(&w)
        .unwrap()
        .into_iter()
        .map(|r| r.query_plan_hash)
        .collect()
}

/// The report rows the `baseline-after` step wrote of `kind` (`query`, `wait`, …), by name.
pub fn rows<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| {
            e["event"] == "row" && e["step"] == "baseline-after" && e["object_type"] == kind
        })
        .collect()
}

/// The one row of `kind` whose name holds `words`.
pub fn row<'a>(events: &'a [Value], kind: &str, words: &str) -> &'a Value {
    let found: Vec<&Value> = rows(events, kind)
        .into_iter()
        .filter(|r| r["name"].as_str().unwrap_or_default().contains(words))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} row for {words}: {found:?}");
    found[0]
}

/// The report ferry wrote, as (Markdown, HTML).
pub fn report(rig: &Rig) -> (String, String) {
    let dir = rig.site.path(".ferry/migration");
    (
        std::fs::read_to_string(dir.join("report.md")).unwrap(),
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
    )
}

/// `ferry apply --json migration.toml`, calling `on_window(step, nth)` late in each window a
/// `baseline-…` step waits (`item-waiting`; `nth` counts that step's windows from 0): the workload a test
/// runs then is what that window captures. The plugin reads the last `window_seconds` when
/// the window has ended, which is a little after its wait ends; a workload run [`LEAD`]
/// before the wait's end falls inside that whatever the host's delay. Returns the exit
/// status, the events and stdout and stderr as one text.
pub fn apply_driving(
    rig: &Rig,
    mut on_window: impl FnMut(&str, usize),
) -> (std::process::ExitStatus, Vec<Value>, String) {
    let mut child = rig
        .command(&["apply", "--json", "migration.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let (mut events, mut out) = (Vec::new(), String::new());
    let mut windows: std::collections::BTreeMap<String, usize> = Default::default();
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(line) => {
                out.push_str(&line);
                out.push('\n');
                let Ok(e) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                // The restore step waits too (for its restore); only the windows matter here.
                let step = e["step"].as_str().unwrap_or_default().to_owned();
                if e["event"] == "item-waiting" && step.starts_with("baseline-") {
                    let until = e["until_unix_ms"].as_u64().unwrap_or_default();
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis() as u64;
                    let lead = LEAD.as_millis() as u64;
                    std::thread::sleep(std::time::Duration::from_millis(
                        until.saturating_sub(lead).saturating_sub(now),
                    ));
                    let n = windows.entry(step.clone()).or_default();
                    on_window(&step, *n);
                    *n += 1;
                }
                events.push(e);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("ferry ran past {RUN_LIMIT:?}: {out}");
                }
            }
        }
    }
    let status = child.wait().unwrap();
    let all = format!("{out}\n{}", err.join().unwrap());
    (status, events, all)
}

/// The test's secrets must not appear in anything ferry wrote.
pub fn no_secret(text: &str) {
    for s in [super::native_rig::SA, azurite::ACCOUNT_KEY] {
        assert!(!text.contains(s), "a secret leaked");
    }
}
