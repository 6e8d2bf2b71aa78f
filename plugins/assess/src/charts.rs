//! The instance step's charts for the HTML report (a table in the Markdown one): readiness per
//! tier, the suggested vCores per tier, and the databases per method picked.

use std::collections::BTreeMap;

use ferry_sdk::{Chart, ChartSeries};

use crate::config::TargetTier;
use crate::database_step::DatabaseSummary;
use crate::readiness::Readiness;
use crate::rules::Method;
use crate::sizing::Suggestion;

fn labels() -> Vec<String> {
    TargetTier::ALL.iter().map(|t| t.key().to_owned()).collect()
}

/// Databases blocked and with warnings per tier (the instance counts as one more when its own
/// findings block or warn).
pub fn readiness(instance: &BTreeMap<TargetTier, Readiness>, dbs: &[DatabaseSummary]) -> Chart {
    let count = |t: TargetTier, blocked: bool| -> f64 {
        let hit = |r: Option<&Readiness>| {
            r.is_some_and(|r| {
                if blocked {
                    !r.ready
                } else {
                    r.ready && !r.warnings.is_empty()
                }
            })
        };
        let n = dbs.iter().filter(|d| hit(d.readiness.get(&t))).count()
            + usize::from(hit(instance.get(&t)));
        n as f64
    };
    Chart {
        title: "Blocked and warned, per tier (the instance and each database)".into(),
        unit: "count".into(),
        labels: labels(),
        series: vec![
            ChartSeries {
                name: "blocked".into(),
                values: TargetTier::ALL.iter().map(|&t| count(t, true)).collect(),
            },
            ChartSeries {
                name: "ready, with warnings".into(),
                values: TargetTier::ALL.iter().map(|&t| count(t, false)).collect(),
            },
        ],
    }
}

/// The suggested vCores per tier; 0 where no size of the tier takes the workload.
pub fn vcores(suggestions: &[Suggestion]) -> Chart {
    let of = |t: TargetTier| {
        suggestions
            .iter()
            .find(|s| s.tier == t)
            .and_then(|s| s.vcores)
            .map_or(0.0, f64::from)
    };
    Chart {
        title: "Suggested vCores per tier (0: no size fits)".into(),
        unit: "vCores".into(),
        labels: labels(),
        series: vec![ChartSeries {
            name: "vCores".into(),
            values: TargetTier::ALL.iter().map(|&t| of(t)).collect(),
        }],
    }
}

/// How many databases each method was picked for, and how many none can move yet.
pub fn methods(dbs: &[DatabaseSummary]) -> Chart {
    let mut labels: Vec<String> = Method::ALL.iter().map(|m| m.key().to_owned()).collect();
    labels.push("none yet".into());
    let mut values: Vec<f64> = Method::ALL
        .iter()
        .map(|m| dbs.iter().filter(|d| d.choice.pick == Some(*m)).count() as f64)
        .collect();
    values.push(dbs.iter().filter(|d| d.choice.pick.is_none()).count() as f64);
    Chart {
        title: "Databases per method picked".into(),
        unit: "databases".into(),
        labels,
        series: vec![ChartSeries {
            name: "databases".into(),
            values,
        }],
    }
}
