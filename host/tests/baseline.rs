//! The bundled `baseline` plugin through the real `ferry` binary, running
//! `examples/baseline/migration.toml` (windows of seconds): `baseline-before` on an emulated
//! SQL Server 2019, a native restore to an emulated Managed Instance, and `baseline-after` there, with the emulator's workload generator running the same queries on
//! each side while ferry waits each window — in the first test one of them with another plan
//! on the MI.

mod common;

use common::baseline_rig::*;
use common::native_rig::{Rig, item};
use serde_json::Value;

const ORDERS: &str = "SELECT o.Id, o.Total FROM dbo.Orders AS o WHERE o.CustomerId = 42";
const CUSTOMERS: &str = "SELECT c.Name FROM dbo.Customers AS c WHERE c.Id = 7";
const PRODUCTS: &str = "SELECT COUNT(*) FROM dbo.Products";

/// The two queries that run alike on both sides.
fn steady() -> Vec<Value> {
    vec![
        query(CUSTOMERS, 200, 300, 20, 2, "A"),
        query(PRODUCTS, 100, 200, 50, 2, "A"),
    ]
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The scalar of `sql` on `server`, as text.
fn scalar(server: &ferry_emulator::Server, sql: &str) -> String {
    format!("{:?}", Rig::scalar(server, sql))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_regression_injected_on_the_mi_is_reported_with_both_plans() {
    let rig = setup(true).await;
    // The plan of ORDERS on each side, as the workload generator hashed it.
    let mut plans: Vec<String> = Vec::new();
    let (status, events, all) = tokio::task::block_in_place(|| {
        apply_driving(&rig, |step, nth| {
            let (server, orders) = match (step, nth) {
                ("baseline-before", _) => (&rig.src, query(ORDERS, 200, 500, 40, 2, "A")),
                // The MI picks another plan: 4× the CPU, 10× the reads, 15× the I/O waits.
                ("baseline-after", 0) => (&rig.mi, query(ORDERS, 200, 2000, 400, 30, "B")),
                // At the raised level a third plan, as fast as the source's.
                _ => (&rig.mi, query(ORDERS, 200, 500, 40, 2, "C")),
            };
            let mut w = vec![orders];
            w.extend(steady());
            plans.push(run_workload(server, w)[0].clone());
        })
    });
    assert!(status.success(), "{all}");
    assert_eq!(plans.len(), 3, "three windows: {all}");
    let (plan_a, plan_b, plan_c) = (&plans[0], &plans[1], &plans[2]);
    assert!(plan_a != plan_b && plan_b != plan_c, "{plans:?}");

    // The source's Query Store was off (SQL Server 2019's default) and was turned on.
    let before = item(&events, "item-done", DB).unwrap();
    assert_eq!(before["step"], "baseline-before", "{before}");
    assert_eq!(before["output"]["origin"], "query_store");
    assert_eq!(before["output"]["totals"]["executions"], 500, "{before}");
    let kept = events
        .iter()
        .find(|e| e["event"] == "row" && e["object_type"] == "baseline")
        .unwrap();
    assert!(
        text(&kept["notes"]).starts_with(&format!(
            "3 queries kept of 3 seen (500 executions) over {WINDOW_SECONDS} s from Query Store, level 150"
        )),
        "{kept}"
    );
    assert!(
        scalar(
            &rig.src,
            "SELECT actual_state_desc FROM [SalesDb].sys.database_query_store_options"
        )
        .contains("READ_WRITE")
    );

    // At the source's level: ORDERS regressed, listed with both plans and its ratio.
    let orders = row(&events, "query", "dbo.Orders");
    assert_eq!(orders["reason_code"], "regressed", "{orders}");
    assert_eq!(orders["status"], "warning", "{orders}");
    let notes = text(&orders["notes"]);
    assert!(notes.starts_with("at level 150:"), "{notes}");
    assert!(
        notes.contains(&format!("plan {plan_a} → {plan_b} (plan changed)")),
        "{notes}"
    );
    assert!(notes.contains("avg CPU 500 µs → 2.0 ms (×4.00)"), "{notes}");
    assert!(
        notes.contains("executions 200 → 200"),
        "only the window's: {notes}"
    );
    for unchanged in ["dbo.Customers", "dbo.Products"] {
        let r = row(&events, "query", unchanged);
        assert_eq!(r["reason_code"], "unchanged", "{r}");
        assert_eq!(r["status"], "passed", "{r}");
    }
    let regressed: Vec<&Value> = rows(&events, "query")
        .into_iter()
        .filter(|r| r["reason_code"] == "regressed")
        .collect();
    assert_eq!(regressed.len(), 1, "{regressed:?}");
    // The waits: ORDERS' I/O waits grew, the lock waits did not.
    let io = row(&events, "wait", "Buffer IO");
    assert_eq!(io["reason_code"], "wait-grew", "{io}");
    assert_eq!(row(&events, "wait", "Lock")["reason_code"], "wait-steady");
    let perf = row(&events, "performance", DB);
    assert_eq!(perf["reason_code"], "regressed", "{perf}");
    assert!(
        text(&perf["notes"]).contains("1 of 3 queries regressed"),
        "{perf}"
    );

    // Raised to the MI's highest level: the third plan is as fast as the source's.
    let raised = row(&events, "query-raised", "dbo.Orders");
    assert_eq!(raised["reason_code"], "unchanged", "{raised}");
    assert!(
        text(&raised["notes"]).contains(&format!("plan {plan_a} → {plan_c}")),
        "{raised}"
    );
    assert_eq!(
        scalar(
            &rig.mi,
            "SELECT compatibility_level FROM sys.databases WHERE name = N'SalesDb'"
        ),
        "Some(Int(160))"
    );
    let after = events
        .iter()
        .find(|e| e["event"] == "item-done" && e["step"] == "baseline-after")
        .unwrap();
    assert_eq!(after["output"]["regressions"], 1, "{after}");

    // The report: the rows as a Markdown table, the comparison as charts in the HTML.
    let (md, html) = report(&rig);
    assert!(
        md.lines()
            .any(|l| l.starts_with('|') && l.contains("regressed") && l.contains(plan_b)),
        "{md}"
    );
    assert!(html.contains("<svg"), "{html}");
    for chart in ["Average CPU per query", "Waits by category"] {
        assert!(html.contains(chart), "{chart}");
    }
    no_secret(&all);
    no_secret(&md);
    no_secret(&html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_workload_on_both_sides_reports_no_regression() {
    let rig = setup(false).await;
    let (status, events, all) = tokio::task::block_in_place(|| {
        apply_driving(&rig, |step, _| {
            let server = if step == "baseline-before" {
                &rig.src
            } else {
                &rig.mi
            };
            let mut w = vec![query(ORDERS, 200, 500, 40, 2, "A")];
            w.extend(steady());
            run_workload(server, w);
        })
    });
    assert!(status.success(), "{all}");
    let queries = rows(&events, "query");
    assert_eq!(queries.len(), 3, "{queries:?}");
    for q in queries {
        assert_eq!(q["reason_code"], "unchanged", "{q}");
        assert_eq!(q["status"], "passed", "{q}");
    }
    for w in rows(&events, "wait") {
        assert_eq!(w["reason_code"], "wait-steady", "{w}");
    }
    let perf = row(&events, "performance", DB);
    assert_eq!(perf["reason_code"], "compared", "{perf}");
    assert_eq!(perf["status"], "passed", "{perf}");
    assert!(
        rows(&events, "query-raised").is_empty(),
        "not raised unless asked"
    );
    let (md, _) = report(&rig);
    assert!(!md.contains("| regressed |"), "{md}");
    assert!(
        md.contains("0 of 3 queries regressed past the ratio"),
        "{md}"
    );
    assert!(md.contains("per minute CPU ×1.00"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sql_server_2014_source_is_captured_from_the_plan_cache() {
    let rig = setup_with("2014", false).await;
    // SQL Server 2014 cannot back up to a URL with a SAS: the DBA's backup on a share is
    // restored instead (native-restore's share mode).
    rig.backup_to_share(DB, true);
    let shipped = std::fs::read_to_string(rig.site.migration()).unwrap();
    let from_share = shipped
        .replace(
            "backups = \"backups\"\n",
            "backups = \"backups\"\nmode = \"share\"\nshare = \"share\"\n",
        )
        .replace(
            "storage = [\"backups\"]",
            "storage = [\"backups\", \"share:read\"]",
        );
    assert_ne!(from_share, shipped);
    std::fs::write(rig.site.migration(), from_share).unwrap();
    let mut plans: Vec<String> = Vec::new();
    let (status, events, all) = tokio::task::block_in_place(|| {
        apply_driving(&rig, |step, _| {
            let (server, orders) = if step == "baseline-before" {
                (&rig.src, query(ORDERS, 200, 500, 40, 2, "A"))
            } else {
                (&rig.mi, query(ORDERS, 200, 2000, 400, 30, "B"))
            };
            let mut w = vec![orders];
            w.extend(steady());
            plans.push(run_workload(server, w)[0].clone());
        })
    });
    assert!(status.success(), "{all}");
    let before = events
        .iter()
        .find(|e| e["event"] == "item-done" && e["step"] == "baseline-before")
        .unwrap();
    // No Query Store before SQL Server 2016: the window is two reads of the plan cache.
    assert_eq!(before["output"]["origin"], "exec_query_stats", "{before}");
    assert_eq!(before["output"]["totals"]["executions"], 500, "{before}");
    assert!(
        all.contains("Query Store exists from SQL Server 2016"),
        "the fallback is said"
    );
    let orders = row(&events, "query", "dbo.Orders");
    assert_eq!(orders["reason_code"], "regressed", "{orders}");
    assert!(
        text(&orders["notes"]).contains(&format!("plan {} → {}", plans[0], plans[1])),
        "{orders}"
    );
    for unchanged in ["dbo.Customers", "dbo.Products"] {
        assert_eq!(row(&events, "query", unchanged)["reason_code"], "unchanged");
    }
    let after = events
        .iter()
        .find(|e| e["event"] == "item-done" && e["step"] == "baseline-after")
        .unwrap();
    // The database brought no Query Store from 2014 and the step may not turn it on: the MI's
    // plan cache, with a warning that says how.
    assert_eq!(
        after["output"]["after"]["origin"], "exec_query_stats",
        "{after}"
    );
    assert!(
        after["output"]["after"]["notes"]
            .to_string()
            .contains("set `enable_query_store = true`"),
        "{after}"
    );
}
