//! A scripted pair of servers for FakeHost tests. Catalog reads are answered from named
//! catalogs (picked by a marker in the statement); the data comparison's queries are computed
//! from an in-test table model, so the counts, range hashes, split keys and leaf rows the
//! plugin sees are what a server holding those rows would answer.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

mod catalog;
mod model;

// Not every test file uses every part.
#[allow(unused_imports)]
pub use catalog::{DB, database};
#[allow(unused_imports)]
pub use model::Table;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{
    Column, Error, ObjectRow, ObjectStatus, Param, ParamValue, QueryResult, RowSet, SqlValue,
};

pub fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}
pub fn i(n: i64) -> SqlValue {
    SqlValue::Int(n)
}
/// SqlValue has no PartialEq: compared by their debug forms.
pub fn eq(a: &SqlValue, b: &SqlValue) -> bool {
    format!("{a:?}") == format!("{b:?}")
}
pub fn keq(a: &[SqlValue], b: &[SqlValue]) -> bool {
    format!("{a:?}") == format!("{b:?}")
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

/// One server: catalogs by marker, tables by `[db].[schema].[table]`.
#[derive(Clone, Default)]
pub struct Server {
    pub catalogs: BTreeMap<&'static str, (Vec<&'static str>, Vec<Vec<SqlValue>>)>,
    pub tables: BTreeMap<String, Table>,
    /// Queries answered, as statements.
    pub seen: Vec<String>,
    /// An error for statements containing the text: (text, number, message).
    pub fail: Option<(&'static str, i32, &'static str)>,
}

/// Which catalog a statement reads: the first marker it contains (most specific first).
pub const MARKERS: [&str; 27] = [
    "MAX(compatibility_level) AS highest",
    "SELECT compatibility_level FROM sys.databases",
    "FROM sys.databases WHERE name = @db",
    "sys.index_columns",
    "sys.columns AS c",
    "sys.tables AS t",
    "sys.sql_modules AS m",
    "sys.indexes AS i",
    "sys.foreign_keys AS c",
    "sys.check_constraints AS c",
    "sys.triggers AS tr",
    "sys.objects AS o JOIN",
    "sys.database_role_members",
    "sys.database_permissions",
    "sys.database_principals WHERE",
    "SELECT name, sid FROM master.sys.server_principals",
    "WHERE type IN ('S'",
    "WHERE type = 'R'",
    "sys.server_role_members",
    "msdb.dbo.sysoperators",
    "master.sys.servers",
    "master.sys.credentials",
    "master.sys.server_audits",
    "msdb.dbo.sysjobs",
    "DBCC CHECKDB",
    "ALTER DATABASE",
    "STATISTICS",
];

