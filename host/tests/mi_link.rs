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
        .map(|e| {
            (
                e["item"].as_str().unwrap_or("").to_owned(),
                e["output"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_databases_cut_over_under_a_workload_without_losing_a_committed_row() {
    let (s, apply) = replicating("2022", &["SalesDb", "HRDb", "InventoryDb"], "").await;

    // The applications write while the links replicate, then stop (cutover's step 1).
    let workloads = s.workloads(40.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let committed = stop(&workloads).await;
    assert!(committed.iter().all(|&n| n > 0), "{committed:?}");
    let before: Vec<_> = s.dbs.iter().map(|db| fingerprint(&s.src, db)).collect();

    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    let done = outputs(&log);
    assert_eq!(done.len(), 3, "every database done:\n{log}");

    // The report: every database done, none with a reason (the transient retries of two
    // steps making the same instance-level object at once are not failures).
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(s.site.path(".ferry/migration/report.json")).unwrap(),
    )
    .unwrap();
    for d in report["databases"].as_array().unwrap() {
        assert_eq!(d["outcome"], "done", "{d}");
        assert!(d["reason"].is_null(), "a done database has no reason: {d}");
    }
    for (db, before) in s.dbs.iter().zip(before) {
        assert_eq!(
            fingerprint(&s.mi, db),
            before,
            "{db} on the MI after cutover"
        );
        // The MI's copy is the primary now: writable.
        tokio::task::block_in_place(|| {
            s.mi.run_sql(&format!(
                "INSERT INTO [{db}].dbo.T VALUES (100000, N'after cutover')"
            ))
        })
        .unwrap_or_else(|e| panic!("{db} is not writable on the MI: {}", e.text));
        let (_, output) = done.iter().find(|(i, _)| i == db).unwrap();
        assert_eq!(
            output["broken"], false,
            "{db}: a two-way version fails over"
        );
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
    // With the documented connectivity tests first: both pass on an open network.
    let (s, apply) = replicating("2019", &["SalesDb"], "connectivity_test = true").await;
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
    let forced = migration.replace(
        "poll_seconds = 5",
        "poll_seconds = 5\nfailover = \"forced\"",
    );
    let out = check(&forced);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("allow_data_loss"), "{stderr}");
}

/// How many `method` requests whose path contains `needle` reached the MI's ARM.
fn arm_requests(s: &LinkSite, method: &str, needle: &str) -> usize {
    s.front
        .requests()
        .iter()
        .filter(|(m, p)| m == method && p.contains(needle))
        .count()
}

/// Seeding slowed to about `real_seconds` for the small test databases (virtual time).
fn slow_seeding(s: &LinkSite) {
    s.links.set_seeding_rate(64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_seeding_resumes_without_creating_the_link_twice() {
    let s = setup("2022", &["SalesDb"], "").await;
    slow_seeding(&s);
    let seeding = || {
        s.link("SalesDb")
            .and_then(|l| l.databases.first().map(|d| d.replica_state.clone()))
            .is_some_and(|st| st == "CreatingLink")
    };
    kill_when(
        ferry_cmd(&s.site, &["apply", "--json", "migration.toml"]),
        &s.site.path("killed.log"),
        seeding,
    )
    .await;
    s.links.set_seeding_rate(1 << 30);
    // The signal waits in the journal for the resumed run.
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let before = fingerprint(&s.src, "SalesDb");
    let out = run(&s.site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(outputs(&stdout).len(), 1, "{stdout}");
    assert_eq!(
        arm_requests(&s, "PUT", "distributedAvailabilityGroups/DAG_SalesDb"),
        1,
        "the link was created once: {:?}",
        s.front.requests()
    );
    assert_eq!(fingerprint(&s.mi, "SalesDb"), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_cutover_resumes_without_failing_over_twice() {
    let (s, apply) = replicating("2022", &["SalesDb"], "").await;
    apply.kill();
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let before = fingerprint(&s.src, "SalesDb");
    // Killed once the failover has reached the MI's ARM (its reply not yet journaled).
    kill_when(
        ferry_cmd(&s.site, &["apply", "--json", "migration.toml"]),
        &s.site.path("killed.log"),
        || arm_requests(&s, "POST", "DAG_SalesDb/failover") > 0,
    )
    .await;
    let out = run(&s.site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(outputs(&stdout).len(), 1, "{stdout}");
    assert_eq!(
        arm_requests(&s, "POST", "DAG_SalesDb/failover"),
        1,
        "one failover: a second would swap the roles back"
    );
    assert_eq!(fingerprint(&s.mi, "SalesDb"), before);
    tokio::task::block_in_place(|| {
        s.mi.run_sql("INSERT INTO [SalesDb].dbo.T VALUES (100000, N'mi')")
    })
    .unwrap();
}

/// Runs `ferry apply` to its end; its database failed with every phrase in `reason`.
async fn fails_with(s: &LinkSite, reason: &[&str]) -> String {
    let out = run(&s.site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    failed_with(&stdout, reason);
    stdout
}

/// The one database that failed in `log` (a `--json` run's output) failed with every phrase in
/// `reason`.
fn failed_with(log: &str, reason: &[&str]) {
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"item-failed\""))
        .collect();
    assert_eq!(failed.len(), 1, "{log}");
    for phrase in reason {
        assert!(failed[0].contains(phrase), "`{phrase}` in {}", failed[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_backup_during_seeding_ends_the_database_with_drop_and_recreate() {
    let s = setup("2022", &["SalesDb"], "").await;
    // Seeding held until the log backup has landed, however busy the machine; the MI's clock
    // at real speed, so a busy machine's pause is not a long virtual outage (which restarts
    // seeding, and with it the log it needs).
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::StallSeeding { stalled: true });
    s.mi.clock().set_speed(1.0);
    let src = s.src.clone();
    let backup = s.site.path("SalesDb.trn");
    let links = s.links.clone();
    // The DBA's log backup job runs while the MI seeds ("Troubleshoot link": 1408/1412).
    let truncate = tokio::spawn(async move {
        loop {
            let seeding = links
                .status("DAG_SalesDb")
                .and_then(|l| l.databases.first().map(|d| d.replica_state.clone()))
                .is_some_and(|st| st == "CreatingLink");
            if seeding {
                tokio::task::block_in_place(|| {
                    src.run_sql(&format!(
                        "BACKUP LOG [SalesDb] TO DISK = '{}'",
                        backup.display()
                    ))
                })
                .unwrap();
                // The control API's truncated-log fault as well: the engine's own detection
                // of the backup is tested in emulator/tests/hadr_link.rs; here the plugin's
                // answer to 1412 is what is tested, on a machine however busy.
                links.inject(ferry_emulator::hadr::link::LinkFault::TruncateLog);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let out = fails_with(&s, &["1412", "drop"]).await;
    truncate.await.unwrap();
    assert!(!out.contains("\"item-done\""), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forced_failover_with_the_source_still_primary_is_a_split_brain_with_its_repair() {
    let (s, apply) = replicating("2022", &["SalesDb"], "").await;
    apply.kill();
    let out = run(&s.site, &["cutover", "--allow-data-loss", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    fails_with(&s, &["split brain", "SET (ROLE = SECONDARY)"]).await;
    assert_eq!(arm_requests(&s, "POST", "DAG_SalesDb/failover"), 1);
    // SQL Server's side is left for the DBA: its AGs are not dropped.
    assert!(
        !s.src
            .statements()
            .iter()
            .any(|st| st.text.contains("DROP AVAILABILITY GROUP")),
        "nothing dropped on SQL Server after a forced failover"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seeding_that_stalls_ends_after_the_documented_six_days() {
    let s = setup("2022", &["SalesDb"], "").await;
    slow_seeding(&s);
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::StallSeeding { stalled: true });
    // Six virtual days pass in seconds.
    s.mi.clock().set_speed(200_000.0);
    fails_with(&s, &["6 days"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_during_cutover_holds_the_failover_until_the_network_heals() {
    let (s, apply) = replicating("2022", &["SalesDb"], "").await;
    let before = fingerprint(&s.src, "SalesDb");
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: true });
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        arm_requests(&s, "POST", "DAG_SalesDb/failover"),
        0,
        "no failover while the sides cannot compare LSNs:\n{}",
        apply.output()
    );
    let waiting = apply.output();
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: false });
    let log = apply.finished().await;
    assert_eq!(outputs(&log).len(), 1, "done once healed:\n{log}");
    assert_eq!(fingerprint(&s.mi, "SalesDb"), before);
    let last_wait = waiting
        .lines()
        .rev()
        .find(|l| l.contains("\"item-waiting\""))
        .unwrap_or_default()
        .to_owned();
    assert!(
        last_wait.to_lowercase().contains("connect") || last_wait.contains("LSN"),
        "the wait says why: {last_wait}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blocked_port_fails_the_connectivity_test_before_anything_changes() {
    let s = setup("2022", &["SalesDb"], "connectivity_test = true").await;
    // The MI's subnet drops SQL Server's traffic to 5022 (an NSG without the link's rule).
    s.network.block_port(MI_FQDN, 5022);
    fails_with(&s, &["5022"]).await;
    assert_eq!(
        arm_requests(&s, "PUT", "distributedAvailabilityGroups"),
        0,
        "no link was created"
    );
    assert!(
        !s.src
            .statements()
            .iter()
            .any(|st| st.text.contains("CREATE AVAILABILITY GROUP")
                || st.text.contains("CREATE MASTER KEY")),
        "nothing was changed on SQL Server"
    );
    // The temporary Agent jobs are gone again.
    assert_eq!(
        cell(&s.src, "SELECT COUNT(*) FROM msdb.dbo.sysjobs"),
        "0",
        "the test jobs were removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kept_link_fails_back_to_sql_server_with_what_the_mi_wrote() {
    let (s, apply) = replicating("2022", &["SalesDb"], "keep_link = true").await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    // After the cutover the item waits, the MI the primary and SQL Server its secondary.
    apply
        .until("waiting for `ferry failback` or `ferry finish`")
        .await;
    tokio::task::block_in_place(|| {
        s.mi.run_sql("INSERT INTO [SalesDb].dbo.T VALUES (100000, N'written on the MI')")
    })
    .unwrap();
    let out = run(&s.site, &["failback", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    let done = outputs(&log);
    assert_eq!(done.len(), 1, "{log}");
    assert_eq!(done[0].1["failed_back"], true, "{log}");
    // SQL Server is the primary again, with the MI's row, and writable.
    assert_eq!(
        fingerprint(&s.src, "SalesDb"),
        fingerprint(&s.mi, "SalesDb")
    );
    assert_eq!(
        cell(
            &s.src,
            "SELECT COUNT(*) FROM [SalesDb].dbo.T WHERE Id = 100000"
        ),
        "1"
    );
    tokio::task::block_in_place(|| {
        s.src
            .run_sql("INSERT INTO [SalesDb].dbo.T VALUES (100001, N'SQL Server again')")
    })
    .unwrap();
    assert_eq!(
        arm_requests(&s, "POST", "DAG_SalesDb/failover"),
        2,
        "there and back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trust_certificate_deleted_before_the_link_starts_ends_the_database_with_41973() {
    let s = setup("2022", &["SalesDb"], "").await;
    // The link is created while SQL Server cannot reach the MI, so it waits to start ...
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: true });
    let apply = s.apply();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while s.link("SalesDb").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no link created:\n{}",
            apply.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ... and meanwhile someone removes SQL Server's certificate from the MI (an admin's
    // DELETE serverTrustCertificates/{name}), then the network heals.
    let trusted = s.links.trust_certificates();
    assert_eq!(trusted.len(), 1, "ferry uploaded the endpoint certificate");
    s.links.delete_trust_certificate(&trusted[0].name).unwrap();
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: false });
    failed_with(
        &apply.finished().await,
        &["41973", "serverTrustCertificates"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_plan_lists_every_call_of_a_link_to_its_clean_up_and_applying_it_cuts_over() {
    let s = setup("2022", &["SalesDb", "HrDb"], "").await;
    let out = run(&s.site, &["plan", "migration.toml"]).await;
    let (plan, stderr) = text(&out);
    assert!(out.status.success(), "{plan}\n{stderr}");
    for needle in [
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = @password [@password = ***]",
        "CREATE CERTIFICATE [Cert_SRC01_endpoint]",
        "PUT serverTrustCertificates/Cert_SRC01_endpoint",
        // A certificate the plan makes is uploaded under a placeholder the host fills in.
        "{\"properties\":{\"publicBlob\":\"{{public_blob}}\"}}",
        "CREATE ENDPOINT [database_mirroring_endpoint]",
        "CREATE AVAILABILITY GROUP [AG_SalesDb]",
        "CREATE AVAILABILITY GROUP [DAG_HrDb] WITH (DISTRIBUTED)",
        "PUT distributedAvailabilityGroups/DAG_SalesDb",
        // Cutover and the clean-up, listed though they cannot be walked while planning.
        "ALTER AVAILABILITY GROUP [DAG_SalesDb] MODIFY AVAILABILITY GROUP ON N'AG_SalesDb'",
        "PATCH distributedAvailabilityGroups/DAG_SalesDb",
        "{\"properties\":{\"replicationMode\":\"Sync\"}}",
        "POST distributedAvailabilityGroups/DAG_HrDb/failover",
        "{\"failoverType\":\"Planned\"}",
        "DELETE distributedAvailabilityGroups/DAG_SalesDb",
        "DROP AVAILABILITY GROUP [DAG_SalesDb]",
        "DROP AVAILABILITY GROUP [AG_HrDb]",
    ] {
        assert!(plan.contains(needle), "the plan shows `{needle}`:\n{plan}");
    }
    assert!(!plan.contains("ForcedAllowDataLoss"), "{plan}");
    // Planning read and changed nothing, on either server or in Azure.
    assert_eq!(arm_requests(&s, "PUT", ""), 0);
    assert_eq!(arm_requests(&s, "POST", ""), 0);
    assert!(s.links.trust_certificates().is_empty());
    assert_eq!(
        cell(&s.src, "SELECT COUNT(*) FROM sys.availability_groups"),
        "0"
    );

    // The reviewed plan is what runs: everything it lists, to cutover and the clean-up.
    let apply = s.apply_plan();
    s.until_synchronizing(&apply, Duration::from_secs(120))
        .await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    assert_eq!(outputs(&log).len(), 2, "both cut over:\n{log}");
    assert_eq!(
        fingerprint(&s.src, "SalesDb"),
        fingerprint(&s.mi, "SalesDb")
    );
    assert_eq!(
        cell(&s.src, "SELECT COUNT(*) FROM sys.availability_groups"),
        "0",
        "the AGs and DAGs dropped, as planned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_longer_than_the_limit_ends_the_database_and_a_retry_cuts_over_once_healed() {
    let (s, apply) = replicating("2022", &["SalesDb"], "disconnected_limit_seconds = 2").await;
    let before = fingerprint(&s.src, "SalesDb");
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: true });
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    failed_with(
        &apply.finished().await,
        &[
            "not been connected",
            "41142",
            "5022",
            "ferry apply --retry-failed",
        ],
    );
    assert_eq!(arm_requests(&s, "POST", "DAG_SalesDb/failover"), 0);
    // Healed, the retry takes the database up again from its link and cuts over.
    s.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: false });
    let out = run(
        &s.site,
        &["apply", "--json", "--retry-failed", "migration.toml"],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(outputs(&stdout).len(), 1, "{stdout}");
    assert_eq!(fingerprint(&s.mi, "SalesDb"), before);
    assert_eq!(
        arm_requests(&s, "PUT", "distributedAvailabilityGroups/DAG_SalesDb"),
        1,
        "the link was followed, not made again"
    );
}
