//! The sampled window and the sizing it gives, through the plugin on FakeHost: one sample per
//! call with a wait between them, resumable from the journaled state on a fresh instance.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use assess::{Assess, State};
use common::{Source, config, host, run};
use ferry_sdk::bindings::ferry::plugin::types::{Outcome, WaitFor};
use ferry_sdk::fake::FakeHost;
use serde_json::{Value, json};

fn busy() -> Source {
    Source {
        cpu_percent: 60,
        ..Source::default()
    }
}

/// Runs the instance step from `state` to its output, skipping waits.
fn to_the_end(h: &mut FakeHost, cfg: &Value, mut state: String) -> Value {
    loop {
        let ctx = h.context(cfg, "(instance)", 1);
        match ferry_sdk::run_step::<Assess>(h, ctx, Some(&state)).unwrap() {
            Outcome::Done(out) => return serde_json::from_str(&out).unwrap(),
            Outcome::Next(s) => state = s,
            Outcome::Wait(w) => state = w.state,
        }
    }
}

fn suggestion<'a>(out: &'a Value, tier: &str) -> &'a Value {
    out["sizing"]["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tier"] == tier)
        .unwrap()
}

#[test]
fn the_window_is_sampled_between_waits_and_sized_per_tier() {
    let (out, h) = run(
        busy(),
        "(instance)",
        json!({"samples": 3, "sample_seconds": 30}),
    );
    let out = out.unwrap();
    assert_eq!(h.waits.len(), 2, "{:?}", h.waits);
    assert!(h.waits.iter().all(|(_, what)| what == "30000 ms"));
    assert!(h.waits[0].0.contains("1 of 3 samples"), "{}", h.waits[0].0);
    let m = &out["sizing"]["measured"];
    // Three clock reads 30 s apart: a 60 s window; 30,000 IOs and 60 MB of log per 30 s.
    assert_eq!(m["samples"], 3);
    assert_eq!(m["window_seconds"], 60.0);
    assert_eq!(m["iops"], 1000.0);
    assert_eq!(m["log_mbps"], 2.0);
    assert_eq!(m["cpu_peak_percent"], 60.0);
    assert_eq!(m["memory_gb"], 8.0);
    // 60% of 8 CPUs = 4.8 busy, at 70% → 7 vCores → 8; memory 8 GB → 2; log 2 MB/s → 1.
    let gp = suggestion(&out, "general-purpose");
    assert_eq!(gp["vcores"], 8);
    // Sales 11 GiB + Hr 201 GiB = 212 GB, +20% = 254.4 → 256 GB (steps of 32).
    assert_eq!(gp["storage_gb"], 256);
    let why: Vec<&str> = gp["reasoning"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(why.iter().any(|r| r.contains("4.80 CPUs busy")), "{why:?}");
    assert!(why.last().unwrap().contains("→ 8 vCores"), "{why:?}");
    assert_eq!(suggestion(&out, "business-critical")["vcores"], 8);
    assert_eq!(suggestion(&out, "next-gen-general-purpose")["vcores"], 8);
    // The sizing is said in the log too.
    assert!(
        h.logs
            .iter()
            .any(|(_, l)| l.starts_with("sizing on general-purpose"))
    );
}

#[test]
fn one_sample_sizes_from_cpu_memory_and_size_without_waiting() {
    let (out, h) = run(busy(), "(instance)", json!({}));
    let out = out.unwrap();
    assert!(h.waits.is_empty());
    assert_eq!(out["sizing"]["measured"]["iops"], Value::Null);
    assert_eq!(suggestion(&out, "general-purpose")["vcores"], 8);
}

#[test]
fn a_restart_resumes_the_window_from_the_journaled_state() {
    let src = Rc::new(RefCell::new(busy()));
    let cfg = config(json!({"samples": 3, "sample_seconds": 45}));
    let first_seen = Rc::new(RefCell::new(Vec::new()));
    let mut h = host(src.clone(), first_seen.clone());
    let ctx = h.context(&cfg, "(instance)", 1);
    let s1 = match ferry_sdk::run_step::<Assess>(&mut h, ctx, None).unwrap() {
        Outcome::Wait(w) => {
            assert!(matches!(w.until, WaitFor::DurationMs(45_000)));
            w.state
        }
        _ => panic!("the first call waits for the next sample"),
    };
    let state: State = serde_json::from_str(&s1).unwrap();
    assert!(matches!(&state, State::Sampling(p) if p.samples.len() == 1));
    // ferry is killed during the wait; a fresh instance resumes from the journal.
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut h2 = host(src.clone(), seen.clone());
    let ctx = h2.context(&cfg, "(instance)", 2);
    let s2 = match ferry_sdk::run_step::<Assess>(&mut h2, ctx, Some(&s1)).unwrap() {
        Outcome::Wait(w) => w.state,
        _ => panic!("the second sample waits for the third"),
    };
    let state: State = serde_json::from_str(&s2).unwrap();
    assert!(matches!(&state, State::Sampling(p) if p.samples.len() == 2));
    // The instance's facts were not read again: the window goes on.
    assert!(
        !seen
            .borrow()
            .iter()
            .any(|q| q.contains("sys.server_principals"))
    );
    // A call cut short and made again with the same state takes the same sample count.
    let ctx = h2.context(&cfg, "(instance)", 3);
    let again = match ferry_sdk::run_step::<Assess>(&mut h2, ctx, Some(&s1)).unwrap() {
        Outcome::Wait(w) => w.state,
        _ => panic!(),
    };
    let state: State = serde_json::from_str(&again).unwrap();
    assert!(matches!(&state, State::Sampling(p) if p.samples.len() == 2));
    // To the end.
    let out = to_the_end(&mut h2, &cfg, s2);
    assert_eq!(out["sizing"]["measured"]["samples"], 3);
    // Four clock reads (the repeated call took one too): the window spans the first to the last kept.
    assert!(
        out["sizing"]["measured"]["window_seconds"]
            .as_f64()
            .unwrap()
            >= 60.0
    );
}

#[test]
fn a_server_restart_in_the_window_leaves_the_rates_unknown_not_wrong() {
    let src = Rc::new(RefCell::new(busy()));
    let cfg = config(json!({"samples": 2, "sample_seconds": 1}));
    let mut h = host(src.clone(), Rc::new(RefCell::new(Vec::new())));
    let ctx = h.context(&cfg, "(instance)", 1);
    let Outcome::Wait(w) = ferry_sdk::run_step::<Assess>(&mut h, ctx, None).unwrap() else {
        panic!()
    };
    // The server restarts: its counters start again from zero.
    src.borrow_mut().io_ops = 0;
    src.borrow_mut().log_bytes = 0;
    src.borrow_mut().log_bytes_per_tick = 1_000_000;
    let out = to_the_end(&mut h, &cfg, w.state);
    assert_eq!(out["sizing"]["measured"]["iops"], Value::Null);
    assert_eq!(out["sizing"]["measured"]["log_mbps"], Value::Null);
}
