//! Every event's JSON, as the host wrote it before events were typed.

use std::path::PathBuf;

use serde_json::json;

use super::{from_journal, json_line, to_journal};
use crate::events::{Envelope, LogLevel, ObjectRow, ObjectStatus, PluginEvent, Progress, RunEvent};
use crate::journal::WaitRecord;
use crate::pipeline::RunSummary;

fn of_run(event: RunEvent) -> Envelope {
    Envelope {
        run: "run-1".into(),
        step: None,
        item: None,
        event,
    }
}

fn of_item(event: RunEvent) -> Envelope {
    Envelope {
        step: Some("restore".into()),
        item: Some("Sales".into()),
        ..of_run(event)
    }
}

fn of_plugin(event: PluginEvent) -> Envelope {
    of_item(RunEvent::Plugin(event))
}

/// Every event that travels in an envelope, and its `--json` line.
fn enveloped() -> Vec<(Envelope, &'static str)> {
    vec![
        (
            of_run(RunEvent::RunStarted {
                migration: "estate".into(),
                resumed: true,
                items: 4,
                done: 1,
            }),
            r#"{"event":"run-started","run":"run-1","done":1,"items":4,"migration":"estate","resumed":true}"#,
        ),
        (
            of_run(RunEvent::PluginRebuilt {
                plugin: "gate".into(),
                items: 2,
            }),
            r#"{"event":"plugin-rebuilt","run":"run-1","items":2,"plugin":"gate"}"#,
        ),
        (
            of_run(RunEvent::RunFinished {
                done: 3,
                failed: 1,
                skipped: 0,
                deferred: 0,
            }),
            r#"{"event":"run-finished","run":"run-1","done":3,"failed":1,"skipped":0}"#,
        ),
        (
            of_item(RunEvent::ItemStarted {
                attempt: 1,
                call: 2,
            }),
            r#"{"event":"item-started","run":"run-1","step":"restore","item":"Sales","attempt":1,"call":2}"#,
        ),
        (
            of_item(RunEvent::ItemWaiting(WaitRecord {
                until_unix_ms: Some(1_700_000_000_000),
                operation: None,
                reason: "backup not yet in storage".into(),
            })),
            r#"{"event":"item-waiting","run":"run-1","step":"restore","item":"Sales","reason":"backup not yet in storage","until_unix_ms":1700000000000}"#,
        ),
        (
            of_item(RunEvent::ItemWaiting(WaitRecord {
                until_unix_ms: None,
                operation: Some("op-7".into()),
                reason: "restoring".into(),
            })),
            r#"{"event":"item-waiting","run":"run-1","step":"restore","item":"Sales","operation":"op-7","reason":"restoring"}"#,
        ),
        (
            of_item(RunEvent::ItemRetry {
                attempt: 2,
                error: "connection reset".into(),
                retry_in_ms: 2000,
            }),
            r#"{"event":"item-retry","run":"run-1","step":"restore","item":"Sales","attempt":2,"error":"connection reset","retry_in_ms":2000}"#,
        ),
        (
            of_item(RunEvent::ItemDone {
                calls: 3,
                output: json!({ "size_bytes": 5, "method": "native-restore", "phases": [{ "phase": "restore", "ms": 9 }] }),
            }),
            r#"{"event":"item-done","run":"run-1","step":"restore","item":"Sales","calls":3,"output":{"method":"native-restore","phases":[{"ms":9,"phase":"restore"}],"size_bytes":5}}"#,
        ),
        (
            of_item(RunEvent::ItemDone {
                calls: 1,
                output: json!("not JSON"),
            }),
            r#"{"event":"item-done","run":"run-1","step":"restore","item":"Sales","calls":1,"output":"not JSON"}"#,
        ),
        (
            of_item(RunEvent::ItemFailed {
                error: "RESTORE failed: 3201".into(),
            }),
            r#"{"event":"item-failed","run":"run-1","step":"restore","item":"Sales","error":"RESTORE failed: 3201"}"#,
        ),
        (
            of_item(RunEvent::ItemSkipped {
                reason: "step `backup` did not finish for this database".into(),
            }),
            r#"{"event":"item-skipped","run":"run-1","step":"restore","item":"Sales","reason":"step `backup` did not finish for this database"}"#,
        ),
        (
            of_plugin(PluginEvent::Log {
                level: LogLevel::Warn,
                message: "cleanup failed: gone".into(),
            }),
            r#"{"event":"log","run":"run-1","step":"restore","item":"Sales","level":"warn","message":"cleanup failed: gone"}"#,
        ),
        (
            of_plugin(PluginEvent::Progress(Progress {
                phase: "upload".into(),
                fraction: Some(0.42),
                bytes_done: Some(42),
                bytes_total: Some(100),
                current: Some("Sales_1.bak".into()),
                message: Some("2 of 5 files".into()),
            })),
            // The fraction is an f32 written as the f64 it widens to, as before.
            r#"{"event":"progress","run":"run-1","step":"restore","item":"Sales","bytes_done":42,"bytes_total":100,"current":"Sales_1.bak","fraction":0.41999998688697815,"message":"2 of 5 files","phase":"upload"}"#,
        ),
        (
            of_plugin(PluginEvent::Progress(Progress {
                phase: "restoring".into(),
                ..Progress::default()
            })),
            r#"{"event":"progress","run":"run-1","step":"restore","item":"Sales","phase":"restoring"}"#,
        ),
        (
            of_plugin(PluginEvent::Row(ObjectRow {
                object_type: "login".into(),
                name: "app".into(),
                status: ObjectStatus::Warning,
                reason_code: Some("sid-mismatch".into()),
                notes: Some("re-map the user".into()),
            })),
            r#"{"event":"row","run":"run-1","step":"restore","item":"Sales","name":"app","notes":"re-map the user","object_type":"login","reason_code":"sid-mismatch","status":"warning"}"#,
        ),
        (
            of_plugin(PluginEvent::Row(ObjectRow {
                object_type: "database".into(),
                name: "Sales".into(),
                status: ObjectStatus::Migrated,
                reason_code: None,
                notes: None,
            })),
            r#"{"event":"row","run":"run-1","step":"restore","item":"Sales","name":"Sales","object_type":"database","status":"migrated"}"#,
        ),
        (
            of_plugin(PluginEvent::SecretRevealed {
                label: "sa-password".into(),
            }),
            r#"{"event":"secret-revealed","run":"run-1","step":"restore","item":"Sales","label":"sa-password"}"#,
        ),
        (
            Envelope {
                item: Some("Sales".into()),
                ..of_run(RunEvent::Signal {
                    name: "cutover".into(),
                })
            },
            r#"{"event":"signal","run":"run-1","item":"Sales","name":"cutover"}"#,
        ),
    ]
}

