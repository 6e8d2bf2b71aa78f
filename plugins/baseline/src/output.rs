//! The Done output the journal and the report keep. The host takes at most 1 MiB of it
//! (`MAX_OUTPUT_BYTES`): the `before` output summarizes (the whole capture is in the baseline
//! store), and an `after` output that would pass [`BUDGET`] drops the queries that need no
//! look (unchanged, improved, not judged) from its comparison lists, and says so; the series
//! and the report rows keep every one.

use serde_json::{Value, json};

use crate::compare::{Comparison, Verdict};
use crate::model::Capture;
use crate::report::series;

/// Bytes an output may take here: the host's 1 MiB less room for what it adds.
pub const BUDGET: usize = 900 << 10;

pub fn before(db: &str, kept_in: &str, cap: &Capture) -> Value {
    let queries: Vec<Value> = cap
        .queries
        .iter()
        .map(|q| {
            json!({
                "query_hash": q.query_hash,
                "text": q.text.chars().take(crate::compare::TEXT_SHOWN).collect::<String>(),
                "executions": q.executions,
                "avg_cpu_us": q.avg_cpu_us(),
                "avg_duration_us": q.avg_duration_us(),
                "avg_logical_reads": q.avg_logical_reads(),
                "plan_hash": q.main_plan(),
                "plans": q.plans.len(),
            })
        })
        .collect();
    json!({
        "plugin": "baseline",
        "phase": "before",
        "database": db,
        "kept_in": kept_in,
        "origin": cap.origin,
        "compatibility_level": cap.compatibility_level,
        "product_version": cap.product_version,
        "window_seconds": cap.window_seconds,
        "captured_at": cap.captured_at,
        "totals": cap.totals,
        "waits": cap.waits,
        "truncated": cap.truncated,
        "notes": cap.notes,
        "queries": queries,
    })
}

fn side(c: &Capture) -> Value {
    json!({
        "captured_at": c.captured_at,
        "product_version": c.product_version,
        "origin": c.origin,
        "compatibility_level": c.compatibility_level,
        "window_seconds": c.window_seconds,
        "totals": c.totals,
        "notes": c.notes,
    })
}

/// How much of the comparison lists an output keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Every,
    /// Regressed and new queries only.
    Notable,
    /// None: the series and the report rows carry them.
    SeriesOnly,
}

fn comparison(c: &Comparison, keep: Keep) -> Value {
    if keep == Keep::Every {
        return json!(c);
    }
    let mut c = c.clone();
    c.queries.retain(|q| {
        keep == Keep::Notable && matches!(q.verdict, Verdict::Regressed | Verdict::NewAfter)
    });
    json!(c)
}

fn trimmed(keep: Keep) -> Option<&'static str> {
    match keep {
        Keep::Every => None,
        Keep::Notable => Some(
            "only regressed and new queries are listed in `comparison`: the whole list passed \
             the output's size; the series and the report rows have every query",
        ),
        Keep::SeriesOnly => Some(
            "no query is listed in `comparison`: even the regressed ones passed the output's \
             size; the series and the report rows have every query",
        ),
    }
}

pub fn after(
    db: &str,
    baseline: &Capture,
    after: &Capture,
    kept: &Comparison,
    raised: Option<&Comparison>,
    regressions: usize,
) -> Value {
    let mut out = json!({
        "plugin": "baseline",
        "phase": "after",
        "database": db,
        "baseline": side(baseline),
        "after": side(after),
        "regressions": regressions,
        "series": series(kept),
        "raised": raised.map(|r| json!({"series": series(r)})),
    });
    for keep in [Keep::Every, Keep::Notable, Keep::SeriesOnly] {
        out["comparison"] = comparison(kept, keep);
        if let Some(r) = raised {
            out["raised"]["comparison"] = comparison(r, keep);
        }
        out["trimmed"] = json!(trimmed(keep));
        if out.to_string().len() <= BUDGET {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::widest_comparison as comparison;
    use crate::model::{FORMAT, Origin, Totals};

    fn capture() -> Capture {
        Capture {
            format: FORMAT.into(),
            database: "Sales".into(),
            product_version: "12.0.2000.8".into(),
            engine_edition: 8,
            compatibility_level: 130,
            origin: Origin::QueryStore,
            window_seconds: 3600,
            captured_at: String::new(),
            queries: vec![],
            totals: Totals::default(),
            waits: Default::default(),
            truncated: false,
            notes: vec![],
        }
    }

    #[test]
    fn a_small_output_lists_every_query_and_the_largest_fits_the_hosts_limit() {
        let (b, a) = (capture(), capture());
        let small = comparison(10, 3);
        let out = after("Sales", &b, &a, &small, None, 4);
        assert_eq!(out["comparison"]["queries"].as_array().unwrap().len(), 10);
        assert!(out["trimmed"].is_null());
        // Top 100 on three orders and a baseline as large, at the kept and the raised level.
        let big = comparison(600, 10);
        let out = after("Sales", &b, &a, &big, Some(&big), 120);
        let bytes = out.to_string().len();
        assert!(bytes < 1 << 20, "{bytes} bytes");
        assert!(out["trimmed"].is_string());
        assert_eq!(out["comparison"]["queries"].as_array().unwrap().len(), 60);
        assert_eq!(
            out["series"]["queries"]["labels"].as_array().unwrap().len(),
            600,
            "the series keep every query"
        );
        // Every query regressed: only the series are left, and still within the limit.
        let worst = comparison(600, 1);
        let out = after("Sales", &b, &a, &worst, Some(&worst), 1200);
        assert!(out.to_string().len() < 1 << 20);
        assert_eq!(out["comparison"]["queries"], serde_json::json!([]));
    }
}
