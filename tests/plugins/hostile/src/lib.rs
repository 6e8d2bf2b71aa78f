//! A plugin that misbehaves on purpose, one way per `attack`, so tests can check that the host
//! turns each into a clean, specific error for that step while the run carries on.

use std::hint::black_box;

use ferry_sdk::prelude::*;
use ferry_sdk::{Param, QueryLimits, SqlValue};
use serde::Deserialize;

#[allow(dead_code)] // only used in the wasm build
#[derive(Deserialize)]
struct Config {
    attack: String,
}

#[allow(dead_code)] // only exported in the wasm build
struct Hostile;

impl Plugin for Hostile {
    const NAME: &'static str = "hostile";
    const VERSION: &'static str = "0.0.1";
    const SUMMARY: &'static str = "Misbehaves on purpose (tests only)";
    type Config = serde_json::Value;
    type State = serde_json::Value;

    fn needs() -> Vec<CapabilityNeed> {
        vec![need(
            CapabilityKind::Secret,
            "leaky",
            Access::Reveal,
            "to try to leak it",
        )]
    }

    fn step(
        cx: &mut Context<'_, serde_json::Value>,
        state: serde_json::Value,
    ) -> Result<Outcome<serde_json::Value>> {
        let config: Config = ferry_sdk::parse_config(&cx.config().to_string())?;
        // "by-item" takes the attack from the work item's name, so one step can run every
        // attack side by side, one database each.
        let attack = if config.attack == "by-item" {
            cx.item().to_owned()
        } else {
            config.attack.clone()
        };
        match attack.as_str() {
            "none" => Ok(Outcome::Done(serde_json::json!({"ok": true}))),
            "imports" => {
                // For the benchmark: `n` calls of the cheapest import.
                let n = cx.config().get("n").and_then(|v| v.as_u64()).unwrap_or(0);
                let mut kept = 0u64;
                for _ in 0..n {
                    kept += u64::from(cx.log_enabled(Level::Trace));
                }
                Ok(Outcome::Done(
                    serde_json::json!({ "kept": black_box(kept) }),
                ))
            }
            "transient" => {
                if cx.attempt() < 3 {
                    return Err(Error::transient(format!(
                        "flaky on attempt {}",
                        cx.attempt()
                    )));
                }
                Ok(Outcome::Done(serde_json::json!({"attempts": cx.attempt()})))
            }
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                // Keep every block alive and touch it so the optimiser cannot drop the allocations.
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut block = vec![0u8; 16 << 20];
                    block[0] = 1;
                    hoard.push(black_box(block));
                }
            }
            "panic" => panic!("hostile plugin panics on purpose"),
            "oversized-output" => Ok(Outcome::Done(serde_json::Value::String(
                "x".repeat(8 << 20),
            ))),
            "oversized-state" => Ok(Outcome::Next(serde_json::Value::String(
                "s".repeat(4 << 20),
            ))),
            "oversized-log" => {
                for _ in 0..200 {
                    cx.info(&"y".repeat(64 << 10));
                }
                Ok(Outcome::done())
            }
            "ungranted-secret" => {
                cx.secret("not-granted")?;
                Ok(Outcome::done())
            }
            "ungranted-sql" => {
                let conn = cx.sql("elsewhere")?;
                cx.query(
                    conn,
                    "SELECT 1",
                    &[],
                    QueryLimits {
                        max_rows: 1,
                        max_bytes: 1024,
                    },
                )?;
                Ok(Outcome::done())
            }
            "write-through-read" => {
                // Every way found to change a server through `query` under a `read` grant. Each
                // statement's fate is reported; the test checks none reached the server.
                let conn = cx.sql("source")?;
                let limits = QueryLimits {
                    max_rows: 10,
                    max_bytes: 4096,
                };
                let statements: Vec<String> = cx
                    .config()
                    .get("statements")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                let mut fates = Vec::new();
                for sql in &statements {
                    fates.push(match cx.query(conn, sql, &[], limits) {
                        Ok(_) => serde_json::json!({ "sql": sql, "ran": true }),
                        Err(e) => serde_json::json!({ "sql": sql, "error": e.describe() }),
                    });
                }
                // `]]` inside a bracketed name: the sealed value must not land in the column's
                // name, where the plugin could read it back.
                let secret = cx.secret("leaky")?;
                let splice = cx.query(
                    conn,
                    "SELECT 1 AS [x]]@tok]",
                    &[Param::sealed("tok", secret)],
                    limits,
                )?;
                let column = splice
                    .sets
                    .first()
                    .and_then(|s| s.columns.first())
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                Ok(Outcome::Done(
                    serde_json::json!({ "fates": fates, "spliced_column": column }),
                ))
            }
            "read-host-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(s) => Err(Error::failed(format!(
                    "read a host file: {} bytes",
                    s.len()
                ))),
                Err(_) => match std::fs::read_to_string("/scratch/../../../../etc/passwd") {
                    Ok(s) => Err(Error::failed(format!("escaped scratch: {} bytes", s.len()))),
                    Err(e) => match std::fs::write("/outside.txt", b"x") {
                        Ok(()) => Err(Error::failed("wrote outside scratch")),
                        Err(_) => Err(Error::failed(format!("host files are out of reach: {e}"))),
                    },
                },
            },
            "slow" => {
                // A step call that takes a while, then a wait, then another slow call: gives a
                // kill-and-resume test moments inside a call and inside a wait.
                let ms = cx
                    .config()
                    .get("ms")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(300);
                std::thread::sleep(std::time::Duration::from_millis(ms));
                if state.is_null() {
                    return Ok(Outcome::wait_for(
                        std::time::Duration::from_millis(ms),
                        serde_json::json!({"slept": 1}),
                        "between two slow calls",
                    ));
                }
                Ok(Outcome::Done(serde_json::json!({"attempt": cx.attempt()})))
            }
            "ambient" => {
                // What ambient authority a plugin has: none but clocks and randomness.
                let vars = std::env::vars().count();
                let args = std::env::args().count();
                let socket = match std::net::TcpStream::connect("127.0.0.1:9") {
                    Ok(_) => "connected".to_owned(),
                    Err(e) => format!("refused ({e})"),
                };
                let root = std::fs::read_dir("/")
                    .map(|d| d.count())
                    .map_err(|e| e.to_string());
                Err(Error::failed(format!(
                    "env: {vars} vars; args: {args}; socket: {socket}; root dir: {root:?}"
                )))
            }
            "leak-secret" => {
                let secret = cx.secret("leaky")?;
                let value = cx.reveal(secret)?;
                // Every channel a plugin has back to the host.
                cx.info(&format!("the secret is {value}"));
                cx.log(Level::Error, &value);
                println!("stdout: {value}");
                eprintln!("stderr: {value}");
                cx.progress(ProgressUpdate {
                    phase: value.clone(),
                    fraction: None,
                    bytes_done: None,
                    bytes_total: None,
                    current: Some(value.clone()),
                    message: Some(value.clone()),
                });
                cx.report(ObjectRow {
                    object_type: "secret".into(),
                    name: value.clone(),
                    status: ObjectStatus::Warning,
                    reason_code: Some(value.clone()),
                    notes: Some(value.clone()),
                });
                let _ = SqlValue::Text(value.clone());
                Err(Error::failed(format!("leaking through the error: {value}")))
            }
            "leak-wait" => {
                let value = cx.secret("leaky").and_then(|s| cx.reveal(s))?;
                Ok(Outcome::wait_for(
                    std::time::Duration::from_millis(1),
                    serde_json::Value::Null,
                    value,
                ))
            }
            "leak-state" => {
                let value = cx.secret("leaky").and_then(|s| cx.reveal(s))?;
                Ok(Outcome::Next(serde_json::json!({ "stolen": value })))
            }
            "leak-output" => {
                let value = cx.secret("leaky").and_then(|s| cx.reveal(s))?;
                Ok(Outcome::Done(serde_json::json!({ "stolen": value })))
            }
            other => Err(Error::invalid_config(
                Some("attack"),
                format!("unknown attack `{other}`"),
            )),
        }
    }
}

ferry_sdk::register!(Hostile);
