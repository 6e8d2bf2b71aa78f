//! A scripted world for FakeHost tests: a source SQL Server, a Managed Instance over T-SQL and
//! its ARM, one database, answering the plugin's queries by the view each names and learning
//! from its statements and ARM calls, so a whole link can be run from preconditions to the
//! dropped AG.

#![allow(dead_code)]

mod mi;
mod source;

use std::cell::RefCell;
use std::rc::Rc;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{Column, QueryResult, RowSet, SqlValue};
use mi_link::MiLink;
use serde_json::{Value, json};

pub fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}
pub fn i(n: i64) -> SqlValue {
    SqlValue::Int(n)
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

pub(crate) fn none() -> QueryResult {
    QueryResult {
        sets: vec![],
        messages: vec![],
    }
}

#[derive(Debug, Clone)]
pub struct Cert {
    pub name: String,
    pub id: i64,
    pub thumbprint: String,
    pub expiry: String,
    pub der: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct World {
    pub version: String,
    pub edition: String,
    pub hadr: bool,
    pub sysadmin: bool,
    pub server: String,
    pub db_state: String,
    pub recovery: String,
    pub collation: String,
    pub encrypted: bool,
    pub master_key: bool,
    pub fulls: i64,
    /// The AG (by name) the database is in.
    pub in_ag: Option<String>,
    pub certs: Vec<Cert>,
    /// (name, state, auth, certificate_id, encrypted, algorithm, port)
    pub endpoint: Option<(String, String, String, i64, bool, String, i64)>,
    pub ags: Vec<String>,
    pub mi_collation: String,
    pub mi_policy: String,
    pub mi_cert_thumbprints: Vec<String>,
    pub trust: Vec<(String, String)>,
    pub link: Option<Value>,
    /// GETs of the link before seeding ends.
    pub seeding_gets: u32,
    /// A state the link turns to instead of synchronizing, with its error text.
    pub link_fault: Option<(String, String)>,
    /// The link's PUT fails with this message.
    pub put_fails: Option<String>,
    pub source_role: String,
    pub mi_role: String,
    pub mode_sync: bool,
    /// LSNs: (source local, source remote, MI via ARM); reads of the replica DMV until the
    /// remote and MI catch up with the local.
    pub lsn: u128,
    pub catchup_reads: u32,
    pub replica_reads: u32,
    pub mi_backups: i64,
    pub failovers: u32,
    /// A forced failover leaves the source PRIMARY too (split brain).
    pub split_brain_on_force: bool,
    pub failover_group: bool,
    /// Connectivity: whether each tnc succeeds.
    pub tnc_ok: bool,
    pub jobs: Vec<String>,
    pub planning: bool,
    /// ARM's `partnerAuthCertValidity.expiryDate`, if any.
    pub partner_cert_expiry: Option<String>,
}

impl Default for World {
    fn default() -> Self {
        World {
            version: "16.0.4125.3".into(),
            edition: "Enterprise Edition (64-bit)".into(),
            hadr: true,
            sysadmin: true,
            server: "SQL01".into(),
            db_state: "ONLINE".into(),
            recovery: "FULL".into(),
            collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            encrypted: false,
            master_key: true,
            fulls: 1,
            in_ag: None,
            certs: vec![],
            endpoint: None,
            ags: vec![],
            mi_collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            mi_policy: "SQLServer2022".into(),
            mi_cert_thumbprints: vec![],
            trust: vec![],
            link: None,
            seeding_gets: 2,
            link_fault: None,
            put_fails: None,
            source_role: "PRIMARY".into(),
            mi_role: "Secondary".into(),
            mode_sync: false,
            lsn: 71000009407900001,
            catchup_reads: 2,
            replica_reads: 0,
            mi_backups: 3,
            failovers: 0,
            split_brain_on_force: false,
            failover_group: false,
            tnc_ok: true,
            jobs: vec![],
            planning: false,
            partner_cert_expiry: None,
        }
    }
}

pub(crate) const MI_ID: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi1";

pub(crate) fn bracketed(sql: &str, after: &str) -> String {
    sql.split(after)
        .nth(1)
        .and_then(|r| r.trim_start().strip_prefix('['))
        .and_then(|r| r.split(']').next())
        .unwrap_or_default()
        .to_owned()
}

pub fn host(world: &Rc<RefCell<World>>) -> FakeHost {
    let w = world.clone();
    let a = world.clone();
    FakeHost::new()
        .on_query(move |label, sql, params| {
            let mut w = w.borrow_mut();
            if label == "target" {
                w.mi(sql, params)
            } else {
                w.source(sql, params)
            }
        })
        .on_azure(move |_label, req| a.borrow_mut().arm(req))
}

pub fn config() -> Value {
    json!({ "source_address": "10.0.0.4", "stable_seconds": 0, "poll_seconds": 1 })
}

pub fn world() -> Rc<RefCell<World>> {
    Rc::new(RefCell::new(World::default()))
}

/// The ARM calls that change something, as `METHOD path`.
pub fn arm_changes(host: &FakeHost) -> Vec<String> {
    host.arm
        .iter()
        .filter(|(_, r)| r.method != "GET")
        .map(|(_, r)| format!("{} {}", r.method, r.path))
        .collect()
}

pub fn statements(host: &FakeHost) -> Vec<String> {
    host.executed.iter().map(|(_, s)| s.clone()).collect()
}

pub fn run(
    world: &std::rc::Rc<std::cell::RefCell<World>>,
    config: serde_json::Value,
) -> (FakeHost, ferry_sdk::Result<serde_json::Value>) {
    let mut h = host(world);
    h.signals = vec!["cutover".into()];
    let out = h.run_item::<MiLink>(config, "Sales");
    (h, out)
}

pub fn position(list: &[String], needle: &str) -> usize {
    list.iter()
        .position(|s| s.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in {list:#?}"))
}
