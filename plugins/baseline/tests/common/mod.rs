//! A scripted pair of servers for FakeHost tests: the source SQL Server and the Managed
//! Instance, each answering the reads the plugin makes with rows shaped as the documented
//! views give them (Query Store's per-plan figures, its wait categories, the plan cache,
//! sys.dm_os_wait_stats) and taking the two changes it may send.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{Error, QueryResult, SqlValue};
use serde_json::{Value, json};

pub use ferry_sdk::fake::result_set as set;

fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

/// One (query, plan) pair's figures over the window, per execution.
#[derive(Debug, Clone)]
pub struct Q {
    pub hash: [u8; 8],
    pub plan: [u8; 8],
    pub text: &'static str,
    pub executions: i64,
    pub cpu_us: f64,
    pub duration_us: f64,
    pub reads: f64,
}

pub fn q(n: u8, plan: u8, text: &'static str, execs: i64, cpu: f64, dur: f64, reads: f64) -> Q {
    Q {
        hash: [0, 0, 0, 0, 0, 0, 0, n],
        plan: [0xA0, 0, 0, 0, 0, 0, 0, plan],
        text,
        executions: execs,
        cpu_us: cpu,
        duration_us: dur,
        reads,
    }
}

pub fn hash_of(n: u8) -> String {
    format!("0x00000000000000{n:02X}")
}
pub fn plan_of(n: u8) -> String {
    format!("0xA0000000000000{n:02X}")
}

