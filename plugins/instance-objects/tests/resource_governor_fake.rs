//! Resource Governor on a scripted catalog: user pools and groups made with their settings,
//! IOPS limits dropped for Managed Instance, the default pool altered, a group whose pool is
//! not moved skipped, a classifier refused, RECONFIGURE last; a second pass unchanged; a pool
//! that differs is a conflict, replaced only with `replace = true`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Sent, Server, bracketed, config, host, i, row, t};
use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

const POOLS: &str = "sys.resource_governor_resource_pools";
const GROUPS: &str = "sys.resource_governor_workload_groups";
const CONF: &str = "sys.resource_governor_configuration";
const POOL_COLS: [&str; 9] = [
    "pool_id",
    "name",
    "min_cpu_percent",
    "max_cpu_percent",
    "cap_cpu_percent",
    "min_memory_percent",
    "max_memory_percent",
    "min_iops_per_volume",
    "max_iops_per_volume",
];
const GROUP_COLS: [&str; 9] = [
    "group_id",
    "name",
    "importance",
    "request_max_memory_grant_percent",
    "request_max_cpu_time_sec",
    "request_memory_grant_timeout_sec",
    "max_dop",
    "group_max_requests",
    "pool_id",
];

fn pool(id: i64, name: &str, s: [i64; 7]) -> Vec<SqlValue> {
    let mut r = vec![i(id), t(name)];
    r.extend(s.map(i));
    r
}

fn group(id: i64, name: &str, importance: &str, s: [i64; 5], pool: i64) -> Vec<SqlValue> {
    let mut r = vec![i(id), t(name), t(importance)];
    r.extend(s.map(i));
    r.push(i(pool));
    r
}

const DEFAULTS: [i64; 7] = [0, 100, 100, 0, 100, 0, 0];

fn server(pools: Vec<Vec<SqlValue>>, groups: Vec<Vec<SqlValue>>, conf: (i64, i64)) -> Server {
    let mut all_pools = vec![pool(1, "internal", DEFAULTS), pool(2, "default", DEFAULTS)];
    all_pools.extend(pools);
    let mut all_groups = vec![
        group(1, "internal", "Medium", [25, 0, 0, 0, 0], 1),
        group(2, "default", "Medium", [25, 0, 0, 0, 0], 2),
    ];
    all_groups.extend(groups);
    Server::default()
        .table(POOLS, &POOL_COLS, all_pools)
        .table(GROUPS, &GROUP_COLS, all_groups)
        .table(
            CONF,
            &["classifier_function_id", "is_enabled"],
            vec![vec![i(conf.0), i(conf.1)]],
        )
}

fn source() -> Server {
    let mut s = server(
        vec![
            pool(256, "reports", [10, 40, 50, 0, 30, 0, 500]),
            pool(257, "batch", [0, 20, 100, 0, 20, 0, 0]),
        ],
        vec![
            group(256, "reporting", "Low", [20, 60, 0, 2, 10], 256),
            group(257, "etl", "High", [25, 0, 0, 4, 0], 257),
        ],
        (1_013_578_649, 1),
    );
    s.rows_mut(POOLS)[1] = pool(2, "default", [0, 90, 100, 0, 100, 0, 0]);
    s
}

/// `K = v` pairs between the first `(` and `)`.
fn options(sql: &str) -> Vec<(String, String)> {
    let inner = sql.split('(').nth(1).unwrap().split(')').next().unwrap();
    inner
        .split(", ")
        .map(|kv| {
            let (k, v) = kv.split_once(" = ").unwrap();
            (k.to_ascii_lowercase(), v.to_owned())
        })
        .collect()
}

fn set_columns(cols: &[&str], row: &mut [SqlValue], sql: &str) {
    for (k, v) in options(sql) {
        let at = cols
            .iter()
            .position(|c| *c == k)
            .unwrap_or_else(|| panic!("{k}"));
        row[at] = match v.parse::<i64>() {
            Ok(n) => i(n),
            Err(_) => t(&v),
        };
    }
}

fn id_of(s: &Server, table: &str, name: &str) -> Option<usize> {
    s.tables[table]
        .1
        .iter()
        .position(|r| matches!(&r[1], SqlValue::Text(n) if n.eq_ignore_ascii_case(name)))
}

fn learn(s: &mut Server, sql: &str) {
    let body = sql
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<String>();
    assert!(!body.contains("IOPS"), "{body}");
    if body == "ALTER RESOURCE GOVERNOR RECONFIGURE" {
        s.rows_mut(CONF)[0][1] = i(1);
    } else if let Some(name) = bracketed(&body, "RESOURCE POOL ") {
        let at = match id_of(s, POOLS, name) {
            Some(at) => at,
            None => {
                assert!(body.starts_with("CREATE"), "{body}");
                let n = 256 + s.tables[POOLS].1.len() as i64;
                s.push(POOLS, pool(n, name, DEFAULTS));
                s.tables[POOLS].1.len() - 1
            }
        };
        set_columns(&POOL_COLS, &mut s.rows_mut(POOLS)[at], &body);
    } else if let Some(name) = bracketed(&body, "WORKLOAD GROUP ") {
        let pool_id = bracketed(&body, " USING ").map(|p| {
            let at = id_of(s, POOLS, p).unwrap_or_else(|| panic!("no pool {p}"));
            s.tables[POOLS].1[at][0].clone()
        });
        let at = match id_of(s, GROUPS, name) {
            Some(at) => at,
            None => {
                assert!(body.starts_with("CREATE"), "{body}");
                let n = 256 + s.tables[GROUPS].1.len() as i64;
                s.push(GROUPS, group(n, name, "Medium", [25, 0, 0, 0, 0], 2));
                s.tables[GROUPS].1.len() - 1
            }
        };
        let row = &mut s.rows_mut(GROUPS)[at];
        set_columns(&GROUP_COLS, row, &body);
        if let SqlValue::Text(imp) = &row[2] {
            row[2] = t(&imp.to_ascii_lowercase());
        }
        if let Some(p) = pool_id {
            row[8] = p;
        }
    } else {
        panic!("unexpected {body}");
    }
}

