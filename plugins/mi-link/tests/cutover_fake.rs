//! Cutover against a scripted world: the LSN stable window, the one-way break, forced
//! failover and split brain, failback, and repeats after a kill that never fail over twice.

mod common;

use common::*;
use mi_link::MiLink;
use serde_json::json;

#[test]
fn the_failover_waits_until_the_lsns_are_equal_and_stay_so() {
    let w = world();
    w.borrow_mut().catchup_reads = 5;
    let (h, out) = run(&w, config());
    out.unwrap();
    let sql = statements(&h);
    let sync = position(&sql, "MODIFY AVAILABILITY GROUP ON");
    let failover = position(&sql, "] FAILOVER");
    assert!(sync < failover);
    // Looks while the MI lagged, then at least two looks at the same equal LSN.
    let differ = h
        .waits
        .iter()
        .filter(|(r, _)| r.contains("last_hardened_lsn differs"))
        .count();
    let held = h
        .waits
        .iter()
        .filter(|(r, _)| r.contains("stay so"))
        .count();
    assert!(differ >= 1, "{:?}", h.waits);
    assert!(
        held >= 1,
        "the equal LSN is seen twice before failing over: {:?}",
        h.waits
    );
    assert!(w.borrow().replica_reads > 5);
}

#[test]
fn a_repeat_after_the_failover_does_not_fail_over_again() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.ags = vec!["AG_Sales".into(), "DAG_Sales".into()];
        w.link = Some(
            json!({"properties": {"databases": [{"databaseName": "Sales", "replicaState": "LinkSynchronizing"}]}}),
        );
        w.source_role = "SECONDARY".into();
        w.mi_role = "Primary".into();
        w.mode_sync = true;
    }
    let link = mi_link::Link {
        db: "Sales".into(),
        ag: "AG_Sales".into(),
        dag: "DAG_Sales".into(),
        mi_name: "mi1".into(),
        tsql_failover: true,
        two_way: true,
        cutover_started_ms: 1,
        ..mi_link::Link::default()
    };
    let state = serde_json::to_string(&mi_link::State::Draining { link }).unwrap();
    let mut h = host(&w);
    let ctx = h.context(&config(), "Sales", 2);
    let out = ferry_sdk::run_step::<MiLink>(&mut h, ctx, Some(&state)).unwrap();
    assert!(format!("{out:?}").contains("AwaitingBackup"), "{out:?}");
    assert!(!statements(&h).iter().any(|s| s.contains("FAILOVER")));
    assert!(!arm_changes(&h).iter().any(|a| a.contains("failover")));
    assert_eq!(w.borrow().failovers, 0);
}

#[test]
fn a_forced_failover_that_leaves_both_primary_reports_split_brain_with_the_repair() {
    let w = world();
    w.borrow_mut().split_brain_on_force = true;
    let mut cfg = config();
    cfg["failover"] = json!("forced");
    cfg["allow_data_loss"] = json!(true);
    let (h, out) = run(&w, cfg);
    let e = out.unwrap_err().describe();
    assert!(
        e.contains("split brain") && e.contains("SET (ROLE = SECONDARY)"),
        "{e}"
    );
    let post = h
        .arm
        .iter()
        .find(|(_, r)| r.path.ends_with("/failover"))
        .unwrap();
    assert_eq!(
        post.1.body.as_deref(),
        Some(r#"{"failoverType":"ForcedAllowDataLoss"}"#)
    );
    assert!(
        !arm_changes(&h).iter().any(|a| a.starts_with("PATCH")),
        "no sync switch for a forced failover"
    );
}

#[test]
fn a_repeat_after_the_break_does_not_delete_again() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.version = "15.0.4312.2".into();
        w.ags = vec!["AG_Sales".into(), "DAG_Sales".into()];
        w.link = None;
        w.mode_sync = true;
    }
    let link = mi_link::Link {
        db: "Sales".into(),
        ag: "AG_Sales".into(),
        dag: "DAG_Sales".into(),
        mi_name: "mi1".into(),
        one_way: true,
        cutover_started_ms: 1,
        ..mi_link::Link::default()
    };
    let state = serde_json::to_string(&mi_link::State::Draining { link }).unwrap();
    let mut h = host(&w);
    let ctx = h.context(&config(), "Sales", 2);
    let out = ferry_sdk::run_step::<MiLink>(&mut h, ctx, Some(&state)).unwrap();
    let shown = format!("{out:?}");
    assert!(
        shown.contains("AwaitingBackup") && shown.contains("\\\"broken\\\":true"),
        "{shown}"
    );
    assert!(arm_changes(&h).is_empty(), "{:?}", arm_changes(&h));
}

