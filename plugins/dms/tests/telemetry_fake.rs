//! The runtime's node telemetry (`listMonitoringData`) in a share migration's progress, read
//! at most once a minute however often the migration is looked at; none for blob.

mod common;

use common::*;

fn monitoring_reads(h: &ferry_sdk::fake::FakeHost) -> usize {
    h.arm
        .iter()
        .filter(|(_, r)| r.path.ends_with("/listMonitoringData"))
        .count()
}

#[test]
fn a_share_migrations_progress_shows_the_runtimes_nodes() {
    let w = world();
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    let restoring: Vec<String> = h
        .progress
        .iter()
        .filter(|p| p.phase == "restoring")
        .filter_map(|p| p.message.clone())
        .collect();
    assert!(restoring.len() > 2, "{restoring:?}");
    for m in &restoring {
        assert!(
            m.ends_with("; runtime SHIR01 1/10 jobs CPU 12% 2048 MB free"),
            "{m}"
        );
    }
    // Many looks within a minute (the fake does not wait): one read, when the runtime was
    // found Online.
    assert!(w.borrow().gets > 2);
    assert_eq!(monitoring_reads(&h), 1);
}

#[test]
fn a_failed_read_keeps_going_without_telemetry() {
    let w = world();
    let mut h = host(&w);
    // Only the monitoring POST fails.
    let inner = w.clone();
    h = h.on_azure(move |label, req| {
        if req.path.ends_with("/listMonitoringData") {
            return Err(ferry_sdk::Error::transient("listMonitoringData: 503"));
        }
        inner.borrow_mut().arm(label, req)
    });
    h.signals = vec!["cutover".into()];
    let out = h.run_item::<dms::Dms>(share_config(), "Sales");
    out.unwrap();
    assert!(
        h.progress
            .iter()
            .filter_map(|p| p.message.as_deref())
            .all(|m| !m.contains("runtime")),
        "{:?}",
        h.progress
    );
    assert!(
        h.logs.iter().any(|(_, l)| l.contains("listMonitoringData")),
        "the failure is logged at debug level: {:?}",
        h.logs
    );
}

#[test]
fn a_blob_migration_reads_no_telemetry() {
    let w = world();
    w.borrow_mut().share = false;
    let (h, out) = run(&w, blob_config(), &["cutover"]);
    out.unwrap();
    assert_eq!(monitoring_reads(&h), 0);
    assert!(
        h.progress
            .iter()
            .filter_map(|p| p.message.as_deref())
            .all(|m| !m.contains("runtime")),
    );
}

#[test]
fn an_adopted_share_migration_reads_the_nodes_while_monitoring() {
    let w = world();
    w.borrow_mut().migration = Some(serde_json::json!({"properties": {
        "sourceDatabaseName": "Sales", "migrationStatus": "InProgress",
        "migrationOperationId": "op-0", "provisioningState": "Succeeded"}}));
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    // Adopted: the service step (and its read) never ran; the monitor read once.
    assert_eq!(monitoring_reads(&h), 1);
    assert!(w.borrow().gets > 2);
    let last = h
        .progress
        .iter()
        .rev()
        .filter(|p| p.phase == "restoring")
        .find_map(|p| p.message.clone())
        .unwrap();
    assert!(last.contains("runtime SHIR01 1/10 jobs"), "{last}");
}