/// The closing lines of a command's `--json` output, and their JSON.
fn bare() -> Vec<(RunEvent, &'static str)> {
    vec![
        (
            RunEvent::Report {
                html: PathBuf::from("/state/report.html"),
                markdown: PathBuf::from("/state/report.md"),
                json: PathBuf::from("/state/report.json"),
            },
            r#"{"event":"report","html":"/state/report.html","json":"/state/report.json","markdown":"/state/report.md"}"#,
        ),
        (
            RunEvent::Summary {
                summary: RunSummary {
                    run: "run-1".into(),
                    resumed: false,
                    already_finished: false,
                    done: 2,
                    failed: 0,
                    skipped: 1,
                    deferred: 0,
                },
            },
            r#"{"event":"summary","summary":{"already_finished":false,"done":2,"failed":0,"resumed":false,"run":"run-1","skipped":1}}"#,
        ),
        (
            RunEvent::Plan {
                plan: PathBuf::from("m.plan.json"),
                text: PathBuf::from("m.plan.txt"),
                items: 4,
                stops: 1,
            },
            r#"{"event":"plan","items":4,"plan":"m.plan.json","stops":1,"text":"m.plan.txt"}"#,
        ),
        (
            RunEvent::CutoverRequested {
                run: "run-1".into(),
                databases: vec!["Sales".into()],
            },
            r#"{"databases":["Sales"],"event":"cutover-requested","run":"run-1"}"#,
        ),
        (
            RunEvent::SignalSent {
                run: "run-1".into(),
                signal: "failback".into(),
                databases: vec![],
            },
            r#"{"databases":[],"event":"signal-sent","run":"run-1","signal":"failback"}"#,
        ),
    ]
}

#[test]
fn each_event_has_its_json_line_and_reads_back() {
    for (envelope, line) in enveloped() {
        let written = serde_json::to_string(&envelope).unwrap();
        assert_eq!(written, line, "{:?}", envelope.event);
        let read: Envelope = serde_json::from_str(line).unwrap();
        assert_eq!(read, envelope, "{line}");
    }
}

#[test]
fn each_closing_line_has_its_json() {
    for (event, line) in bare() {
        assert_eq!(json_line(&event).unwrap(), line, "{event:?}");
        assert_eq!(serde_json::from_str::<RunEvent>(line).unwrap(), event);
    }
}

#[test]
fn the_journal_keeps_a_lines_fields_without_the_envelope() {
    for (envelope, line) in enveloped() {
        let mut fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap();
        let name = fields.remove("event").unwrap();
        for key in ["run", "step", "item"] {
            fields.remove(key);
        }
        let row = to_journal(&envelope.event).unwrap();
        assert_eq!(
            row,
            (
                name.as_str().unwrap().to_owned(),
                serde_json::to_string(&fields).unwrap()
            )
        );
        assert_eq!(from_journal(&row.0, &row.1).unwrap(), envelope.event);
    }
}

#[test]
fn events_journaled_before_they_were_typed_read_back() {
    // Progress of a host operation was written with nulls for what it did not know.
    assert_eq!(
        from_journal(
            "progress",
            r#"{"fraction":null,"message":null,"phase":"RESTORE DATABASE [Sales]"}"#
        )
        .unwrap(),
        RunEvent::Plugin(PluginEvent::Progress(Progress {
            phase: "RESTORE DATABASE [Sales]".into(),
            ..Progress::default()
        }))
    );
    assert_eq!(
        from_journal("signal", r#"{"name":"cutover"}"#).unwrap(),
        RunEvent::Signal {
            name: "cutover".into()
        }
    );
    assert!(from_journal("no-such-event", "{}").is_err());
    assert!(from_journal("log", "not json").is_err());
}
