//! Wait statistics by category. Query Store (SQL Server 2017 and later, Managed Instance)
//! already sums each database's query waits by category (sys.query_store_wait_stats);
//! sys.dm_os_wait_stats counts every wait type of the whole instance since it started, so its
//! window is the difference of two reads, grouped into the same categories by the mapping
//! table of the sys.query_store_wait_stats page ("Wait categories mapping table",
//! learn.microsoft.com/sql/relational-databases/system-catalog-views/
//! sys-query-store-wait-stats-transact-sql). Idle waits are left out: they measure
//! background tasks sleeping, not work waiting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One category's wait time over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitFigure {
    /// `wait_category_desc` as Query Store spells it ("Buffer IO", "Lock", …).
    pub category: String,
    pub wait_ms: f64,
}

/// A capture's waits: either source may be missing (no Query Store wait capture; no second
/// read of the DMV when the capture did not wait).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Waits {
    /// sys.query_store_wait_stats over the window: this database's queries only.
    pub query_store: Option<Vec<WaitFigure>>,
    /// sys.dm_os_wait_stats, the difference over the window: the whole instance.
    pub instance: Option<Vec<WaitFigure>>,
    /// The instance's counters went down between the reads (a restart or
    /// `DBCC SQLPERF('sys.dm_os_wait_stats', CLEAR)`): the second read alone was used for them.
    pub instance_reset: bool,
}

/// A read of sys.dm_os_wait_stats: `wait_time_ms` by `wait_type` (idle types left out).
pub type Snapshot = BTreeMap<String, i64>;

/// The category of a wait type, by the documented mapping ([`ferry_tsql::wait_category`]).
pub fn category(wait_type: &str) -> &'static str {
    ferry_tsql::wait_category(wait_type).1
}

/// The window's waits by category from two reads; `reset` when a counter went down.
pub fn delta(start: &Snapshot, end: &Snapshot) -> (Vec<WaitFigure>, bool) {
    let mut reset = false;
    let mut by: BTreeMap<&'static str, f64> = BTreeMap::new();
    for (wait_type, &ms) in end {
        let before = start.get(wait_type).copied().unwrap_or(0);
        let d = if ms < before {
            reset = true;
            ms
        } else {
            ms - before
        };
        if d > 0 {
            *by.entry(category(wait_type)).or_default() += d as f64;
        }
    }
    (figures(by), reset)
}

/// Figures by category, the largest first.
/// Query Store's waits at a window's end less those at its start, per category (a category
/// that went down — the store was cleared — counts its end).
pub fn less(end: &[WaitFigure], start: &[WaitFigure]) -> Vec<WaitFigure> {
    let by = end
        .iter()
        .map(|e| {
            let s = start
                .iter()
                .find(|s| s.category == e.category)
                .map_or(0.0, |s| s.wait_ms);
            let d = if e.wait_ms >= s {
                e.wait_ms - s
            } else {
                e.wait_ms
            };
            (e.category.as_str(), d)
        })
        .filter(|(_, d)| *d > 0.0)
        .collect();
    figures(by)
}

pub fn figures(by: BTreeMap<&str, f64>) -> Vec<WaitFigure> {
    let mut out: Vec<WaitFigure> = by
        .into_iter()
        .filter(|(c, _)| *c != "Idle")
        .map(|(c, ms)| WaitFigure {
            category: c.to_owned(),
            wait_ms: ms,
        })
        .collect();
    out.sort_by(|a, b| b.wait_ms.total_cmp(&a.wait_ms));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_difference_of_two_reads_without_idle_waits() {
        let start: Snapshot = [("PAGEIOLATCH_SH".into(), 100), ("SLEEP_TASK".into(), 5)].into();
        let end: Snapshot = [
            ("PAGEIOLATCH_SH".into(), 400),
            ("PAGEIOLATCH_EX".into(), 50),
            ("LCK_M_S".into(), 20),
            ("SLEEP_TASK".into(), 90_000),
        ]
        .into();
        let (w, reset) = delta(&start, &end);
        assert!(!reset);
        assert_eq!(
            w,
            vec![
                WaitFigure {
                    category: "Buffer IO".into(),
                    wait_ms: 350.0
                },
                WaitFigure {
                    category: "Lock".into(),
                    wait_ms: 20.0
                },
            ]
        );
        let (w, reset) = delta(&end, &start);
        assert!(reset, "a counter that went down was reset");
        assert_eq!(w[0].wait_ms, 100.0, "the second read alone counts");
    }
}
