//! Server audits on a scripted catalog: a file audit rewritten TO URL on the configured
//! container (or refused without one), Windows-log audits refused, AUDIT_GUID kept, made off
//! and then enabled, specifications after their audit, and a second pass unchanged.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Sent, Server, b, bracketed, config, host, i, literal, row, t};
use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

const AUDITS: &str = "sys.server_audits";
const FILES: &str = "sys.server_file_audits";
const SPECS: &str = "sys.server_audit_specifications";
const DETAILS: &str = "sys.server_audit_specification_details";
const AUDIT_COLS: [&str; 8] = [
    "audit_id",
    "name",
    "audit_guid",
    "type_desc",
    "on_failure_desc",
    "queue_delay",
    "is_state_enabled",
    "predicate",
];
const G1: &str = "6f1c2f3a-0000-4000-8000-000000000001";
const G2: &str = "6f1c2f3a-0000-4000-8000-000000000002";
const G4: &str = "6f1c2f3a-0000-4000-8000-000000000004";
const URL: &str = "https://acct.blob.core.windows.net/audits";

#[allow(clippy::too_many_arguments)]
fn audit(
    id: i64,
    name: &str,
    guid: &str,
    kind: &str,
    fail: &str,
    delay: i64,
    on: bool,
    pred: &str,
) -> Vec<SqlValue> {
    vec![
        i(id),
        t(name),
        SqlValue::Guid(guid.into()),
        t(kind),
        t(fail),
        i(delay),
        b(on),
        if pred.is_empty() {
            SqlValue::Null
        } else {
            t(pred)
        },
    ]
}

fn source() -> Server {
    Server::default()
        .table(
            AUDITS,
            &AUDIT_COLS,
            vec![
                audit(
                    1,
                    "FileAudit",
                    G1,
                    "FILE",
                    "CONTINUE",
                    1000,
                    true,
                    "([server_principal_name]<>'sa')",
                ),
                audit(
                    2,
                    "WinAudit",
                    G2,
                    "SECURITY LOG",
                    "CONTINUE",
                    1000,
                    true,
                    "",
                ),
                audit(
                    3,
                    "AppAudit",
                    "6f1c2f3a-0000-4000-8000-000000000003",
                    "APPLICATION LOG",
                    "CONTINUE",
                    1000,
                    false,
                    "",
                ),
                audit(4, "SameAudit", G4, "FILE", "FAIL OPERATION", 0, false, ""),
            ],
        )
        .table(
            FILES,
            &["audit_id", "log_file_path"],
            vec![vec![i(1), t("D:\\Audit\\")], vec![i(4), t("D:\\Audit2\\")]],
        )
        .table(
            SPECS,
            &[
                "server_specification_id",
                "name",
                "audit_guid",
                "is_state_enabled",
            ],
            vec![
                vec![i(1), t("FileSpec"), SqlValue::Guid(G1.into()), b(true)],
                vec![i(2), t("WinSpec"), SqlValue::Guid(G2.into()), b(true)],
            ],
        )
        .table(
            DETAILS,
            &["server_specification_id", "audit_action_name"],
            vec![
                vec![i(1), t("FAILED_LOGIN_GROUP")],
                vec![i(1), t("SUCCESSFUL_LOGIN_GROUP")],
                vec![i(2), t("FAILED_LOGIN_GROUP")],
            ],
        )
}

fn target() -> Server {
    Server::default()
        .table(
            AUDITS,
            &AUDIT_COLS,
            vec![audit(
                40,
                "SameAudit",
                G4,
                "URL",
                "FAIL_OPERATION",
                0,
                false,
                "",
            )],
        )
        .table(
            FILES,
            &["audit_id", "log_file_path"],
            vec![vec![i(40), t(&format!("{URL}/"))]],
        )
        .table(
            SPECS,
            &[
                "server_specification_id",
                "name",
                "audit_guid",
                "is_state_enabled",
            ],
            vec![],
        )
        .table(
            DETAILS,
            &["server_specification_id", "audit_action_name"],
            vec![],
        )
}

fn text(v: &SqlValue) -> String {
    match v {
        SqlValue::Text(s) | SqlValue::Guid(s) => s.clone(),
        SqlValue::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

fn after<'a>(sql: &'a str, key: &str) -> &'a str {
    let rest = sql
        .split(key)
        .nth(1)
        .unwrap_or_else(|| panic!("no {key} in {sql}"));
    rest.split([',', ')']).next().unwrap().trim()
}

