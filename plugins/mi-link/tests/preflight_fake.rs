//! The precondition matrix: each failing precondition is its own refused row, and nothing
//! is changed on either side.

mod common;

use common::*;
use ferry_sdk::ObjectStatus;
use mi_link::MiLink;
use serde_json::json;

/// Runs with `change` applied to a world where everything passes; the refused codes.
fn refused(change: impl FnOnce(&mut World), cfg: serde_json::Value) -> (Vec<String>, String) {
    let w = world();
    change(&mut w.borrow_mut());
    let mut h = host(&w);
    let out = h.run_item::<MiLink>(cfg, "Sales");
    assert!(
        statements(&h).is_empty(),
        "nothing changed: {:?}",
        statements(&h)
    );
    assert!(
        arm_changes(&h).is_empty(),
        "no ARM change: {:?}",
        arm_changes(&h)
    );
    let codes = h
        .rows
        .iter()
        .filter(|r| r.status == ObjectStatus::Refused)
        .filter_map(|r| r.reason_code.clone())
        .collect();
    (codes, out.err().map(|e| e.describe()).unwrap_or_default())
}

fn only(change: impl FnOnce(&mut World), code: &str, says: &str) {
    let (codes, err) = refused(change, config());
    assert_eq!(codes, vec![code.to_owned()], "{err}");
    assert!(err.contains(says), "`{says}` in {err}");
}

