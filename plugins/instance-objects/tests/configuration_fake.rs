//! `sp_configure` options on a scripted catalog: set only when Managed Instance allows it and
//! the target's value differs, `show advanced options` first, unsupported and machine-sized
//! options skipped with their reasons, and a second pass unchanged.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Sent, Server, b, config, host, i, literal, row, t};
use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

const CONFIG: &str = "sys.configurations";
const COLS: [&str; 5] = ["name", "value", "value_in_use", "is_advanced", "is_dynamic"];

fn o(name: &str, value: i64, advanced: bool) -> Vec<SqlValue> {
    // `cost threshold for parallelism` is dynamic on SQL Server; here it stands in for a
    // static option.
    let dynamic = name != "cost threshold for parallelism";
    vec![t(name), i(value), i(value), b(advanced), b(dynamic)]
}

fn source() -> Server {
    Server::default().table(
        CONFIG,
        &COLS,
        vec![
            o("show advanced options", 1, false),
            o("cost threshold for parallelism", 50, true),
            o("max degree of parallelism", 4, true),
            o("clr enabled", 1, false),
            o("xp_cmdshell", 1, true),
            o("remote access", 1, false),
            o("filestream_access_level", 2, false),
            o("max server memory (MB)", 57344, true),
            o("an old option", 1, false),
        ],
    )
}

fn target() -> Server {
    Server::default().table(
        CONFIG,
        &COLS,
        vec![
            o("show advanced options", 0, false),
            o("cost threshold for parallelism", 5, true),
            o("max degree of parallelism", 4, true),
            o("clr enabled", 0, false),
            o("max server memory (MB)", 2147483647, true),
        ],
    )
}

fn learn(s: &mut Server, sql: &str) {
    let name = literal(sql, "sp_configure ").unwrap_or_else(|| panic!("{sql}"));
    let value: i64 = sql
        .split(", ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(sql.ends_with("; RECONFIGURE"), "{sql}");
    let advanced_on = s.tables[CONFIG].1.iter().any(|r| {
        matches!(&r[0], SqlValue::Text(n) if n == "show advanced options")
            && matches!(r[1], SqlValue::Int(1))
    });
    let row = s
        .rows_mut(CONFIG)
        .iter_mut()
        .find(|r| matches!(&r[0], SqlValue::Text(n) if n == name))
        .unwrap_or_else(|| panic!("no option {name}"));
    // sp_configure: an advanced option is hidden until `show advanced options` is on.
    assert!(
        !matches!(row[3], SqlValue::Bit(true)) || advanced_on,
        "{name} set while advanced options are off"
    );
    row[1] = i(value);
    row[2] = i(value);
}

fn run(target: &Rc<RefCell<Server>>) -> (ferry_sdk::fake::FakeHost, serde_json::Value, Sent) {
    let sent: Sent = Rc::default();
    let mut h = host(source(), target.clone(), sent.clone(), learn);
    let out = h
        .run_item::<InstanceObjects>(config("configuration", json!({})), "(instance)")
        .unwrap();
    (h, out, sent)
}

#[test]
fn options_mi_allows_are_set_and_the_rest_skipped_with_the_reason() {
    let target = Rc::new(RefCell::new(target()));
    let (h, out, sent) = run(&target);
    assert_eq!(
        row(&h, "show advanced options").status,
        ObjectStatus::Migrated
    );
    assert_eq!(
        row(&h, "cost threshold for parallelism").status,
        ObjectStatus::Migrated
    );
    assert_eq!(row(&h, "clr enabled").status, ObjectStatus::Migrated);
    assert_eq!(
        row(&h, "max degree of parallelism").status,
        ObjectStatus::Unchanged
    );
    for (name, code) in [
        ("xp_cmdshell", "option-not-supported"),
        ("filestream_access_level", "option-not-supported"),
        ("max server memory (MB)", "option-machine-sized"),
        ("an old option", "option-not-on-target"),
    ] {
        let r = row(&h, name);
        assert_eq!(r.status, ObjectStatus::Skipped, "{name}");
        assert_eq!(r.reason_code.as_deref(), Some(code), "{name}");
    }
    // At its default, an option MI does not support needs no row.
    assert!(!h.rows.iter().any(|r| r.name == "remote access"));
    let sent = sent.borrow();
    assert!(
        sent[0]
            .0
            .ends_with("EXEC sp_configure N'show advanced options', 1; RECONFIGURE")
    );
    assert!(sent.iter().any(|(s, _)| {
        s.ends_with("EXEC sp_configure N'cost threshold for parallelism', 50; RECONFIGURE")
    }));
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(out["migrated"], 3, "{out}");
    drop(sent);

    let (again, out, sent) = run(&target);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert!(sent.borrow().is_empty());
    assert_eq!(
        row(&again, "cost threshold for parallelism").status,
        ObjectStatus::Unchanged
    );
}