fn learn(s: &mut Server, sql: &str) {
    if sql.contains("CREATE SERVER AUDIT SPECIFICATION") {
        let name = bracketed(sql, "SPECIFICATION ").unwrap();
        let audit = bracketed(sql, "FOR SERVER AUDIT ").unwrap();
        let guid = s.tables[AUDITS]
            .1
            .iter()
            .find(|r| text(&r[1]) == audit)
            .map(|r| text(&r[2]))
            .unwrap();
        let id = 1 + s.tables[SPECS].1.len() as i64;
        s.push(
            SPECS,
            vec![
                i(id),
                t(name),
                SqlValue::Guid(guid),
                b(sql.contains("STATE = ON")),
            ],
        );
        for g in sql.split("ADD (").skip(1) {
            s.push(DETAILS, vec![i(id), t(g.split(')').next().unwrap())]);
        }
    } else if sql.contains("CREATE SERVER AUDIT ") {
        let name = bracketed(sql, "CREATE SERVER AUDIT ").unwrap();
        let id = 100 + s.tables[AUDITS].1.len() as i64;
        let url = literal(sql, "PATH = ").unwrap();
        let fail = match after(sql, "ON_FAILURE = ") {
            "FAIL_OPERATION" => "FAIL OPERATION",
            other => other,
        };
        let pred = sql.split(" WHERE ").nth(1).unwrap_or("");
        let r = audit(
            id,
            name,
            literal(sql, "AUDIT_GUID = ").unwrap(),
            "URL",
            fail,
            after(sql, "QUEUE_DELAY = ").parse().unwrap(),
            false,
            pred,
        );
        s.push(AUDITS, r);
        s.push(FILES, vec![i(id), t(url)]);
    } else if sql.contains("ALTER SERVER AUDIT ") && sql.contains("STATE = ON") {
        let name = bracketed(sql, "ALTER SERVER AUDIT ").unwrap();
        for r in s
            .rows_mut(AUDITS)
            .iter_mut()
            .filter(|r| text(&r[1]) == name)
        {
            r[6] = b(true);
        }
    } else {
        panic!("statement not modelled: {sql}");
    }
}

fn run(
    target: &Rc<RefCell<Server>>,
    storage: bool,
) -> (ferry_sdk::fake::FakeHost, serde_json::Value, Sent) {
    let sent: Sent = Rc::default();
    let extra = if storage {
        json!({ "audit_storage": "audit-blob" })
    } else {
        json!({})
    };
    let mut h = host(source(), target.clone(), sent.clone(), learn).container("audit-blob", URL);
    let out = h
        .run_item::<InstanceObjects>(config("audits", extra), "(instance)")
        .unwrap();
    (h, out, sent)
}

#[test]
fn file_audits_go_to_the_configured_container_and_windows_logs_are_refused() {
    let target = Rc::new(RefCell::new(target()));
    let (h, out, sent) = run(&target, true);
    let file = row(&h, "FileAudit");
    assert_eq!(file.status, ObjectStatus::Migrated, "{file:?}");
    assert!(file.notes.unwrap().contains("TO URL"));
    for name in ["WinAudit", "AppAudit"] {
        assert_eq!(
            row(&h, name).reason_code.as_deref(),
            Some("windows-log-audit"),
            "{name}"
        );
    }
    assert_eq!(row(&h, "SameAudit").status, ObjectStatus::Unchanged);
    assert_eq!(row(&h, "FileSpec").status, ObjectStatus::Migrated);
    assert_eq!(
        row(&h, "WinSpec").reason_code.as_deref(),
        Some("audit-not-moved")
    );
    // The statements without their comment lines (the notes).
    let sent: Vec<String> = sent
        .borrow()
        .iter()
        .map(|(s, _)| {
            s.lines()
                .filter(|l| !l.starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let create = sent
        .iter()
        .position(|s| s.contains("CREATE SERVER AUDIT [FileAudit]"))
        .unwrap();
    assert!(
        sent[create].contains(&format!(
            "TO URL (PATH = N'{URL}') WITH (QUEUE_DELAY = 1000, ON_FAILURE = CONTINUE, AUDIT_GUID = N'{G1}') WHERE ([server_principal_name]<>'sa')"
        )),
        "{}",
        sent[create]
    );
    let on = sent
        .iter()
        .position(|s| s.contains("ALTER SERVER AUDIT [FileAudit] WITH (STATE = ON)"))
        .unwrap();
    let spec = sent.iter().position(|s| s.contains("CREATE SERVER AUDIT SPECIFICATION [FileSpec] FOR SERVER AUDIT [FileAudit] ADD (FAILED_LOGIN_GROUP), ADD (SUCCESSFUL_LOGIN_GROUP) WITH (STATE = ON)")).unwrap();
    assert!(create < on && on < spec, "{sent:?}");
    assert!(
        !sent
            .iter()
            .any(|s| s.contains("WinAudit") || s.contains("AppAudit") || s.contains("TO FILE"))
    );
    assert_eq!(out["refused"], 2, "{out}");

    let (again, out, sent) = run(&target, true);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert!(sent.borrow().is_empty());
    assert_eq!(row(&again, "FileAudit").status, ObjectStatus::Unchanged);
    assert_eq!(row(&again, "FileSpec").status, ObjectStatus::Unchanged);
}

#[test]
fn a_file_audit_without_audit_storage_is_refused_with_what_to_set() {
    let target = Rc::new(RefCell::new(target()));
    let (h, _, sent) = run(&target, false);
    let file = row(&h, "FileAudit");
    assert_eq!(file.status, ObjectStatus::Refused);
    assert_eq!(file.reason_code.as_deref(), Some("audit-storage-missing"));
    assert!(file.notes.unwrap().contains("audit_storage"));
    assert_eq!(
        row(&h, "FileSpec").reason_code.as_deref(),
        Some("audit-not-moved")
    );
    // Nothing is sent: the refused audit takes its specification with it.
    assert!(sent.borrow().is_empty(), "{:?}", sent.borrow());
}

#[test]
fn an_audit_that_differs_on_the_target_is_a_conflict() {
    let mut tg = target();
    tg.rows_mut(AUDITS)[0][4] = t("CONTINUE");
    let target = Rc::new(RefCell::new(tg));
    let (h, out, _) = run(&target, true);
    let same = row(&h, "SameAudit");
    assert_eq!(same.status, ObjectStatus::Conflict);
    assert!(same.notes.unwrap().contains("ON_FAILURE = CONTINUE"));
    assert_eq!(out["conflict"], 1, "{out}");
}
