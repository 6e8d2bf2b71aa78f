//! Each precondition refuses the database before anything starts: no PUT of a migration.

mod common;

use common::*;
use ferry_sdk::ObjectStatus;
use serde_json::json;

fn refused(change: impl FnOnce(&mut World), config: serde_json::Value, code: &str) -> String {
    let w = world();
    change(&mut w.borrow_mut());
    let (h, out) = run(&w, config, &["cutover"]);
    let (_, msg) = failure(out);
    assert!(msg.contains("nothing was started"), "{msg}");
    assert_eq!(w.borrow().puts, 0, "nothing started");
    let row = h
        .rows
        .iter()
        .find(|r| r.reason_code.as_deref() == Some(code))
        .unwrap_or_else(|| panic!("no row {code}: {:#?}", h.rows));
    assert_eq!(row.status, ObjectStatus::Refused);
    msg
}

#[test]
fn a_login_neither_sysadmin_nor_control_server_is_refused() {
    let msg = refused(
        |w| w.sysadmin = false,
        share_config(),
        "source-login-not-sysadmin",
    );
    assert!(msg.contains("dms_login"), "{msg}");
}

#[test]
fn control_server_is_enough() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.sysadmin = false;
        w.control_server = true;
    }
    let (_, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
}

#[test]
fn an_appended_backup_is_refused() {
    let msg = refused(
        |w| w.files[1].position = 2,
        share_config(),
        "backup-appended",
    );
    assert!(msg.contains("Sales_log1.trn"), "{msg}");
}

#[test]
fn a_backup_without_checksum_is_refused() {
    let msg = refused(
        |w| w.files[0].checksum = false,
        share_config(),
        "backup-without-checksum",
    );
    assert!(msg.contains("WITH CHECKSUM"), "{msg}");
}

#[test]
fn no_full_backup_is_refused() {
    refused(|w| w.files.clear(), share_config(), "no-full-backup");
}

#[test]
fn a_target_name_in_use_is_refused() {
    let msg = refused(
        |w| w.target_exists = true,
        share_config(),
        "target-name-taken",
    );
    assert!(msg.contains("never overwrites"), "{msg}");
}

#[test]
fn a_tde_database_without_its_certificate_on_the_mi_is_refused() {
    let msg = refused(
        |w| w.encrypted = true,
        share_config(),
        "tde-certificate-missing",
    );
    assert!(msg.contains("TDECert"), "{msg}");
}

#[test]
fn a_tde_database_whose_certificate_is_on_the_mi_goes_ahead() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.encrypted = true;
        w.mi_certs = vec!["AB12".into()];
    }
    let (_, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
}

#[test]
fn a_container_named_backup_is_refused() {
    let mut cfg = blob_config();
    cfg["blob"]["container"] = json!("backup");
    let msg = refused(|w| w.share = false, cfg, "invalid-container-name");
    assert!(msg.contains("InvalidContainerName"), "{msg}");
}

#[test]
fn a_share_from_sql_server_2014_is_refused() {
    let msg = refused(
        |w| w.version = "12.0.6024.0".into(),
        share_config(),
        "share-needs-sql-2016",
    );
    assert!(msg.contains("from blob"), "{msg}");
}

#[test]
fn backups_outside_the_share_folder_are_refused() {
    let msg = refused(
        |w| w.elsewhere = true,
        share_config(),
        "backup-outside-folder",
    );
    assert!(msg.contains("Other"), "{msg}");
}

#[test]
fn validate_ir_errors_refuse_the_database_explained() {
    let w = world();
    w.borrow_mut().validate_errors = vec![("2012".into(), "cannot reach \\\\fs01".into())];
    let mut cfg = share_config();
    cfg["validate_ir"] = json!(true);
    let (h, out) = run(&w, cfg, &["cutover"]);
    let (_, msg) = failure(out);
    assert!(
        msg.contains("validateIr") && msg.contains("TestConnectionFailed"),
        "{msg}"
    );
    assert_eq!(w.borrow().puts, 0);
    let text = recorded_text(&h);
    assert!(SECRETS.iter().all(|s| !text.contains(s)));
}

#[test]
fn validate_ir_passing_lets_the_migration_start() {
    let w = world();
    let mut cfg = share_config();
    cfg["validate_ir"] = json!(true);
    let (h, out) = run(&w, cfg, &["cutover"]);
    out.unwrap();
    assert!(
        h.arm
            .iter()
            .any(|(l, r)| l == "dms" && r.path.ends_with("/validateIr"))
    );
}
