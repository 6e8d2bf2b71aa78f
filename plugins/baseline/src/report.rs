//! Report rows and the Done output: one row per compared query and per wait category, one
//! for the database; and the comparison as series a report can plot (per-query before/after
//! bars, waits before/after).

use ferry_sdk::prelude::*;
use ferry_sdk::{Chart, ChartSeries};
use serde_json::{Value, json};

use crate::compare::{Comparison, QueryComparison, Side, Verdict};
use crate::config::{Config, RegressionStatus};
use crate::model::Capture;

/// The one mapping from a query's verdict to a report status.
pub fn status(verdict: Verdict, regression: RegressionStatus) -> ObjectStatus {
    match verdict {
        Verdict::Regressed => match regression {
            RegressionStatus::Warning => ObjectStatus::Warning,
            RegressionStatus::Failed => ObjectStatus::Failed,
        },
        Verdict::Improved | Verdict::Unchanged => ObjectStatus::Passed,
        // A heavy query without a baseline is worth a look; one that no longer runs is not.
        Verdict::NewAfter => ObjectStatus::Warning,
        Verdict::TooFewExecutions | Verdict::NotSeenAfter => ObjectStatus::Skipped,
    }
}

fn code(v: Verdict) -> &'static str {
    match v {
        Verdict::Regressed => "regressed",
        Verdict::Improved => "improved",
        Verdict::Unchanged => "unchanged",
        Verdict::TooFewExecutions => "too-few-executions",
        Verdict::NotSeenAfter => "not-seen-after",
        Verdict::NewAfter => "new-after",
    }
}

/// Microseconds for a person: `850 µs`, `12.3 ms`, `4.20 s`.
pub fn us(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.2} s", v / 1_000_000.0)
    } else if v >= 1_000.0 {
        format!("{:.1} ms", v / 1_000.0)
    } else {
        format!("{v:.0} µs")
    }
}

