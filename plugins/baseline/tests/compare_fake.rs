//! The `after` step: the Managed Instance captured the same way and compared with the
//! baseline the `before` step kept: a regression with both plans' hashes, none within the
//! ratio, waits that grew, the source's level kept and then raised, a missing baseline.

mod common;

use baseline::Baseline;
use common::*;
use ferry_sdk::ObjectStatus;
use ferry_sdk::fake::FakeHost;
use serde_json::{Value, json};

const ORDERS: &str = "SELECT o.Id FROM dbo.Orders AS o WHERE o.Id = @p";
const STOCK: &str = "UPDATE dbo.Stock SET Qty = Qty - 1 WHERE Sku = @s";

fn source() -> Server {
    let mut s = sql2019();
    s.queries.insert(
        130,
        vec![
            q(1, 1, ORDERS, 500, 120.0, 300.0, 40.0),
            q(2, 2, STOCK, 200, 80.0, 200.0, 10.0),
            q(3, 3, "EXEC dbo.MonthEnd", 2, 9000.0, 20000.0, 5000.0),
        ],
    );
    s.store_waits = vec![("Buffer IO", 3000.0), ("Lock", 300.0)];
    s
}

/// The MI running the same workload; `orders` is the Orders query's (plan, CPU, duration).
fn target(orders: (u8, f64, f64), buffer_io_ms: f64) -> Server {
    let mut t = mi();
    t.queries.insert(
        130,
        vec![
            q(1, orders.0, ORDERS, 510, orders.1, orders.2, 45.0),
            q(2, 2, STOCK, 190, 90.0, 210.0, 10.0),
            q(3, 3, "EXEC dbo.MonthEnd", 1, 9000.0, 20000.0, 5000.0),
        ],
    );
    t.store_waits = vec![("Buffer IO", buffer_io_ms), ("Lock", 310.0)];
    t
}

/// Runs `before` then `after` (with `extra` in its config) on one FakeHost.
fn run(w: &Shared, extra: Value) -> (FakeHost, ferry_sdk::Result<Value>) {
    let mut h = host(w);
    h.run_item::<Baseline>(before_config(), "Sales").unwrap();
    let mut cfg = after_config();
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let out = h.run_item::<Baseline>(cfg, "Sales");
    (h, out)
}

