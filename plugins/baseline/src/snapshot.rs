//! The plan cache's first read, kept in the journaled state while the window runs, and the
//! window's share of its totals.
//!
//! A step's state is at most 1 MiB (the host's `MAX_STATE_BYTES`), so the first read is kept
//! compact (no text) and only for the [`SNAPSHOT_ROWS`] pairs with the most CPU: about 120
//! bytes a pair at most. A pair below that cut counts whole at the end (its totals since it was
//! cached); with thousands of pairs cached, those are the smallest, far below any top the
//! comparison keeps, and the capture says it happened.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::PlanRow;

/// Pairs kept from the first read.
pub const SNAPSHOT_ROWS: usize = 3_000;

/// One (query, plan) pair's totals: hashes, executions, CPU µs, duration µs, logical reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cached(pub String, pub String, pub u64, pub f64, pub f64, pub f64);

/// The first read as kept: the pairs with the most CPU, and whether some were cut.
pub fn keep(mut rows: Vec<PlanRow>) -> (Vec<Cached>, bool) {
    rows.sort_by(|a, b| b.cpu_us.total_cmp(&a.cpu_us));
    let cut = rows.len() > SNAPSHOT_ROWS;
    rows.truncate(SNAPSHOT_ROWS);
    let kept = rows
        .into_iter()
        .map(|r| {
            Cached(
                r.query_hash,
                r.plan_hash,
                r.executions,
                r.cpu_us,
                r.duration_us,
                r.logical_reads,
            )
        })
        .collect();
    (kept, cut)
}

/// The window's share of plan-cache totals: the second read less the first, per (query,
/// plan). A pair absent from the first read was cached during the window and counts whole; a
/// pair whose counts went down was evicted and cached again, and its second read counts.
pub fn delta(start: &[Cached], end: &[PlanRow]) -> Vec<PlanRow> {
    let before: BTreeMap<(&str, &str), &Cached> = start
        .iter()
        .map(|c| ((c.0.as_str(), c.1.as_str()), c))
        .collect();
    end.iter()
        .filter_map(|e| {
            let s = before.get(&(e.query_hash.as_str(), e.plan_hash.as_str()));
            let d = match s {
                Some(s) if e.executions >= s.2 && e.cpu_us >= s.3 => PlanRow {
                    executions: e.executions - s.2,
                    cpu_us: e.cpu_us - s.3,
                    duration_us: (e.duration_us - s.4).max(0.0),
                    logical_reads: (e.logical_reads - s.5).max(0.0),
                    ..e.clone()
                },
                _ => e.clone(),
            };
            (d.executions > 0).then_some(d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(q: &str, p: &str, execs: u64, cpu: f64) -> PlanRow {
        PlanRow {
            query_hash: q.into(),
            plan_hash: p.into(),
            executions: execs,
            cpu_us: cpu,
            duration_us: cpu * 2.0,
            logical_reads: 10.0 * execs as f64,
            text: "SELECT something rather long to show it is not kept".into(),
        }
    }

    #[test]
    fn the_plan_cache_window_is_the_difference_of_two_reads() {
        let (start, cut) = keep(vec![
            r("0x1", "0xA", 100, 1000.0),
            r("0x2", "0xB", 50, 500.0),
            r("0x3", "0xC", 5, 5.0),
        ]);
        assert!(!cut);
        let end = [
            r("0x1", "0xA", 130, 1600.0),
            r("0x2", "0xB", 20, 300.0),
            r("0x3", "0xC", 5, 5.0),
            r("0x4", "0xD", 7, 70.0),
        ];
        let d = delta(&start, &end);
        assert_eq!(
            d.len(),
            3,
            "an idle pair is not a query of the window: {d:?}"
        );
        assert_eq!((d[0].executions, d[0].cpu_us), (30, 600.0));
        assert_eq!(
            d[1].executions, 20,
            "evicted and cached again: the second read"
        );
        assert_eq!(d[2].executions, 7, "cached during the window");
    }

    #[test]
    fn a_full_first_read_fits_the_journaled_state() {
        let rows: Vec<PlanRow> = (0..SNAPSHOT_ROWS as u64 + 10)
            .map(|i| {
                r(
                    &format!("0x{i:016X}"),
                    &format!("0x{:016X}", i * 7),
                    123_456,
                    9.9e9,
                )
            })
            .collect();
        let (kept, cut) = keep(rows);
        assert!(cut);
        assert_eq!(kept.len(), SNAPSHOT_ROWS);
        let bytes = serde_json::to_vec(&kept).unwrap().len();
        assert!(
            bytes < 512 << 10,
            "{bytes} bytes: half the host's 1 MiB state at most"
        );
    }
}
