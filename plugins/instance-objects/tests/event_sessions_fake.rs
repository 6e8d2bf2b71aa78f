//! Extended event sessions on a scripted catalog: the built-in ones skipped, an event_file on
//! disk rewritten to the configured container (or refused without one), ETW refused, a
//! running session started after it is made, Unchanged on a second pass, Conflict when the
//! target's differs.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Sent, Server, b, bracketed, config, host, i, literal, row, t};
use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

const SESSIONS: &str = "sys.server_event_sessions";
const EVENTS: &str = "sys.server_event_session_events";
const ACTIONS: &str = "sys.server_event_session_actions";
const TARGETS: &str = "sys.server_event_session_targets";
const FIELDS: &str = "sys.server_event_session_fields";
const XE: &str = "sys.dm_xe_sessions";
const URL: &str = "https://acct.blob.core.windows.net/xe";
const SESSION_COLS: [&str; 9] = [
    "event_session_id",
    "name",
    "event_retention_mode_desc",
    "max_dispatch_latency",
    "max_memory",
    "max_event_size",
    "memory_partition_mode_desc",
    "track_causality",
    "startup_state",
];

fn session(id: i64, name: &str, memory: i64) -> Vec<SqlValue> {
    vec![
        i(id),
        t(name),
        t("ALLOW_SINGLE_EVENT_LOSS"),
        i(30000),
        i(memory),
        i(0),
        t("NONE"),
        b(false),
        b(true),
    ]
}

fn empty() -> Server {
    Server::default()
        .table(SESSIONS, &SESSION_COLS, vec![])
        .table(
            EVENTS,
            &[
                "event_session_id",
                "event_id",
                "package",
                "name",
                "predicate",
            ],
            vec![],
        )
        .table(
            ACTIONS,
            &["event_session_id", "event_id", "package", "name"],
            vec![],
        )
        .table(
            TARGETS,
            &["event_session_id", "target_id", "package", "name"],
            vec![],
        )
        .table(
            FIELDS,
            &["event_session_id", "object_id", "name", "value"],
            vec![],
        )
        .table(XE, &["name"], vec![])
}

/// Adds a session with one event and one target (with `fields`).
fn add(s: &mut Server, id: i64, name: &str, memory: i64, target: &str, fields: &[(&str, &str)]) {
    s.push(SESSIONS, session(id, name, memory));
    s.push(
        EVENTS,
        vec![
            i(id),
            i(1),
            t("sqlserver"),
            t("sql_statement_completed"),
            t("([duration]>(5000000))"),
        ],
    );
    s.push(ACTIONS, vec![i(id), i(1), t("sqlserver"), t("sql_text")]);
    s.push(TARGETS, vec![i(id), i(2), t("package0"), t(target)]);
    for (n, v) in fields {
        s.push(FIELDS, vec![i(id), i(2), t(n), t(v)]);
    }
}

