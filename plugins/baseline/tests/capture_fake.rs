//! The `before` capture: shaped by the documented views, kept in the storage label; the
//! plan-cache fallback on SQL Server 2014; Query Store turned on when asked; a window that
//! survives a restart without its first reads made twice.

mod common;

use baseline::Baseline;
use common::*;
use ferry_sdk::ObjectStatus;
use ferry_sdk::bindings::ferry::plugin::types::{Outcome, WaitFor};
use serde_json::json;

fn source() -> Server {
    let mut s = sql2019();
    s.queries.insert(
        130,
        vec![
            q(
                1,
                1,
                "SELECT o.Id FROM dbo.Orders AS o WHERE o.Id = @p",
                500,
                120.0,
                300.0,
                40.0,
            ),
            q(
                2,
                2,
                "UPDATE dbo.Stock SET Qty = Qty - 1 WHERE Sku = @s",
                200,
                80.0,
                200.0,
                10.0,
            ),
            q(
                2,
                3,
                "UPDATE dbo.Stock SET Qty = Qty - 1 WHERE Sku = @s",
                10,
                400.0,
                900.0,
                10.0,
            ),
        ],
    );
    s.store_waits = vec![("Buffer IO", 5000.0), ("Lock", 300.0), ("Idle", 90000.0)];
    s.os_waits = vec![
        vec![("PAGEIOLATCH_SH", 1000), ("LCK_M_S", 10), ("SLEEP_TASK", 5)],
        vec![
            ("PAGEIOLATCH_SH", 7000),
            ("LCK_M_S", 310),
            ("SLEEP_TASK", 99999),
        ],
    ];
    s
}

#[test]
fn the_baseline_holds_the_top_queries_with_plans_and_waits_as_the_views_give_them() {
    let w = world(source(), mi());
    let mut h = host(&w);
    let out = h.run_item::<Baseline>(before_config(), "Sales").unwrap();
    assert_eq!(out["phase"], "before");
    let b = stored(&h, "Sales");
    // The output summarizes what the store holds in full.
    for key in [
        "origin",
        "totals",
        "waits",
        "captured_at",
        "compatibility_level",
    ] {
        assert_eq!(b[key], out[key], "{key}");
    }
    assert_eq!(
        out["kept_in"],
        "`baseline/Sales.before.json` in `baselines`"
    );
    assert_eq!(out["queries"][0]["avg_cpu_us"], 120.0);
    assert_eq!(out["queries"][0]["plan_hash"], plan_of(1));
    assert_eq!(b["origin"], "query_store");
    assert_eq!(b["compatibility_level"], 130);
    assert_eq!(b["window_seconds"], 1800);
    let q1 = &b["queries"][0];
    assert_eq!(q1["query_hash"], hash_of(1));
    assert_eq!(q1["executions"], 500);
    assert_eq!(q1["cpu_us"], 60000.0);
    assert_eq!(q1["plans"][0]["plan_hash"], plan_of(1));
    let q2 = &b["queries"][1];
    assert_eq!(q2["executions"], 210, "both plans of the query count");
    assert_eq!(
        q2["plans"][0]["plan_hash"],
        plan_of(2),
        "the plan with the most CPU first"
    );
    assert_eq!(b["totals"]["queries"], 2);
    // Query Store's categories (Idle left out) and the instance's window (7000 - 1000).
    assert_eq!(
        b["waits"]["query_store"],
        json!([{"category": "Buffer IO", "wait_ms": 5000.0}, {"category": "Lock", "wait_ms": 300.0}])
    );
    assert_eq!(
        b["waits"]["instance"][0],
        json!({"category": "Buffer IO", "wait_ms": 6000.0})
    );
    assert_eq!(h.waits.len(), 1, "one window waited");
    assert_eq!(h.waits[0].1, "1800000 ms");
    let rows = rows_of(&h, "baseline");
    assert_eq!(rows[0].1, ObjectStatus::Passed, "{rows:?}");
    // The reads are the documented ones: totals from the per-interval averages.
    let log = sent(&w, "source");
    let qs = log
        .iter()
        .find(|s| s.contains("sys.query_store_runtime_stats"))
        .unwrap();
    for part in [
        "SUM(rs.avg_cpu_time * rs.count_executions)",
        "SUM(rs.avg_duration * rs.count_executions)",
        "SUM(rs.avg_logical_io_reads * rs.count_executions)",
        "[Sales].sys.query_store_plan",
        // The window waited: the intervals it touches, read at its start (the server's
        // time, as the driver sent it) and at its end.
        "rsi.end_time > N'2026-11-30 01:00:00'",
        "GROUP BY q.query_hash, p.query_plan_hash",
    ] {
        assert!(qs.contains(part), "{part} in {qs}");
    }
    assert_eq!(
        log.iter()
            .filter(|s| s.contains("sys.query_store_runtime_stats AS rs")
                && !s.contains("sys.query_store_wait_stats"))
            .count(),
        2,
        "a read at the window's start and one at its end"
    );
    let waits = log
        .iter()
        .find(|s| s.contains("sys.query_store_wait_stats"))
        .unwrap();
    assert!(
        waits.contains("SUM(ws.total_query_wait_time_ms)"),
        "{waits}"
    );
    assert!(
        waits.contains("rs.execution_type = ws.execution_type"),
        "{waits}"
    );
    assert!(
        !log.iter().any(|s| s.starts_with("ALTER")),
        "nothing changed: {log:?}"
    );
}

