//! `ferry apply` killed with SIGKILL at several points — inside a step call, inside a wait,
//! right after an item finished — and run again, finishes with every item done exactly once.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::*;

fn site() -> Site {
    let wasm = fixture("hostile");
    let migration = format!(
        r#"databases = ["alpha", "beta", "gamma"]

[migration]
name = "kill and resume"

[plugins.slow]
path = "{}"
sha256 = "{}"

[plugins.hello]
bundled = "hello-steps"

[[steps]]
name = "slow"
plugin = "slow"
config = {{ attack = "slow", ms = 400 }}
[steps.grants]
secrets = ["leaky:reveal"]

[[steps]]
name = "greet"
plugin = "hello"
config = {{ greeting = "hi", wait_ms = 300 }}
[steps.grants]
secrets = ["demo-token"]
scratch = true

[limits]
concurrency = 1
"#,
        wasm.display(),
        sha256_file(&wasm)
    );
    let site = Site::new(
        &migration,
        "[secrets]\nleaky = \"file:leaky.txt\"\ndemo-token = \"file:leaky.txt\"\n",
    );
    write_secret(&site.path("leaky.txt"), "not-used-here\n");
    site
}

/// Runs `ferry apply --json` and SIGKILLs it `delay` after the `nth` event of kind `kind` in
/// this run. Returns whether it was killed (false: it finished first).
fn apply_and_kill(site: &Site, kind: &str, nth: usize, delay: Duration) -> bool {
    let mut child = site
        .ferry(&["apply", "--json", "migration.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = 0;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if event["event"] == kind {
            seen += 1;
            if seen == nth {
                std::thread::sleep(delay);
                child.kill().unwrap(); // SIGKILL: no chance to clean up
                child.wait().unwrap();
                return true;
            }
        }
    }
    child.wait().unwrap();
    false
}

#[test]
fn sigkill_at_several_points_then_resume_finishes_each_item_once() {
    let site = site();
    // Inside the first step call (the plugin sleeps 400 ms in it).
    assert!(apply_and_kill(
        &site,
        "item-started",
        1,
        Duration::from_millis(150)
    ));
    let j = rusqlite::Connection::open(site.journal()).unwrap();
    let in_call: i64 = j
        .query_row("SELECT COUNT(*) FROM items WHERE in_call = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(in_call, 1, "the journal shows the call that was under way");

    // Inside a wait.
    assert!(apply_and_kill(
        &site,
        "item-waiting",
        1,
        Duration::from_millis(100)
    ));
    // Right after an item finished, before the next one starts.
    assert!(apply_and_kill(&site, "item-done", 1, Duration::ZERO));
    // Inside a later call again.
    assert!(apply_and_kill(
        &site,
        "item-started",
        2,
        Duration::from_millis(50)
    ));

    let out = site.run(&["apply", "migration.toml"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("6 done, 0 failed, 0 skipped") && stdout.contains("resumed"),
        "{stdout}"
    );

    let status = site.status();
    assert_eq!(
        status["runs"].as_array().unwrap().len(),
        1,
        "every apply resumed the same run"
    );
    for (key, item) in items(&status) {
        assert_eq!(item["status"], "done", "{key:?}");
    }
    // Exactly one completion per item, across all the interrupted applies.
    let mut stmt = j
        .prepare(
            "SELECT item, step, COUNT(*) FROM events WHERE kind = 'item-done' GROUP BY item, step",
        )
        .unwrap();
    let done: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(done.len(), 6, "{done:?}");
    assert!(done.iter().all(|d| d.2 == 1), "{done:?}");
    // The interrupted call was made again as attempt 2.
    let retried: i64 = j
        .query_row("SELECT COUNT(*) FROM calls WHERE attempt >= 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        retried >= 1,
        "a call cut short by the kill was re-entered with attempt > 1"
    );
    let resumed: i64 = j
        .query_row("SELECT COUNT(*) FROM events WHERE kind = 'run-started' AND json_extract(data, '$.resumed') = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(resumed, 4);
}

#[test]
fn ctrl_c_exits_130_with_the_journal_intact_and_resume_finishes() {
    let site = site();
    let mut child = site
        .ferry(&["apply", "migration.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with("waiting") {
            break;
        }
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("run `ferry apply` again to resume")),
        "{rest:?}"
    );

    let out = site.run(&["apply", "migration.toml"], &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(
        items(&site.status())
            .values()
            .all(|i| i["status"] == "done")
    );
}
