//! The emulated Database Migration Service with backups in a blob container: a service
//! created through ARM, an online migration that picks up new log backups until cutover,
//! an offline one that completes by itself, and the refusals and failures DMS documents
//! (methods.md §3; sqlmigration.json 2025-06-30; "Known issues, limitations, and
//! troubleshooting").

mod common;

use common::dms_rig::{ACCOUNT_ID, DMS_VERSION, Dms};
use common::lrs_rig::MI_PATH;
use ferry_emulator::azurite;
use reqwest::Method;
use serde_json::json;

fn file_statuses(p: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = vec![];
    for set in p["migrationStatusDetails"]["activeBackupSets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for f in set["listOfBackupFiles"].as_array().into_iter().flatten() {
            out.push((
                f["fileName"].as_str().unwrap_or("").to_owned(),
                f["status"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_blob_migration_restores_new_logs_until_cutover() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Sales");
    d.backup("DATABASE", "Sales", "migration", "full.bak");
    d.rig.source("INSERT INTO [Sales].dbo.T VALUES (2)");
    d.backup("LOG", "Sales", "migration", "log1.trn");

    let started = d
        .start("Sales", d.blob_body("Sales", "migration", None))
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let op = started.body["properties"]["migrationOperationId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Secrets given are never shown.
    assert!(
        !started.body.to_string().contains(azurite::ACCOUNT_KEY),
        "{}",
        started.body
    );
    assert!(
        !started.body.to_string().contains("Src#Pa55"),
        "{}",
        started.body
    );
    assert_eq!(d.rig.follow(&started).await["status"], "Succeeded");

    let ready = d.until_status("Sales", "ReadyForCutover").await;
    let details = &ready["migrationStatusDetails"];
    assert_eq!(details["isFullBackupRestored"], true, "{ready}");
    assert_eq!(details["pendingLogBackupsCount"], 0, "{ready}");
    assert_eq!(details["lastRestoredFilename"], "log1.trn", "{ready}");
    assert_eq!(details["blobContainerName"], "migration", "{ready}");
    assert_eq!(
        file_statuses(&ready),
        vec![
            ("full.bak".into(), "Restored".into()),
            ("log1.trn".into(), "Restored".into())
        ]
    );
    assert_eq!(
        details["fullBackupSetInfo"]["backupType"], "Database",
        "{ready}"
    );
    assert_eq!(
        details["fullBackupSetInfo"]["hasBackupChecksums"], true,
        "{ready}"
    );

    // The service cannot go while it has a migration running.
    let del = d.at(Method::DELETE, &Dms::service_path("dms1"), None).await;
    assert_eq!(
        (del.status, del.code()),
        (400, Some("DeleteServiceNotAllowed")),
        "{}",
        del.body
    );
    // An id that is not the migration's is not found, for GET and for cutover.
    let stale = "00000000-0000-0000-0000-000000000000";
    let g = d
        .at(
            Method::GET,
            &format!(
                "{}?migrationOperationId={stale}",
                Dms::migration_path("Sales")
            ),
            None,
        )
        .await;
    assert_eq!(
        (g.status, g.code()),
        (400, Some("OperationIdNotFound")),
        "{}",
        g.body
    );
    let c = d.action("Sales", "cutover", stale).await;
    assert_eq!(
        (c.status, c.code()),
        (400, Some("OperationIdNotFound")),
        "{}",
        c.body
    );

    // A log taken while it runs is found and restored.
    d.rig.source("INSERT INTO [Sales].dbo.T VALUES (3)");
    d.backup("LOG", "Sales", "migration", "log2.trn");
    d.until("Sales", |p| {
        p["migrationStatusDetails"]["lastRestoredFilename"] == "log2.trn"
            && p["migrationStatus"] == "ReadyForCutover"
    })
    .await;

    let cut = d.action("Sales", "cutover", &op).await;
    assert_eq!(cut.status, 202, "{}", cut.body);
    assert_eq!(d.rig.follow(&cut).await["status"], "Succeeded");
    let done = d.until_status("Sales", "Succeeded").await;
    assert!(done["endedOn"].is_string(), "{done}");
    d.rig.until_status("Sales", "Online").await;
    assert!(
        d.rig.mi_count("Sales").contains("Int(3)"),
        "{}",
        d.rig.mi_count("Sales")
    );
    // Once it has ended, a second cutover is refused.
    let again = d.action("Sales", "cutover", &op).await;
    assert_eq!(
        again.code(),
        Some("CutoverNotAllowedMigrationCompleteError"),
        "{}",
        again.body
    );
    // And the service lists it.
    let list = d
        .at(
            Method::GET,
            &format!("{}/listMigrations", Dms::service_path("dms1")),
            None,
        )
        .await;
    assert_eq!(list.body["value"][0]["name"], "Sales", "{}", list.body);
    // listMigrations is a GET (sqlmigration.json); a POST is refused.
    let post = d
        .at(
            Method::POST,
            &format!("{}/listMigrations", Dms::service_path("dms1")),
            None,
        )
        .await;
    assert_eq!(post.status, 405, "{}", post.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_before_the_backups_are_restored_is_refused() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Early");
    // No backup yet: the migration waits for a full backup.
    let started = d
        .start("Early", d.blob_body("Early", "migration", None))
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let op = started.body["properties"]["migrationOperationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let waiting = d
        .until("Early", |p| {
            p["migrationStatusDetails"]["migrationState"] == "WaitForFullBackupUploadOperation"
        })
        .await;
    assert_eq!(waiting["migrationStatus"], "InProgress", "{waiting}");
    let c = d.action("Early", "cutover", &op).await;
    assert_eq!(
        (c.status, c.code()),
        (400, Some("MigrationNotReadyForCutoverError")),
        "{}",
        c.body
    );
    // Deleting it while it runs needs force.
    let del = d
        .at(Method::DELETE, &Dms::migration_path("Early"), None)
        .await;
    assert_eq!(
        (del.status, del.code()),
        (400, Some("DeleteMigrationNotAllowedMigrationInProgress")),
        "{}",
        del.body
    );
    let forced = d
        .at(
            Method::DELETE,
            &format!("{}?force=true", Dms::migration_path("Early")),
            None,
        )
        .await;
    assert_eq!(forced.status, 200, "{}", forced.body);
    let gone = d.get("Early").await;
    assert_eq!(gone.status, 404, "{}", gone.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_blob_migration_completes_by_itself_at_its_last_backup() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Hr");
    d.backup("DATABASE", "Hr", "migration", "full.bak");
    d.rig.source("INSERT INTO [Hr].dbo.T VALUES (2)");
    d.backup("LOG", "Hr", "migration", "log1.trn");
    // Offline from blob needs the last backup's name.
    let none = d
        .start("Hr", d.blob_body("Hr", "migration", Some("")))
        .await;
    assert_eq!(
        (none.status, none.code()),
        (400, Some("InvalidParameterValue")),
        "{}",
        none.body
    );
    let started = d
        .start("Hr", d.blob_body("Hr", "migration", Some("log1.trn")))
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let done = d
        .until("Hr", |p| p["migrationStatus"] != "InProgress")
        .await;
    assert_eq!(done["migrationStatus"], "Succeeded", "{done}");
    d.rig.until_status("Hr", "Online").await;
    assert!(
        d.rig.mi_count("Hr").contains("Int(2)"),
        "{}",
        d.rig.mi_count("Hr")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_is_refused_for_what_dms_checks_first() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Fin");
    let refused = |body: serde_json::Value| {
        let d = &d;
        async move { d.start("Fin", body).await }
    };
    let mut body = d.blob_body("Fin", "backup", None);
    let r = refused(body.clone()).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("InvalidContainerName")),
        "{}",
        r.body
    );

    body = d.blob_body("Fin", "migration", None);
    body["properties"]["backupConfiguration"]["sourceLocation"]["azureBlob"]["storageAccountResourceId"] =
        json!(ACCOUNT_ID.replace("devstoreaccount1", "nosuchaccount"));
    let r = refused(body).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("InvalidStorageAccount")),
        "{}",
        r.body
    );

    d.rig.arm.dms_storage_account(
        "faraway",
        &d.rig.az.endpoint(),
        "eastus",
        "StorageV2",
        "Standard",
    );
    body = d.blob_body("Fin", "migration", None);
    body["properties"]["backupConfiguration"]["sourceLocation"]["azureBlob"]["storageAccountResourceId"] =
        json!(ACCOUNT_ID.replace("devstoreaccount1", "faraway"));
    let r = refused(body).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("InvalidLocation")),
        "{}",
        r.body
    );

    d.rig.arm.dms_storage_account(
        "premiumv2",
        &d.rig.az.endpoint(),
        "westeurope",
        "StorageV2",
        "Premium",
    );
    body = d.blob_body("Fin", "migration", None);
    body["properties"]["backupConfiguration"]["sourceLocation"]["azureBlob"]["storageAccountResourceId"] =
        json!(ACCOUNT_ID.replace("devstoreaccount1", "premiumv2"));
    let r = refused(body).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("InvalidStorageAccount")),
        "{}",
        r.body
    );

    // A share source needs the runtime online.
    body = d.blob_body("Fin", "migration", None);
    body["properties"]["backupConfiguration"]["sourceLocation"] = json!({ "fileShare": { "path": "\\\\host\\share\\Fin", "username": "d\\u", "password": "p" } });
    let r = refused(body).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("IntegrationRuntimeIsNotOnline")),
        "{}",
        r.body
    );

    // DMS never overwrites a database.
    tokio::task::block_in_place(|| d.rig.mi.run_sql("CREATE DATABASE Fin")).unwrap();
    let r = refused(d.blob_body("Fin", "migration", None)).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("ManagedDatabaseNameInUse")),
        "{}",
        r.body
    );

    // Only the checked api-version is answered.
    let url = format!(
        "{}{}?api-version=2021-06-30",
        d.rig.arm.endpoint(),
        Dms::migration_path("Fin")
    );
    let r = d.rig.send(Method::GET, &url, None).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("NoRegisteredProviderFound")),
        "{}",
        r.body
    );
    let _ = DMS_VERSION;
}

