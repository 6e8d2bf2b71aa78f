//! The chaos harness: trials of a native-restore and an LRS migration of eight databases in
//! which `ferry apply` is SIGKILLed at random moments and the emulated servers are stopped and
//! restarted mid-run, then `apply` is run again until the migration is done. Each trial checks
//! that every database ended done exactly once — ONLINE on the MI, one RESTORE per database
//! (native), no credential left behind, no database that needed `--retry-failed` — and the run
//! prints a tally, with the LRS starts (PUTs) per database.
//!
//! Slow by design (about a minute a trial), so ignored by default:
//! `scripts/test --chaos`, or `cargo test -p ferry --test chaos -- --ignored --nocapture`.
//! `FERRY_CHAOS_TRIALS` (default 50) sets the trials per method, `FERRY_CHAOS_SEED` replays a
//! run (each trial prints its seed).

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

/// Databases per migration (the issue asks for at least eight).
const DATABASES: usize = 8;
/// `apply` runs per trial before it counts as stuck.
const MAX_ROUNDS: usize = 30;

/// What one trial did and how it ended.
#[derive(Default)]
struct Trial {
    rounds: usize,
    kills: usize,
    restarts: usize,
    /// Databases that did not finish by plain re-runs of `apply` (needed `--retry-failed`, or
    /// never finished), with why.
    helped: Vec<String>,
    /// Per database: RESTOREs the MI received (native), or LRS start PUTs that reached ARM (lrs).
    starts: BTreeMap<String, usize>,
    /// Per database: a problem found at the end (not ONLINE, a credential left…).
    wrong: Vec<String>,
    /// Whether `starts` must be exactly one per database (native: RESTOREs are counted).
    exact_starts: bool,
}

impl Trial {
    fn clean(&self) -> bool {
        self.helped.is_empty()
            && self.wrong.is_empty()
            && (!self.exact_starts || self.starts.values().all(|n| *n == 1))
    }
}

/// The harness's own randomness: `fastrand`, seeded per trial so a failing trial replays.
struct Dice(fastrand::Rng);

/// A disruption during one `apply`.
enum Disruption {
    /// SIGKILL `ferry` after this long.
    Kill(Duration),
    /// Stop one of the emulated servers after `at`, bring it back `down` later.
    Restart { at: Duration, down: Duration },
    /// Let the run end by itself.
    None,
}

/// Rounds of a trial that are always disrupted, so every trial meets the chaos at least this
/// often before a run may end by itself.
const DISRUPTED_ROUNDS: usize = 4;

impl Dice {
    fn disruption(&mut self, round: usize) -> Disruption {
        let ms = |rng: &mut fastrand::Rng, lo, hi| Duration::from_millis(rng.u64(lo..hi));
        let roll = if round < DISRUPTED_ROUNDS {
            self.0.u32(0..8)
        } else {
            self.0.u32(0..10)
        };
        match roll {
            0..=5 => Disruption::Kill(ms(&mut self.0, 50, 6_000)),
            6..=7 => Disruption::Restart {
                at: ms(&mut self.0, 100, 4_000),
                down: ms(&mut self.0, 200, 2_500),
            },
            _ => Disruption::None,
        }
    }
}