fn text(v: &SqlValue) -> String {
    match v {
        SqlValue::Text(s) => s.clone(),
        SqlValue::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

fn source() -> Server {
    let mut s = empty();
    add(&mut s, 1, "system_health", 4096, "ring_buffer", &[]);
    add(
        &mut s,
        2,
        "Long queries",
        8192,
        "event_file",
        &[
            ("filename", "D:\\XE\\long_queries.xel"),
            ("max_file_size", "100"),
        ],
    );
    add(&mut s, 3, "Etw", 4096, "etw_classic_sync_target", &[]);
    add(&mut s, 4, "Ring", 4096, "ring_buffer", &[]);
    add(&mut s, 5, "Diff", 4096, "ring_buffer", &[]);
    add(&mut s, 6, "Pairs", 4096, "pair_matching", &[]);
    s.push(XE, vec![t("Long queries")]);
    s.push(XE, vec![t("system_health")]);
    s
}

fn target() -> Server {
    let mut s = empty();
    add(&mut s, 70, "Ring", 4096, "ring_buffer", &[]);
    // The target writes the same predicate in its own spacing: not a difference.
    s.rows_mut(EVENTS)[0][4] = t("( [duration] > (5000000) )");
    add(&mut s, 71, "Diff", 2048, "ring_buffer", &[]);
    s
}

/// The target takes what it is sent: a created session is the source's (found by name) with
/// the filename the statement gives.
fn learn(s: &mut Server, sql: &str) {
    let body: String = sql
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    if body.starts_with("CREATE EVENT SESSION ") {
        let name = bracketed(&body, "CREATE EVENT SESSION ").unwrap();
        let src = source();
        let id = src.tables[SESSIONS]
            .1
            .iter()
            .find(|r| text(&r[1]) == name)
            .map(|r| text(&r[0]))
            .unwrap();
        for table in [SESSIONS, EVENTS, ACTIONS, TARGETS, FIELDS] {
            for mut r in src.tables[table].1.clone() {
                if text(&r[0]) != id {
                    continue;
                }
                r[0] = t(&format!("1{id}"));
                if table == FIELDS && text(&r[2]) == "filename" {
                    r[3] = t(literal(&body, "filename = ").unwrap());
                }
                s.push(table, r);
            }
        }
    } else if body.starts_with("ALTER EVENT SESSION ") && body.ends_with("STATE = START") {
        let name = bracketed(&body, "ALTER EVENT SESSION ").unwrap();
        s.push(XE, vec![t(name)]);
    } else {
        panic!("statement not modelled: {body}");
    }
}

fn run(
    target: &Rc<RefCell<Server>>,
    storage: bool,
) -> (ferry_sdk::fake::FakeHost, serde_json::Value, Sent) {
    let sent: Sent = Rc::default();
    let extra = if storage {
        json!({ "audit_storage": "xe-blob" })
    } else {
        json!({})
    };
    let mut h = host(source(), target.clone(), sent.clone(), learn).container("xe-blob", URL);
    let out = h
        .run_item::<InstanceObjects>(config("event_sessions", extra), "(instance)")
        .unwrap();
    (h, out, sent)
}

fn statements(sent: &Sent) -> Vec<String> {
    sent.borrow()
        .iter()
        .map(|(s, _)| {
            s.lines()
                .filter(|l| !l.starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

#[test]
fn an_event_file_moves_to_the_container_and_the_session_starts() {
    let target = Rc::new(RefCell::new(target()));
    let (h, out, sent) = run(&target, true);
    assert_eq!(
        row(&h, "system_health").reason_code.as_deref(),
        Some("built-in-session")
    );
    assert_eq!(row(&h, "Etw").reason_code.as_deref(), Some("etw-target"));
    assert_eq!(row(&h, "Etw").status, ObjectStatus::Refused);
    assert_eq!(
        row(&h, "Pairs").reason_code.as_deref(),
        Some("pair-matching-target")
    );
    assert_eq!(row(&h, "Ring").status, ObjectStatus::Unchanged);
    let long = row(&h, "Long queries");
    assert_eq!(long.status, ObjectStatus::Migrated, "{long:?}");
    assert!(
        long.notes
            .unwrap()
            .contains(&format!("{URL}/long_queries.xel"))
    );
    let sent = statements(&sent);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(
        sent[0],
        format!(
            "CREATE EVENT SESSION [Long queries] ON SERVER ADD EVENT sqlserver.sql_statement_completed \
             (ACTION (sqlserver.sql_text) WHERE ([duration]>(5000000))) \
             ADD TARGET package0.event_file (SET filename = N'{URL}/long_queries.xel', max_file_size = 100) \
             WITH (MAX_MEMORY = 8192 KB, EVENT_RETENTION_MODE = ALLOW_SINGLE_EVENT_LOSS, \
             MAX_DISPATCH_LATENCY = 30 SECONDS, MAX_EVENT_SIZE = 0 KB, MEMORY_PARTITION_MODE = NONE, \
             TRACK_CAUSALITY = OFF, STARTUP_STATE = ON)"
        )
    );
    assert_eq!(
        sent[1],
        "ALTER EVENT SESSION [Long queries] ON SERVER STATE = START"
    );
    assert!(!sent.iter().any(|s| s.contains("D:\\") || s.contains("etw")));
    let diff = row(&h, "Diff");
    assert_eq!(diff.status, ObjectStatus::Conflict);
    assert!(diff.notes.unwrap().contains("MAX_MEMORY = 2048 KB"));
    assert_eq!(out["conflict"], 1, "{out}");

    let (again, out, sent) = run(&target, true);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert!(sent.borrow().is_empty());
    assert_eq!(row(&again, "Long queries").status, ObjectStatus::Unchanged);
}

#[test]
fn an_event_file_without_audit_storage_is_refused_with_what_to_set() {
    let target = Rc::new(RefCell::new(target()));
    let (h, _, sent) = run(&target, false);
    let long = row(&h, "Long queries");
    assert_eq!(long.status, ObjectStatus::Refused);
    assert_eq!(long.reason_code.as_deref(), Some("xe-storage-missing"));
    assert!(long.notes.unwrap().contains("audit_storage"));
    assert!(sent.borrow().is_empty(), "{:?}", sent.borrow());
}

#[test]
fn a_stopped_copy_of_a_running_session_is_a_conflict() {
    let target = Rc::new(RefCell::new(target()));
    run(&target, true);
    target.borrow_mut().rows_mut(XE).clear();
    let (h, _, _) = run(&target, true);
    let long = row(&h, "Long queries");
    assert_eq!(long.status, ObjectStatus::Conflict);
    assert!(long.notes.unwrap().contains("stopped"));
}
