//! DMS's errors reach the user with their meaning and what to do, whether the start fails,
//! the migration fails while running, or the cutover is refused; and cancel.

mod common;

use common::*;
use serde_json::json;

fn failed_while_running(code: &str, message: &str) -> (i32, String) {
    let w = world();
    w.borrow_mut().fail_after = Some((3, code.into(), message.into()));
    let (_, out) = run(&w, share_config(), &["cutover"]);
    failure(out)
}

#[test]
fn a_missing_tde_certificate_at_restore_is_2009_with_what_to_do() {
    let (code, msg) = failed_while_running(
        "2009",
        "MigrationRestoreFailed: cannot find server certificate with thumbprint 0xAB12",
    );
    assert_eq!(code, 2009);
    assert!(msg.contains("migrate the certificate first"), "{msg}");
}

#[test]
fn a_missing_checksum_is_2009_with_take_again_with_checksum() {
    let (_, msg) =
        failed_while_running("MigrationRestoreFailed", "Full backup is missing checksum");
    assert!(msg.contains("WITH CHECKSUM"), "{msg}");
}

#[test]
fn a_broken_chain_is_2007() {
    let (code, msg) = failed_while_running("2007", "CutoverFailedOrCancelled: LSN mismatch");
    assert_eq!(code, 2007);
    assert!(msg.contains("restore plan is broken"), "{msg}");
}

#[test]
fn a_runtime_offline_at_the_start_is_2014() {
    let w = world();
    w.borrow_mut().put_fails =
        Some("azure label `mi`: IntegrationRuntimeIsNotOnline: 2014 the runtime is offline".into());
    let (_, out) = run(&w, share_config(), &["cutover"]);
    let (code, msg) = failure(out);
    assert_eq!(code, 2014);
    assert!(msg.contains("list-auth-key"), "{msg}");
}

#[test]
fn an_invalid_storage_account_at_the_start_is_explained() {
    let w = world();
    w.borrow_mut().put_fails =
        Some("azure label `mi`: InvalidStorageAccount: the account is in another region".into());
    let (_, out) = run(&w, share_config(), &["cutover"]);
    let (_, msg) = failure(out);
    assert!(msg.contains("BlockBlobStorage"), "{msg}");
}

#[test]
fn not_ready_for_cutover_is_waited_on_then_cut_over() {
    let w = world();
    w.borrow_mut().not_ready_answers = 2;
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    assert_eq!(w.borrow().cutover_posts, 3);
    assert!(
        h.logs
            .iter()
            .any(|(_, l)| l.contains("not ready for cutover"))
    );
}

#[test]
fn not_ready_for_cutover_too_often_ends_the_database_explained() {
    let w = world();
    w.borrow_mut().not_ready_answers = 10;
    let (_, out) = run(&w, share_config(), &["cutover"]);
    let (_, msg) = failure(out);
    assert!(msg.contains("MigrationNotReadyForCutoverError"), "{msg}");
    assert!(
        msg.contains("refused the cutover 5 times") && msg.contains("ferry apply --retry-failed"),
        "{msg}"
    );
    assert_eq!(w.borrow().cutover_posts, 5);
}

#[test]
fn an_unknown_error_is_passed_on_not_guessed() {
    let (code, msg) = failed_while_running("SomethingNew", "a new failure");
    assert_eq!(code, 0);
    assert!(
        msg.contains("SomethingNew") && msg.contains("a new failure"),
        "{msg}"
    );
}

#[test]
fn cancel_of_a_migration_this_run_started_posts_cancel_then_delete() {
    let w = world();
    let mut cfg = share_config();
    cfg["delete_on_cancel"] = json!(true);
    let (h, out) = run(&w, cfg, &["cancel"]);
    let out = out.unwrap();
    assert_eq!(out["canceled"], true);
    assert_eq!(out["deleted"], true);
    assert_eq!(
        arm_changes(&h),
        vec![
            "PUT providers/Microsoft.DataMigration/databaseMigrations/Sales",
            "POST providers/Microsoft.DataMigration/databaseMigrations/Sales/cancel",
            "DELETE providers/Microsoft.DataMigration/databaseMigrations/Sales",
        ]
    );
    let cancel = h
        .arm
        .iter()
        .find(|(_, r)| r.path.ends_with("/cancel"))
        .unwrap();
    assert!(cancel.1.body.as_deref().unwrap().contains("op-1"));
}

#[test]
fn cancel_is_never_sent_for_a_migration_this_run_did_not_start() {
    let w = world();
    w.borrow_mut().migration = Some(json!({"properties": {"sourceDatabaseName": "Sales",
        "migrationStatus": "InProgress", "migrationOperationId": "op-0"}}));
    let (h, out) = run(&w, share_config(), &["cancel"]);
    let (_, msg) = failure(out);
    assert!(msg.contains("not started by this run"), "{msg}");
    assert!(arm_changes(&h).is_empty(), "{:?}", arm_changes(&h));
    assert_eq!(w.borrow().cancels, 0);
}