/// A window's length for a person: `45 s`, `60 min`.
pub fn window_text(seconds: u64) -> String {
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

fn times(r: Option<f64>) -> String {
    r.map_or_else(String::new, |r| format!(" (×{r:.2})"))
}

fn side_notes(s: &Side) -> String {
    format!(
        "{} executions, avg CPU {}, avg duration {}, avg logical reads {:.0}, plan {}",
        s.executions,
        us(s.avg_cpu_us),
        us(s.avg_duration_us),
        s.avg_logical_reads,
        s.plan_hash
    )
}

fn query_notes(q: &QueryComparison) -> String {
    match (&q.before, &q.after) {
        (Some(b), Some(a)) => format!(
            "avg CPU {} → {}{}; avg duration {} → {}{}; avg logical reads {:.0} → {:.0}{}; \
             executions {} → {}; plan {} → {}{}",
            us(b.avg_cpu_us),
            us(a.avg_cpu_us),
            times(q.cpu_ratio),
            us(b.avg_duration_us),
            us(a.avg_duration_us),
            times(q.duration_ratio),
            b.avg_logical_reads,
            a.avg_logical_reads,
            times(q.logical_reads_ratio),
            b.executions,
            a.executions,
            b.plan_hash,
            a.plan_hash,
            if q.plan_changed == Some(true) {
                " (plan changed)"
            } else {
                " (same plan)"
            },
        ),
        (Some(b), None) => format!("not run in the window after; before: {}", side_notes(b)),
        (None, Some(a)) => format!("not in the baseline; after: {}", side_notes(a)),
        (None, None) => String::new(),
    }
}

/// One row per query, per wait category and one for the database, for one comparison.
/// `stage` names it ("at level 130", "raised to 160"); `kind` is the queries' object type
/// (`query`, `query-raised`), the waits' and the database's follow it (`wait-raised`, …).
pub fn rows(cx: &mut Context<'_, Config>, db: &str, c: &Comparison, stage: &str, kind: &str) {
    let regression = cx.config().regression_status;
    for q in &c.queries {
        let short: String = q.text.chars().take(60).collect();
        cx.report(ObjectRow {
            object_type: kind.into(),
            name: format!("{db}: {} {short}", q.query_hash),
            status: status(q.verdict, regression),
            reason_code: Some(code(q.verdict).into()),
            notes: Some(format!("{stage}: {}", query_notes(q))),
        });
    }
    for w in &c.waits {
        cx.report(ObjectRow {
            object_type: kind.replace("query", "wait"),
            name: format!("{db}: {}", w.category),
            status: if w.grew {
                ObjectStatus::Warning
            } else {
                ObjectStatus::Passed
            },
            reason_code: Some(if w.grew { "wait-grew" } else { "wait-steady" }.into()),
            notes: Some(format!(
                "{stage}: {:.0} → {:.0} ms per minute ({})",
                w.before_ms_per_minute,
                w.after_ms_per_minute,
                c.waits_source.as_deref().unwrap_or("")
            )),
        });
    }
    let regressed = c.regressions().count();
    let grew = c.waits.iter().filter(|w| w.grew).count();
    let r = &c.ratios;
    let f = |x: Option<f64>| x.map_or_else(|| "n/a".to_owned(), |x| format!("×{x:.2}"));
    cx.report(ObjectRow {
        object_type: kind.replace("query", "performance"),
        name: db.into(),
        status: if regressed > 0 {
            status(Verdict::Regressed, regression)
        } else if grew > 0 {
            ObjectStatus::Warning
        } else {
            ObjectStatus::Passed
        },
        reason_code: Some(
            if regressed > 0 {
                "regressed"
            } else {
                "compared"
            }
            .into(),
        ),
        notes: Some(format!(
            "{stage} (source at level {}): {regressed} of {} queries regressed past the ratio, \
             {grew} wait categories grew; per minute CPU {}, duration {}, logical reads {}, \
             executions {}; per execution CPU {}, duration {}",
            c.before_level,
            c.queries.len(),
            f(r.cpu),
            f(r.duration),
            f(r.logical_reads),
            f(r.executions),
            f(r.cpu_per_execution),
            f(r.duration_per_execution),
        )),
    });
}

/// The before step's row: what the baseline holds and where it went.
pub fn baseline_row(cx: &mut Context<'_, Config>, db: &str, cap: &Capture, kept: &str) {
    let mut notes = format!(
        "{} queries kept of {} seen ({} executions) over {} from {}, level {}",
        cap.queries.len(),
        cap.totals.queries,
        cap.totals.executions,
        window_text(cap.window_seconds),
        cap.origin.text(),
        cap.compatibility_level
    );
    notes.push_str(&format!("; kept in {kept}"));
    for n in &cap.notes {
        notes.push_str("; ");
        notes.push_str(n);
    }
    let plain = cap.notes.is_empty() && !cap.truncated;
    cx.report(ObjectRow {
        object_type: "baseline".into(),
        name: db.into(),
        status: if plain {
            ObjectStatus::Passed
        } else {
            ObjectStatus::Warning
        },
        reason_code: Some("captured".into()),
        notes: Some(notes),
    });
}

/// Queries per chart: a chart is read by a person, and the host takes at most 200 labels.
const CHART_QUERIES: usize = 30;

/// The comparison as charts in the report (grouped bars before/after): per-query average CPU
/// and duration for the queries with the most CPU before, and waits per minute by category.
pub fn charts(cx: &mut Context<'_, Config>, c: &Comparison, stage: &str) {
    let mut both: Vec<&QueryComparison> = c
        .queries
        .iter()
        .filter(|q| q.before.is_some() && q.after.is_some())
        .collect();
    let cpu_before = |q: &QueryComparison| q.before.as_ref().map_or(0.0, |s| s.avg_cpu_us);
    both.sort_by(|a, b| cpu_before(b).total_cmp(&cpu_before(a)));
    both.truncate(CHART_QUERIES);
    let labels: Vec<String> = both.iter().map(|q| q.query_hash.clone()).collect();
    let ms = |f: fn(&Side) -> f64, after: bool| -> Vec<f64> {
        both.iter()
            .map(|q| {
                let side = if after { &q.after } else { &q.before };
                side.as_ref().map_or(0.0, f) / 1000.0
            })
            .collect()
    };
    let pair = |before: Vec<f64>, after: Vec<f64>| {
        vec![
            ChartSeries {
                name: "before".into(),
                values: before,
            },
            ChartSeries {
                name: format!("after ({stage})"),
                values: after,
            },
        ]
    };
    if !labels.is_empty() {
        cx.chart(Chart {
            title: "Average CPU per query".into(),
            unit: "ms".into(),
            labels: labels.clone(),
            series: pair(ms(|s| s.avg_cpu_us, false), ms(|s| s.avg_cpu_us, true)),
        });
        cx.chart(Chart {
            title: "Average duration per query".into(),
            unit: "ms".into(),
            labels,
            series: pair(
                ms(|s| s.avg_duration_us, false),
                ms(|s| s.avg_duration_us, true),
            ),
        });
    }
    if !c.waits.is_empty() {
        cx.chart(Chart {
            title: match &c.waits_source {
                Some(from) => format!("Waits by category ({from})"),
                None => "Waits by category".into(),
            },
            unit: "ms per minute".into(),
            labels: c.waits.iter().map(|w| w.category.clone()).collect(),
            series: pair(
                c.waits.iter().map(|w| w.before_ms_per_minute).collect(),
                c.waits.iter().map(|w| w.after_ms_per_minute).collect(),
            ),
        });
    }
}

/// The comparison as series: one entry per query compared on both sides and per wait
/// category, in the same order in every list.
pub fn series(c: &Comparison) -> Value {
    let both: Vec<&QueryComparison> = c
        .queries
        .iter()
        .filter(|q| q.before.is_some() && q.after.is_some())
        .collect();
    let pick = |f: fn(&Side) -> f64, after: bool| -> Vec<f64> {
        both.iter()
            .filter_map(|q| {
                if after {
                    q.after.as_ref()
                } else {
                    q.before.as_ref()
                }
            })
            .map(f)
            .collect()
    };
    json!({
        "queries": {
            "labels": both.iter().map(|q| format!("{} {}", q.query_hash,
                q.text.chars().take(40).collect::<String>())).collect::<Vec<_>>(),
            "verdicts": both.iter().map(|q| code(q.verdict)).collect::<Vec<_>>(),
            "before_avg_cpu_us": pick(|s| s.avg_cpu_us, false),
            "after_avg_cpu_us": pick(|s| s.avg_cpu_us, true),
            "before_avg_duration_us": pick(|s| s.avg_duration_us, false),
            "after_avg_duration_us": pick(|s| s.avg_duration_us, true),
            "before_avg_logical_reads": pick(|s| s.avg_logical_reads, false),
            "after_avg_logical_reads": pick(|s| s.avg_logical_reads, true),
        },
        "waits": {
            "source": c.waits_source,
            "categories": c.waits.iter().map(|w| w.category.clone()).collect::<Vec<_>>(),
            "before_ms_per_minute": c.waits.iter().map(|w| w.before_ms_per_minute).collect::<Vec<_>>(),
            "after_ms_per_minute": c.waits.iter().map(|w| w.after_ms_per_minute).collect::<Vec<_>>(),
        },
    })
}
