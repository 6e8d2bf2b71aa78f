//! The data comparison on scripted servers whose answers come from an in-test table model:
//! the bisection lists exactly the changed keys, tables without a key are compared whole, and
//! a table's comparison resumes across step calls.

mod common;

use common::*;
use ferry_sdk::bindings::ferry::plugin::types::Outcome as WitOutcome;
use ferry_sdk::fake::FakeHost;
use ferry_sdk::{ObjectStatus, SqlValue};
use serde_json::json;
use validate::Validate;

const ORDERS: &str = "[Sales].[dbo].[Orders]";

/// Only the data comparison.
fn data_only(extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({"properties": false, "objects": false, "security": false});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn row_names(host: &FakeHost) -> Vec<(String, String)> {
    rows_of(&host.rows, "table-row")
        .into_iter()
        .map(|r| (r.name.clone(), r.reason_code.clone().unwrap()))
        .collect()
}

#[test]
fn the_bisection_lists_exactly_the_changed_keys_and_reads_few_rows() {
    let s = shared(database().table(DB, "dbo", "Orders", Table::ints(20_000)));
    let t = shared(s.borrow().clone());
    {
        let mut tb = t.borrow_mut();
        let orders = tb.table_mut(ORDERS);
        orders.put(vec![i(0)], "changed"); // the first row
        orders.put(vec![i(123_450)], "changed");
        orders.put(vec![i(199_990)], "changed"); // the last row
        orders.delete(&[i(50_000)]);
        orders.put(vec![i(77_775)], "inserted between two rows");
    }
    let mut host = host(&s, &t);
    let out = host.run_item::<Validate>(data_only(json!({"depth": "full", "range_rows": 64})), DB);
    let e = out.unwrap_err().describe();
    assert_eq!(
        row_names(&host),
        [
            ("dbo.Orders 0".to_owned(), "row-changed".to_owned()),
            (
                "dbo.Orders 50000".to_owned(),
                "row-missing-on-target".to_owned()
            ),
            (
                "dbo.Orders 77775".to_owned(),
                "row-only-on-target".to_owned()
            ),
            ("dbo.Orders 123450".to_owned(), "row-changed".to_owned()),
            ("dbo.Orders 199990".to_owned(), "row-changed".to_owned()),
        ]
    );
    assert!(e.contains("table-data dbo.Orders"), "{e}");
    let count = &rows_of(&host.rows, "table-count")[0];
    assert_eq!(count.status, ObjectStatus::Passed); // one deleted, one inserted
    let data = &rows_of(&host.rows, "table-data")[0];
    assert!(
        data.notes.as_deref().unwrap().contains("5 row(s) differ"),
        "{:?}",
        data.notes
    );
    // The cost is in the log line the step writes at the end.
    let cost = host
        .logs
        .iter()
        .find(|(_, m)| m.starts_with("data comparison cost: "))
        .map(|(_, m)| m.trim_start_matches("data comparison cost: ").to_owned())
        .unwrap();
    let cost: serde_json::Value = serde_json::from_str(&cost).unwrap();
    let rows_read = cost["rows_read"].as_u64().unwrap();
    assert!(
        rows_read < 1_500,
        "{rows_read} rows read to compare 2 × 20,000"
    );
    // Not a single row was read outside the key ranges' leaves: the leaves are at most 64 rows.
    assert!(cost["round_trips"].as_u64().unwrap() < 250, "{cost}");
}

#[test]
fn composite_keys_and_every_row_different() {
    let mut table = Table {
        columns: vec![
            ("region".into(), "nvarchar".into()),
            ("n".into(), "int".into()),
            ("v".into(), "float".into()),
        ],
        key: vec!["region".into(), "n".into()],
        rows: Vec::new(),
    };
    for region in ["EU", "US"] {
        for n in 0..30 {
            table.put(vec![t(region), i(n)], "x");
        }
    }
    let s = shared(Server::default().table(DB, "dbo", "Orders", table.clone()));
    let mut other = table;
    for (_, c) in other.rows.iter_mut() {
        *c = "y".into();
    }
    let tg = shared(Server::default().table(DB, "dbo", "Orders", other));
    let mut host = host(&s, &tg);
    let cfg = data_only(json!({"depth": "full", "range_rows": 4, "compatibility_level": 150}));
    let out = host.run_item::<Validate>(cfg, DB);
    assert!(out.is_err(), "{out:?} {:#?}", host.rows);
    let names = row_names(&host);
    assert_eq!(names.len(), 60);
    assert_eq!(names[0].0, "dbo.Orders ('EU', 0)");
    assert_eq!(names[59].0, "dbo.Orders ('US', 29)");
    assert!(names.iter().all(|(_, c)| c == "row-changed"));
}

#[test]
fn listing_stops_at_max_listed_rows_and_says_so() {
    let s = shared(Server::default().table(DB, "dbo", "Orders", Table::ints(500)));
    let t = shared(Server::default().table(DB, "dbo", "Orders", Table::ints(0)));
    let mut host = host(&s, &t);
    let cfg = data_only(
        json!({"depth": "full", "range_rows": 8, "max_listed_rows": 20, "compatibility_level": 150}),
    );
    assert!(host.run_item::<Validate>(cfg, DB).is_err());
    let n = row_names(&host).len();
    assert!((20..28).contains(&n), "{n}");
    let count = &rows_of(&host.rows, "table-count")[0];
    assert!(
        count
            .notes
            .as_deref()
            .unwrap()
            .contains("500 rows on the source, 0 on the target")
    );
    let data = &rows_of(&host.rows, "table-data")[0];
    assert!(
        data.notes.as_deref().unwrap().contains("Listing stopped"),
        "{:?}",
        data.notes
    );
}

#[test]
fn sampled_ranges_find_changes_inside_them_only() {
    let s = shared(database());
    let t = shared(database());
    {
        let mut tb = t.borrow_mut();
        let orders = tb.table_mut(ORDERS);
        orders.put(vec![i(50)], "changed"); // row 5: in the first of two 100-row samples
        orders.put(vec![i(5_000)], "changed"); // row 500: between the samples (0–99, 1000–1099)
    }
    let mut host = host(&s, &t);
    let cfg = data_only(json!({"depth": "sampled", "sample_ranges": 2, "range_rows": 100}));
    assert!(host.run_item::<Validate>(cfg, DB).is_err());
    assert_eq!(
        row_names(&host),
        [("dbo.Orders 50".to_owned(), "row-changed".to_owned())]
    );
    let data = &rows_of(&host.rows, "table-data")[0];
    assert!(
        data.notes
            .as_deref()
            .unwrap()
            .starts_with("2 sampled range(s) of up to 100 rows")
    );
}

#[test]
fn a_table_without_a_key_is_compared_whole_and_says_how() {
    let heap = Table {
        columns: vec![("note".into(), "ntext".into()), ("n".into(), "int".into())],
        key: vec![],
        rows: vec![(vec![i(1)], "a".into()), (vec![i(2)], "b".into())],
    };
    let s = shared(Server::default().table(DB, "dbo", "Heap", heap.clone()));
    let t = shared(Server::default().table(DB, "dbo", "Heap", heap.clone()));
    let mut host = host(&s, &t);
    let cfg = data_only(json!({"depth": "full", "compatibility_level": 150}));
    host.run_item::<Validate>(cfg.clone(), DB)
        .unwrap_or_else(|e| panic!("{}", e.describe()));
    let row = &rows_of(&host.rows, "table-data")[0];
    assert_eq!(row.reason_code.as_deref(), Some("compared-by-checksum"));
    let notes = row.notes.as_deref().unwrap();
    assert!(
        notes.contains("CHECKSUM_AGG(BINARY_CHECKSUM(*))"),
        "{notes}"
    );
    assert!(
        notes.contains("note (ntext) not covered by BINARY_CHECKSUM"),
        "{notes}"
    );

    let mut changed = heap;
    changed.rows[1].1 = "c".into();
    let t = shared(Server::default().table(DB, "dbo", "Heap", changed));
    let mut again = common::host(&s, &t);
    assert!(again.run_item::<Validate>(cfg, DB).is_err());
    assert_eq!(
        rows_of(&again.rows, "table-data")[0].reason_code.as_deref(),
        Some("checksum-differs")
    );
}

#[test]
fn a_table_missing_or_reshaped_on_the_target_is_a_difference() {
    let s = shared(database().table(DB, "dbo", "Customers", Table::ints(3)));
    let mut target = database();
    let mut orders = Table::ints(2000);
    orders.columns.push(("added".into(), "int".into()));
    target = target.table(DB, "dbo", "Orders", orders);
    let mut host = host(&s, &shared(target));
    let cfg = data_only(json!({"depth": "full", "compatibility_level": 150}));
    assert!(host.run_item::<Validate>(cfg, DB).is_err());
    let failed = failed(&host.rows);
    assert!(
        failed.contains(&(
            "table-count".into(),
            "dbo.Customers".into(),
            "table-missing-on-target".into()
        )),
        "{failed:?}"
    );
    assert!(
        failed.contains(&(
            "table-schema".into(),
            "dbo.Orders".into(),
            "different-columns".into()
        )),
        "{failed:?}"
    );
}

#[test]
fn excluded_tables_are_listed_not_compared() {
    let s = shared(database().table(DB, "stage", "Load", Table::ints(3)));
    let t = shared(database());
    let mut host = host(&s, &t);
    let cfg = data_only(json!({"exclude_tables": ["stage.*"], "compatibility_level": 150}));
    host.run_item::<Validate>(cfg, DB)
        .unwrap_or_else(|e| panic!("{}", e.describe()));
    let row = rows_of(&host.rows, "table-data")
        .into_iter()
        .find(|r| r.name == "stage.Load")
        .unwrap();
    assert_eq!(row.status, ObjectStatus::Skipped);
}

/// Runs one step call; the state it hands on, or the final result.
fn call(
    host: &mut FakeHost,
    cfg: &serde_json::Value,
    state: Option<&str>,
    attempt: u32,
) -> Result<String, serde_json::Value> {
    let ctx = host.context(cfg, DB, attempt);
    match ferry_sdk::run_step::<Validate>(host, ctx, state).unwrap() {
        WitOutcome::Next(s) => Ok(s),
        WitOutcome::Done(out) => Err(serde_json::from_str(&out).unwrap()),
        WitOutcome::Wait(w) => Ok(w.state),
    }
}

/// A state without the wall time spent per table, which differs from call to call.
fn untimed(state: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(state).unwrap();
    for t in v["tables"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("elapsed_ms");
    }
    v
}

#[test]
fn a_big_table_resumes_mid_bisection_and_a_repeated_call_converges() {
    let s = shared(database().table(DB, "dbo", "Orders", Table::ints(4000)));
    let t = shared(s.borrow().clone());
    t.borrow_mut()
        .table_mut(ORDERS)
        .put(vec![i(31_230)], "changed");
    let cfg = data_only(json!({"depth": "full", "range_rows": 16, "queries_per_call": 4}));
    let mut host = host(&s, &t);
    let mut state: Option<String> = None;
    let mut mid_table = 0;
    loop {
        match call(&mut host, &cfg, state.as_deref(), 1) {
            Ok(next) => {
                let bisecting = |s: &str| s.contains("\"at\":\"bisecting\"");
                if bisecting(&next) && state.as_deref().is_some_and(bisecting) {
                    mid_table += 1;
                    // Killed before the journal took `next`: the same call is made again
                    // (attempt 2) and hands on the same state.
                    let again = call(&mut host, &cfg, state.as_deref(), 2).unwrap();
                    assert_eq!(
                        untimed(&again),
                        untimed(&next),
                        "a repeated call is not idempotent"
                    );
                }
                state = Some(next);
            }
            Err(out) => panic!("finished without the difference: {out}"),
        }
        if host.rows.iter().any(|r| r.object_type == "table-data") {
            break;
        }
    }
    assert!(
        mid_table >= 3,
        "the table took {mid_table} calls mid-bisection"
    );
    let keys: Vec<String> = row_names(&host).into_iter().map(|(n, _)| n).collect();
    // The repeated calls found the same row again; one listing per finished bisection.
    assert_eq!(keys, ["dbo.Orders 31230"]);
}

#[test]
fn identical_data_passes_and_rows_are_never_moved_whole() {
    let s = shared(database());
    let t = shared(database());
    let mut host = host(&s, &t);
    let out = host
        .run_item::<Validate>(data_only(json!({"depth": "full"})), DB)
        .unwrap_or_else(|e| panic!("{}", e.describe()));
    // Two counts, two columns on each side, one key column, a hash per side.
    assert_eq!(
        out["data"]["tables"]["dbo.Orders"]["rows_read"],
        2 + 4 + 1 + 2
    );
    assert!(
        s.borrow().seen.iter().all(|q| !q.contains("SELECT *")),
        "a query read whole rows"
    );
    let _ = SqlValue::Null;
}

#[test]
fn a_big_table_is_cut_into_top_ranges_first() {
    let s = shared(database().table(DB, "dbo", "Orders", Table::ints(4_500)));
    let t = shared(s.borrow().clone());
    t.borrow_mut()
        .table_mut(ORDERS)
        .put(vec![i(44_990)], "changed"); // the last row
    t.borrow_mut().table_mut(ORDERS).delete(&[i(9_990)]); // the last row of the first range
    let mut host = host(&s, &t);
    let cfg = data_only(json!({"depth": "full", "top_range_rows": 1000}));
    assert!(host.run_item::<Validate>(cfg, DB).is_err());
    assert_eq!(
        row_names(&host),
        [
            (
                "dbo.Orders 9990".to_owned(),
                "row-missing-on-target".to_owned()
            ),
            ("dbo.Orders 44990".to_owned(), "row-changed".to_owned()),
        ]
    );
    // Four boundary keys (after rows 1000, 2000, 3000, 4000), each read once with OFFSET.
    let offsets = s
        .borrow()
        .seen
        .iter()
        .filter(|q| q.contains("WHERE 1 = 1 ORDER BY [id] OFFSET @offset"))
        .count();
    assert_eq!(offsets, 4);
}