fn trials() -> usize {
    std::env::var("FERRY_CHAOS_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

fn first_seed() -> u64 {
    std::env::var("FERRY_CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..))
}

fn databases() -> Vec<String> {
    (1..=DATABASES).map(|i| format!("Chaos{i}")).collect()
}

/// The servers a trial may restart; each method's rig says what it has.
trait Servers {
    /// Stops server `which` (modulo how many there are), waits `down`, starts it again.
    async fn restart(&self, which: u32, down: Duration) -> String;
}

/// Runs `apply` (through `command`) once under `disruption`; returns its exit code (None when
/// killed).
async fn round(
    command: Command,
    log: &std::path::Path,
    d: Disruption,
    servers: &impl Servers,
    which: u32,
    t: &mut Trial,
) -> Option<i32> {
    let mut cmd = command;
    let out = std::fs::File::create(log).unwrap();
    cmd.stdout(out).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    match d {
        Disruption::Kill(after) => {
            if !ended_within(&mut child, after).await {
                child.kill().unwrap();
                child.wait().unwrap();
                t.kills += 1;
                return None;
            }
        }
        Disruption::Restart { at, down } => {
            if !ended_within(&mut child, at).await {
                let name = servers.restart(which, down).await;
                eprintln!("    restarted {name} ({} ms down)", down.as_millis());
                t.restarts += 1;
            }
        }
        Disruption::None => {}
    }
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ferry apply did not finish within {RUN_LIMIT:?}: {}",
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits up to `d` for `child` to end by itself.
async fn ended_within(child: &mut Child, d: Duration) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Re-runs `apply` until the migration reports done (exit 0), using `--retry-failed` only when
/// plain re-runs cannot finish it (and recording that as help needed).
async fn until_done(
    site: &Site,
    command: impl Fn(&[&str]) -> Command,
    servers: &impl Servers,
    dice: &mut Dice,
    t: &mut Trial,
) {
    let mut retry_failed = false;
    for n in 0..MAX_ROUNDS {
        t.rounds += 1;
        let args: &[&str] = if retry_failed {
            &["apply", "--json", "--retry-failed", "migration.toml"]
        } else {
            &["apply", "--json", "migration.toml"]
        };
        // The last rounds run undisturbed, so a trial ends once the chaos has been survived.
        let d = if n + 3 >= MAX_ROUNDS {
            Disruption::None
        } else {
            dice.disruption(n)
        };
        let which = dice.0.u32(..);
        let code = round(
            command(args),
            &site.path(&format!("round{n}.log")),
            d,
            servers,
            which,
            t,
        )
        .await;
        retry_failed = false;
        match code {
            Some(0) => return,
            None => {}
            Some(_) => {
                let failed: Vec<String> = items(&site.status())
                    .into_iter()
                    .filter(|(_, v)| v["status"] == "failed")
                    .map(|((db, _), v)| format!("{db}: {}", v["error"].as_str().unwrap_or("")))
                    .collect();
                if !failed.is_empty() {
                    t.helped.extend(failed);
                    retry_failed = true;
                }
            }
        }
    }
    t.helped.push(format!("not done after {MAX_ROUNDS} rounds"));
}

fn report(method: &str, results: &[(u64, Trial)]) {
    let (mut kills, mut restarts, mut rounds, mut clean) = (0, 0, 0, 0);
    let mut starts: BTreeMap<usize, usize> = BTreeMap::new();
    println!(
        "\n== chaos: {method}, {} trials of {DATABASES} databases",
        results.len()
    );
    for (i, (seed, t)) in results.iter().enumerate() {
        kills += t.kills;
        restarts += t.restarts;
        rounds += t.rounds;
        for n in t.starts.values() {
            *starts.entry(*n).or_default() += 1;
        }
        let ok = t.clean();
        clean += usize::from(ok);
        println!(
            "trial {i:>3} seed {seed:>20}: {:>2} rounds, {:>2} kills, {:>2} restarts — {}",
            t.rounds,
            t.kills,
            t.restarts,
            if ok {
                "every database done exactly once".to_owned()
            } else {
                format!(
                    "helped {:?}, wrong {:?}, starts {:?}",
                    t.helped, t.wrong, t.starts
                )
            }
        );
    }
    println!(
        "{method}: {} trials, {kills} kills, {restarts} server restarts, {rounds} applies; {clean} of {} trials ({}%) ended with every database done exactly once; starts per database: {:?}",
        results.len(),
        results.len(),
        if results.is_empty() {
            0
        } else {
            clean * 100 / results.len()
        },
        starts
    );
}

mod native {
    use super::*;
    use common::native_rig::Rig;

    impl Servers for Rig {
        async fn restart(&self, which: u32, down: Duration) -> String {
            let (name, server) = if which.is_multiple_of(2) {
                ("source", &self.src)
            } else {
                ("target", &self.mi)
            };
            server.stop().await;
            tokio::time::sleep(down).await;
            server.restart().await.unwrap();
            name.to_owned()
        }
    }

    pub async fn trial(seed: u64) -> Trial {
        let mut dice = Dice(fastrand::Rng::with_seed(seed));
        let names = databases();
        let dbs: Vec<&str> = names.iter().map(String::as_str).collect();
        let rig = Rig::new(&dbs, "").await;
        let mut t = Trial {
            exact_starts: true,
            ..Trial::default()
        };
        until_done(&rig.site, |a| rig.command(a), &rig, &mut dice, &mut t).await;
        for db in &dbs {
            let restores = received(&rig.mi, &format!("RESTORE DATABASE [{db}]"));
            t.starts.insert((*db).to_owned(), restores);
            let state = rig.state(db);
            if state != "ONLINE" {
                t.wrong.push(format!("{db} is `{state}` on the MI"));
            }
        }
        for (name, server) in [("source", &rig.src), ("target", &rig.mi)] {
            let left = rig.count(server, "SELECT COUNT(*) FROM sys.credentials");
            if left != 0 {
                t.wrong
                    .push(format!("{left} credential(s) left on the {name}"));
            }
        }
        t
    }
}

mod lrs {
    use super::*;
    use common::lrs_rig::{self, Rig};
    use ferry_emulator::arm::ArmOptions;

    struct LrsServers<'a>(&'a Rig);

    impl Servers for LrsServers<'_> {
        async fn restart(&self, which: u32, down: Duration) -> String {
            let (_, src, mi, front, _, _) = self.0;
            match which % 3 {
                0 => {
                    src.stop().await;
                    tokio::time::sleep(down).await;
                    src.restart().await.unwrap();
                    "source".into()
                }
                1 => {
                    mi.stop().await;
                    tokio::time::sleep(down).await;
                    mi.restart().await.unwrap();
                    "target".into()
                }
                _ => {
                    front.stop().await;
                    tokio::time::sleep(down).await;
                    front.restart().await.unwrap();
                    "ARM".into()
                }
            }
        }
    }

    pub async fn trial(seed: u64) -> Trial {
        let mut dice = Dice(fastrand::Rng::with_seed(seed));
        let names = databases();
        let dbs: Vec<&str> = names.iter().map(String::as_str).collect();
        let data = tempfile::tempdir().unwrap();
        let mut options = ArmOptions::local("mi", lrs_rig::TOKEN);
        // The ARM front end keeps its LRS jobs on disk, so a restart carries them on.
        options.data_dir = Some(data.path().join("arm"));
        let rig = lrs_rig::setup_databases("mode = \"autocomplete\"", options, &dbs).await;
        let site = &rig.4;
        let mut t = Trial::default();
        until_done(
            site,
            |a| lrs_rig::ferry_cmd(site, a),
            &LrsServers(&rig),
            &mut dice,
            &mut t,
        )
        .await;
        // LRS starts per database: PUTs that reached ARM. One repeated after ARM answered 503
        // during a restart is no second start — ARM refuses a second LRS for a database name
        // in use (ManagedDatabaseNameInUse) — so more than one is reported, not failed; what
        // must hold is every database ONLINE with no help and no credential left.
        let requests = rig.3.requests();
        for db in &dbs {
            let puts = requests
                .iter()
                .filter(|(m, p)| m == "PUT" && p.contains(&format!("/databases/{db}?")))
                .count();
            t.starts.insert((*db).to_owned(), puts);
            if puts == 0 {
                t.wrong.push(format!("{db}: LRS was never started"));
            }
            let state = lrs_rig::scalar(
                &rig.2,
                &format!("SELECT state_desc FROM sys.databases WHERE name = N'{db}'"),
            );
            if !state.contains("ONLINE") {
                t.wrong.push(format!("{db} on the MI: {state}"));
            }
        }
        let left = lrs_rig::scalar(&rig.1, "SELECT COUNT(*) FROM sys.credentials");
        if !left.contains("Int(0)") {
            t.wrong
                .push(format!("credentials left on the source: {left}"));
        }
        t
    }
}

async fn campaign<F, Fut>(method: &str, trial: F)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Trial>,
{
    let first = first_seed();
    let mut results = Vec::new();
    for i in 0..trials() {
        // Trial i's seed is the first seed plus i: FERRY_CHAOS_SEED=<seed> replays from there.
        let seed = first.wrapping_add(i as u64);
        eprintln!("{method} trial {i} (FERRY_CHAOS_SEED={seed} FERRY_CHAOS_TRIALS=1 replays it)");
        results.push((seed, trial(seed).await));
    }
    report(method, &results);
    let bad: Vec<u64> = results
        .iter()
        .filter(|(_, t)| !t.clean())
        .map(|(s, _)| *s)
        .collect();
    assert!(
        bad.is_empty(),
        "{method}: trials that did not end with every database done exactly once, by seed: {bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the chaos harness: scripts/test --chaos"]
async fn chaos_native_restore() {
    campaign("native-restore", native::trial).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the chaos harness: scripts/test --chaos"]
async fn chaos_lrs() {
    campaign("lrs", lrs::trial).await;
}
