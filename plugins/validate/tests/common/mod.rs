//! A scripted pair of servers for FakeHost tests. Catalog reads are answered from named
//! catalogs (picked by a marker in the statement); the data comparison's queries are computed
//! from an in-test table model, so the counts, range hashes, split keys and leaf rows the
//! plugin sees are what a server holding those rows would answer.

#![allow(dead_code)]

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::rc::Rc;

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

/// A table in the model: its columns (name, type), its key columns (empty: no usable key), and
/// its rows as key values and contents.
#[derive(Clone, Default)]
pub struct Table {
    pub columns: Vec<(String, String)>,
    pub key: Vec<String>,
    pub rows: Vec<(Vec<SqlValue>, String)>,
}

fn cmp_value(a: &SqlValue, b: &SqlValue) -> Ordering {
    match (a, b) {
        (SqlValue::Int(x), SqlValue::Int(y)) => x.cmp(y),
        (SqlValue::Text(x), SqlValue::Text(y)) => x.cmp(y),
        _ => panic!("the model orders ints and texts: {a:?} {b:?}"),
    }
}

fn cmp_key(a: &[SqlValue], b: &[SqlValue]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_value(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// The row's hash as the model's HASHBYTES: FNV-1a over key and contents, spread to 32 bytes.
pub fn row_hash(key: &[SqlValue], contents: &str) -> Vec<u8> {
    let text = format!("{key:?}{contents}");
    let mut out = Vec::new();
    for salt in 0u64..4 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // The murmur3 finalizer: FNV alone changes by ±prime when a last byte flips by one,
        // and such deltas cancel out in a sum.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        out.extend_from_slice(&h.to_be_bytes());
    }
    out
}

impl Table {
    /// `n` rows keyed `id` = 0, 10, 20, … with contents "row k".
    pub fn ints(n: i64) -> Table {
        Table {
            columns: vec![
                ("id".into(), "int".into()),
                ("name".into(), "nvarchar".into()),
            ],
            key: vec!["id".into()],
            rows: (0..n)
                .map(|k| (vec![i(k * 10)], format!("row {k}")))
                .collect(),
        }
    }
    pub fn put(&mut self, key: Vec<SqlValue>, contents: &str) {
        self.rows.retain(|(k, _)| !keq(k, &key));
        self.rows.push((key, contents.to_owned()));
        self.rows.sort_by(|a, b| cmp_key(&a.0, &b.0));
    }
    pub fn delete(&mut self, key: &[SqlValue]) {
        self.rows.retain(|(k, _)| !keq(k, key));
    }

    fn bound(params: &[Param], prefix: &str) -> Option<Vec<SqlValue>> {
        let mut out = Vec::new();
        for n in 0.. {
            let name = format!("{prefix}{n}");
            match params.iter().find(|p| p.name == name) {
                Some(Param {
                    value: ParamValue::Value(v),
                    ..
                }) => out.push(v.clone()),
                _ => break,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn in_range(&self, params: &[Param]) -> Vec<&(Vec<SqlValue>, String)> {
        let lo = Self::bound(params, "lo");
        let hi = Self::bound(params, "hi");
        self.rows
            .iter()
            .filter(|(k, _)| {
                lo.as_ref().is_none_or(|lo| cmp_key(k, lo).is_gt())
                    && hi.as_ref().is_none_or(|hi| cmp_key(k, hi).is_le())
            })
            .collect()
    }

    fn answer(&self, sql: &str, params: &[Param]) -> QueryResult {
        let key_cols: Vec<&str> = self.key.iter().map(String::as_str).collect();
        if sql.contains("CHECKSUM_AGG(BINARY_CHECKSUM(*))") {
            let sum = self.rows.iter().fold(0i64, |a, (k, c)| {
                let h = row_hash(k, c);
                a ^ i64::from(i32::from_be_bytes([h[0], h[1], h[2], h[3]]))
            });
            return set(
                &["row_count", "checksum"],
                vec![vec![i(self.rows.len() as i64), i(sum)]],
            );
        }
        if sql.starts_with("SELECT COUNT_BIG(*) AS row_count FROM") {
            return set(&["row_count"], vec![vec![i(self.rows.len() as i64)]]);
        }
        let rows = self.in_range(params);
        if sql.contains("SUM(CAST(CAST(SUBSTRING(r.h, 1, 4)") {
            let (mut a, mut b) = (0i64, 0i64);
            for (k, c) in &rows {
                let h = row_hash(k, c);
                a += i64::from(i32::from_be_bytes([h[0], h[1], h[2], h[3]]));
                b += i64::from(i32::from_be_bytes([h[4], h[5], h[6], h[7]]));
            }
            let (a, b) = if rows.is_empty() {
                (SqlValue::Null, SqlValue::Null)
            } else {
                (i(a), i(b))
            };
            return set(
                &["row_count", "sum_a", "sum_b"],
                vec![vec![i(rows.len() as i64), a, b]],
            );
        }
        if sql.contains("OFFSET @offset ROWS") {
            let offset = match params.iter().find(|p| p.name == "offset") {
                Some(Param {
                    value: ParamValue::Value(SqlValue::Int(n)),
                    ..
                }) => *n as usize,
                _ => panic!("no @offset"),
            };
            let out = rows
                .get(offset)
                .map(|(k, _)| k.clone())
                .into_iter()
                .collect();
            return set(&key_cols, out);
        }
        if sql.contains("AS row_hash FROM") {
            let mut cols = key_cols.clone();
            cols.push("row_hash");
            let out = rows
                .iter()
                .map(|(k, c)| {
                    let mut r = k.clone();
                    r.push(SqlValue::Binary(row_hash(k, c)));
                    r
                })
                .collect();
            return set(&cols, out);
        }
        panic!("the table model cannot answer: {sql}");
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

pub const DB: &str = "Sales";

/// A database whose catalogs are the same on any server it is put on: properties, a table,
/// a view, a foreign key, a user with its login, a role member, a permission.
pub fn database() -> Server {
    Server::default()
        .catalog(
            "FROM sys.databases WHERE name = @db",
            &[
                "collation_name",
                "recovery_model_desc",
                "state_desc",
                "is_read_committed_snapshot_on",
                "snapshot_isolation_state_desc",
                "is_broker_enabled",
                "page_verify_option_desc",
                "containment_desc",
                "is_encrypted",
                "is_accelerated_database_recovery_on",
            ],
            vec![vec![
                t("SQL_Latin1_General_CP1_CI_AS"),
                t("FULL"),
                t("ONLINE"),
                i(0),
                t("OFF"),
                i(0),
                t("CHECKSUM"),
                t("NONE"),
                i(0),
                i(1),
            ]],
        )
        .catalog(
            "SELECT compatibility_level FROM sys.databases",
            &["compatibility_level"],
            vec![vec![i(150)]],
        )
        .catalog(
            "MAX(compatibility_level) AS highest",
            &["highest"],
            vec![vec![i(160)]],
        )
        .catalog(
            "sys.objects AS o JOIN",
            &["schema_name", "object_name", "type_desc"],
            vec![
                vec![t("dbo"), t("Orders"), t("USER_TABLE")],
                vec![t("dbo"), t("Customers"), t("USER_TABLE")],
                vec![t("dbo"), t("vOrders"), t("VIEW")],
                vec![
                    t("dbo"),
                    t("FK_Orders_Customers"),
                    t("FOREIGN_KEY_CONSTRAINT"),
                ],
            ],
        )
        .catalog(
            "sys.sql_modules AS m",
            &["schema_name", "object_name", "definition_hash"],
            vec![vec![
                t("dbo"),
                t("vOrders"),
                SqlValue::Binary(vec![0xAB; 32]),
            ]],
        )
        .catalog(
            "sys.indexes AS i",
            &[
                "schema_name",
                "table_name",
                "index_name",
                "type_desc",
                "is_unique",
                "is_primary_key",
                "is_disabled",
                "has_filter",
            ],
            vec![vec![
                t("dbo"),
                t("Orders"),
                t("PK_Orders"),
                t("CLUSTERED"),
                i(1),
                i(1),
                i(0),
                i(0),
            ]],
        )
        .catalog(
            "sys.foreign_keys AS c",
            &[
                "schema_name",
                "table_name",
                "constraint_name",
                "type_desc",
                "is_disabled",
                "is_not_trusted",
            ],
            vec![vec![
                t("dbo"),
                t("Orders"),
                t("FK_Orders_Customers"),
                t("FOREIGN_KEY_CONSTRAINT"),
                i(0),
                i(0),
            ]],
        )
        .catalog(
            "sys.database_principals WHERE",
            &[
                "name",
                "type",
                "type_desc",
                "authentication_type_desc",
                "sid",
            ],
            vec![vec![
                t("app"),
                t("S"),
                t("SQL_USER"),
                t("INSTANCE"),
                SqlValue::Binary(vec![1, 2, 3]),
            ]],
        )
        .catalog(
            "SELECT name, sid FROM master.sys.server_principals",
            &["name", "sid"],
            vec![vec![t("app_login"), SqlValue::Binary(vec![1, 2, 3])]],
        )
        .catalog(
            "sys.database_role_members",
            &["role_name", "member_name"],
            vec![vec![t("db_datareader"), t("app")]],
        )
        .catalog(
            "sys.database_permissions",
            &[
                "class_desc",
                "permission_name",
                "state_desc",
                "grantee",
                "securable",
                "minor_id",
            ],
            vec![vec![
                t("OBJECT_OR_COLUMN"),
                t("SELECT"),
                t("GRANT"),
                t("app"),
                t("dbo.Orders"),
                i(0),
            ]],
        )
        .table(DB, "dbo", "Orders", Table::ints(2000))
}
