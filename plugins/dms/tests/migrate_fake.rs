//! Whole migrations through the scripted world: online from a share and from blob, offline,
//! the plan, a running migration adopted, cutover only once every file is Restored.

mod common;

use common::*;
use ferry_sdk::ObjectStatus;
use serde_json::json;

#[test]
fn an_online_share_migration_runs_to_a_cutover_with_a_file_timeline() {
    let w = world();
    let mut cfg = share_config();
    cfg["tail_log_backup"] = json!(true);
    let (h, out) = run(&w, cfg, &["cutover"]);
    let out = out.unwrap();
    assert_eq!(out["method"], "dms");
    assert_eq!(out["migration_operation_id"], "op-1");
    assert!(out["cutover_at"].is_string(), "{out}");
    let w = w.borrow();
    assert_eq!(w.puts, 1);
    assert_eq!(w.cutover_posts, 1);
    assert!(!w.cutover_too_early);
    // The tail went to the share's folder with NORECOVERY and CHECKSUM.
    let tail = h
        .executed
        .iter()
        .find(|(_, s)| s.starts_with("BACKUP LOG"))
        .expect("a tail-log backup");
    assert!(
        tail.1.contains("\\\\fs01\\backups\\Sales\\Sales_tail.trn'")
            && tail.1.ends_with("WITH NORECOVERY, CHECKSUM"),
        "{}",
        tail.1
    );
    assert_eq!(tail.0, "source");
    // The values only ARM knows were read as the calls went out: the service's id for the
    // start, the migration's operation id for the cutover.
    assert_eq!(
        h.arm_references,
        vec![
            ("service_id".to_owned(), DMS_ID.to_owned()),
            ("operation_id".to_owned(), "op-1".to_owned())
        ]
    );
    // One row per file seen: full, log1, log2 (arrived while running) and the tail.
    let files: Vec<_> = h
        .rows
        .iter()
        .filter(|r| r.object_type == "backup-file")
        .collect();
    assert_eq!(files.len(), 4, "{files:#?}");
    assert!(files.iter().all(|r| r.status == ObjectStatus::Migrated));
    assert!(files[0].name.ends_with("Sales_full.bak"), "{files:#?}");
    let notes = files[0].notes.as_deref().unwrap();
    assert!(
        notes.contains("Arrived") && notes.contains("Uploading") && notes.contains("Restored"),
        "{notes}"
    );
    let db = h.rows.iter().find(|r| r.object_type == "database").unwrap();
    assert!(db.notes.as_deref().unwrap().contains("cutover sent"));
    // The share body: the folder, sealed passwords and keys.
    let put = h
        .arm
        .iter()
        .find(|(_, r)| r.method == "PUT")
        .map(|(l, r)| (l.clone(), r.clone()))
        .unwrap();
    assert_eq!(put.0, "mi");
    assert_eq!(put.1.api_version, "2025-06-30");
    let body: serde_json::Value = serde_json::from_str(put.1.body.as_deref().unwrap()).unwrap();
    let bc = &body["properties"]["backupConfiguration"];
    assert_eq!(
        bc["sourceLocation"]["fileShare"]["path"],
        "\\\\fs01\\backups\\Sales"
    );
    assert_eq!(
        bc["sourceLocation"]["fileShare"]["password"],
        "{{share_password}}"
    );
    assert_eq!(bc["targetLocation"]["accountKey"], "{{target_account_key}}");
    assert_eq!(body["properties"]["migrationService"], DMS_ID);
}

#[test]
fn an_online_blob_migration_needs_no_runtime() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.share = false;
        // The runtime is irrelevant without a share.
        w.service = Some("NeedRegistration".into());
    }
    let (h, out) = run(&w, blob_config(), &["cutover"]);
    out.unwrap();
    assert_eq!(w.borrow().cutover_posts, 1);
    assert!(!w.borrow().cutover_too_early);
    let put = h.arm.iter().find(|(_, r)| r.method == "PUT").unwrap();
    let body: serde_json::Value = serde_json::from_str(put.1.body.as_deref().unwrap()).unwrap();
    let blob = &body["properties"]["backupConfiguration"]["sourceLocation"]["azureBlob"];
    assert_eq!(blob["blobContainerName"], "migrations");
    assert_eq!(blob["accountKey"], "{{account_key}}");
    assert!(h.executed.is_empty(), "no tail-log backup unless asked");
}