fn run(
    target: &Rc<RefCell<Server>>,
    extra: serde_json::Value,
) -> (ferry_sdk::fake::FakeHost, serde_json::Value, Sent) {
    let sent: Sent = Rc::default();
    let mut h = host(source(), target.clone(), sent.clone(), learn);
    let out = h
        .run_item::<InstanceObjects>(config("resource_governor", extra), "(instance)")
        .unwrap();
    (h, out, sent)
}

#[test]
fn pools_and_groups_are_made_for_managed_instance_and_then_unchanged() {
    let target = Rc::new(RefCell::new(server(vec![], vec![], (0, 0))));
    let extra = json!({ "resource_governor": { "exclude": ["batch"] } });
    let (h, out, sent) = run(&target, extra.clone());
    assert_eq!(row(&h, "reports").status, ObjectStatus::Migrated);
    assert_eq!(row(&h, "reporting").status, ObjectStatus::Migrated);
    assert_eq!(row(&h, "configuration").status, ObjectStatus::Migrated);
    let etl = row(&h, "etl");
    assert_eq!(etl.status, ObjectStatus::Skipped);
    assert_eq!(etl.reason_code.as_deref(), Some("pool-not-moved"));
    let c = row(&h, "classifier function");
    assert_eq!(c.status, ObjectStatus::Refused);
    assert_eq!(
        c.reason_code.as_deref(),
        Some("classifier-function-not-moved")
    );
    assert!(
        !h.rows
            .iter()
            .any(|r| r.name == "internal" || r.name == "batch")
    );
    let sent: Vec<String> = sent.borrow().iter().map(|(s, _)| s.clone()).collect();
    let bodies: Vec<&str> = sent.iter().filter_map(|s| s.lines().last()).collect();
    assert_eq!(
        bodies,
        [
            "ALTER RESOURCE POOL [default] WITH (MIN_CPU_PERCENT = 0, MAX_CPU_PERCENT = 90, \
             CAP_CPU_PERCENT = 100, MIN_MEMORY_PERCENT = 0, MAX_MEMORY_PERCENT = 100)",
            "CREATE RESOURCE POOL [reports] WITH (MIN_CPU_PERCENT = 10, MAX_CPU_PERCENT = 40, \
             CAP_CPU_PERCENT = 50, MIN_MEMORY_PERCENT = 0, MAX_MEMORY_PERCENT = 30)",
            "CREATE WORKLOAD GROUP [reporting] WITH (IMPORTANCE = LOW, \
             REQUEST_MAX_MEMORY_GRANT_PERCENT = 20, REQUEST_MAX_CPU_TIME_SEC = 60, \
             REQUEST_MEMORY_GRANT_TIMEOUT_SEC = 0, MAX_DOP = 2, GROUP_MAX_REQUESTS = 10) \
             USING [reports]",
            "ALTER RESOURCE GOVERNOR RECONFIGURE",
        ],
        "{sent:#?}"
    );
    assert!(
        h.rows
            .iter()
            .find(|r| r.name == "reports")
            .is_some_and(|r| format!("{r:?}").contains("IOPS limits dropped")),
        "{:#?}",
        h.rows
    );
    assert_eq!(out["migrated"], 4, "{out}");

    let (again, out, sent) = run(&target, extra);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert!(sent.borrow().is_empty(), "{:#?}", sent.borrow());
    assert_eq!(row(&again, "reporting").status, ObjectStatus::Unchanged);
    assert_eq!(row(&again, "default").status, ObjectStatus::Unchanged);
}

#[test]
fn a_pool_that_differs_is_a_conflict_replaced_only_when_asked() {
    let differing = || {
        let mut s = server(
            vec![pool(256, "reports", [0, 70, 100, 0, 100, 0, 0])],
            vec![],
            (0, 1),
        );
        // The target's DBA tuned its default pool: not overwritten without `replace`.
        s.rows_mut(POOLS)[1] = pool(2, "default", [0, 80, 100, 0, 100, 0, 0]);
        s
    };
    let target = Rc::new(RefCell::new(differing()));
    let (h, _, sent) = run(
        &target,
        json!({ "resource_governor": { "exclude": ["batch"] } }),
    );
    assert_eq!(row(&h, "reports").status, ObjectStatus::Conflict);
    assert_eq!(row(&h, "default").status, ObjectStatus::Conflict);
    assert!(
        !sent
            .borrow()
            .iter()
            .any(|(s, _)| s.contains("RESOURCE POOL")),
        "{:#?}",
        sent.borrow()
    );

    let (h, _, sent) = run(
        &target,
        json!({ "replace": true, "resource_governor": { "exclude": ["batch"] } }),
    );
    assert!(
        sent.borrow().iter().any(|(s, _)| s.ends_with(
            "ALTER RESOURCE POOL [reports] WITH (MIN_CPU_PERCENT = 10, \
             MAX_CPU_PERCENT = 40, CAP_CPU_PERCENT = 50, MIN_MEMORY_PERCENT = 0, \
             MAX_MEMORY_PERCENT = 30)"
        )),
        "{:#?}",
        sent.borrow()
    );
    let rows = format!("{:?}", h.rows);
    assert!(rows.contains("reports"), "{rows}");
}