fn query(out: &Value, n: u8) -> &Value {
    out["comparison"]["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["query_hash"] == hash_of(n))
        .unwrap()
}

#[test]
fn a_regression_is_found_with_both_plans_hashes() {
    let w = world(source(), target((9, 480.0, 1200.0), 3100.0));
    let (h, out) = run(&w, json!({}));
    let out = out.unwrap();
    let orders = query(&out, 1);
    assert_eq!(orders["verdict"], "regressed");
    assert_eq!(orders["before"]["plan_hash"], plan_of(1));
    assert_eq!(orders["after"]["plan_hash"], plan_of(9));
    assert_eq!(orders["plan_changed"], true);
    assert_eq!(orders["cpu_ratio"], 4.0);
    assert_eq!(
        query(&out, 2)["verdict"],
        "unchanged",
        "×1.125 is within ×1.5"
    );
    assert_eq!(query(&out, 3)["verdict"], "too-few-executions");
    assert_eq!(out["regressions"], 1);
    let rows = rows_of(&h, "query");
    let row = rows.iter().find(|r| r.0.contains(&hash_of(1))).unwrap();
    assert_eq!(
        (row.1, row.2.as_str()),
        (ObjectStatus::Warning, "regressed")
    );
    assert!(
        row.0.starts_with("Sales: 0x0000000000000001 SELECT o.Id"),
        "{}",
        row.0
    );
    for part in [
        "avg CPU 120 µs → 480 µs (×4.00)",
        &plan_of(1),
        &plan_of(9),
        "(plan changed)",
    ] {
        assert!(row.3.contains(part), "{part} in {}", row.3);
    }
    let skipped = rows.iter().find(|r| r.0.contains(&hash_of(3))).unwrap();
    assert_eq!(skipped.1, ObjectStatus::Skipped);
    let perf = rows_of(&h, "performance");
    assert_eq!(perf[0].1, ObjectStatus::Warning, "{perf:?}");
    // The series a report plots: the same order in every list.
    let s = &out["series"]["queries"];
    assert_eq!(s["labels"].as_array().unwrap().len(), 3);
    assert_eq!(s["before_avg_cpu_us"][0], 120.0);
    assert_eq!(s["after_avg_cpu_us"][0], 480.0);
    assert_eq!(s["verdicts"][0], "regressed");
    // The report's charts: CPU and duration per query (the heaviest before first), in ms.
    let cpu = h
        .charts
        .iter()
        .find(|c| c.title == "Average CPU per query")
        .expect("a CPU chart");
    assert_eq!(cpu.unit, "ms");
    assert_eq!(cpu.labels.len(), 3);
    let at = cpu.labels.iter().position(|l| *l == hash_of(1)).unwrap();
    assert_eq!(cpu.series[0].name, "before");
    assert_eq!(cpu.series[0].values[at], 0.12);
    assert_eq!(cpu.series[1].values[at], 0.48);
    assert!(
        h.charts
            .iter()
            .any(|c| c.title == "Average duration per query")
    );
}

#[test]
fn regression_status_failed_fails_the_database_naming_the_plans() {
    let w = world(source(), target((9, 480.0, 1200.0), 3100.0));
    let (h, out) = run(&w, json!({"regression_status": "failed"}));
    let e = out.unwrap_err().describe();
    assert!(e.contains("1 queries regressed"), "{e}");
    assert!(
        e.contains(&format!("plan {} → {}", plan_of(1), plan_of(9))),
        "{e}"
    );
    let rows = rows_of(&h, "query");
    assert!(rows.iter().any(|r| r.1 == ObjectStatus::Failed));
}

#[test]
fn figures_within_the_ratio_are_no_regression() {
    let w = world(source(), target((1, 150.0, 390.0), 3100.0));
    let (h, out) = run(&w, json!({}));
    let out = out.unwrap();
    assert_eq!(
        query(&out, 1)["verdict"],
        "unchanged",
        "×1.25 and ×1.3 are within ×1.5"
    );
    assert_eq!(query(&out, 1)["plan_changed"], false);
    assert_eq!(out["regressions"], 0);
    assert_eq!(rows_of(&h, "performance")[0].1, ObjectStatus::Passed);
    assert!(
        rows_of(&h, "wait")
            .iter()
            .all(|r| r.1 == ObjectStatus::Passed)
    );
    // A faster MI is an improvement, reported as unchanged.
    let w = world(source(), target((1, 40.0, 100.0), 3000.0));
    let (h, out) = run(&w, json!({}));
    assert_eq!(query(&out.unwrap(), 1)["verdict"], "improved");
    let row = rows_of(&h, "query")
        .into_iter()
        .find(|r| r.0.contains(&hash_of(1)))
        .unwrap();
    assert_eq!((row.1, row.2.as_str()), (ObjectStatus::Passed, "improved"));
}

#[test]
fn waits_that_grew_are_reported() {
    let w = world(source(), target((1, 120.0, 300.0), 30_000.0));
    let (h, out) = run(&w, json!({}));
    let out = out.unwrap();
    assert_eq!(out["comparison"]["waits_source"], "query_store");
    let waits = rows_of(&h, "wait");
    let io = waits.iter().find(|r| r.0 == "Sales: Buffer IO").unwrap();
    assert_eq!(
        (io.1, io.2.as_str()),
        (ObjectStatus::Warning, "wait-grew"),
        "{io:?}"
    );
    assert!(io.3.contains("100 → 1000 ms per minute"), "{}", io.3);
    let lock = waits.iter().find(|r| r.0 == "Sales: Lock").unwrap();
    assert_eq!(lock.1, ObjectStatus::Passed);
    assert_eq!(rows_of(&h, "performance")[0].1, ObjectStatus::Warning);
    assert_eq!(out["series"]["waits"]["categories"][0], "Buffer IO");
    assert_eq!(out["series"]["waits"]["after_ms_per_minute"][0], 1000.0);
}

#[test]
fn the_source_level_is_kept_first_then_raised_and_compared_again() {
    let mut t = target((1, 120.0, 300.0), 3000.0);
    t.level = 150;
    // At 160 the Orders query takes another plan and slows down.
    t.queries.insert(
        160,
        vec![
            q(1, 5, ORDERS, 500, 400.0, 900.0, 40.0),
            q(2, 2, STOCK, 200, 80.0, 200.0, 10.0),
        ],
    );
    let w = world(source(), t);
    // History capture asked, but a level just set has no history: both windows are waited.
    let (h, out) = run(&w, json!({"raise_compatibility": true, "wait": false}));
    let out = out.unwrap();
    let alters: Vec<String> = sent(&w, "target")
        .into_iter()
        .filter(|s| s.starts_with("ALTER"))
        .collect();
    assert_eq!(
        alters,
        [
            "ALTER DATABASE [Sales] SET COMPATIBILITY_LEVEL = 130",
            "ALTER DATABASE [Sales] SET COMPATIBILITY_LEVEL = 160",
        ]
    );
    assert_eq!(out["comparison"]["after_level"], 130);
    assert_eq!(query(&out, 1)["verdict"], "unchanged");
    let raised = &out["raised"]["comparison"];
    assert_eq!(raised["after_level"], 160);
    let orders = raised["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["query_hash"] == hash_of(1))
        .unwrap();
    assert_eq!(orders["verdict"], "regressed");
    assert_eq!(orders["after"]["plan_hash"], plan_of(5));
    assert_eq!(out["regressions"], 1);
    assert_eq!(
        h.waits.len(),
        3,
        "the before window and both after, though `wait = false`"
    );
    assert_eq!(rows_of(&h, "query").len(), 3, "each kept-level query once");
    assert!(
        rows_of(&h, "query-raised")
            .iter()
            .any(|r| r.3.starts_with("raised to 160"))
    );
}

#[test]
fn an_after_step_without_a_baseline_stops_before_waiting() {
    let w = world(source(), target((1, 120.0, 300.0), 3000.0));
    let mut h = host(&w);
    let e = h
        .run_item::<Baseline>(after_config(), "Sales")
        .unwrap_err()
        .describe();
    assert!(
        e.contains("`baseline/Sales.before.json` is not in `baselines`"),
        "{e}"
    );
    assert!(e.contains("phase = \"before\""), "{e}");
    assert!(h.waits.is_empty());
    // A baseline of another database is refused by name.
    let mut h = host(&w).object(
        "baselines",
        "baseline/Sales.before.json",
        br#"{"format": "x"}"#,
    );
    let e = h
        .run_item::<Baseline>(after_config(), "Sales")
        .unwrap_err()
        .describe();
    assert!(e.contains("not a baseline ferry can read"), "{e}");
}

#[test]
fn a_kill_after_the_raise_captures_the_kept_level_again_and_raises_on() {
    use ferry_sdk::bindings::ferry::plugin::types::Outcome;
    let mut t = target((1, 120.0, 300.0), 3000.0);
    t.queries
        .insert(160, vec![q(1, 5, ORDERS, 500, 400.0, 900.0, 40.0)]);
    let w = world(source(), t);
    let mut h = host(&w);
    h.run_item::<Baseline>(before_config(), "Sales").unwrap();
    let mut cfg = after_config();
    cfg["raise_compatibility"] = json!(true);
    let step = |h: &mut FakeHost, state: Option<&str>, attempt: u32| {
        let ctx = h.context(&cfg, "Sales", attempt);
        ferry_sdk::run_step::<Baseline>(h, ctx, state).unwrap()
    };
    let Outcome::Wait(window) = step(&mut h, None, 1) else {
        panic!("the kept level's window is waited")
    };
    // The window's call raises the level, then ferry is killed before the journal has the
    // state it returned: the call is made again with the window's state.
    let Outcome::Wait(_lost) = step(&mut h, Some(&window.state), 1) else {
        panic!("the raised level's window is waited")
    };
    assert_eq!(w.borrow().servers["target"].level, 160);
    let Outcome::Wait(raised) = step(&mut h, Some(&window.state), 2) else {
        panic!("raised again, not taken for a level already reached")
    };
    let Outcome::Done(out) = step(&mut h, Some(&raised.state), 1) else {
        panic!("done after the raised window")
    };
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        out["comparison"]["after_level"], 130,
        "the kept window ran at 130"
    );
    assert_eq!(out["raised"]["comparison"]["after_level"], 160);
    assert_eq!(
        out["raised"]["comparison"]["queries"][0]["verdict"],
        "regressed"
    );
    // (This fake answers Query Store by the level now, so the repeated kept-level read sees
    // the raised figures; a real Query Store returns the intervals the window ran in.)
}