#[test]
fn offline_completes_by_itself_with_no_cutover_call() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.share = false;
        w.offline = true;
    }
    let mut cfg = blob_config();
    cfg["mode"] = json!("offline");
    cfg["last_backup_name"] = json!("Sales_log2.trn");
    let (h, out) = run(&w, cfg, &["cutover"]);
    let out = out.unwrap();
    assert!(out["cutover_at"].is_null());
    assert_eq!(w.borrow().cutover_posts, 0);
    let put = h.arm.iter().find(|(_, r)| r.method == "PUT").unwrap();
    let body: serde_json::Value = serde_json::from_str(put.1.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["properties"]["offlineConfiguration"]["offline"], true);
    assert_eq!(
        body["properties"]["offlineConfiguration"]["lastBackupName"],
        "Sales_log2.trn"
    );
}

#[test]
fn cutover_waits_until_every_file_is_restored_and_no_log_pends() {
    let w = world();
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    let w = w.borrow();
    assert_eq!(w.cutover_posts, 1);
    assert!(!w.cutover_too_early);
    assert!(
        h.waits
            .iter()
            .any(|(r, _)| r.contains("every file Restored")),
        "{:?}",
        h.waits
    );
}

#[test]
fn without_a_cutover_signal_an_online_migration_keeps_waiting() {
    let w = world();
    let (h, out) = run(&w, share_config(), &[]);
    assert!(out.is_err(), "never finishes without cutover");
    assert_eq!(w.borrow().cutover_posts, 0);
    assert!(h.waits.len() > 100);
}

#[test]
fn a_running_migration_is_adopted_not_started_again() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.migration = Some(json!({"properties": {"sourceDatabaseName": "Sales",
            "migrationStatus": "InProgress", "migrationOperationId": "op-0",
            "provisioningState": "Succeeded"}}));
    }
    let (h, out) = run(&w, share_config(), &["cutover"]);
    let out = out.unwrap();
    assert_eq!(out["adopted"], true);
    assert_eq!(out["migration_operation_id"], "op-0");
    assert_eq!(w.borrow().puts, 0, "{:?}", arm_changes(&h));
    assert_eq!(
        arm_changes(&h),
        vec!["POST providers/Microsoft.DataMigration/databaseMigrations/Sales/cutover"]
    );
}

#[test]
fn a_migration_of_another_database_to_the_target_is_refused() {
    let w = world();
    w.borrow_mut().migration = Some(json!({"properties": {"sourceDatabaseName": "Other",
        "migrationStatus": "InProgress", "migrationOperationId": "op-0"}}));
    let (_, out) = run(&w, share_config(), &["cutover"]);
    let (_, msg) = failure(out);
    assert!(msg.contains("from database [Other]"), "{msg}");
    assert_eq!(w.borrow().puts, 0);
}

#[test]
fn the_plan_lists_the_service_and_the_start_with_secrets_as_placeholders() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.planning = true;
        w.service = None;
    }
    let mut cfg = share_config();
    cfg["create_service"] = json!(true);
    cfg["location"] = json!("westeurope");
    let (h, out) = run(&w, cfg, &[]);
    assert_eq!(out.unwrap()["planned"], true);
    assert_eq!(
        arm_changes(&h),
        vec![
            "PUT providers/Microsoft.DataMigration/sqlMigrationServices/dms1",
            "PUT providers/Microsoft.DataMigration/databaseMigrations/Sales",
            "POST providers/Microsoft.DataMigration/databaseMigrations/Sales/cutover",
        ]
    );
    // Nothing was read for the values only the apply can know.
    assert!(h.arm_references.is_empty(), "{:?}", h.arm_references);
    let text = recorded_text(&h);
    assert!(text.contains("{{source_password}}") && text.contains("{{share_password}}"));
    for s in SECRETS {
        assert!(!text.contains(s), "a secret in the plan");
    }
    assert!(h.executed.is_empty());
}

