//! Server triggers on a scripted catalog: made as stored (then disabled when the source's is),
//! bodies calling what Managed Instance lacks refused or noted, the same definition with other
//! whitespace unchanged, a different one a conflict, and a second pass unchanged.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Sent, Server, b, bracketed, config, host, i, row, t};
use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

const TRIGGERS: &str = "sys.server_triggers";
const MODULES: &str = "sys.server_sql_modules";
const EVENTS: &str = "sys.server_trigger_events";
const PRINCIPALS: &str = "sys.server_principals";

fn def(name: &str, body: &str) -> String {
    format!("CREATE TRIGGER [{name}] ON ALL SERVER FOR CREATE_DATABASE AS\nBEGIN\n    {body}\nEND")
}

fn source() -> Server {
    let triggers = [
        (1, "ddl_audit", false, false, "PRINT 'made';", None),
        (
            2,
            "logon_cmd",
            false,
            false,
            "EXEC master..xp_cmdshell 'dir';",
            None,
        ),
        (3, "old_trg", true, false, "PRINT 'old';", None),
        (4, "win_exec", false, false, "PRINT 'who';", Some(262)),
        (5, "ms_trg", false, true, "PRINT 'ms';", None),
        (
            6,
            "path_trg",
            false,
            false,
            "PRINT 'C:\\logs\\ddl.txt';",
            None,
        ),
        (7, "same_trg", false, false, "PRINT 'same';", None),
        (8, "diff_trg", false, false, "PRINT 'new';", None),
        (
            9,
            "su_trg",
            false,
            false,
            "EXECUTE AS LOGIN = 'CONTOSO\\svc'; PRINT 1; REVERT;",
            None,
        ),
        (
            10,
            "cfg_trg",
            false,
            false,
            "EXEC sp_configure 'remote access', 0; RECONFIGURE;",
            None,
        ),
    ];
    Server::default()
        .table(
            TRIGGERS,
            &["object_id", "name", "is_disabled", "is_ms_shipped"],
            triggers
                .iter()
                .map(|x| vec![i(x.0), t(x.1), b(x.2), b(x.3)])
                .collect(),
        )
        .table(
            MODULES,
            &["object_id", "definition", "execute_as_principal_id"],
            triggers
                .iter()
                .map(|x| vec![i(x.0), t(&def(x.1, x.4)), x.5.map_or(SqlValue::Null, i)])
                .collect(),
        )
        .table(
            EVENTS,
            &["object_id", "type_desc"],
            triggers
                .iter()
                .map(|x| vec![i(x.0), t("CREATE_DATABASE")])
                .collect(),
        )
        .table(
            PRINCIPALS,
            &["name", "principal_id", "type"],
            vec![vec![t("CONTOSO\\bob"), i(262), t("U")]],
        )
}

fn target() -> Server {
    let same = def("same_trg", "PRINT 'same';").replace('\n', "\r\n   ");
    Server::default()
        .table(
            TRIGGERS,
            &["object_id", "name", "is_disabled", "is_ms_shipped"],
            vec![
                vec![i(70), t("same_trg"), b(false), b(false)],
                vec![i(80), t("diff_trg"), b(false), b(false)],
            ],
        )
        .table(
            MODULES,
            &["object_id", "definition", "execute_as_principal_id"],
            vec![
                vec![i(70), t(&same), SqlValue::Null],
                vec![i(80), t(&def("diff_trg", "PRINT 'old';")), SqlValue::Null],
            ],
        )
        .table(
            EVENTS,
            &["object_id", "type_desc"],
            vec![
                vec![i(70), t("CREATE_DATABASE")],
                vec![i(80), t("CREATE_DATABASE")],
            ],
        )
        .table(PRINCIPALS, &["name", "principal_id", "type"], vec![])
}

fn learn(s: &mut Server, sql: &str) {
    let body: Vec<&str> = sql.lines().filter(|l| !l.starts_with("--")).collect();
    let body = body.join("\n");
    if let Some(name) = bracketed(&body, "CREATE TRIGGER ") {
        let id = 100 + s.tables[TRIGGERS].1.len() as i64;
        s.push(TRIGGERS, vec![i(id), t(name), b(false), b(false)]);
        s.push(MODULES, vec![i(id), t(&body), SqlValue::Null]);
        s.push(EVENTS, vec![i(id), t("CREATE_DATABASE")]);
    } else if let Some(name) = bracketed(&body, "DISABLE TRIGGER ") {
        for r in s
            .rows_mut(TRIGGERS)
            .iter_mut()
            .filter(|r| matches!(&r[1], SqlValue::Text(n) if n == name))
        {
            r[2] = b(true);
        }
    } else {
        panic!("statement not modelled: {sql}");
    }
}

fn run(target: &Rc<RefCell<Server>>) -> (ferry_sdk::fake::FakeHost, serde_json::Value, Sent) {
    let sent: Sent = Rc::default();
    let mut h = host(source(), target.clone(), sent.clone(), learn);
    let out = h
        .run_item::<InstanceObjects>(config("server_triggers", json!({})), "(instance)")
        .unwrap();
    (h, out, sent)
}

#[test]
fn server_triggers_are_made_as_stored_and_those_that_cannot_work_refused() {
    let target = Rc::new(RefCell::new(target()));
    let (h, out, sent) = run(&target);
    assert_eq!(row(&h, "ddl_audit").status, ObjectStatus::Migrated);
    assert_eq!(row(&h, "old_trg").status, ObjectStatus::Migrated);
    for (name, says) in [
        ("logon_cmd", "xp_cmdshell"),
        ("win_exec", "CONTOSO\\bob"),
        ("su_trg", "CONTOSO\\svc"),
    ] {
        let r = row(&h, name);
        assert_eq!(r.status, ObjectStatus::Refused, "{name}");
        assert_eq!(r.reason_code.as_deref(), Some("trigger-cannot-work"));
        assert!(r.notes.unwrap().contains(says), "{name}");
    }
    assert!(!h.rows.iter().any(|r| r.name == "ms_trg"));
    let path = row(&h, "path_trg");
    assert_eq!(path.status, ObjectStatus::Migrated);
    assert!(path.notes.unwrap().contains("file path"));
    assert_eq!(row(&h, "same_trg").status, ObjectStatus::Unchanged);
    let cfg = row(&h, "cfg_trg");
    assert_eq!(cfg.status, ObjectStatus::Migrated);
    assert!(cfg.notes.unwrap().contains("sp_configure `remote access`"));
    let diff = row(&h, "diff_trg");
    assert_eq!(diff.status, ObjectStatus::Conflict);
    assert!(diff.notes.unwrap().contains("definition differs"));

    let sent: Vec<String> = sent.borrow().iter().map(|(s, _)| s.clone()).collect();
    assert!(
        sent[0].ends_with(&def("ddl_audit", "PRINT 'made';")),
        "{}",
        sent[0]
    );
    let old = sent
        .iter()
        .position(|s| s.contains("CREATE TRIGGER [old_trg]"))
        .unwrap();
    assert!(sent[old + 1].ends_with("DISABLE TRIGGER [old_trg] ON ALL SERVER"));
    assert!(
        !sent
            .iter()
            .any(|s| s.contains("xp_cmdshell") || s.contains("win_exec") || s.contains("diff_trg"))
    );
    assert_eq!(out["refused"], 3, "{out}");

    let (again, out, sent) = run(&target);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert!(sent.borrow().is_empty());
    assert_eq!(row(&again, "old_trg").status, ObjectStatus::Unchanged);
}