#[derive(Debug, Clone)]
pub struct Server {
    pub version: &'static str,
    pub edition: i64,
    pub update_type: &'static str,
    pub level: i64,
    /// `actual_state_desc` of sys.database_query_store_options.
    pub store: &'static str,
    pub wait_capture: &'static str,
    /// Query Store's figures of the window, by the compatibility level it ran at: what a
    /// history read answers, and a waited window's read at its end.
    pub queries: BTreeMap<i64, Vec<Q>>,
    /// What a waited window's first read answers (executions of the intervals it touches
    /// from before it began); the read at its end answers `queries`, which then holds them
    /// too.
    pub store_start: Vec<Q>,
    /// sys.query_store_wait_stats by category (ms over the window; at its end).
    pub store_waits: Vec<(&'static str, f64)>,
    /// sys.query_store_wait_stats at a waited window's start.
    pub store_waits_start: Vec<(&'static str, f64)>,
    /// Reads of Query Store since a window's start made so far (even: a start, odd: an end).
    pub store_reads: usize,
    pub store_wait_reads: usize,
    /// Successive reads of sys.dm_os_wait_stats (the last repeats).
    pub os_waits: Vec<Vec<(&'static str, i64)>>,
    /// Successive reads of the plan cache, cumulative (the last repeats).
    pub cache: Vec<Vec<Q>>,
    pub os_reads: usize,
    pub cache_reads: usize,
    /// Statements that were sent, in order.
    pub log: Vec<String>,
    /// The database is there.
    pub has_db: bool,
}

pub fn sql2019() -> Server {
    Server {
        version: "15.0.4153.1",
        edition: 3,
        update_type: "",
        level: 130,
        store: "READ_WRITE",
        wait_capture: "ON",
        queries: BTreeMap::new(),
        store_start: vec![],
        store_waits: vec![],
        store_waits_start: vec![],
        store_reads: 0,
        store_wait_reads: 0,
        os_waits: vec![],
        cache: vec![],
        os_reads: 0,
        cache_reads: 0,
        log: vec![],
        has_db: true,
    }
}

pub fn mi() -> Server {
    Server {
        version: "12.0.2000.8",
        edition: 8,
        update_type: "CU",
        ..sql2019()
    }
}

pub struct World {
    pub servers: BTreeMap<String, Server>,
}

pub type Shared = Rc<RefCell<World>>;

pub fn world(source: Server, target: Server) -> Shared {
    Rc::new(RefCell::new(World {
        servers: [("source".to_owned(), source), ("target".to_owned(), target)].into(),
    }))
}

fn bin(b: &[u8]) -> SqlValue {
    SqlValue::Binary(b.to_vec())
}

fn plan_rows(qs: &[Q]) -> Vec<Vec<SqlValue>> {
    qs.iter()
        .map(|q| {
            let n = q.executions as f64;
            vec![
                bin(&q.hash),
                bin(&q.plan),
                SqlValue::Int(q.executions),
                SqlValue::Float(q.cpu_us * n),
                SqlValue::Float(q.duration_us * n),
                SqlValue::Float(q.reads * n),
                t(q.text),
            ]
        })
        .collect()
}

fn answer(s: &mut Server, sql: &str) -> ferry_sdk::Result<QueryResult> {
    s.log.push(sql.to_owned());
    if sql.starts_with("ALTER DATABASE") {
        if sql.contains("SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)") {
            s.store = "READ_WRITE";
        } else if let Some(level) = sql.split("COMPATIBILITY_LEVEL = ").nth(1) {
            s.level = level.trim().parse().unwrap();
        }
        return Ok(set(&[], vec![]));
    }
    if sql.contains("SERVERPROPERTY('ProductVersion')") {
        let rows = if s.has_db {
            vec![vec![
                t(s.version),
                SqlValue::Int(s.edition),
                t(s.update_type),
                SqlValue::Int(s.level),
            ]]
        } else {
            vec![]
        };
        return Ok(set(
            &[
                "product_version",
                "engine_edition",
                "update_type",
                "compatibility_level",
            ],
            rows,
        ));
    }
    if sql.contains("sys.database_query_store_options") {
        let wait = if sql.contains("CAST(N''") {
            ""
        } else {
            s.wait_capture
        };
        return Ok(set(
            &[
                "actual_state_desc",
                "readonly_reason",
                "wait_stats_capture_mode_desc",
            ],
            vec![vec![t(s.store), SqlValue::Int(0), t(wait)]],
        ));
    }
    if sql.contains("SYSUTCDATETIME()") {
        return Ok(set(
            &["now", "compatibility_level"],
            vec![vec![
                SqlValue::Datetime("2026-11-30T01:00:00".into()),
                SqlValue::Int(s.level),
            ]],
        ));
    }
    // A read since a window's start names the server time it began at.
    let since_start = sql.contains("rsi.end_time > N'");
    if sql.contains("sys.query_store_wait_stats") {
        let at_start = since_start && s.store_wait_reads.is_multiple_of(2);
        s.store_wait_reads += usize::from(since_start);
        let rows = if at_start {
            &s.store_waits_start
        } else {
            &s.store_waits
        }
        .iter()
        .map(|(c, ms)| vec![t(c), SqlValue::Float(*ms)])
        .collect();
        return Ok(set(
            &["wait_category_desc", "total_query_wait_time_ms"],
            rows,
        ));
    }
    if sql.contains("sys.query_store_runtime_stats") {
        let at_start = since_start && s.store_reads.is_multiple_of(2);
        s.store_reads += usize::from(since_start);
        let qs = if at_start {
            s.store_start.clone()
        } else {
            s.queries.get(&s.level).cloned().unwrap_or_default()
        };
        return Ok(set(&["query_hash"], plan_rows(&qs)));
    }
    if sql.contains("sys.dm_exec_query_stats") {
        let at = s.cache_reads.min(s.cache.len().saturating_sub(1));
        s.cache_reads += 1;
        let qs = s.cache.get(at).cloned().unwrap_or_default();
        return Ok(set(&["query_hash"], plan_rows(&qs)));
    }
    if sql.contains("sys.dm_os_wait_stats") {
        let at = s.os_reads.min(s.os_waits.len().saturating_sub(1));
        s.os_reads += 1;
        let rows = s
            .os_waits
            .get(at)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(w, ms)| vec![t(w), SqlValue::Int(ms)])
            .collect();
        return Ok(set(&["wait_type", "wait_time_ms"], rows));
    }
    Err(Error::failed(format!(
        "the fake server does not know: {sql}"
    )))
}

/// A FakeHost on `w`'s servers with the storage label `baselines`.
pub fn host(w: &Shared) -> FakeHost {
    let w = w.clone();
    FakeHost::new()
        .container("baselines", "https://acct.blob.core.windows.net/baselines")
        .on_query(move |label, sql, _| {
            let mut world = w.borrow_mut();
            match world.servers.get_mut(label) {
                Some(s) => answer(s, sql),
                None => Err(Error::failed(format!("no server `{label}`"))),
            }
        })
}

pub fn before_config() -> Value {
    json!({"phase": "before", "baseline_from": "baselines", "window_minutes": 30, "top": 5,
           "min_executions": 5})
}

pub fn after_config() -> Value {
    json!({"phase": "after", "baseline_from": "baselines", "window_minutes": 30, "top": 5,
           "min_executions": 5})
}

/// The baseline `before` wrote for `db`, as JSON.
pub fn stored(h: &FakeHost, db: &str) -> Value {
    let data = &h.objects[&("baselines".to_owned(), format!("baseline/{db}.before.json"))];
    serde_json::from_slice(data).unwrap()
}

/// The report rows of one type: (name, status, reason, notes).
pub fn rows_of(h: &FakeHost, kind: &str) -> Vec<(String, ferry_sdk::ObjectStatus, String, String)> {
    h.rows
        .iter()
        .filter(|r| r.object_type == kind)
        .map(|r| {
            (
                r.name.clone(),
                r.status,
                r.reason_code.clone().unwrap_or_default(),
                r.notes.clone().unwrap_or_default(),
            )
        })
        .collect()
}

pub fn sent(w: &Shared, label: &str) -> Vec<String> {
    w.borrow().servers[label].log.clone()
}
