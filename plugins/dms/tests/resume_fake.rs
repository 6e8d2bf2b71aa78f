//! A kill at any point resumes without a second start, a second cutover or a second tail-log
//! backup: each step call is made again with the state it started from (attempt 2).

mod common;

use common::*;
use dms::{Dms, Migration, State};
use ferry_sdk::bindings::ferry::plugin::types::Outcome;
use ferry_sdk::fake::FakeHost;
use serde_json::json;

fn migration() -> Migration {
    Migration {
        db: "Sales".into(),
        target: "Sales".into(),
        mi_id: MI_ID.into(),
        service_id: DMS_ID.into(),
        ..Migration::default()
    }
}

fn running(w: &std::rc::Rc<std::cell::RefCell<World>>, status: &str) {
    w.borrow_mut().migration = Some(json!({"properties": {"sourceDatabaseName": "Sales",
        "migrationStatus": status, "migrationOperationId": "op-1",
        "provisioningState": "Succeeded"}}));
}

/// Runs from `state` (attempt 2 first, as after a kill) until done.
fn resume(
    w: &std::rc::Rc<std::cell::RefCell<World>>,
    state: &State,
    signals: &[&str],
) -> (FakeHost, ferry_sdk::Result<serde_json::Value>) {
    let mut h = host(w);
    h.signals = signals.iter().map(|s| (*s).to_owned()).collect();
    let mut state = serde_json::to_string(state).unwrap();
    for attempt in [2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] {
        let ctx = h.context(&share_config(), "Sales", attempt);
        match ferry_sdk::run_step::<Dms>(&mut h, ctx, Some(&state)) {
            Ok(Outcome::Done(out)) => return (h, Ok(serde_json::from_str(&out).unwrap())),
            Ok(Outcome::Next(s)) => state = s,
            Ok(Outcome::Wait(w)) => state = w.state,
            Err(e) => return (h, Err(e)),
        }
    }
    panic!("not done after 20 calls");
}

#[test]
fn a_kill_during_the_start_adopts_the_migration_as_ours_without_a_second_put() {
    let w = world();
    running(&w, "InProgress");
    let state = State::Starting {
        m: migration(),
        op: None,
    };
    // Cancel after the resume: allowed, since this run's PUT started it.
    let (h, out) = resume(&w, &state, &["cancel"]);
    assert_eq!(out.unwrap()["canceled"], true);
    assert_eq!(w.borrow().puts, 0);
    assert_eq!(
        arm_changes(&h),
        vec!["POST providers/Microsoft.DataMigration/databaseMigrations/Sales/cancel"]
    );
}

#[test]
fn an_unknown_start_operation_with_the_migration_listed_is_followed() {
    let w = world();
    running(&w, "InProgress");
    let state = State::Starting {
        m: migration(),
        op: Some("lost".into()),
    };
    let (h, out) = resume(&w, &state, &["cutover"]);
    out.unwrap();
    assert_eq!(w.borrow().puts, 0);
    assert_eq!(
        arm_changes(&h).len(),
        1,
        "only the cutover: {:?}",
        arm_changes(&h)
    );
}

#[test]
fn an_unknown_start_operation_and_no_migration_sends_the_put_once() {
    let w = world();
    let state = State::Starting {
        m: migration(),
        op: Some("lost".into()),
    };
    let (_, out) = resume(&w, &state, &["cutover"]);
    out.unwrap();
    assert_eq!(w.borrow().puts, 1);
}

#[test]
fn a_kill_during_cutover_follows_completing_without_a_second_post() {
    let w = world();
    running(&w, "Completing");
    let mut m = migration();
    m.operation_id = Some("op-1".into());
    m.started_operation_id = Some("op-1".into());
    m.cutover_requested_ms = 1;
    let (h, out) = resume(&w, &State::Monitoring { m }, &["cutover"]);
    let out = out.unwrap();
    assert!(out["cutover_at"].is_string());
    assert_eq!(w.borrow().cutover_posts, 0);
    assert!(arm_changes(&h).is_empty());
}

#[test]
fn a_kill_after_the_tail_log_backup_does_not_take_it_again() {
    let w = world();
    running(&w, "InProgress");
    {
        let mut w = w.borrow_mut();
        w.tail_taken = Some("Sales_tail_1.trn".into());
        w.arriving.insert(0, file("Sales_tail_1.trn", 'L'));
    }
    let mut m = migration();
    m.operation_id = Some("op-1".into());
    m.started_operation_id = Some("op-1".into());
    let mut h = host(&w);
    h.signals = vec!["cutover".into()];
    let mut cfg = share_config();
    cfg["tail_log_backup"] = json!(true);
    let state = serde_json::to_string(&State::Monitoring { m }).unwrap();
    let ctx = h.context(&cfg, "Sales", 2);
    let out = ferry_sdk::run_step::<Dms>(&mut h, ctx, Some(&state)).unwrap();
    assert!(format!("{out:?}").contains("Sales_tail_1.trn"), "{out:?}");
    assert!(
        !h.executed.iter().any(|(_, s)| s.contains("BACKUP LOG")),
        "{:?}",
        h.executed
    );
}
