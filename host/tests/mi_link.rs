//! The `mi-link` plugin through the `ferry` binary against the emulator: a source SQL Server
//! with Always On, a Managed Instance whose link engine really replicates, its ARM front end.
//! Databases are linked under a write workload and cut over; the MI must then hold every row
//! the source committed, table by table (count and checksum), and be writable.

mod common;

use std::time::Duration;

use common::link_rig::*;
use common::*;
use serde_json::Value;

/// The `item-done` events of an apply's `--json` output, by item.
fn outputs(log: &str) -> Vec<(String, Value)> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "item-done")
        .map(|e| (e["item"].as_str().unwrap_or("").to_owned(), e["output"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_databases_cut_over_under_a_workload_without_losing_a_committed_row() {
    let s = setup("2022", &["SalesDb", "HRDb", "InventoryDb"], "").await;
    let apply = s.apply();
    s.until_synchronizing(&apply, Duration::from_secs(120)).await;

    // The applications write while the links replicate, then stop (cutover's step 1).
    let workloads = s.workloads(40.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let committed = stop(&workloads);
    assert!(committed.iter().all(|&n| n > 0), "{committed:?}");
    let before: Vec<_> = s.dbs.iter().map(|db| fingerprint(&s.src, db)).collect();

    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    let done = outputs(&log);
    assert_eq!(done.len(), 3, "every database done:\n{log}");

    for (db, before) in s.dbs.iter().zip(before) {
        assert_eq!(fingerprint(&s.mi, db), before, "{db} on the MI after cutover");
        // The MI's copy is the primary now: writable.
        tokio::task::block_in_place(|| {
            s.mi.run_sql(&format!("INSERT INTO [{db}].dbo.T VALUES (100000, N'after cutover')"))
        })
        .unwrap_or_else(|e| panic!("{db} is not writable on the MI: {}", e.text));
        let (_, output) = done.iter().find(|(i, _)| i == db).unwrap();
        assert_eq!(output["broken"], false, "{db}: a two-way version fails over");
        assert!(output["seeding_ms"].as_u64().is_some(), "{output}");
        assert!(output["downtime_ms"].as_u64().is_some(), "{output}");
        let (src_lsn, mi_lsn) = (&output["lsn_source"], &output["lsn_mi"]);
        assert!(
            src_lsn.as_str().is_some_and(|l| !l.is_empty()) && src_lsn == mi_lsn,
            "the LSNs compared at cutover: {output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_way_version_breaks_the_link_instead_of_failing_over() {
    let s = setup("2019", &["SalesDb"], "").await;
    let apply = s.apply();
    s.until_synchronizing(&apply, Duration::from_secs(120)).await;
    let before = fingerprint(&s.src, "SalesDb");
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    let done = outputs(&log);
    assert_eq!(done.len(), 1, "{log}");
    assert_eq!(done[0].1["broken"], true, "{log}");
    assert!(s.link("SalesDb").is_none(), "the link was deleted");
    assert_eq!(fingerprint(&s.mi, "SalesDb"), before);
    assert!(
        !s.front
            .requests()
            .iter()
            .any(|(m, p)| m == "POST" && p.contains("/failover")),
        "no failover on a one-way link"
    );
    // Both copies are independent and writable.
    tokio::task::block_in_place(|| {
        s.mi.run_sql("INSERT INTO [SalesDb].dbo.T VALUES (100000, N'mi')")
            .unwrap();
    });
}

/// `examples/mi-link/` passes `ferry check` as shipped, and a forced failover without
/// `allow_data_loss` is refused naming the key.
#[test]
fn the_example_site_passes_check() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/mi-link");
    let migration = std::fs::read_to_string(root.join("migration.toml")).unwrap();
    let environment = std::fs::read_to_string(root.join("environment.toml")).unwrap();
    let check = |migration: &str| {
        let site = Site::new(migration, &environment);
        let ca = ferry_emulator::ServerTls::generate(&[]).unwrap().ca_pem;
        std::fs::write(site.path("emulator-ca.pem"), ca).unwrap();
        site.run(
            &["check", "migration.toml"],
            &[
                ("FERRY_EMULATOR_SA_PASSWORD", "x"),
                ("FERRY_EMULATOR_ARM_TOKEN", "t"),
            ],
        )
    };
    let out = check(&migration);
    assert!(out.status.success(), "{:?}", text(&out));
    let forced = migration.replace("poll_seconds = 5", "poll_seconds = 5\nfailover = \"forced\"");
    let out = check(&forced);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("allow_data_loss"), "{stderr}");
}