impl Server {
    pub fn catalog(
        mut self,
        marker: &'static str,
        columns: &[&'static str],
        rows: Vec<Vec<SqlValue>>,
    ) -> Self {
        assert!(MARKERS.contains(&marker), "unknown marker {marker}");
        self.catalogs.insert(marker, (columns.to_vec(), rows));
        self
    }
    pub fn rows_mut(&mut self, marker: &'static str) -> &mut Vec<Vec<SqlValue>> {
        &mut self
            .catalogs
            .get_mut(marker)
            .unwrap_or_else(|| panic!("no {marker}"))
            .1
    }
    pub fn table(mut self, db: &str, schema: &str, name: &str, table: Table) -> Self {
        self.tables
            .insert(format!("[{db}].[{schema}].[{name}]"), table);
        self
    }
    pub fn table_mut(&mut self, qualified: &str) -> &mut Table {
        self.tables.get_mut(qualified).expect("no such table")
    }

    fn table_param(params: &[Param]) -> Option<String> {
        params
            .iter()
            .find(|p| p.name == "table")
            .and_then(|p| match &p.value {
                ParamValue::Value(SqlValue::Text(s)) => Some(s.clone()),
                _ => None,
            })
    }

    pub fn answer(&mut self, sql: &str, params: &[Param]) -> ferry_sdk::Result<QueryResult> {
        self.seen.push(sql.to_owned());
        // Every query must pass the host's check for a `read` grant; only the target's
        // changes (sent through `execute`) may not.
        let change = [
            "DBCC CHECKDB",
            "ALTER DATABASE",
            "UPDATE STATISTICS",
            "EXEC ",
        ]
        .iter()
        .any(|c| sql.starts_with(c));
        if !change && let Err(r) = ferry_tsql::read_only::check(sql) {
            panic!("the host would refuse this read ({r}): {sql}");
        }
        if let Some((text, number, message)) = self.fail
            && sql.contains(text)
        {
            return Err(Error::failed_with_code(message, number));
        }
        // Columns and keys of a model table come from the model.
        if let Some(name) = Self::table_param(params)
            && let Some(table) = self.tables.get(&name)
        {
            if sql.contains("sys.index_columns") {
                let rows = table
                    .key
                    .iter()
                    .enumerate()
                    .map(|(n, c)| vec![i(1), t("PK_model"), i(1), i(n as i64 + 1), t(c), i(0)])
                    .collect();
                return Ok(set(
                    &[
                        "index_id",
                        "index_name",
                        "is_primary_key",
                        "key_ordinal",
                        "column_name",
                        "is_nullable",
                    ],
                    rows,
                ));
            }
            if sql.contains("sys.columns AS c") {
                let rows = table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(n, (c, ty))| vec![t(c), i(n as i64 + 1), t(ty), i(0)])
                    .collect();
                return Ok(set(
                    &["name", "column_id", "type_name", "is_assembly_type"],
                    rows,
                ));
            }
        }
        if sql.contains("sys.tables AS t") && !self.catalogs.contains_key("sys.tables AS t") {
            let rows = self
                .tables
                .keys()
                .map(|k| {
                    let parts: Vec<&str> = k.trim_matches(['[', ']']).split("].[").collect();
                    vec![t(parts[1]), t(parts[2])]
                })
                .collect();
            return Ok(set(&["schema_name", "table_name"], rows));
        }
        if let Some((name, table)) = self
            .tables
            .iter()
            .find(|(name, _)| sql.contains(&format!("FROM {name}")))
        {
            let _ = name;
            return Ok(table.answer(sql, params));
        }
        if sql.starts_with("SELECT COUNT_BIG(*)") || sql.contains("CHECKSUM_AGG") {
            return Err(Error::failed_with_code("Invalid object name.", 208));
        }
        let marker = MARKERS.iter().find(|m| sql.contains(*m));
        Ok(match marker.and_then(|m| self.catalogs.get(m)) {
            Some((cols, rows)) => set(cols, rows.clone()),
            None => set(&[], vec![]),
        })
    }
}

pub type Shared = Rc<RefCell<Server>>;

/// A host over `source` and `target`.
pub fn host(source: &Shared, target: &Shared) -> FakeHost {
    let (s, t) = (source.clone(), target.clone());
    FakeHost::new().on_query(move |label, sql, params| match label {
        "source" => s.borrow_mut().answer(sql, params),
        "target" => t.borrow_mut().answer(sql, params),
        other => panic!("unexpected label {other}"),
    })
}

pub fn shared(s: Server) -> Shared {
    Rc::new(RefCell::new(s))
}

/// The rows of one object type.
pub fn rows_of<'a>(rows: &'a [ObjectRow], kind: &str) -> Vec<&'a ObjectRow> {
    rows.iter().filter(|r| r.object_type == kind).collect()
}

/// The rows that failed, as (object_type, name, reason_code).
pub fn failed(rows: &[ObjectRow]) -> Vec<(String, String, String)> {
    rows.iter()
        .filter(|r| r.status == ObjectStatus::Failed)
        .map(|r| {
            (
                r.object_type.clone(),
                r.name.clone(),
                r.reason_code.clone().unwrap_or_default(),
            )
        })
        .collect()
}