#[test]
fn sql_server_2014_is_captured_from_the_plan_cache_with_a_warning() {
    let mut s = source();
    s.version = "12.0.6024.0";
    s.cache = vec![
        vec![q(1, 1, "SELECT 1", 100, 120.0, 300.0, 40.0)],
        vec![
            q(1, 1, "SELECT 1", 600, 120.0, 300.0, 40.0),
            q(7, 7, "SELECT 7", 3, 10.0, 10.0, 1.0),
        ],
    ];
    let w = world(s, mi());
    let mut h = host(&w);
    let mut cfg = before_config();
    cfg["wait"] = json!(false);
    let out = h.run_item::<Baseline>(cfg, "Sales").unwrap();
    assert_eq!(out["origin"], "exec_query_stats");
    let b = stored(&h, "Sales");
    assert_eq!(b["origin"], "exec_query_stats");
    assert_eq!(
        b["queries"][0]["executions"], 500,
        "the difference of the two reads"
    );
    assert_eq!(b["queries"][0]["cpu_us"], 600.0 * 120.0 - 100.0 * 120.0);
    assert_eq!(b["waits"]["query_store"], json!(null));
    assert_eq!(
        h.waits.len(),
        1,
        "the plan cache has no history: the window is waited"
    );
    assert!(
        h.logs
            .iter()
            .any(|(_, m)| m.contains("Query Store exists from SQL Server 2016")),
        "{:?}",
        h.logs
    );
    assert_eq!(rows_of(&h, "baseline")[0].1, ObjectStatus::Warning);
    let log = sent(&w, "source");
    assert!(!log.iter().any(|s| s.contains("query_store")), "{log:?}");
    let cache = log
        .iter()
        .find(|s| s.contains("sys.dm_exec_query_stats"))
        .unwrap();
    assert!(cache.contains("CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS st"));
    // The plan's dbid attribute: sys.dm_exec_sql_text's dbid is NULL for ad hoc batches.
    assert!(
        cache.contains(
            "CROSS APPLY sys.dm_exec_plan_attributes(qs.plan_handle) AS pa \
             WHERE pa.attribute = N'dbid' AND CONVERT(int, pa.value) = DB_ID(N'Sales')"
        ),
        "{cache}"
    );
}

#[test]
fn query_store_off_is_turned_on_when_asked_and_the_window_waited() {
    let mut s = source();
    s.store = "OFF";
    let w = world(s, mi());
    let mut h = host(&w);
    let mut cfg = before_config();
    cfg["wait"] = json!(false);
    cfg["enable_query_store"] = json!(true);
    let out = h.run_item::<Baseline>(cfg, "Sales").unwrap();
    assert_eq!(out["origin"], "query_store");
    let alters: Vec<String> = sent(&w, "source")
        .into_iter()
        .filter(|s| s.starts_with("ALTER"))
        .collect();
    assert_eq!(
        alters,
        ["ALTER DATABASE [Sales] SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)"]
    );
    assert_eq!(h.waits.len(), 1, "no history yet: the window is waited");
}

#[test]
fn query_store_off_without_the_option_falls_back_to_the_plan_cache() {
    let mut s = source();
    s.store = "OFF";
    s.cache = vec![vec![], vec![q(1, 1, "SELECT 1", 50, 1.0, 1.0, 1.0)]];
    let w = world(s, mi());
    let mut h = host(&w);
    let out = h.run_item::<Baseline>(before_config(), "Sales").unwrap();
    assert_eq!(out["origin"], "exec_query_stats");
    assert!(
        out["notes"][0]
            .as_str()
            .unwrap()
            .contains("enable_query_store")
    );
}

