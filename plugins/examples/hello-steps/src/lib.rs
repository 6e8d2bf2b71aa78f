//! An example ferry plugin showing every part of the SDK a custom step usually needs:
//! log lines, progress, a report row, a secret handle (never its value), the scratch
//! directory and a `wait` that gives the instance back to the host.
//!
//! Per work item it writes a marker file in scratch, waits, reads the marker back and reports
//! the database as done.

use std::time::Duration;

use ferry_sdk::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The step configuration (`[steps.config]` in migration.toml). Its JSON schema is derived from
/// this type, doc comments and defaults included (`ferry_sdk::config_schema`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Said to every database.
    #[schemars(length(min = 1))]
    pub greeting: String,
    /// How long to wait between the two phases, in milliseconds.
    #[serde(default = "default_wait")]
    #[schemars(range(max = 600000))]
    pub wait_ms: u64,
    /// A secret label to hold a handle to (proves the grant without seeing the value).
    #[serde(default)]
    pub token: Option<String>,
}

fn default_wait() -> u64 {
    100
}

/// Where an item is between calls.
#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    /// Nothing done yet.
    #[default]
    Start,
    /// The marker is written; the wait is under way or over.
    Waited { marker: String },
}

/// The example plugin.
pub struct HelloSteps;

impl Plugin for HelloSteps {
    const NAME: &'static str = "hello-steps";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Example step: greets each database, waits, and reports it";
    type Config = Config;
    type State = State;

    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Secret,
                "demo-token",
                Access::Read,
                "shows holding a secret handle",
            ),
            need(
                CapabilityKind::Scratch,
                "scratch",
                Access::Write,
                "keeps a marker file between calls",
            ),
        ]
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        let mut warnings = Vec::new();
        if config.wait_ms > 60_000 {
            warnings.push(Warning {
                key: Some("wait_ms".into()),
                message: "waits over a minute make the demo slow".into(),
            });
        }
        Ok(warnings)
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start => {
                let msg = format!(
                    "{}, {} (attempt {})",
                    cx.config().greeting,
                    cx.item(),
                    cx.attempt()
                );
                cx.info(&msg);
                if let Some(label) = cx.config().token.clone() {
                    let secret = cx.secret(&label)?;
                    let held = cx.secret_label(secret);
                    cx.debug(&format!("holding a handle to secret `{held}`"));
                }
                let marker = write_marker(cx)?;
                cx.phase("waiting", Some(0.5), Some("marker written"));
                let wait = Duration::from_millis(cx.config().wait_ms);
                Ok(Outcome::wait_for(
                    wait,
                    State::Waited { marker },
                    "pausing between phases",
                ))
            }
            State::Waited { marker } => {
                let content = read_marker(cx, &marker)?;
                cx.phase("done", Some(1.0), Some("marker verified"));
                let name = cx.item().to_owned();
                cx.report(ObjectRow {
                    object_type: "database".into(),
                    name,
                    status: ObjectStatus::Migrated,
                    reason_code: None,
                    notes: Some(format!("marker held {} bytes", content.len())),
                });
                Ok(Outcome::Done(
                    serde_json::json!({ "marker_bytes": content.len() }),
                ))
            }
        }
    }
}

fn write_marker(cx: &mut Context<'_, Config>) -> Result<String> {
    let Some(dir) = cx.scratch_dir() else {
        return Ok(String::new());
    };
    let path = dir.join(format!("{}.marker", cx.item()));
    std::fs::write(&path, format!("{} {}", cx.config().greeting, cx.item()))
        .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

fn read_marker(cx: &mut Context<'_, Config>, marker: &str) -> Result<String> {
    if marker.is_empty() {
        cx.warn("no scratch directory was granted; nothing to verify");
        return Ok(String::new());
    }
    std::fs::read_to_string(marker)
        .map_err(|e| Error::failed(format!("marker {marker} is gone: {e}")))
}

ferry_sdk::register!(HelloSteps);

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_sdk::fake::FakeHost;

    #[test]
    fn greets_waits_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = FakeHost::new()
            .secret("demo-token", "not-shown", false)
            .scratch(dir.path());
        let out = host
            .run_item::<HelloSteps>(
                serde_json::json!({"greeting": "hi", "wait_ms": 5, "token": "demo-token"}),
                "Sales",
            )
            .unwrap();
        assert_eq!(out["marker_bytes"], 8);
        assert_eq!(host.waits.len(), 1);
        assert_eq!(host.rows.len(), 1);
        assert_eq!(host.rows[0].name, "Sales");
        assert!(host.logs.iter().any(|(_, m)| m.contains("hi, Sales")));
        assert!(
            host.reveals.is_empty(),
            "the example never reveals its secret"
        );
    }

    #[test]
    fn refuses_an_ungranted_secret() {
        let mut host = FakeHost::new();
        let err = host
            .run_item::<HelloSteps>(serde_json::json!({"greeting": "hi", "token": "nope"}), "HR")
            .unwrap_err();
        assert!(
            matches!(err, Error::Denied(ref d) if d.label == "nope"),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_unknown_config_keys() {
        let mut host = FakeHost::new();
        let err = host
            .run_item::<HelloSteps>(serde_json::json!({"greeting": "hi", "bogus": 1}), "HR")
            .unwrap_err();
        assert!(err.describe().contains("bogus"), "{}", err.describe());
    }
}
