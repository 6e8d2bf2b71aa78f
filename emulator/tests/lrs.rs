//! The Log Replay Service through the emulated MI's ARM front end: backups taken TO URL by the
//! emulated SQL Server into Azurite, a job started with `createMode: RestoreExternalBackup`
//! (a long-running operation), followed through `restoreDetails`, in autocomplete and
//! continuous (completeRestore) modes, and the refusals: a SAS that is not exactly Read+List
//! (through the start operation), `backups` in the path, a nested folder, a gap in the log
//! chain (through restoreDetails), completing with a file that is not the last restored, the
//! instance's limits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::lrs_rig::{MI_PATH, Rig, TOKEN};
use ferry_emulator::arm::GUESS_INFO_TYPE;
use ferry_emulator::azurite;
use serde_json::json;

/// Whether an error body marks its code as the emulator's own.
fn guessed(body: &serde_json::Value) -> bool {
    body["error"]["additionalInfo"][0]["type"] == GUESS_INFO_TYPE
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_restores_the_chain_and_brings_the_database_online() {
    let rig = Rig::new().await;
    rig.seed("Sales");
    let f = rig.folder("Sales");
    rig.backup("DATABASE", "Sales", &f, "full.bak");
    rig.source("INSERT INTO [Sales].dbo.T VALUES (2)");
    rig.backup("LOG", "Sales", &f, "log1.trn");
    rig.source("INSERT INTO [Sales].dbo.T VALUES (3)");
    rig.backup("LOG", "Sales", &f, "log2.trn");

    let started = rig.start("Sales", &f, &rig.rl, Some("log2.trn")).await;
    assert_eq!(started.status, 202, "{}", started.body);
    let db = rig
        .call(reqwest::Method::GET, "databases/Sales", None)
        .await;
    assert_eq!(db.body["properties"]["status"], "Restoring", "{}", db.body);
    assert_eq!(rig.follow(&started).await["status"], "Succeeded");
    // Completion is the database going online; its restore details then expire.
    rig.until_status("Sales", "Online").await;
    let after = rig.until_not_restoring("Sales").await;
    assert_eq!(
        (after.status, after.code()),
        (400, Some("RestoreDetailsNotAvailableOrExpired")),
        "{}",
        after.body
    );
    assert!(
        rig.mi_count("Sales").contains("Int(3)"),
        "{}",
        rig.mi_count("Sales")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_identity_reads_only_the_containers_granted_to_it() {
    let rig = Rig::new().await;
    rig.seed("Mi");
    let f = rig.folder("Mi");
    rig.backup("DATABASE", "Mi", &f, "full.bak");
    let start = || {
        json!({ "location": "westeurope", "properties": {
            "createMode": "RestoreExternalBackup",
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "storageContainerUri": f,
            "storageContainerIdentity": "ManagedIdentity",
            "autoCompleteRestore": true,
            "lastBackupName": "full.bak",
        }})
    };
    let denied = rig
        .call(reqwest::Method::PUT, "databases/Denied", Some(start()))
        .await;
    assert_eq!(denied.status, 202, "{}", denied.body);
    // The job cannot start: its start operation fails, and no database is left behind.
    let op = rig.follow(&denied).await;
    assert_eq!(op["status"], "Failed", "{op}");
    assert_eq!(
        op["error"]["code"], "ManagedIdentityIssueDetectedFromTheStart",
        "{op}"
    );
    let gone = rig
        .call(reqwest::Method::GET, "databases/Denied", None)
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);

    rig.arm.grant_managed_identity(
        &rig.az.container_url("migration"),
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
    );
    let granted = rig
        .call(reqwest::Method::PUT, "databases/Mi", Some(start()))
        .await;
    assert_eq!(granted.status, 202, "{}", granted.body);
    assert_eq!(rig.follow(&granted).await["status"], "Succeeded");
    rig.until_status("Mi", "Online").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tde_database_whose_certificate_is_not_on_the_mi_stops_with_missing_thumbprint() {
    let rig = Rig::new().await;
    rig.seed("Secure");
    rig.source(
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; \
         CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for Secure'; \
         USE Secure; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 \
         ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master; \
         ALTER DATABASE Secure SET ENCRYPTION ON",
    );
    let f = rig.folder("Secure");
    rig.backup("DATABASE", "Secure", &f, "full.bak");
    let started = rig.start("Secure", &f, &rig.rl, Some("full.bak")).await;
    assert_eq!(started.status, 202, "{}", started.body);
    let failed = rig.until_not_restoring("Secure").await;
    assert_eq!(
        (failed.status, failed.code()),
        (400, Some("MissingThumbprint")),
        "{}",
        failed.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_mode_picks_up_new_logs_until_complete_restore() {
    let rig = Rig::new().await;
    rig.seed("Hr");
    let f = rig.folder("Hr");
    rig.backup("DATABASE", "Hr", &f, "hr_full.bak");
    rig.source("INSERT INTO [Hr].dbo.T VALUES (2)");
    rig.backup("LOG", "Hr", &f, "hr_log1.trn");
    let started = rig.start("Hr", &f, &rig.rl, None).await;
    assert_eq!(started.status, 202, "{}", started.body);
    rig.until("Hr", |p| p["lastRestoredFileName"] == "hr_log1.trn")
        .await;
    // A log taken after the start is found on the next scan.
    rig.source("INSERT INTO [Hr].dbo.T VALUES (3)");
    rig.backup("LOG", "Hr", &f, "hr_tail.trn");
    let d = rig
        .until("Hr", |p| p["lastRestoredFileName"] == "hr_tail.trn")
        .await;
    assert_eq!(d["status"], "Restoring", "{d}");
    assert_eq!(d["numberOfFilesDetected"], 3, "{d}");
    assert_eq!(d["numberOfFilesRestored"], 3, "{d}");
    assert_eq!(d["numberOfFilesQueued"], 0, "{d}");
    assert_eq!(d["percentCompleted"], 100, "{d}");
    let logs: Vec<(&str, &str)> = d["logBackupSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["firstStripeName"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        logs,
        [("hr_log1.trn", "Restored"), ("hr_tail.trn", "Restored")]
    );
    assert_eq!(d["fullBackupSets"][0]["firstStripeName"], "hr_full.bak");
    let wrong = rig
        .call(
            reqwest::Method::POST,
            "databases/Hr/completeRestore",
            Some(json!({ "lastBackupName": "hr_log1.trn" })),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (400, Some("RequiredBackupIsNotLastRestored")),
        "{}",
        wrong.body
    );
    let complete = rig
        .call(
            reqwest::Method::POST,
            "databases/Hr/completeRestore",
            Some(json!({ "lastBackupName": "hr_tail.trn" })),
        )
        .await;
    assert_eq!(complete.status, 202, "{}", complete.body);
    assert_eq!(rig.follow(&complete).await["status"], "Succeeded");
    rig.until_status("Hr", "Online").await;
    let again = rig
        .call(
            reqwest::Method::POST,
            "databases/Hr/completeRestore",
            Some(json!({ "lastBackupName": "hr_tail.trn" })),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (400, Some("LRSCutoverDatabaseAlreadyRestored")),
        "{}",
        again.body
    );
    assert!(
        rig.mi_count("Hr").contains("Int(3)"),
        "{}",
        rig.mi_count("Hr")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_where_azure_reports_them() {
    let rig = Rig::new().await;
    rig.seed("Gap");
    let f = rig.folder("Gap");
    let elsewhere = rig.folder("Elsewhere");
    rig.backup("DATABASE", "Gap", &f, "full.bak");
    rig.source("INSERT INTO [Gap].dbo.T VALUES (2)");
    rig.backup("LOG", "Gap", &f, "log1.trn");
    rig.source("INSERT INTO [Gap].dbo.T VALUES (3)");
    // The second log goes to another folder: the chain in Gap/ has a hole.
    rig.backup("LOG", "Gap", &elsewhere, "log2.trn");
    rig.source("INSERT INTO [Gap].dbo.T VALUES (4)");
    rig.backup("LOG", "Gap", &f, "log3.trn");

    // A broken chain: the job started (its operation succeeds), then restoreDetails answers
    // with the documented code.
    let started = rig.start("Gap", &f, &rig.rl, Some("log3.trn")).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(rig.follow(&started).await["status"], "Succeeded");
    let failed = rig.until_not_restoring("Gap").await;
    assert_eq!(
        (failed.status, failed.code()),
        (400, Some("BrokenRestorePlanGapInLogBackups")),
        "{}",
        failed.body
    );
    assert!(!guessed(&failed.body), "{}", failed.body);

    // A SAS with more than Read and List: accepted, then the start operation fails with
    // the documented code for storage LRS cannot use, and the name stays free.
    let rwl = azurite::devstore_container_sas("migration", "racwl").unwrap();
    let writable = rig.start("A", &f, &rwl, Some("log3.trn")).await;
    assert_eq!(writable.status, 202, "{}", writable.body);
    let op = rig.follow(&writable).await;
    assert_eq!(
        (op["status"].as_str(), op["error"]["code"].as_str()),
        (Some("Failed"), Some("StorageBrokenIssueDetectedAtTheStart")),
        "{op}"
    );
    assert!(
        op["error"]["message"].as_str().unwrap().contains("racwl"),
        "{op}"
    );
    let location = rig
        .send(
            reqwest::Method::GET,
            &writable.header("location").unwrap(),
            None,
        )
        .await;
    assert_eq!(
        (location.status, location.code()),
        (400, Some("StorageBrokenIssueDetectedAtTheStart")),
        "{}",
        location.body
    );
    let retried = rig.start("A", &f, &rig.rl, Some("log3.trn")).await;
    assert_eq!(
        retried.status, 202,
        "the name is free again: {}",
        retried.body
    );

    // `backups` as a folder name: the documented generic refusal of the request body.
    let reserved = rig
        .start(
            "B",
            &format!("{}/backups", rig.az.container_url("migration")),
            &rig.rl,
            Some("x.trn"),
        )
        .await;
    assert_eq!(
        (reserved.status, reserved.code()),
        (400, Some("InvalidDatabaseCreateOrUpdateRequest")),
        "{}",
        reserved.body
    );
    let no_last = rig
        .call(
            reqwest::Method::PUT,
            "databases/C",
            Some(json!({ "properties": { "createMode": "RestoreExternalBackup", "collation": "SQL_Latin1_General_CP1_CI_AS", "storageContainerUri": f, "storageContainerSasToken": rig.rl, "autoCompleteRestore": true } })),
        )
        .await;
    assert_eq!(
        (no_last.status, no_last.code()),
        (400, Some("AutoCompleteMissingLastBackupName"))
    );

    // A nested folder stops the job at its first scan, with a code marked as the emulator's
    // own: Microsoft documents the rule but no code for it.
    rig.seed("Nest");
    let n = rig.folder("Nest");
    rig.backup("DATABASE", "Nest", &n, "full.bak");
    rig.backup("LOG", "Nest", &n, "old/log1.trn");
    let nested = rig.start("Nest", &n, &rig.rl, Some("full.bak")).await;
    assert_eq!(nested.status, 202);
    let failed = rig.until_not_restoring("Nest").await;
    assert_eq!(
        failed.code(),
        Some("NestedFoldersNotSupported"),
        "{}",
        failed.body
    );
    assert!(guessed(&failed.body), "{}", failed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_older_than_thirty_days_is_cancelled_and_its_database_removed() {
    let rig = Rig::new().await;
    rig.seed("Old");
    let f = rig.folder("Old");
    rig.backup("DATABASE", "Old", &f, "full.bak");
    let started = rig.start("Old", &f, &rig.rl, None).await;
    assert_eq!(started.status, 202, "{}", started.body);
    rig.until("Old", |p| p["lastRestoredFileName"] == "full.bak")
        .await;
    // Thirty days of virtual time pass in about three seconds.
    rig.mi.clock().set_speed(1_000_000.0);
    let failed = rig.until_not_restoring("Old").await;
    assert_eq!(
        failed.code(),
        Some("TimeoutDuringRestore"),
        "{}",
        failed.body
    );
    assert!(guessed(&failed.body), "{}", failed.body);
    let names = tokio::task::block_in_place(|| rig.mi.run_sql("SELECT name FROM sys.databases"));
    assert!(!format!("{names:?}").contains("\"Old\""), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instances_limits_refuse_one_more() {
    let rig = Rig::new().await;
    rig.seed("One");
    let f = rig.folder("One");
    rig.backup("DATABASE", "One", &f, "full.bak");
    let started = rig.start("One", &f, &rig.rl, None).await;
    assert_eq!(started.status, 202, "{}", started.body);
    rig.until("One", |p| p["lastRestoredFileName"] == "full.bak")
        .await;

    // 100 restores at once on MI: the limit is documented, a code for it is not.
    rig.arm.limit_restores(1);
    let more = rig.start("More", &rig.folder("More"), &rig.rl, None).await;
    assert_eq!(
        (more.status, more.code()),
        (400, Some("ConcurrentRestoreLimitReached")),
        "{}",
        more.body
    );
    assert!(guessed(&more.body), "{}", more.body);

    // The instance's database count (100 on MI) is DatabaseNumberLimitReached, for LRS and
    // for an empty database alike.
    rig.arm.limit_restores(100);
    rig.arm.limit_databases(1);
    let more = rig.start("More", &rig.folder("More"), &rig.rl, None).await;
    assert_eq!(
        (more.status, more.code()),
        (400, Some("DatabaseNumberLimitReached")),
        "{}",
        more.body
    );
    assert!(!guessed(&more.body), "{}", more.body);
    let empty = rig
        .call(
            reqwest::Method::PUT,
            "databases/Empty",
            Some(json!({ "location": "westeurope", "properties": {} })),
        )
        .await;
    assert_eq!(
        empty.code(),
        Some("DatabaseNumberLimitReached"),
        "{}",
        empty.body
    );
    // Cut over, so that no job reads Azurite after the test ends.
    let complete = rig
        .call(
            reqwest::Method::POST,
            "databases/One/completeRestore",
            Some(json!({ "lastBackupName": "full.bak" })),
        )
        .await;
    assert_eq!(complete.status, 202, "{}", complete.body);
    rig.until_status("One", "Online").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_reply_comes_after_the_job_has_started() {
    let rig = Arc::new(Rig::new().await);
    rig.seed("Sales");
    let f = rig.folder("Sales");
    rig.backup("DATABASE", "Sales", &f, "full.bak");
    // Held far longer than the test runs: the caller is dropped while it waits.
    rig.arm
        .hold_reply("PUT", "/databases/Sales", Duration::from_secs(600));
    let starter = {
        let (rig, f) = (rig.clone(), f.clone());
        tokio::spawn(async move {
            rig.start("Sales", &f, &rig.rl, Some("full.bak"))
                .await
                .status
        })
    };
    rig.until_status("Sales", "Online").await;
    assert!(
        !starter.is_finished(),
        "the job ran while the PUT's reply is still held"
    );
    starter.abort();
    // Used up: a second start is answered, not held, with LRS's refusal for a name in use.
    let again = rig.start("Sales", &f, &rig.rl, None).await;
    assert_eq!(
        (again.status, again.code()),
        (400, Some("ManagedDatabaseNameInUse")),
        "{}",
        again.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_in_flight_carries_on_after_the_front_end_and_the_instance_restart() {
    let rig = Rig::with(true, false).await;
    rig.seed("Ops");
    let f = rig.folder("Ops");
    rig.backup("DATABASE", "Ops", &f, "ops_full.bak");
    rig.source("INSERT INTO [Ops].dbo.T VALUES (2)");
    rig.backup("LOG", "Ops", &f, "ops_log1.trn");
    let started = rig.start("Ops", &f, &rig.rl, None).await;
    assert_eq!(started.status, 202, "{}", started.body);
    rig.until("Ops", |p| p["lastRestoredFileName"] == "ops_log1.trn")
        .await;

    // The front end goes down: nothing answers; a log taken meanwhile waits in the folder.
    rig.arm.stop().await;
    let url = format!("{}{MI_PATH}?api-version=2023-08-01", rig.arm.endpoint());
    assert!(rig.http.get(&url).bearer_auth(TOKEN).send().await.is_err());
    rig.source("INSERT INTO [Ops].dbo.T VALUES (3)");
    rig.backup("LOG", "Ops", &f, "ops_log2.trn");
    // Back from its state file, the job goes on without restoring anything twice, and its
    // start operation still answers.
    rig.arm.restart().await.unwrap();
    assert_eq!(rig.follow(&started).await["status"], "Succeeded");
    rig.until("Ops", |p| p["lastRestoredFileName"] == "ops_log2.trn")
        .await;

    // The instance restarts under a running job: ARM answers 503 while it is down, and the
    // job waits for it.
    rig.mi.stop().await;
    let down = rig.call(reqwest::Method::GET, "databases", None).await;
    assert_eq!(
        (down.status, down.code()),
        (503, Some("ServiceUnavailable"))
    );
    rig.source("INSERT INTO [Ops].dbo.T VALUES (4)");
    rig.backup("LOG", "Ops", &f, "ops_log3.trn");
    rig.mi.restart().await.unwrap();
    rig.until("Ops", |p| p["lastRestoredFileName"] == "ops_log3.trn")
        .await;

    let complete = rig
        .call(
            reqwest::Method::POST,
            "databases/Ops/completeRestore",
            Some(json!({ "lastBackupName": "ops_log3.trn" })),
        )
        .await;
    assert_eq!(complete.status, 202);
    rig.until_status("Ops", "Online").await;
    assert!(
        rig.mi_count("Ops").contains("Int(4)"),
        "{}",
        rig.mi_count("Ops")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_server_errors_have_arms_shape_and_run_out() {
    let rig = Rig::new().await;
    rig.arm.fail(2, 503);
    for _ in 0..2 {
        let r = rig.call(reqwest::Method::GET, "databases", None).await;
        assert_eq!((r.status, r.code()), (503, Some("ServiceUnavailable")));
    }
    let r = rig.call(reqwest::Method::GET, "databases", None).await;
    assert_eq!(r.status, 200);
}
