//! Link errors reach the user with their meaning and what to do, whether the link's PUT fails
//! or ARM later shows the link in an error state; and the connectivity tests.

mod common;

use common::*;
use ferry_sdk::ObjectStatus;
use mi_link::MiLink;
use serde_json::json;

fn failure(change: impl FnOnce(&mut World)) -> (i32, String) {
    let w = world();
    change(&mut w.borrow_mut());
    let mut h = host(&w);
    h.signals = vec!["cutover".into()];
    match h.run_item::<MiLink>(config(), "Sales") {
        Err(ferry_sdk::Error::Failed(f)) => (f.code.unwrap_or(0), f.message),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_put_failing_with_41973_says_to_upload_sql_servers_certificate() {
    let (code, msg) = failure(|w| {
        w.put_fails =
            Some("azure label `mi`: LinkInitError: Error 41973: certificate not found".into())
    });
    assert_eq!(code, 41973);
    assert!(
        msg.contains("serverTrustCertificates") && msg.contains("--retry-failed"),
        "{msg}"
    );
}

#[test]
fn a_link_in_link_creation_error_1408_says_drop_and_recreate() {
    let (code, msg) = failure(|w| {
        w.link_fault = Some((
            "LinkCreationError".into(),
            "Error 1408: the log was truncated".into(),
        ))
    });
    assert_eq!(code, 1408);
    assert!(
        msg.contains("drop it") && msg.contains("pause log backups"),
        "{msg}"
    );
}

#[test]
fn a_link_in_link_init_error_41962_names_the_ports() {
    let (code, msg) = failure(|w| w.link_fault = Some(("LinkInitError".into(), "41962".into())));
    assert_eq!(code, 41962);
    assert!(msg.contains("11000-11999"), "{msg}");
}

#[test]
fn an_error_without_a_known_number_is_passed_on_not_guessed() {
    let (code, msg) =
        failure(|w| w.link_fault = Some(("LinkInitError".into(), "something else".into())));
    assert_eq!(code, 0);
    assert!(
        msg.contains("LinkInitError") && msg.contains("something else"),
        "{msg}"
    );
}

#[test]
fn the_connectivity_tests_run_as_agent_jobs_and_are_cleaned_up() {
    let w = world();
    let mut h = host(&w);
    let mut cfg = config();
    cfg["connectivity_test"] = json!(true);
    cfg["check_only"] = json!(true);
    let out = h.run_item::<MiLink>(cfg, "Sales").unwrap();
    assert_eq!(out["checked"], true);
    let sql = statements(&h);
    let has = |s: &str| sql.iter().any(|x| x.contains(s));
    assert!(
        has("sp_add_job @job_name = @job") && has("sp_start_job") && has("sp_delete_job"),
        "{sql:#?}"
    );
    assert!(has("CREATE ENDPOINT [TEST_ENDPOINT]") && has("DROP ENDPOINT [TEST_ENDPOINT]"));
    assert!(w.borrow().jobs.is_empty(), "the jobs are deleted");
    for test in ["connectivity-sql-to-mi", "connectivity-mi-to-sql"] {
        let row = h
            .rows
            .iter()
            .find(|r| r.reason_code.as_deref() == Some(test))
            .unwrap();
        assert_eq!(row.status, ObjectStatus::Unchanged, "{row:?}");
    }
}

#[test]
fn a_blocked_port_fails_the_connectivity_test_and_creates_no_link() {
    let w = world();
    w.borrow_mut().tnc_ok = false;
    let mut h = host(&w);
    let mut cfg = config();
    cfg["connectivity_test"] = json!(true);
    let e = h.run_item::<MiLink>(cfg, "Sales").unwrap_err().describe();
    assert!(
        e.contains("connectivity tests failed") && e.contains("5022"),
        "{e}"
    );
    assert!(h.rows.iter().any(|r| r.status == ObjectStatus::Refused
        && r.reason_code.as_deref() == Some("connectivity-mi-to-sql")));
    assert!(arm_changes(&h).is_empty());
    assert!(w.borrow().ags.is_empty() && w.borrow().jobs.is_empty());
}
