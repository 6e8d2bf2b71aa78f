//! A scripted pair of servers for the msdb families: catalog tables as rows of named cells,
//! answered to `SELECT <columns> FROM <table>`, and a target that learns what msdb's
//! procedures tell it (the few checks msdb makes that matter here: the owner must be a login,
//! names must exist).

#![allow(dead_code)]

pub mod agent;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{Column, Error, Param, QueryResult, RowSet, SqlValue};

pub type Row = BTreeMap<String, SqlValue>;

/// One server: tables by name (`msdb.dbo.sysjobs`, `sys.server_principals`).
#[derive(Debug, Default, Clone)]
pub struct Db {
    pub tables: BTreeMap<String, Vec<Row>>,
    /// What xp_instance_regread answers: Some((use, profile)), or None for an error.
    pub agent_mail: Option<(i64, String)>,
    /// Sealed parameter names each procedure call received, as (procedure, names).
    pub sealed: Vec<(String, Vec<String>)>,
}

pub fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

pub fn i(v: i64) -> SqlValue {
    SqlValue::Int(v)
}

pub fn row(cells: &[(&str, SqlValue)]) -> Row {
    cells
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl Db {
    pub fn add(&mut self, table: &str, r: Row) {
        self.tables.entry(table.into()).or_default().push(r);
    }

    pub fn rows(&self, table: &str) -> &[Row] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    pub fn rows_mut(&mut self, table: &str) -> &mut Vec<Row> {
        self.tables.entry(table.into()).or_default()
    }

    pub fn login(&mut self, id: i64, name: &str, sid: &[u8], kind: &str) {
        self.add(
            "sys.server_principals",
            row(&[
                ("name", t(name)),
                ("principal_id", i(id)),
                ("sid", SqlValue::Binary(sid.to_vec())),
                ("type", t(kind)),
                ("is_disabled", SqlValue::Bit(false)),
                ("is_fixed_role", SqlValue::Bit(false)),
            ]),
        );
    }

    fn select(&self, sql: &str) -> Option<QueryResult> {
        let body = sql.trim_start().strip_prefix("SELECT ")?;
        let (cols, rest) = body.split_once(" FROM ")?;
        let table = rest.split_whitespace().next()?;
        let cols: Vec<&str> = cols.split(',').map(str::trim).collect();
        let rows = self
            .rows(table)
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| r.get(*c).cloned().unwrap_or(SqlValue::Null))
                    .collect()
            })
            .collect();
        Some(set(&cols, rows))
    }
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

/// The arguments of one `EXEC msdb.dbo.<proc> @a = N'…', @b = 1` call.
pub type Args = BTreeMap<String, SqlValue>;

/// Every msdb procedure call in a batch, in order.
pub fn calls(sql: &str) -> Vec<(String, Args)> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find("EXEC msdb.dbo.") {
        rest = &rest[at + "EXEC msdb.dbo.".len()..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ';')
            .unwrap_or(rest.len());
        let proc = rest[..end].to_owned();
        rest = &rest[end..];
        let mut args = Args::new();
        let chars: Vec<char> = rest.chars().collect();
        let mut k = 0;
        loop {
            while k < chars.len() && (chars[k] == ' ' || chars[k] == ',') {
                k += 1;
            }
            if k >= chars.len() || chars[k] != '@' {
                break;
            }
            let start = k + 1;
            while chars[k] != ' ' {
                k += 1;
            }
            let name: String = chars[start..k].iter().collect();
            k += 3; // " = "
            let value = if chars[k] == 'N' && chars.get(k + 1) == Some(&'\'') {
                k += 2;
                let mut s = String::new();
                loop {
                    if chars[k] == '\'' {
                        if chars.get(k + 1) == Some(&'\'') {
                            s.push('\'');
                            k += 2;
                            continue;
                        }
                        k += 1;
                        break;
                    }
                    s.push(chars[k]);
                    k += 1;
                }
                SqlValue::Text(s)
            } else {
                let start = k;
                while k < chars.len() && chars[k] != ',' && chars[k] != ';' && chars[k] != '\n' {
                    k += 1;
                }
                let v: String = chars[start..k].iter().collect();
                let v = v.trim();
                match v.parse::<i64>() {
                    Ok(n) => SqlValue::Int(n),
                    Err(_) => SqlValue::Text(format!("var:{v}")),
                }
            };
            args.insert(name, value);
        }
        let consumed: String = chars[..k].iter().collect();
        rest = &rest[consumed.len()..];
        out.push((proc, args));
    }
    out
}

pub fn text(a: &Args, k: &str) -> String {
    match a.get(k) {
        Some(SqlValue::Text(s)) => s.clone(),
        Some(SqlValue::Int(n)) => n.to_string(),
        _ => String::new(),
    }
}

pub fn int(a: &Args, k: &str, default: i64) -> i64 {
    match a.get(k) {
        Some(SqlValue::Int(n)) => *n,
        _ => default,
    }
}

pub fn cell_text(r: &Row, k: &str) -> String {
    match r.get(k) {
        Some(SqlValue::Text(s)) => s.clone(),
        Some(SqlValue::Int(n)) => n.to_string(),
        _ => String::new(),
    }
}

pub fn cell_int(r: &Row, k: &str) -> i64 {
    match r.get(k) {
        Some(SqlValue::Int(n)) => *n,
        Some(SqlValue::Bit(b)) => i64::from(*b),
        _ => 0,
    }
}

/// Applies one procedure call to `db`; `Err` is msdb's refusal.
pub type Apply = fn(&mut Db, &str, &Args, &mut Option<i64>) -> Result<(), String>;

/// A host whose source is `source` and whose target is `target`, learning through `apply`.
pub fn host(source: Db, target: Rc<RefCell<Db>>, apply: Apply) -> FakeHost {
    FakeHost::new().on_query(move |label, sql, params: &[Param]| {
        let on_target = label == "target";
        if sql.contains("xp_instance_regread") {
            let mail = if on_target {
                target.borrow().agent_mail.clone()
            } else {
                source.agent_mail.clone()
            };
            return match mail {
                Some((u, p)) => Ok(set(
                    &["use_databasemail", "databasemail_profile"],
                    vec![vec![i(u), t(&p)]],
                )),
                None => Err(Error::failed(
                    "Could not find stored procedure 'master.dbo.xp_instance_regread'. (2812)",
                )),
            };
        }
        if sql.starts_with("--") {
            assert!(on_target, "only the target is written: {sql}");
            let mut db = target.borrow_mut();
            let mut var = None;
            for (proc, args) in calls(sql) {
                let sealed: Vec<String> = params
                    .iter()
                    .filter(|p| matches!(p.value, ferry_sdk::ParamValue::Sealed(_)))
                    .map(|p| p.name.clone())
                    .collect();
                db.sealed.push((proc.clone(), sealed));
                apply(&mut db, &proc, &args, &mut var)
                    .map_err(|e| Error::failed(format!("{proc}: {e}")))?;
            }
            return Ok(set(&[], vec![]));
        }
        let answer = if on_target {
            target.borrow().select(sql)
        } else {
            source.select(sql)
        };
        Ok(answer.unwrap_or_else(|| set(&[], vec![])))
    })
}

/// The config with only `families` on.
pub fn config(families: &[&str]) -> serde_json::Value {
    let mut c = serde_json::json!({
        "entra": { "domains": { "CONTOSO": "contoso.com" } },
    });
    for f in [
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
    ] {
        if !families.contains(&f) {
            c[f] = serde_json::json!({ "enabled": false });
        }
    }
    c
}
