//! The fake host's own behaviour: per-label SQL fixtures, the attempt a test sets, and
//! refusals shaped as the real host shapes them.

use ferry_sdk::fake::{FakeHost, result_set};
use ferry_sdk::prelude::*;
use ferry_sdk::{Param, QueryLimits, QueryResult, SqlValue, sql_value};
use serde::Deserialize;

#[derive(Deserialize, schemars::JsonSchema)]
struct Config {
    labels: Vec<String>,
}

/// Reads `SELECT @@SERVERNAME` on each label, then tries a storage label it was not given.
struct Probe;

impl Plugin for Probe {
    const NAME: &'static str = "probe";
    const VERSION: &'static str = "0.0.1";
    const SUMMARY: &'static str = "Reads each label (tests only)";
    type Config = Config;
    type State = Vec<String>;

    fn step(cx: &mut Context<'_, Config>, mut seen: Vec<String>) -> Result<Outcome<Vec<String>>> {
        if seen.is_empty() {
            seen.push(format!("attempt {}", cx.attempt()));
            return Ok(Outcome::Next(seen));
        }
        let labels = cx.config().labels.clone();
        for label in labels {
            let answer = cx.sql(&label).and_then(|conn| {
                cx.query(
                    conn,
                    "SELECT @@SERVERNAME",
                    &[],
                    QueryLimits {
                        max_rows: 1,
                        max_bytes: 1024,
                    },
                )
            });
            seen.push(match answer {
                Ok(r) => sql_value::text(r.into_first_rows()[0].first()),
                Err(e) => e.describe(),
            });
        }
        seen.push(match cx.container("elsewhere") {
            Ok(_) => "opened".into(),
            Err(e) => e.describe(),
        });
        seen.push(format!("attempt {}", cx.attempt()));
        Ok(Outcome::Done(serde_json::json!(seen)))
    }
}

fn server(name: &'static str) -> impl FnMut(&str, &[Param]) -> Result<QueryResult> {
    move |_statement, _params| {
        Ok(result_set(
            &["name"],
            vec![vec![SqlValue::Text(name.into())]],
        ))
    }
}

#[test]
fn each_label_answers_from_its_own_fixture_and_an_unknown_label_is_denied() {
    let mut host = FakeHost::new()
        .on_sql("source", server("SRC01"))
        .on_sql("target", server("mi-target"));
    let out = host
        .run_item::<Probe>(
            serde_json::json!({"labels": ["source", "target", "other"]}),
            "Sales",
        )
        .unwrap();
    let out: Vec<String> = serde_json::from_value(out).unwrap();
    assert_eq!(out[0], "attempt 1");
    assert_eq!(out[1], "SRC01");
    assert_eq!(out[2], "mi-target");
    assert!(out[3].starts_with("denied sql label `other`"), "{}", out[3]);
    assert!(
        out[4].starts_with("denied storage label `elsewhere`"),
        "{}",
        out[4]
    );
    assert_eq!(
        out[5], "attempt 1",
        "later calls are first attempts of their state"
    );
}

#[test]
fn a_test_can_make_the_first_call_a_retry() {
    let mut host = FakeHost::new().on_sql("source", server("SRC01")).attempt(3);
    let out = host
        .run_item::<Probe>(serde_json::json!({"labels": ["source"]}), "Sales")
        .unwrap();
    let out: Vec<String> = serde_json::from_value(out).unwrap();
    assert_eq!(out.first().map(String::as_str), Some("attempt 3"));
    assert_eq!(out.last().map(String::as_str), Some("attempt 1"));
}
