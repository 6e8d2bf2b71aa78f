//! The host keeps a step's state and output within 1 MiB: a large instance's lists are capped
//! per rule, its state keeps what later calls need, and an output too large is cut in steps
//! that are said.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use assess::config::TargetTier;
use assess::instance_step::fit;
use assess::{Assess, State};
use common::{Db, Source, config, host, run};
use ferry_sdk::bindings::ferry::plugin::types::Outcome;
use serde_json::{Value, json};

fn crowded() -> Source {
    let mut s = Source::default();
    for n in 0..2000 {
        s.principals
            .push((format!("FABRIKAM\\user{n}"), "U".into()));
        s.job_steps
            .push((format!("job{n}"), "s".into(), "CmdExec".into()));
    }
    s
}

#[test]
fn thousands_of_objects_are_capped_per_rule_and_said() {
    let (out, h) = run(crowded(), "(instance)", json!({}));
    let out = out.unwrap();
    let logins: Vec<&Value> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "windows-login-unmapped")
        .collect();
    assert_eq!(logins.len(), 50);
    assert_eq!(logins[49]["object"], "1951 more");
    let row = common::row(&h.rows, "instance: windows-login-unmapped").unwrap();
    assert!(row.notes.as_deref().unwrap().contains("1951 more"));
    assert!(serde_json::to_string(&out).unwrap().len() < 200_000);
}

#[test]
fn the_journaled_state_keeps_what_later_calls_need_not_the_instance_s_lists() {
    let src = Rc::new(RefCell::new(crowded()));
    let mut h = host(src, Rc::new(RefCell::new(Vec::new())));
    let cfg = config(json!({"samples": 2}));
    let ctx = h.context(&cfg, "(instance)", 1);
    let Outcome::Wait(w) = ferry_sdk::run_step::<Assess>(&mut h, ctx, None).unwrap() else {
        panic!("waits for the second sample")
    };
    assert!(w.state.len() < 100_000, "{} bytes", w.state.len());
    let state: State = serde_json::from_str(&w.state).unwrap();
    let State::Sampling(p) = state else { panic!() };
    assert!(p.facts.windows_logins.is_empty() && p.facts.job_steps.is_empty());
    assert_eq!(p.facts.databases.len(), 2);
}

#[test]
fn an_output_past_the_limit_is_cut_in_steps_that_are_said() {
    let mut s = Source::default();
    for n in 0..40 {
        let mut d = Db::new(&format!("Db{n}"), 10 + n, 1);
        if n % 2 == 0 {
            d.filegroups.push("FD".into());
        }
        s.databases.push(d);
    }
    let (out, _) = run(s, "(instance)", json!({}));
    let full: assess::instance_step::InstanceOutput = serde_json::from_value(out.unwrap()).unwrap();
    assert_eq!(full.databases.len(), 42);
    assert_eq!(full.cut, None);
    let choices: Vec<_> = full.databases.iter().map(|d| d.choice.clone()).collect();
    let size = |o: &assess::instance_step::InstanceOutput| serde_json::to_string(o).unwrap().len();
    // First the databases ready on the tier go.
    let limit = size(&full) - 1;
    let cut = fit(
        full.clone(),
        TargetTier::GeneralPurpose,
        "SQL01",
        &choices,
        limit,
    );
    assert_eq!(cut.databases.len(), 20);
    assert!(
        cut.cut
            .as_deref()
            .unwrap()
            .contains("22 databases ready on general-purpose")
    );
    assert!(size(&cut) <= limit);
    // At the last step only the readiness, the sizing and the drafts stay.
    let tiny = fit(full, TargetTier::GeneralPurpose, "SQL01", &choices, 10_000);
    assert!(tiny.databases.is_empty() && tiny.findings.is_empty());
    assert!(!tiny.drafts.is_empty());
    assert!(tiny.cut.unwrap().contains("readiness per tier"));
}