#[test]
fn a_restart_during_the_window_captures_without_reading_its_start_again() {
    let w = world(source(), mi());
    let mut h = host(&w);
    let cfg = before_config();
    let ctx = h.context(&cfg, "Sales", 1);
    let Outcome::Wait(wait) = ferry_sdk::run_step::<Baseline>(&mut h, ctx, None).unwrap() else {
        panic!("the window is waited")
    };
    assert!(matches!(wait.until, WaitFor::DurationMs(ms) if ms == 30 * 60_000));
    assert_eq!(w.borrow().servers["source"].os_reads, 1);
    // ferry is killed while waiting; the host resumes the wait, then calls with the journaled
    // state on a fresh instance (attempt 2: the call was not finished before).
    let mut h = host(&w);
    let ctx = h.context(&cfg, "Sales", 2);
    let done = ferry_sdk::run_step::<Baseline>(&mut h, ctx, Some(&wait.state)).unwrap();
    assert!(matches!(done, Outcome::Done(_)), "{done:?}");
    assert_eq!(
        w.borrow().servers["source"].os_reads,
        2,
        "start and end, once each"
    );
    assert_eq!(
        stored(&h, "Sales")["waits"]["instance"][0]["wait_ms"],
        6000.0
    );
}

#[test]
fn a_database_the_server_does_not_have_is_named() {
    let mut s = source();
    s.has_db = false;
    let w = world(s, mi());
    let mut h = host(&w);
    let e = h
        .run_item::<Baseline>(before_config(), "Sales")
        .unwrap_err();
    assert!(e.describe().contains("[Sales] is not on `source`"), "{e:?}");
}

#[test]
fn a_plan_reads_and_records_without_waiting() {
    let mut s = source();
    s.store = "OFF";
    let w = world(s, mi());
    let mut h = host(&w);
    h.planning = true;
    let mut cfg = after_config();
    cfg["enable_query_store"] = json!(true);
    let out = h.run_item::<Baseline>(cfg, "Sales").unwrap();
    assert_eq!(
        out["planned"], true,
        "no baseline yet is no error in a plan: {out}"
    );
    assert!(h.waits.is_empty());
}

#[test]
fn every_read_passes_the_read_grant_classifier() {
    let mut old = source();
    old.version = "12.0.6024.0";
    for s in [source(), old] {
        let w = world(s, mi());
        let mut h = host(&w);
        h.run_item::<Baseline>(before_config(), "Sales").unwrap();
        h.run_item::<Baseline>(after_config(), "Sales").unwrap();
        for label in ["source", "target"] {
            for sql in sent(&w, label).iter().filter(|s| !s.starts_with("ALTER")) {
                if let Err(r) = ferry_tsql::read_only::check(sql) {
                    panic!("{r}: {sql}");
                }
            }
        }
    }
}

#[test]
fn a_waited_window_is_its_end_less_its_start_so_earlier_executions_do_not_count() {
    let mut s = source();
    // The interval the window falls in already held 100 executions of query 1 (and, on a
    // restored database, they may be the source's) and 1000 ms of Buffer IO.
    s.store_start = vec![q(1, 1, "SELECT o.Id", 100, 120.0, 300.0, 40.0)];
    s.queries.insert(
        130,
        vec![
            q(1, 1, "SELECT o.Id", 600, 120.0, 300.0, 40.0),
            q(5, 5, "SELECT 5", 50, 10.0, 20.0, 1.0),
        ],
    );
    s.store_waits_start = vec![("Buffer IO", 1000.0)];
    s.store_waits = vec![("Buffer IO", 1600.0), ("Lock", 30.0)];
    let w = world(s, mi());
    let mut h = host(&w);
    h.run_item::<Baseline>(before_config(), "Sales").unwrap();
    let b = stored(&h, "Sales");
    assert_eq!(b["queries"][0]["executions"], 500, "{b}");
    assert_eq!(b["queries"][0]["cpu_us"], 500.0 * 120.0);
    assert_eq!(
        b["queries"][1]["executions"], 50,
        "new in the window: whole"
    );
    assert_eq!(
        b["waits"]["query_store"],
        json!([{"category": "Buffer IO", "wait_ms": 600.0}, {"category": "Lock", "wait_ms": 30.0}])
    );
}

#[test]
fn a_history_capture_reads_the_last_window_and_says_what_its_totals_hold() {
    let w = world(source(), mi());
    let mut h = host(&w);
    let mut cfg = before_config();
    cfg["wait"] = json!(false);
    h.run_item::<Baseline>(cfg, "Sales").unwrap();
    assert!(h.waits.is_empty(), "history: nothing waited");
    let b = stored(&h, "Sales");
    assert_eq!(b["queries"][0]["executions"], 500);
    assert!(
        b["notes"].to_string().contains("whole intervals"),
        "{}",
        b["notes"]
    );
    let log = sent(&w, "source");
    let qs = log
        .iter()
        .find(|s| s.contains("sys.query_store_runtime_stats AS rs"))
        .unwrap();
    for part in [
        "rsi.end_time > DATEADD(SECOND, -1800, GETUTCDATE())",
        // A restored database's Query Store holds the source's last interval.
        "rs.last_execution_time > DATEADD(SECOND, -1800, GETUTCDATE())",
    ] {
        assert!(qs.contains(part), "{part} in {qs}");
    }
}
