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

/// Waits an hour at a time until a deadline two and a half hours after its first call.
struct Deadline;

impl Plugin for Deadline {
    const NAME: &'static str = "deadline";
    const VERSION: &'static str = "0.0.1";
    const SUMMARY: &'static str = "Waits for a deadline (tests only)";
    type Config = serde_json::Value;
    type State = Option<(u64, u32)>;

    fn step(
        _cx: &mut Context<'_, serde_json::Value>,
        state: Option<(u64, u32)>,
    ) -> Result<Outcome<Option<(u64, u32)>>> {
        let now = ferry_sdk::now_ms();
        let (start, looks) = state.unwrap_or((now, 0));
        if now - start >= 150 * 60_000 {
            return Ok(Outcome::Done(
                serde_json::json!({"start": start, "now": now, "looks": looks + 1}),
            ));
        }
        Ok(Outcome::wait_for(
            std::time::Duration::from_secs(3600),
            Some((start, looks + 1)),
            "not yet",
        ))
    }
}

#[test]
fn a_fake_clock_moves_on_with_each_wait() {
    let mut host = FakeHost::new().clock(1_000_000);
    let out = host
        .run_item::<Deadline>(serde_json::json!({}), "Sales")
        .unwrap();
    // Waits of an hour at 0 h, 1 h and 2 h; the fourth look, at 3 h, is past 2.5 h.
    assert_eq!(out["start"], 1_000_000);
    assert_eq!(out["now"], 1_000_000 + 3 * 3_600_000);
    assert_eq!(out["looks"], 4);
    assert_eq!(host.waits.len(), 3);
    assert_eq!(host.clock_ms, Some(1_000_000 + 3 * 3_600_000));
    host.advance(5);
    assert_eq!(host.clock_ms, Some(1_000_000 + 3 * 3_600_000 + 5));
    // Outside run_item, and without a fake clock, now_ms is the real clock.
    assert!(ferry_sdk::now_ms() > 1_600_000_000_000);
}

/// Asks for the status of an operation it never began.
struct Stranger;

impl Plugin for Stranger {
    const NAME: &'static str = "stranger";
    const VERSION: &'static str = "0.0.1";
    const SUMMARY: &'static str = "Asks about an unknown operation (tests only)";
    type Config = serde_json::Value;
    type State = ();

    fn step(cx: &mut Context<'_, serde_json::Value>, _: ()) -> Result<Outcome<()>> {
        cx.operation("op-from-before-a-restart")?;
        Ok(Outcome::Done(serde_json::json!({})))
    }
}

#[test]
fn an_unknown_operation_fails_as_the_host_fails_it() {
    let err = FakeHost::new()
        .run_item::<Stranger>(serde_json::json!({}), "Sales")
        .unwrap_err();
    assert!(matches!(err, Error::Failed(_)), "{err:?}");
    assert!(
        err.describe()
            .contains("no host operation `op-from-before-a-restart`"),
        "{err:?}"
    );
}
