//! The emulated Database Migration Service with backups on a share, read by the emulated
//! self-hosted integration runtime: registration with the service's current key, the
//! runtime's states and node telemetry, uploads into the target account with per-file
//! status, and the runtime going offline mid-migration (2014) and back.

mod common;

use common::dms_rig::{ACCOUNT_ID, Dms};
use common::lrs_rig::MI_PATH;
use ferry_emulator::azurite;
use reqwest::Method;
use serde_json::json;

const SHARE: &str = r"\\fileserver\backups";

fn share_body(db: &str, offline: bool) -> serde_json::Value {
    json!({ "properties": {
        "kind": "SqlMi",
        "scope": MI_PATH,
        "migrationService": Dms::service_path("dms1"),
        "sourceDatabaseName": db,
        "sourceSqlConnection": { "dataSource": "SRC", "authentication": "WindowsAuthentication",
            "userName": r"CONTOSO\svc", "password": "Pa55" },
        "backupConfiguration": {
            "sourceLocation": { "fileShare": { "path": format!(r"{SHARE}\{db}"), "username": r"CONTOSO\svc", "password": "Pa55" } },
            "targetLocation": { "storageAccountResourceId": ACCOUNT_ID, "accountKey": azurite::ACCOUNT_KEY },
        },
        "offlineConfiguration": { "offline": offline },
    }})
}

/// Backs `db` up WITH CHECKSUM to `file` in its folder of the share.
fn backup(d: &Dms, dir: &std::path::Path, kind: &str, db: &str, file: &str) {
    let path = dir.join(db).join(file);
    d.rig.source(&format!(
        "BACKUP {kind} [{db}] TO DISK = '{}' WITH CHECKSUM",
        path.display()
    ));
}

