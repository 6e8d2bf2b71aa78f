//! The bundled `baseline` plugin through the real `ferry` binary: `baseline-before` on an
//! emulated SQL Server 2019, a native restore to an emulated Managed Instance, and
//! `baseline-after` there, with the emulator's workload generator running the same queries on
//! each side while ferry waits each window — one of them with another plan on the MI.

mod common;

use common::baseline_rig::*;
use common::native_rig::item;
use serde_json::Value;

const ORDERS: &str = "SELECT o.Id, o.Total FROM dbo.Orders AS o WHERE o.CustomerId = 42";
const CUSTOMERS: &str = "SELECT c.Name FROM dbo.Customers AS c WHERE c.Id = 7";
const PRODUCTS: &str = "SELECT COUNT(*) FROM dbo.Products";

fn steady() -> Vec<Value> {
    vec![
        query(CUSTOMERS, 200, 300, 20, "A"),
        query(PRODUCTS, 100, 200, 50, "A"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_regression_injected_on_the_mi_is_reported_with_both_plans() {
    let rig = setup(8, "raise_compatibility = true").await;
    let (status, events, all) = tokio::task::block_in_place(|| {
        apply_driving(&rig, |step, nth| {
            let mut w = steady();
            match (step, nth) {
                ("baseline-before", _) => {
                    w.push(query(ORDERS, 200, 500, 40, "A"));
                    run_workload(&rig.src, w);
                }
                ("baseline-after", 0) => {
                    w.push(query(ORDERS, 200, 2000, 400, "B"));
                    run_workload(&rig.mi, w);
                }
                _ => {
                    w.push(query(ORDERS, 200, 500, 40, "C"));
                    run_workload(&rig.mi, w);
                }
            }
        })
    });
    eprintln!("{all}");
    assert!(status.success(), "{all}");
    let done = item(&events, "item-done", DB).unwrap();
    eprintln!("{done}");
    for sql in [
        "SELECT rs.plan_id, rs.count_executions, rs.last_execution_time, rs.runtime_stats_interval_id FROM [SalesDb].sys.query_store_runtime_stats AS rs",
        "SELECT runtime_stats_interval_id, start_time, end_time FROM [SalesDb].sys.query_store_runtime_stats_interval",
        "SELECT GETUTCDATE(), DATEADD(SECOND, -6, GETUTCDATE()), SYSUTCDATETIME() FROM sys.databases WHERE database_id = 1",
        "SELECT q.query_hash, p.query_plan_hash FROM [SalesDb].sys.query_store_plan AS p JOIN [SalesDb].sys.query_store_query AS q ON q.query_id = p.query_id",
    ] {
        eprintln!(
            "DEBUG {sql}: {:?}",
            tokio::task::block_in_place(|| rig.src.run_sql(sql))
        );
    }
}
