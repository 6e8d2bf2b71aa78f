//! The comparison's edge cases: a figure of 0 before, queries on one side, windows of
//! different lengths, the wait floor.

use super::*;
use crate::model::{FORMAT, Origin, Plan};
use crate::waits::Waits;

fn query(hash: &str, plan: &str, execs: u64, cpu: f64, dur: f64) -> Query {
    Query {
        query_hash: hash.into(),
        text: "SELECT 1".into(),
        executions: execs,
        cpu_us: cpu * execs as f64,
        duration_us: dur * execs as f64,
        logical_reads: 0.0,
        plans: vec![Plan {
            plan_hash: plan.into(),
            executions: execs,
            ..Plan::default()
        }],
    }
}

fn capture(minutes: u32, queries: Vec<Query>, waits: Option<Vec<WaitFigure>>) -> Capture {
    let totals = Totals {
        queries: queries.len() as u64,
        executions: queries.iter().map(|q| q.executions).sum(),
        cpu_us: queries.iter().map(|q| q.cpu_us).sum(),
        duration_us: queries.iter().map(|q| q.duration_us).sum(),
        logical_reads: 0.0,
    };
    Capture {
        format: FORMAT.into(),
        database: "Sales".into(),
        product_version: String::new(),
        engine_edition: 3,
        compatibility_level: 130,
        origin: Origin::QueryStore,
        window_seconds: u64::from(minutes) * 60,
        captured_at: String::new(),
        queries,
        totals,
        waits: Waits {
            instance: waits,
            ..Waits::default()
        },
        truncated: false,
        notes: vec![],
    }
}

const J: Judge = Judge {
    ratio: 1.5,
    min_executions: 5,
    min_wait_ms: 1000,
};

fn w(c: &str, ms: f64) -> WaitFigure {
    WaitFigure {
        category: c.into(),
        wait_ms: ms,
    }
}

#[test]
fn zero_before_is_a_regression_and_queries_on_one_side_are_listed() {
    let b = capture(
        60,
        vec![
            query("0x1", "0xA", 10, 0.0, 5.0),
            query("0x2", "0xB", 10, 1.0, 1.0),
        ],
        None,
    );
    let a = capture(
        60,
        vec![
            query("0x1", "0xA", 10, 3.0, 5.0),
            query("0x3", "0xC", 10, 1.0, 1.0),
        ],
        None,
    );
    let c = compare(&b, &a, J);
    let v: Vec<(&str, Verdict)> = c
        .queries
        .iter()
        .map(|q| (q.query_hash.as_str(), q.verdict))
        .collect();
    assert_eq!(
        v,
        [
            ("0x1", Verdict::Regressed),
            ("0x2", Verdict::NotSeenAfter),
            ("0x3", Verdict::NewAfter)
        ]
    );
    assert_eq!(c.queries[0].cpu_ratio, None, "no ratio to 0");
    assert_eq!(c.queries[0].plan_changed, Some(false));
    assert_eq!(c.waits_source, None, "no waits on either side");
}

#[test]
fn windows_of_different_lengths_compare_per_minute() {
    let b = capture(
        60,
        vec![query("0x1", "0xA", 600, 10.0, 10.0)],
        Some(vec![w("Lock", 6000.0)]),
    );
    // Half the window, half the work and half the waits: nothing grew.
    let a = capture(
        30,
        vec![query("0x1", "0xA", 300, 10.0, 10.0)],
        Some(vec![w("Lock", 3000.0)]),
    );
    let c = compare(&b, &a, J);
    assert_eq!(c.ratios.cpu, Some(1.0));
    assert_eq!(c.ratios.executions, Some(1.0));
    assert_eq!(c.waits_source.as_deref(), Some("dm_os_wait_stats"));
    assert!(!c.waits[0].grew);
    // A category that rose past the ratio but by less than min_wait_ms is noise.
    let a = capture(30, vec![], Some(vec![w("Lock", 3000.0), w("Latch", 900.0)]));
    let c = compare(&b, &a, J);
    assert!(c.waits.iter().all(|w| !w.grew), "{:?}", c.waits);
    let a = capture(30, vec![], Some(vec![w("Lock", 9000.0)]));
    assert!(compare(&b, &a, J).waits[0].grew);
}