async fn keys(d: &Dms) -> serde_json::Value {
    let r = d
        .at(
            Method::POST,
            &format!("{}/listAuthKeys", Dms::service_path("dms1")),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn runtime_state(d: &Dms) -> String {
    let r = d.at(Method::GET, &Dms::service_path("dms1"), None).await;
    r.body["properties"]["integrationRuntimeState"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_registers_with_a_current_key_only() {
    let d = Dms::new().await;
    d.service("dms1").await;
    assert_eq!(runtime_state(&d).await, "NeedRegistration");
    let before = keys(&d).await;
    let regen = d
        .at(
            Method::POST,
            &format!("{}/regenerateAuthKeys", Dms::service_path("dms1")),
            Some(json!({ "keyName": "authKey1" })),
        )
        .await;
    assert_eq!(regen.status, 200, "{}", regen.body);
    assert_ne!(regen.body["authKey1"], before["authKey1"]);
    assert_eq!(regen.body["authKey2"], before["authKey2"]);
    // The old key no longer registers; the current ones do.
    assert!(
        d.rig
            .arm
            .dms_register_node(before["authKey1"].as_str().unwrap(), "node1")
            .is_err()
    );
    assert_eq!(
        d.rig
            .arm
            .dms_register_node(before["authKey2"].as_str().unwrap(), "node1"),
        Ok("dms1".into())
    );
    assert_eq!(runtime_state(&d).await, "Online");
    let mon = d
        .at(
            Method::POST,
            &format!("{}/listMonitoringData", Dms::service_path("dms1")),
            None,
        )
        .await;
    assert_eq!(mon.body["nodes"][0]["nodeName"], "node1", "{}", mon.body);
    assert!(d.rig.arm.dms_node_online("node1", false));
    assert_eq!(runtime_state(&d).await, "Offline");
    let del = d
        .at(
            Method::POST,
            &format!("{}/deleteNode", Dms::service_path("dms1")),
            Some(json!({ "nodeName": "node1", "integrationRuntimeName": "dms1" })),
        )
        .await;
    assert_eq!(del.status, 200, "{}", del.body);
    assert_eq!(runtime_state(&d).await, "NeedRegistration");
    let bad = d
        .at(
            Method::POST,
            &format!("{}/regenerateAuthKeys", Dms::service_path("dms1")),
            Some(json!({ "keyName": "authKey3" })),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (400, Some("InvalidParameterValue")),
        "{}",
        bad.body
    );
    // The service goes once nothing runs on it; a second DELETE finds nothing.
    let gone = d.at(Method::DELETE, &Dms::service_path("dms1"), None).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    let again = d.at(Method::DELETE, &Dms::service_path("dms1"), None).await;
    assert_eq!(again.status, 204, "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_migration_uploads_restores_waits_out_an_offline_runtime_and_cuts_over() {
    let d = Dms::new().await;
    d.service("dms1").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("Sales")).unwrap();
    d.rig.arm.dms_share(SHARE, dir.path().to_path_buf());
    d.rig.src.allow_backup_directory(dir.path()).unwrap();
    let k = keys(&d).await;
    d.rig
        .arm
        .dms_register_node(k["authKey1"].as_str().unwrap(), "node1")
        .unwrap();

    d.rig.arm.dms_source("SRC", d.rig.src.clone());
    // A source server the runtime cannot reach.
    let mut body = share_body("Sales", false);
    body["properties"]["sourceSqlConnection"]["dataSource"] = json!(r"elsewhere\\SQL1");
    let r = d.start("Sales", body).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("TestConnectionFailed")),
        "{}",
        r.body
    );
    // A path the runtime cannot reach.
    let mut body = share_body("Sales", false);
    body["properties"]["backupConfiguration"]["sourceLocation"]["fileShare"]["path"] =
        json!(r"\\otherhost\x\Sales");
    let r = d.start("Sales", body).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("TestConnectionFailed")),
        "{}",
        r.body
    );

    d.rig.seed("Sales");
    backup(&d, dir.path(), "DATABASE", "Sales", "full.bak");
    d.rig.source("INSERT INTO [Sales].dbo.T VALUES (2)");
    backup(&d, dir.path(), "LOG", "Sales", "log1.trn");
    // A file that is not a backup: the source cannot read its header.
    std::fs::write(dir.path().join("Sales").join("notes.txt"), "not a backup").unwrap();
    let started = d.start("Sales", share_body("Sales", false)).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let op = started.body["properties"]["migrationOperationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let ready = d.until_status("Sales", "ReadyForCutover").await;
    let details = &ready["migrationStatusDetails"];
    assert_eq!(details["blobContainerName"], "dms-sales", "{ready}");
    assert_eq!(details["lastRestoredFilename"], "log1.trn", "{ready}");
    assert_eq!(details["invalidFiles"], json!(["notes.txt"]), "{ready}");
    let blocking = details["fileUploadBlockingErrors"][0]
        .as_str()
        .unwrap_or_default();
    assert!(blocking.starts_with("notes.txt: Msg "), "{ready}");
    // The files are in the target account's container.
    let sas = azurite::devstore_container_sas("dms-sales", "rl").unwrap();
    let listing = d
        .rig
        .http
        .get(format!(
            "{}?restype=container&comp=list&{sas}",
            d.rig.az.container_url("dms-sales")
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains("full.bak") && listing.contains("log1.trn"),
        "{listing}"
    );

    // The runtime goes offline: the migration waits as Retriable with 2014.
    d.rig.arm.dms_node_online("node1", false);
    let waiting = d.until_status("Sales", "Retriable").await;
    assert_eq!(
        waiting["migrationFailureError"]["code"], "IntegrationRuntimeIsNotOnline",
        "{waiting}"
    );
    d.rig.source("INSERT INTO [Sales].dbo.T VALUES (3)");
    backup(&d, dir.path(), "LOG", "Sales", "log2.trn");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let still = d.get("Sales").await;
    assert!(
        !still.body.to_string().contains("log2.trn"),
        "nothing is read while the runtime is offline: {}",
        still.body
    );
    // Back online, it carries on.
    d.rig.arm.dms_node_online("node1", true);
    let back = d
        .until("Sales", |p| {
            p["migrationStatusDetails"]["lastRestoredFilename"] == "log2.trn"
                && p["migrationStatus"] == "ReadyForCutover"
        })
        .await;
    assert!(back.get("migrationFailureError").is_none(), "{back}");
    let cut = d.action("Sales", "cutover", &op).await;
    assert_eq!(cut.status, 202, "{}", cut.body);
    d.until_status("Sales", "Succeeded").await;
    d.rig.until_status("Sales", "Online").await;
    assert!(
        d.rig.mi_count("Sales").contains("Int(3)"),
        "{}",
        d.rig.mi_count("Sales")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_share_migration_ends_with_the_newest_backup() {
    let d = Dms::new().await;
    d.service("dms1").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("Hr")).unwrap();
    d.rig.arm.dms_share(SHARE, dir.path().to_path_buf());
    d.rig.src.allow_backup_directory(dir.path()).unwrap();
    let k = keys(&d).await;
    d.rig
        .arm
        .dms_register_node(k["authKey2"].as_str().unwrap(), "node1")
        .unwrap();
    d.rig.seed("Hr");
    backup(&d, dir.path(), "DATABASE", "Hr", "full.bak");
    d.rig.source("INSERT INTO [Hr].dbo.T VALUES (2)");
    backup(&d, dir.path(), "LOG", "Hr", "log1.trn");
    d.rig
        .arm
        .dms_upload_time(std::time::Duration::from_millis(700));
    let started = d.start("Hr", share_body("Hr", true)).await;
    assert_eq!(started.status, 201, "{}", started.body);
    // Files go Arrived → Queued → Uploading → Uploaded before LRS restores them.
    let uploading = d
        .until("Hr", |p| p.to_string().contains(r#""status":"Uploading""#))
        .await;
    assert_eq!(uploading["migrationStatus"], "InProgress", "{uploading}");
    let done = d
        .until("Hr", |p| {
            !matches!(p["migrationStatus"].as_str(), Some("InProgress"))
        })
        .await;
    assert_eq!(done["migrationStatus"], "Succeeded", "{done}");
    assert!(
        d.rig.mi_count("Hr").contains("Int(2)"),
        "{}",
        d.rig.mi_count("Hr")
    );
}
