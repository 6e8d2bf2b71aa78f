//! The `dms` plugin through the `ferry` binary against the emulated Azure DMS: online from a
//! share through the self-hosted integration runtime and from blob without it, offline, the
//! failures DMS documents ending their database with the reason and what to do, and kills
//! during upload and cutover resumed without a second start.

mod common;

use std::time::Duration;

use common::dms_rig::*;
use common::lrs_rig::{Apply, SA as SA_PASSWORD};
use common::*;
use serde_json::Value;

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

/// The one database that failed in `log` failed with every phrase in `reason`.
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

/// How many `method` requests whose path contains `needle` reached ARM.
fn arm_requests(s: &DmsSite, method: &str, needle: &str) -> usize {
    s.front
        .requests()
        .iter()
        .filter(|(m, p)| m == method && p.contains(needle))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_databases_from_a_share_migrate_online_with_logs_arriving_and_cut_over() {
    let s = setup(
        &["SalesDb", "HRDb", "InventoryDb"],
        Backups::Share,
        // The storage account DMS uploads to is checked before anything starts, and passes.
        "tail_log_backup = true\nstorage_azure = \"rg\"",
    )
    .await;
    // Uploads slow enough for ferry to see each file go through its statuses.
    s.front.dms_upload_time(Duration::from_secs(4));
    let apply = s.apply();
    // The operator installs the runtime once ferry has made the service.
    s.register_runtime("SHIR01").await;
    s.until_all("ReadyForCutover", &apply).await;
    // `ferry status` shows how loaded the runtime's node is, beside each database.
    let out = run(&s.site, &["status", "migration.toml"]).await;
    let (status, _) = text(&out);
    assert!(status.contains("runtime SHIR01"), "{status}");
    // The DBA's log backup jobs go on while DMS restores.
    for db in &s.dbs {
        s.sql(&format!("INSERT INTO [{db}].dbo.T VALUES (52)"));
        s.backup("LOG", db, "log2.trn");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    let done = outputs(&log);
    assert_eq!(done.len(), 3, "{log}");
    for db in &s.dbs {
        assert!(s.mi_rows(db).contains("52"), "{db}: {}", s.mi_rows(db));
        assert_eq!(
            arm_requests(&s, "PUT", &format!("databaseMigrations/{db}")),
            1
        );
    }
    // The report: each file's timeline (statuses as ferry saw them, with times) and the
    // cutover time.
    let report = std::fs::read_to_string(s.site.path(".ferry/migration/report.md")).unwrap();
    let row = report
        .lines()
        .find(|l| l.contains("SalesDb\\_full.bak"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        row.contains("Uploading") && row.contains("→") && row.contains("Restored"),
        "{row}"
    );
    assert!(report.contains("SalesDb\\_log2.trn"), "{report}");
    assert!(report.contains("cutover sent"), "{report}");
    // The tail-log backups went into each database's folder on the share, and were restored.
    assert!(report.contains("SalesDb\\_tail.trn"), "{report}");
    // The secrets went to DMS sealed: in no output or report.
    let state = std::fs::read_dir(s.site.path(".ferry/migration")).unwrap();
    for f in state.flatten() {
        let text =
            String::from_utf8_lossy(&std::fs::read(f.path()).unwrap_or_default()).to_string();
        for secret in ["Share#Pa55-w0rd", SA_PASSWORD] {
            assert!(
                !text.contains(secret),
                "{} holds a secret",
                f.path().display()
            );
        }
    }
    assert!(!log.contains("Share#Pa55-w0rd") && !log.contains(SA_PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_plan_lists_the_service_start_tail_and_cutover_and_applying_it_cuts_over() {
    let s = setup(&["SalesDb"], Backups::Share, "tail_log_backup = true").await;
    let out = run(&s.site, &["plan", "migration.toml"]).await;
    let (plan, stderr) = text(&out);
    assert!(out.status.success(), "{plan}\n{stderr}");
    for needle in [
        "PUT providers/Microsoft.DataMigration/sqlMigrationServices/",
        "PUT providers/Microsoft.DataMigration/databaseMigrations/SalesDb",
        // The service does not exist yet: its id is read when the start is sent.
        "\"migrationService\":\"{{service_id}}\"",
        "{{service_id}} = GET providers/Microsoft.DataMigration/sqlMigrationServices/",
        "\"password\":\"{{source_password}}\"",
        "BACKUP LOG [SalesDb] TO DISK = N'",
        "SalesDb_tail.trn' WITH NORECOVERY, CHECKSUM",
        "POST providers/Microsoft.DataMigration/databaseMigrations/SalesDb/cutover",
        "{\"migrationOperationId\":\"{{operation_id}}\"}",
        "{{operation_id}} = GET providers/Microsoft.DataMigration/databaseMigrations/SalesDb?api-version=",
        "/properties/migrationOperationId",
    ] {
        assert!(plan.contains(needle), "the plan shows `{needle}`:\n{plan}");
    }
    assert!(!plan.contains("Share#Pa55-w0rd") && !plan.contains(SA_PASSWORD));
    // Planning changed nothing in Azure.
    assert_eq!(arm_requests(&s, "PUT", ""), 0);
    assert_eq!(arm_requests(&s, "POST", ""), 0);

    // The reviewed plan is what runs, to the cutover.
    let apply = s.apply_plan();
    s.register_runtime("SHIR01").await;
    s.until_all("ReadyForCutover", &apply).await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    assert_eq!(outputs(&log).len(), 1, "{log}");
    assert!(!log.contains("not in the reviewed plan"), "{log}");
    assert!(
        s.mi_rows("SalesDb").contains("51"),
        "{}",
        s.mi_rows("SalesDb")
    );
    assert_eq!(arm_requests(&s, "PUT", "databaseMigrations/SalesDb"), 1);
    assert_eq!(arm_requests(&s, "POST", "SalesDb/cutover"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cutover_dms_is_not_ready_for_ends_the_database_and_a_retry_cuts_over_without_a_second_start()
 {
    let s = setup(&["SalesDb"], Backups::Share, "").await;
    let apply = s.apply();
    s.register_runtime("SHIR01").await;
    s.until_all("ReadyForCutover", &apply).await;
    // DMS's monitoring view lags: it still shows every file restored while a log backup the
    // DBA's job just took is on its way (a slow upload), so DMS itself is not ready.
    assert!(s.front.dms_freeze_details("SalesDb", true));
    s.front.dms_upload_time(Duration::from_secs(30));
    s.sql("INSERT INTO [SalesDb].dbo.T VALUES (53)");
    s.backup("LOG", "SalesDb", "log2.trn");
    // DMS sees it (a cutover now would be refused) while the view does not.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s.front.dms_ready_for_cutover("SalesDb") != Some(false) {
        assert!(std::time::Instant::now() < deadline, "DMS never saw log2");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let view = s.migration("SalesDb").await;
    let details = &view["properties"]["migrationStatusDetails"];
    assert_eq!(details["pendingLogBackupsCount"], 0, "{view}");
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    failed_with(
        &apply.finished().await,
        &[
            "MigrationNotReadyForCutoverError",
            "refused the cutover 5 times",
            "ferry apply --retry-failed",
        ],
    );
    assert_eq!(arm_requests(&s, "POST", "SalesDb/cutover"), 5);
    // The view catches up; the retry follows the same migration and cuts over once the log
    // backup is restored.
    assert!(s.front.dms_freeze_details("SalesDb", false));
    let out = run(
        &s.site,
        &["apply", "--json", "--retry-failed", "migration.toml"],
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(outputs(&stdout).len(), 1, "{stdout}");
    // The row written before log2 is there: log2 was restored before the cutover.
    assert!(
        s.mi_rows("SalesDb").contains("52"),
        "{}",
        s.mi_rows("SalesDb")
    );
    assert_eq!(arm_requests(&s, "PUT", "databaseMigrations/SalesDb"), 1);
    assert_eq!(arm_requests(&s, "POST", "SalesDb/cutover"), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_databases_from_blob_migrate_online_without_a_runtime() {
    let s = setup(&["SalesDb", "HRDb"], Backups::Blob, "").await;
    let apply = s.apply();
    s.until_all("ReadyForCutover", &apply).await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    assert_eq!(outputs(&log).len(), 2, "{log}");
    for db in &s.dbs {
        assert!(s.mi_rows(db).contains("51"), "{db}: {}", s.mi_rows(db));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storage_account_outside_the_service_region_is_refused_before_anything_starts() {
    let s = setup(&["SalesDb"], Backups::Blob, "storage_azure = \"rg\"").await;
    // The account the backups are in is in another region than the service (westeurope).
    s.front.dms_storage_account(
        ferry_emulator::azurite::ACCOUNT,
        &s.az.endpoint(),
        "northeurope",
        "StorageV2",
        "Standard",
    );
    let log = s.apply().finished().await;
    failed_with(
        &log,
        &[
            "storage account",
            "northeurope",
            "westeurope",
            "InvalidLocation",
        ],
    );
    assert_eq!(
        arm_requests(&s, "PUT", ""),
        0,
        "nothing was made or started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_mode_completes_without_a_cutover() {
    let s = setup(&["SalesDb"], Backups::Share, "mode = \"offline\"").await;
    let apply = s.apply();
    s.register_runtime("SHIR01").await;
    let log = apply.finished().await;
    assert_eq!(outputs(&log).len(), 1, "{log}");
    assert_eq!(arm_requests(&s, "POST", "/cutover"), 0);
    assert!(s.mi_rows("SalesDb").contains("51"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_without_checksum_is_refused_before_anything_starts() {
    let s = setup(&["SalesDb"], Backups::Share, "").await;
    s.sql(&format!(
        "BACKUP LOG [SalesDb] TO DISK = '{}'",
        s.backup_target("SalesDb", "nochecksum.trn")
    ));
    let out = run(&s.site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, _) = text(&out);
    failed_with(&stdout, &["CHECKSUM"]);
    assert_eq!(arm_requests(&s, "PUT", "databaseMigrations"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_runtime_going_offline_is_waited_through_with_what_to_do() {
    let s = setup(&["SalesDb"], Backups::Share, "").await;
    let apply = s.apply();
    s.register_runtime("SHIR01").await;
    s.until_all("ReadyForCutover", &apply).await;
    s.front.dms_node_online("SHIR01", false);
    s.sql("INSERT INTO [SalesDb].dbo.T VALUES (52)");
    s.backup("LOG", "SalesDb", "log2.trn");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let waiting = apply.output();
    assert!(
        waiting.to_lowercase().contains("integration runtime") && waiting.contains("not online"),
        "{waiting}"
    );
    s.front.dms_node_online("SHIR01", true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    assert_eq!(outputs(&log).len(), 1, "{log}");
    assert!(s.mi_rows("SalesDb").contains("52"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_runtime_offline_past_its_limit_ends_the_database_and_a_retry_follows_the_migration() {
    let s = setup(
        &["SalesDb"],
        Backups::Share,
        "runtime_offline_limit_seconds = 3",
    )
    .await;
    let apply = s.apply();
    s.register_runtime("SHIR01").await;
    s.until_all("ReadyForCutover", &apply).await;
    // The runtime's machine goes down with a log backup waiting to be uploaded: DMS retries
    // (2014), ferry waits its limit, then ends the database with what to do.
    s.front.dms_node_online("SHIR01", false);
    s.sql("INSERT INTO [SalesDb].dbo.T VALUES (52)");
    s.backup("LOG", "SalesDb", "log2.trn");
    failed_with(
        &apply.finished().await,
        &[
            "integration runtime",
            "runtime_offline_limit_seconds",
            "not started again",
            "ferry apply --retry-failed",
        ],
    );
    // Back online, the retry follows the same migration to its cutover.
    s.front.dms_node_online("SHIR01", true);
    let retry = Apply::spawn(
        dms_cmd(
            &s.site,
            &["apply", "--json", "--retry-failed", "migration.toml"],
        ),
        s.site.path("retry.log"),
    );
    s.until_all("ReadyForCutover", &retry).await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = retry.finished().await;
    assert_eq!(outputs(&log).len(), 1, "{log}");
    assert!(
        s.mi_rows("SalesDb").contains("52"),
        "{}",
        s.mi_rows("SalesDb")
    );
    assert_eq!(arm_requests(&s, "PUT", "databaseMigrations/SalesDb"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_upload_resumes_without_a_second_start() {
    let s = setup(&["SalesDb"], Backups::Share, "").await;
    s.front.dms_upload_time(Duration::from_secs(3));
    let apply = s.apply();
    s.register_runtime("SHIR01").await;
    // Killed while the runtime uploads the full backup.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let m = s.migration("SalesDb").await;
        if m.to_string().contains("Uploading") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    apply.kill();
    s.front.dms_upload_time(Duration::from_millis(10));
    let apply = s.apply();
    s.until_all("ReadyForCutover", &apply).await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    let log = apply.finished().await;
    assert_eq!(outputs(&log).len(), 1, "{log}");
    assert_eq!(arm_requests(&s, "PUT", "databaseMigrations/SalesDb"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tde_database_whose_certificate_is_not_on_the_mi_is_refused_before_anything_starts() {
    let s = setup(&["SalesDb"], Backups::Blob, "").await;
    s.sql(
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; \
         CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for SalesDb'; \
         USE SalesDb; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 \
         ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master; \
         ALTER DATABASE SalesDb SET ENCRYPTION ON",
    );
    let out = run(&s.site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, _) = text(&out);
    failed_with(&stdout, &["TdeCert"]);
    assert_eq!(arm_requests(&s, "PUT", "databaseMigrations"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_cutover_resumes_without_a_second_cutover() {
    let s = setup(&["SalesDb"], Backups::Blob, "").await;
    let apply = s.apply();
    s.until_all("ReadyForCutover", &apply).await;
    let out = run(&s.site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
    // Killed once the cutover reached DMS.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while arm_requests(&s, "POST", "/cutover") == 0 {
        assert!(std::time::Instant::now() < deadline, "{}", apply.output());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    apply.kill();
    let out = run(&s.site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(outputs(&stdout).len(), 1, "{stdout}");
    assert_eq!(arm_requests(&s, "POST", "/cutover"), 1, "one cutover");
    assert_eq!(
        arm_requests(&s, "PUT", "databaseMigrations/SalesDb"),
        1,
        "one start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broken_log_chain_ends_the_database_with_2007() {
    let s = setup(&["SalesDb"], Backups::Blob, "").await;
    // A log backup taken elsewhere (not in the container) leaves a gap before the next one.
    // (A row first: the emulator's LSNs advance with changes only, so a log backup of nothing
    // would leave no gap.)
    s.sql("INSERT INTO [SalesDb].dbo.T VALUES (52)");
    let elsewhere = s.site.path("elsewhere.trn").display().to_string();
    s.sql(&format!(
        "BACKUP LOG [SalesDb] TO DISK = '{elsewhere}' WITH CHECKSUM"
    ));
    s.sql("INSERT INTO [SalesDb].dbo.T VALUES (53)");
    s.backup("LOG", "SalesDb", "log3.trn");
    // DMS finds the restore plan broken before anything is restored.
    let out = run(&s.site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, _) = text(&out);
    failed_with(&stdout, &["2007", "restore plan"]);
}