#[test]
fn a_two_way_link_waits_after_cutover_and_fails_back_on_the_signal() {
    let w = world();
    let mut cfg = config();
    cfg["keep_link"] = json!(true);
    let mut h = host(&w);
    h.signals = vec!["cutover".into(), "failback".into()];
    let out = h.run_item::<MiLink>(cfg, "Sales").unwrap();
    assert_eq!(out["failed_back"], true);
    let arm = arm_changes(&h);
    let patches = arm.iter().filter(|a| a.starts_with("PATCH")).count();
    assert_eq!(
        patches, 2,
        "sync before the cutover and before the failback: {arm:?}"
    );
    assert!(arm.contains(&"POST distributedAvailabilityGroups/DAG_Sales/failover".to_owned()));
    assert!(
        !arm.iter().any(|a| a.starts_with("DELETE")),
        "the link is kept"
    );
    assert_eq!(w.borrow().source_role, "PRIMARY");
    assert_eq!(
        w.borrow().failovers,
        2,
        "T-SQL failover to the MI, ARM failover back"
    );
    assert!(w.borrow().ags.contains(&"DAG_Sales".to_owned()));
}

#[test]
fn a_forced_failover_skips_the_sync_switch_and_leaves_the_source_ag() {
    let w = world();
    let mut cfg = config();
    cfg["failover"] = json!("forced");
    cfg["allow_data_loss"] = json!(true);
    let (h, out) = run(&w, cfg);
    out.unwrap();
    let arm = arm_changes(&h);
    assert!(!arm.iter().any(|a| a.starts_with("PATCH")), "{arm:?}");
    assert!(arm.contains(&"POST distributedAvailabilityGroups/DAG_Sales/failover".to_owned()));
    assert!(!statements(&h).iter().any(
        |s| s.starts_with("DROP AVAILABILITY GROUP") || s.contains("MODIFY AVAILABILITY GROUP")
    ));
    assert!(
        h.logs
            .iter()
            .any(|(_, m)| m.contains("forced failover ferry leaves"))
    );
}

#[test]
fn a_repeat_after_a_forced_failover_does_not_send_it_again() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.ags = vec!["AG_Sales".into(), "DAG_Sales".into()];
        w.link = Some(
            json!({"properties": {"databases": [{"databaseName": "Sales", "replicaState": "LinkSynchronizing"}]}}),
        );
        w.seeding_gets = 0;
        w.source_role = "SECONDARY".into();
        w.mi_role = "Primary".into();
    }
    let link = mi_link::Link {
        db: "Sales".into(),
        ag: "AG_Sales".into(),
        dag: "DAG_Sales".into(),
        mi_name: "mi1".into(),
        two_way: true,
        ..mi_link::Link::default()
    };
    let state = serde_json::to_string(&mi_link::State::Synchronizing { link }).unwrap();
    let mut cfg = config();
    cfg["failover"] = json!("forced");
    cfg["allow_data_loss"] = json!(true);
    let mut h = host(&w);
    h.signals = vec!["cutover".into()];
    let ctx = h.context(&cfg, "Sales", 2);
    let out = ferry_sdk::run_step::<MiLink>(&mut h, ctx, Some(&state)).unwrap();
    assert!(format!("{out:?}").contains("AwaitingBackup"), "{out:?}");
    assert!(arm_changes(&h).is_empty(), "{:?}", arm_changes(&h));
    assert_eq!(w.borrow().failovers, 0);
}

#[test]
fn a_kept_link_waits_for_finish_not_for_the_cutover_signal_that_led_there() {
    let w = world();
    let mut cfg = config();
    cfg["keep_link"] = json!(true);
    let mut h = host(&w);
    h.signals = vec!["cutover".into()];
    let e = h
        .run_item::<MiLink>(cfg.clone(), "Sales")
        .unwrap_err()
        .describe();
    assert!(e.contains("1,000 step calls"), "still waiting: {e}");
    assert!(h.waits.iter().any(|(r, _)| r.contains("ferry finish")));
    assert!(!arm_changes(&h).iter().any(|a| a.starts_with("DELETE")));

    let w = world();
    let mut h = host(&w);
    h.signals = vec!["cutover".into(), "finish".into()];
    let out = h.run_item::<MiLink>(cfg, "Sales").unwrap();
    assert_eq!(out["failed_back"], false);
    assert!(arm_changes(&h).contains(&"DELETE distributedAvailabilityGroups/DAG_Sales".to_owned()));
    assert!(w.borrow().ags.is_empty(), "DAG and AG dropped on finish");
}

#[test]
fn ferry_cutover_allow_data_loss_forces_the_failover_whatever_the_config() {
    let w = world();
    let mut h = host(&w);
    h.signals = vec!["force-failover".into(), "cutover".into()];
    h.run_item::<MiLink>(config(), "Sales").unwrap();
    let post = h
        .arm
        .iter()
        .find(|(_, r)| r.path.ends_with("/failover"))
        .unwrap();
    assert_eq!(
        post.1.body.as_deref(),
        Some(r#"{"failoverType":"ForcedAllowDataLoss"}"#)
    );
    assert!(!statements(&h).iter().any(|s| s.ends_with("] FAILOVER")));
}
