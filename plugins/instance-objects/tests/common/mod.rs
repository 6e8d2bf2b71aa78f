//! A scripted pair of servers for FakeHost tests: each answers a catalog query from the table
//! named in its `FROM` clause, and the target learns from the statements it is sent through a
//! test's own `learn` function.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{Column, ObjectRow, Param, QueryResult, RowSet, SqlValue};
use serde_json::json;

pub fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}
pub fn i(n: i64) -> SqlValue {
    SqlValue::Int(n)
}
pub fn b(v: bool) -> SqlValue {
    SqlValue::Bit(v)
}

pub fn set(columns: &[&str], rows: Vec<Vec<SqlValue>>) -> QueryResult {
    QueryResult {
        sets: vec![RowSet {
            columns: columns
                .iter()
                .map(|c| Column {
                    name: (*c).to_owned(),
                    sql_type: "nvarchar".into(),
                })
                .collect(),
            rows,
            truncated: false,
        }],
        messages: vec![],
    }
}

/// One server's catalog: `FROM` text (a view, with a WHERE clause where one view is read two
/// ways) → columns and rows.
#[derive(Clone, Default)]
pub struct Server {
    pub tables: BTreeMap<String, (Vec<String>, Vec<Vec<SqlValue>>)>,
}

impl Server {
    pub fn table(mut self, from: &str, columns: &[&str], rows: Vec<Vec<SqlValue>>) -> Self {
        self.tables.insert(
            from.to_owned(),
            (columns.iter().map(|c| (*c).to_owned()).collect(), rows),
        );
        self
    }

    pub fn push(&mut self, from: &str, row: Vec<SqlValue>) {
        self.tables
            .get_mut(from)
            .unwrap_or_else(|| panic!("no table {from}"))
            .1
            .push(row);
    }

    pub fn rows_mut(&mut self, from: &str) -> &mut Vec<Vec<SqlValue>> {
        &mut self
            .tables
            .get_mut(from)
            .unwrap_or_else(|| panic!("no table {from}"))
            .1
    }

    fn answer(&self, sql: &str) -> QueryResult {
        let hit = self
            .tables
            .iter()
            .filter(|(k, _)| sql.contains(&format!("FROM {k}")))
            .max_by_key(|(k, _)| k.len());
        match hit {
            Some((_, (cols, rows))) => {
                let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
                set(&cols, rows.clone())
            }
            None => set(&[], vec![]),
        }
    }
}

/// Statements the target was sent, with their parameters' names.
pub type Sent = Rc<RefCell<Vec<(String, Vec<Param>)>>>;

/// A host over `source` and `target`; `learn` applies each statement the target is sent.
pub fn host(
    source: Server,
    target: Rc<RefCell<Server>>,
    sent: Sent,
    learn: impl Fn(&mut Server, &str) + 'static,
) -> FakeHost {
    FakeHost::new().on_query(move |label, sql, params| {
        if label == "target" && sql.starts_with("-- ") {
            sent.borrow_mut().push((sql.to_owned(), params.to_vec()));
            learn(&mut target.borrow_mut(), sql);
            return Ok(set(&[], vec![]));
        }
        Ok(if label == "target" {
            target.borrow().answer(sql)
        } else {
            source.answer(sql)
        })
    })
}

const FAMILIES: [&str; 16] = [
    "tde_certificates",
    "certificates",
    "credentials",
    "logins",
    "server_roles",
    "server_permissions",
    "database_mail",
    "agent_operators",
    "agent_jobs",
    "linked_servers",
    "audits",
    "server_triggers",
    "messages",
    "configuration",
    "event_sessions",
    "resource_governor",
];

/// A config with only `family` on, plus `extra`'s keys.
pub fn config(family: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({});
    for f in FAMILIES {
        c[f] = json!({ "enabled": f == family });
    }
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            c[k] = v;
        }
    }
    c
}

pub fn row(h: &FakeHost, name: &str) -> ObjectRow {
    h.rows
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row for {name}: {:#?}", h.rows))
        .clone()
}

/// The text between `after` and the next `'` (a quoted literal's value, no embedded quotes).
pub fn literal<'a>(sql: &'a str, after: &str) -> Option<&'a str> {
    let rest = sql.split(after).nth(1)?;
    let rest = rest
        .strip_prefix("N'")
        .or_else(|| rest.strip_prefix('\''))?;
    rest.split('\'').next()
}

/// The name in `[…]` after `after`.
pub fn bracketed<'a>(sql: &'a str, after: &str) -> Option<&'a str> {
    sql.split(after)
        .nth(1)?
        .strip_prefix('[')?
        .split(']')
        .next()
}