#[test]
fn sql_server_2014_is_refused() {
    only(|w| w.version = "12.0.6024.0".into(), "version", "2016 SP3");
}
#[test]
fn sql_server_2016_without_the_azure_connect_pack_is_refused() {
    only(
        |w| w.version = "13.0.6300.2".into(),
        "version",
        "13.0.7000.253",
    );
}
#[test]
fn sql_server_2017_before_its_pack_is_refused() {
    only(
        |w| w.version = "14.0.3456.2".into(),
        "version",
        "14.0.3490.10",
    );
}
#[test]
fn sql_server_2019_before_cu20_is_refused() {
    only(
        |w| w.version = "15.0.4236.7".into(),
        "version",
        "15.0.4312.2",
    );
}
#[test]
fn express_is_refused() {
    only(
        |w| w.edition = "Express Edition (64-bit)".into(),
        "edition",
        "Enterprise, Standard or Developer",
    );
}
#[test]
fn always_on_disabled_is_refused() {
    only(|w| w.hadr = false, "hadr", "Enable-SqlAlwaysOn");
}
#[test]
fn no_master_key_is_refused_unless_ferry_may_create_it() {
    only(|w| w.master_key = false, "master-key", "create_master_key");
    let w = world();
    w.borrow_mut().master_key = false;
    let mut h = host(&w);
    h.signals = vec!["cutover".into()];
    let mut cfg = config();
    cfg["create_master_key"] = json!(true);
    h.run_item::<MiLink>(cfg, "Sales").unwrap();
    assert_eq!(
        statements(&h)[0],
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = @password"
    );
}
#[test]
fn simple_recovery_is_refused() {
    only(
        |w| w.recovery = "SIMPLE".into(),
        "recovery-model",
        "SET RECOVERY FULL",
    );
}
#[test]
fn no_full_backup_is_refused_with_1475s_remedy() {
    only(|w| w.fulls = 0, "full-backup", "1475");
}
#[test]
fn a_database_in_another_ag_is_refused() {
    only(
        |w| w.in_ag = Some("AG_Other".into()),
        "availability-group",
        "[AG_Other]",
    );
}
#[test]
fn a_stopped_endpoint_is_refused() {
    only(
        |w| {
            w.endpoint = Some((
                "ep".into(),
                "STOPPED".into(),
                "CERTIFICATE".into(),
                0,
                true,
                "AES".into(),
                5022,
            ))
        },
        "endpoint",
        "STARTED",
    );
}
#[test]
fn an_endpoint_without_aes_is_refused() {
    only(
        |w| {
            w.endpoint = Some((
                "ep".into(),
                "STARTED".into(),
                "WINDOWS_NEGOTIATE".into(),
                0,
                true,
                "RC4".into(),
                5022,
            ))
        },
        "endpoint",
        "ALGORITHM AES",
    );
}
#[test]
fn a_login_that_is_not_sysadmin_is_refused() {
    only(|w| w.sysadmin = false, "sysadmin", "sysadmin");
}
#[test]
fn a_tde_database_whose_certificate_the_mi_lacks_is_refused() {
    only(|w| w.encrypted = true, "tde-certificate", "41923");
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.encrypted = true;
        w.mi_cert_thumbprints = vec!["ab12".into()];
    }
    let mut h = host(&w);
    h.signals = vec!["cutover".into()];
    h.run_item::<MiLink>(config(), "Sales").unwrap();
}
#[test]
fn a_2025_source_under_the_2022_update_policy_is_refused() {
    only(
        |w| w.version = "17.0.1000.7".into(),
        "update-policy",
        "3169",
    );
}
#[test]
fn failback_under_always_up_to_date_is_refused() {
    let mut cfg = config();
    cfg["keep_link"] = json!(true);
    let (codes, err) = refused(|w| w.mi_policy = "AlwaysUpToDate".into(), cfg);
    assert_eq!(codes, vec!["update-policy"]);
    assert!(err.contains("two-way"), "{err}");
}
#[test]
fn a_failover_group_on_the_mi_is_refused_and_unchecked_without_a_label() {
    let mut cfg = config();
    cfg["resource_group_azure"] = json!("rg");
    let (codes, err) = refused(|w| w.failover_group = true, cfg);
    assert_eq!(codes, vec!["failover-group"]);
    assert!(err.contains("fog1"), "{err}");
    // Without the label: a skipped row, not a refusal.
    let w = world();
    let mut h = host(&w);
    let mut cfg = config();
    cfg["check_only"] = json!(true);
    h.run_item::<MiLink>(cfg, "Sales").unwrap();
    let row = h
        .rows
        .iter()
        .find(|r| r.reason_code.as_deref() == Some("failover-group"))
        .unwrap();
    assert_eq!(row.status, ObjectStatus::Skipped);
}
#[test]
fn every_failing_precondition_is_its_own_row() {
    let (codes, _) = refused(
        |w| {
            w.hadr = false;
            w.recovery = "SIMPLE".into();
            w.fulls = 0;
            w.sysadmin = false;
        },
        config(),
    );
    assert_eq!(
        codes,
        vec!["hadr", "sysadmin", "recovery-model", "full-backup"]
    );
}
#[test]
fn a_collation_mismatch_is_a_warning_and_check_only_changes_nothing() {
    let w = world();
    w.borrow_mut().mi_collation = "Latin1_General_100_CI_AS".into();
    let mut h = host(&w);
    let mut cfg = config();
    cfg["check_only"] = json!(true);
    let out = h.run_item::<MiLink>(cfg, "Sales").unwrap();
    assert_eq!(out["checked"], true);
    assert!(statements(&h).is_empty() && arm_changes(&h).is_empty());
    let row = h
        .rows
        .iter()
        .find(|r| r.reason_code.as_deref() == Some("collation"))
        .unwrap();
    assert_eq!(row.status, ObjectStatus::Warning);
    assert!(h.rows.iter().any(
        |r| r.reason_code.as_deref() == Some("version") && r.status == ObjectStatus::Unchanged
    ));
}
#[test]
fn an_api_version_without_failover_is_refused_where_the_cutover_needs_it() {
    let mut cfg = config();
    cfg["api_version"] = json!("2023-08-01");
    let (codes, err) = refused(|w| w.version = "16.0.1000.6".into(), cfg.clone());
    assert_eq!(codes, vec!["api-version"]);
    assert!(err.contains("2024-05-01-preview"), "{err}");
    // 2022 CU13 fails over with T-SQL, 2019 breaks the link: no ARM failover needed.
    for version in ["16.0.4125.3", "15.0.4312.2"] {
        let w = world();
        w.borrow_mut().version = version.into();
        let mut h = host(&w);
        h.signals = vec!["cutover".into()];
        h.run_item::<MiLink>(cfg.clone(), "Sales").unwrap();
    }
}
