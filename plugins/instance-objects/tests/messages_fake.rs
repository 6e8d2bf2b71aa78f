//! User-defined messages on a scripted catalog: us_english before other languages, an
//! unknown language refused, a differing message a conflict, and a second pass unchanged.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Sent, Server, b, config, host, i, literal, row, t};
use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

const MESSAGES: &str = "sys.messages";
const COLS: [&str; 5] = [
    "message_id",
    "language_id",
    "severity",
    "is_event_logged",
    "text",
];

fn m(id: i64, lang: i64, sev: i64, logged: bool, text: &str) -> Vec<SqlValue> {
    vec![i(id), i(lang), i(sev), b(logged), t(text)]
}

fn source() -> Server {
    Server::default()
        .table(
            MESSAGES,
            &COLS,
            vec![
                m(50001, 1031, 16, false, "Bestellung %1! fehlt"),
                m(50001, 1033, 16, false, "Order %d is missing"),
                m(50003, 1033, 16, false, "Odd language"),
                m(50003, 4242, 16, false, "???"),
                m(50004, 1033, 10, true, "Logged"),
                m(50005, 1033, 16, false, "New text"),
            ],
        )
        .table(
            "sys.syslanguages",
            &["lcid", "name"],
            vec![vec![i(1031), t("Deutsch")], vec![i(1033), t("us_english")]],
        )
}

fn target() -> Server {
    Server::default().table(
        MESSAGES,
        &COLS,
        vec![
            m(50004, 1033, 10, true, "Logged"),
            m(50005, 1033, 16, false, "Old text"),
        ],
    )
}

fn learn(s: &mut Server, sql: &str) {
    assert!(sql.contains("sp_addmessage"), "{sql}");
    let num = |k: &str| -> i64 {
        sql.split(k)
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let lang = match literal(sql, "@lang = ").unwrap() {
        "us_english" => 1033,
        "Deutsch" => {
            // sp_addmessage: the us_english version must exist first.
            assert!(
                s.tables[MESSAGES].1.iter().any(
                    |r| matches!(r[0], SqlValue::Int(n) if n == num("@msgnum = "))
                        && matches!(r[1], SqlValue::Int(1033))
                ),
                "us_english first"
            );
            1031
        }
        other => panic!("language {other}"),
    };
    let id = num("@msgnum = ");
    s.rows_mut(MESSAGES).retain(|r| {
        !(matches!(r[0], SqlValue::Int(n) if n == id)
            && matches!(r[1], SqlValue::Int(l) if l == lang))
    });
    s.push(
        MESSAGES,
        m(
            id,
            lang,
            num("@severity = "),
            literal(sql, "@with_log = ") == Some("TRUE"),
            literal(sql, "@msgtext = ").unwrap(),
        ),
    );
}

fn run(
    target: &Rc<RefCell<Server>>,
    replace: bool,
) -> (ferry_sdk::fake::FakeHost, serde_json::Value, Sent) {
    let sent: Sent = Rc::default();
    let mut h = host(source(), target.clone(), sent.clone(), learn);
    let out = h
        .run_item::<InstanceObjects>(
            config("messages", json!({ "replace": replace })),
            "(instance)",
        )
        .unwrap();
    (h, out, sent)
}

#[test]
fn messages_are_added_us_english_first() {
    let target = Rc::new(RefCell::new(target()));
    let (h, out, sent) = run(&target, false);
    assert_eq!(row(&h, "50001 (us_english)").status, ObjectStatus::Migrated);
    assert_eq!(row(&h, "50001 (Deutsch)").status, ObjectStatus::Migrated);
    assert_eq!(
        row(&h, "50003 (4242)").reason_code.as_deref(),
        Some("unknown-language")
    );
    let logged = row(&h, "50004 (us_english)");
    assert_eq!(logged.status, ObjectStatus::Unchanged);
    assert!(logged.notes.unwrap().contains("with_log"));
    let differs = row(&h, "50005 (us_english)");
    assert_eq!(differs.status, ObjectStatus::Conflict);
    assert!(differs.notes.unwrap().contains("Old text"));
    let sent = sent.borrow();
    assert!(
        sent[0].0.ends_with(
            "EXEC sp_addmessage @msgnum = 50001, @severity = 16, @msgtext = N'Order %d is missing', @lang = N'us_english', @with_log = 'FALSE'"
        ),
        "{}",
        sent[0].0
    );
    assert!(sent[1].0.contains("@lang = N'Deutsch'"));
    assert_eq!(out["migrated"], 3, "{out}");
    drop(sent);

    let (again, out, sent) = run(&target, false);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert!(sent.borrow().is_empty());

    let (h, _, sent) = run(&target, true);
    assert_eq!(row(&h, "50005 (us_english)").status, ObjectStatus::Migrated);
    assert!(sent.borrow()[0].0.contains("@replace = 'replace'"));
}

#[test]
fn a_language_whose_us_english_version_is_not_moved_waits_for_it() {
    let mut src = source();
    src.rows_mut(MESSAGES)
        .retain(|r| !matches!(r[1], SqlValue::Int(1033)) || !matches!(r[0], SqlValue::Int(50001)));
    let target = Rc::new(RefCell::new(target()));
    let sent: Sent = Rc::default();
    let mut h = host(src, target, sent.clone(), learn);
    h.run_item::<InstanceObjects>(config("messages", json!({})), "(instance)")
        .unwrap();
    assert_eq!(
        row(&h, "50001 (Deutsch)").reason_code.as_deref(),
        Some("us-english-missing")
    );
    assert!(!sent.borrow().iter().any(|(s, _)| s.contains("50001")));
}