#[test]
fn secrets_never_reach_any_recorded_text() {
    let w = world();
    let mut cfg = share_config();
    cfg["tail_log_backup"] = json!(true);
    let (h, out) = run(&w, cfg, &["cutover"]);
    out.unwrap();
    let text = recorded_text(&h);
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s} recorded");
    }
    assert!(h.reveals.is_empty(), "nothing revealed");
}

#[test]
fn a_missing_service_is_created_when_asked_and_refused_otherwise() {
    let w = world();
    w.borrow_mut().service = None;
    let (_, out) = run(&w, share_config(), &["cutover"]);
    let (_, msg) = failure(out);
    assert!(msg.contains("create_service = true"), "{msg}");

    let w = world();
    w.borrow_mut().service = None;
    let mut cfg = share_config();
    cfg["create_service"] = json!(true);
    cfg["location"] = json!("westeurope");
    let (h, out) = run(&w, cfg, &["cutover"]);
    out.unwrap();
    assert_eq!(
        arm_changes(&h)[0],
        "PUT providers/Microsoft.DataMigration/sqlMigrationServices/dms1"
    );
}

#[test]
fn an_offline_runtime_is_waited_for_with_what_to_do_said_once() {
    let w = world();
    w.borrow_mut().runtime_offline_gets = 3;
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    let advice: Vec<_> = h
        .logs
        .iter()
        .filter(|(_, l)| l.contains("list-auth-key"))
        .collect();
    assert_eq!(advice.len(), 1, "{advice:?}");
    assert!(advice[0].1.contains("does not read the keys"));
    assert!(
        h.arm.iter().all(|(_, r)| !r.path.contains("listAuthKeys")),
        "ferry never reads the auth keys"
    );
    assert!(
        h.logs
            .iter()
            .any(|(_, l)| l.contains("runtime node SHIR01: 1 of 10 concurrent jobs")),
        "{:?}",
        h.logs
    );
}

#[test]
fn retriable_is_waited_through() {
    let w = world();
    w.borrow_mut().retriable_gets = 3;
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    assert_eq!(
        h.logs
            .iter()
            .filter(|(_, l)| l.contains("DMS retries"))
            .count(),
        1
    );
}

#[test]
fn a_passed_cutover_gate_cuts_over_without_a_signal() {
    let w = world();
    let mut cfg = share_config();
    cfg["cutover_after"] = json!("2020-01-01T00:00:00Z");
    let (_, out) = run(&w, cfg, &[]);
    out.unwrap();
    assert_eq!(w.borrow().cutover_posts, 1);
    assert!(!w.borrow().cutover_too_early);
}

#[test]
fn without_details_cutover_follows_ready_for_cutover_and_says_so_once() {
    let w = world();
    w.borrow_mut().no_details = true;
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    assert!(!w.borrow().cutover_too_early);
    assert_eq!(
        h.logs
            .iter()
            .filter(|(_, l)| l.contains("no migrationStatusDetails"))
            .count(),
        1
    );
}

#[test]
fn a_tail_log_path_an_earlier_backup_used_is_refused_not_appended_to() {
    let w = world();
    w.borrow_mut().tail_path_used = true;
    let mut cfg = share_config();
    cfg["tail_log_backup"] = json!(true);
    let (h, out) = run(&w, cfg, &["cutover"]);
    let (_, msg) = failure(out);
    assert!(
        msg.contains("Sales_tail.trn") && msg.contains("Move that file out of the folder"),
        "{msg}"
    );
    assert!(!h.executed.iter().any(|(_, s)| s.starts_with("BACKUP LOG")));
    assert_eq!(w.borrow().cutover_posts, 0);
}