/// Starts a migration of `db` from the `migration` container and waits for it to fail.
async fn failed(d: &Dms, db: &str) -> serde_json::Value {
    let started = d.start(db, d.blob_body(db, "migration", None)).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let p = d.until(db, |p| p["migrationStatus"] == "Failed").await;
    assert!(p["endedOn"].is_string(), "{p}");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backup_without_checksum_fails_with_2009() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("NoSum");
    let url = d.rig.az.container_url("migration");
    d.rig.source(&format!(
        "BACKUP DATABASE [NoSum] TO URL = '{url}/full.bak'"
    ));
    let p = failed(&d, "NoSum").await;
    let e = &p["migrationFailureError"];
    assert_eq!(e["code"], "MigrationRestoreFailed", "{p}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("is missing checksum"),
        "{p}"
    );
    // Nothing was restored.
    let names = tokio::task::block_in_place(|| {
        d.rig
            .mi
            .run_sql("SELECT name FROM sys.databases WHERE name = 'NoSum'")
    });
    assert!(!format!("{names:?}").contains("NoSum"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tde_database_without_its_certificate_on_the_mi_fails_with_2009() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Secure");
    d.rig.source(
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; \
         CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for Secure'; \
         USE Secure; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 \
         ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master; \
         ALTER DATABASE Secure SET ENCRYPTION ON",
    );
    d.backup("DATABASE", "Secure", "migration", "full.bak");
    let p = failed(&d, "Secure").await;
    let e = &p["migrationFailureError"];
    assert_eq!(e["code"], "MigrationRestoreFailed", "{p}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("cannot find server certificate with thumbprint"),
        "{p}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_log_chain_fails_with_2007() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.az.create_container("elsewhere").await.unwrap();
    let other = d.rig.az.container_url("elsewhere");
    let sas = azurite::devstore_container_sas("elsewhere", "racwl").unwrap();
    d.rig.source(&format!(
        "CREATE CREDENTIAL [{other}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
    ));
    d.rig.seed("Gap");
    d.backup("DATABASE", "Gap", "migration", "full.bak");
    d.rig.source("INSERT INTO [Gap].dbo.T VALUES (2)");
    // The first log backup goes elsewhere: the chain in the container has a gap.
    d.backup("LOG", "Gap", "elsewhere", "log1.trn");
    d.rig.source("INSERT INTO [Gap].dbo.T VALUES (3)");
    d.backup("LOG", "Gap", "migration", "log2.trn");
    let p = failed(&d, "Gap").await;
    let e = &p["migrationFailureError"];
    assert_eq!(e["code"], "CutoverFailedOrCancelled", "{p}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("restore plan is broken"),
        "{p}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_migration_leaves_no_database_and_frees_the_name() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Ops");
    d.backup("DATABASE", "Ops", "migration", "full.bak");
    let started = d.start("Ops", d.blob_body("Ops", "migration", None)).await;
    let op = started.body["properties"]["migrationOperationId"]
        .as_str()
        .unwrap()
        .to_owned();
    d.until_status("Ops", "ReadyForCutover").await;
    let c = d.action("Ops", "cancel", &op).await;
    assert_eq!(c.status, 202, "{}", c.body);
    assert_eq!(d.rig.follow(&c).await["status"], "Succeeded");
    d.until_status("Ops", "Canceled").await;
    let names = tokio::task::block_in_place(|| {
        d.rig
            .mi
            .run_sql("SELECT name FROM sys.databases WHERE name = 'Ops'")
    });
    assert!(!format!("{names:?}").contains("Ops"), "{names:?}");
    let again = d.action("Ops", "cancel", &op).await;
    assert_eq!(
        again.code(),
        Some("MigrationNotReadyForCancelError"),
        "{}",
        again.body
    );
    // A new migration of the same database gets a new operation id; the old one is gone.
    let second = d.start("Ops", d.blob_body("Ops", "migration", None)).await;
    assert_eq!(second.status, 201, "{}", second.body);
    let g = d
        .at(
            Method::GET,
            &format!("{}?migrationOperationId={op}", Dms::migration_path("Ops")),
            None,
        )
        .await;
    assert_eq!(
        (g.status, g.code()),
        (400, Some("OperationIdNotFound")),
        "{}",
        g.body
    );
    let _ = MI_PATH;
    // The second migration still runs: stop the front end while Azurite is up, so its LRS
    // job is not left retrying a storage that is gone when the rig is dropped.
    d.rig.arm.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_carries_on_after_the_front_end_restarts() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Again");
    d.backup("DATABASE", "Again", "migration", "full.bak");
    let started = d
        .start("Again", d.blob_body("Again", "migration", None))
        .await;
    let op = started.body["properties"]["migrationOperationId"]
        .as_str()
        .unwrap()
        .to_owned();
    d.until_status("Again", "ReadyForCutover").await;
    d.rig.arm.restart().await.unwrap();
    // A log taken after the restart is still found, and the cutover goes through.
    d.rig.source("INSERT INTO [Again].dbo.T VALUES (2)");
    d.backup("LOG", "Again", "migration", "log1.trn");
    d.until("Again", |p| {
        p["migrationStatusDetails"]["lastRestoredFilename"] == "log1.trn"
            && p["migrationStatus"] == "ReadyForCutover"
    })
    .await;
    let cut = d.action("Again", "cutover", &op).await;
    assert_eq!(cut.status, 202, "{}", cut.body);
    d.until_status("Again", "Succeeded").await;
    assert!(
        d.rig.mi_count("Again").contains("Int(2)"),
        "{}",
        d.rig.mi_count("Again")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_waits_out_a_stopped_instance_with_2030() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Pause");
    d.backup("DATABASE", "Pause", "migration", "full.bak");
    let started = d
        .start("Pause", d.blob_body("Pause", "migration", None))
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    d.until_status("Pause", "ReadyForCutover").await;
    d.rig.mi.stop().await;
    let waiting = d.until_status("Pause", "Retriable").await;
    assert_eq!(
        waiting["migrationFailureError"]["code"], "AzureSQLManagedInstanceNotReady",
        "{waiting}"
    );
    d.rig.mi.restart().await.unwrap();
    let back = d.until_status("Pause", "ReadyForCutover").await;
    assert!(back.get("migrationFailureError").is_none(), "{back}");
    d.rig.arm.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_view_keeps_its_details_while_the_migration_goes_on() {
    let d = Dms::new().await;
    d.service("dms1").await;
    d.rig.seed("Sales");
    d.backup("DATABASE", "Sales", "migration", "full.bak");
    let started = d
        .start("Sales", d.blob_body("Sales", "migration", None))
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    d.until_status("Sales", "ReadyForCutover").await;
    assert!(!d.rig.arm.dms_freeze_details("Nope", true));
    assert_eq!(d.rig.arm.dms_ready_for_cutover("Nope"), None);
    assert!(d.rig.arm.dms_freeze_details("Sales", true));
    d.rig.source("INSERT INTO [Sales].dbo.T VALUES (2)");
    d.backup("LOG", "Sales", "migration", "log1.trn");
    // DMS goes on (log1 is found and restored) while the view shows the full backup alone.
    for _ in 0..20 {
        let p = d.get("Sales").await.body["properties"].clone();
        assert_eq!(
            file_statuses(&p),
            vec![("full.bak".into(), "Restored".into())],
            "{p}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    assert!(d.rig.arm.dms_freeze_details("Sales", false));
    let live = d
        .until("Sales", |p| {
            p["migrationStatusDetails"]["lastRestoredFilename"] == "log1.trn"
        })
        .await;
    assert_eq!(file_statuses(&live).len(), 2, "{live}");
    assert_eq!(d.rig.arm.dms_ready_for_cutover("Sales"), Some(true));
}
