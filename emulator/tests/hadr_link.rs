//! The MI link engine end to end: SQL Server prepared by T-SQL through tiberius ("Configure
//! link with T-SQL"), the link created through `Links` as ARM would, then seeding, redo by LSN,
//! the link's errors, failover and breaking the link, checked through the documented queries
//! on both sides.

mod common;
#[path = "hadr/rig.rs"]
mod rig;

use std::time::Duration;

use common::{connect, error_code, exec};
use ferry_emulator::hadr::link::LinkFault;
use rig::*;

const SYNCHRONIZING: &str = "LinkSynchronizing";

/// The documented LSN query ("Fail over link"), on either side.
const HARDENED: &str = "SELECT drs.last_hardened_lsn FROM sys.dm_hadr_database_replica_states drs INNER JOIN sys.databases db ON db.database_id = drs.database_id WHERE db.name = 'db1' AND drs.is_local = 1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_on_sql_server_reach_the_mi_after_the_lag_with_the_same_lsns() {
    let r = rig(common::sql2019()).await;
    let mut src = prepare(&r, "db1").await;
    r.links.create(spec("db1", false)).unwrap();
    wait_for(&r.links, "DAG_db1", SYNCHRONIZING, |s| {
        state(s) == SYNCHRONIZING
    })
    .await;
    let mut mi = connect(&r.mi).await;
    assert_eq!(
        text(&mut mi, "SELECT note FROM db1.dbo.t WHERE id = 1")
            .await
            .as_deref(),
        Some("before the link"),
        "the seeded copy is readable"
    );

    // Ten virtual hours of lag: the next row waits on the primary.
    r.links.set_lag(Duration::from_secs(36_000));
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (2, N'during the link')",
    )
    .await;
    wait_for(&r.links, "DAG_db1", "the primary's new LSN seen", |s| {
        s.databases[0].send_lag_seconds.is_some_and(|lag| lag > 0)
    })
    .await;
    assert_eq!(
        text(&mut mi, "SELECT COUNT(*) FROM db1.dbo.t")
            .await
            .as_deref(),
        Some("1"),
        "the row waits out the lag"
    );
    r.links.set_lag(Duration::ZERO);
    wait_sql(&mut mi, "SELECT COUNT(*) FROM db1.dbo.t", "2").await;
    let on_source = text(&mut src, HARDENED).await.expect("a row on SQL Server");
    wait_sql(&mut mi, HARDENED, &on_source).await;
    let s = r.links.status("DAG_db1").unwrap();
    assert_eq!(
        s.databases[0].last_hardened_lsn.as_deref(),
        Some(on_source.as_str())
    );
    assert_eq!(s.databases[0].connected_state, "CONNECTED");
    assert_eq!(s.databases[0].seeding_progress, "100%");

    // The MI's copy is a read-only secondary.
    assert_eq!(
        error_code(
            &mut mi,
            "INSERT INTO db1.dbo.t VALUES (3, N'on the secondary')"
        )
        .await,
        3906
    );
    // The source holds no log once the MI hardened everything.
    wait_sql(
        &mut src,
        "SELECT log_reuse_wait_desc FROM sys.databases WHERE name = 'db1'",
        "NOTHING",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_shows_progress_and_a_log_backup_during_it_fails_the_link_with_1412() {
    let r = rig(common::sql2019()).await;
    let mut src = prepare(&r, "db1").await;
    r.links.set_seeding_rate(1);
    r.links.create(spec("db1", false)).unwrap();
    wait_for(&r.links, "DAG_db1", "seeding", |s| {
        state(s) == "CreatingLink" && s.databases[0].seeding_progress != "0%"
    })
    .await;
    let mut mi = connect(&r.mi).await;
    wait_sql(
        &mut mi,
        "SELECT state_desc FROM sys.databases WHERE name = 'db1'",
        "RESTORING",
    )
    .await;
    wait_sql(
        &mut src,
        "SELECT log_reuse_wait_desc FROM sys.databases WHERE name = 'db1'",
        "AVAILABILITY_REPLICA",
    )
    .await;
    // Both sides show the seeding ("Troubleshoot link": the seeding query runs on either).
    wait_sql(
        &mut src,
        "SELECT COUNT(*) FROM sys.dm_hadr_physical_seeding_stats WHERE local_database_name = 'db1'",
        "1",
    )
    .await;
    let dir = r.src._data.path().display().to_string();
    exec(
        &mut src,
        &format!("BACKUP LOG db1 TO DISK = N'{dir}/db1.trn'"),
    )
    .await;
    let s = wait_for(&r.links, "DAG_db1", "LinkCreationError", |s| {
        state(s) == "LinkCreationError"
    })
    .await;
    let err = s.databases[0].most_recent_link_error.clone().unwrap();
    assert!(err.starts_with("Msg 1412:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_seeding_restarts_from_zero_when_the_mi_restarts_and_the_injected_truncation_fails_it()
 {
    let r = rig(common::sql2019()).await;
    let _src = prepare(&r, "db1").await;
    r.links.set_seeding_rate(100);
    r.links.create(spec("db1", false)).unwrap();
    r.links.inject(LinkFault::StallSeeding { stalled: true });
    let attempts = "SELECT CAST(number_of_attempts AS int) FROM sys.dm_hadr_automatic_seeding";
    let mut mi = connect(&r.mi).await;
    wait_sql(&mut mi, attempts, "1").await;
    drop(mi);
    r.mi.server.restart().await.unwrap();
    // Seeding is not resumable: it begins again, a second attempt.
    let mut mi = connect(&r.mi).await;
    wait_sql(&mut mi, attempts, "2").await;
    r.links.inject(LinkFault::TruncateLog);
    let s = wait_for(&r.links, "DAG_db1", "LinkCreationError", |s| {
        state(s) == "LinkCreationError"
    })
    .await;
    assert!(
        s.databases[0]
            .most_recent_link_error
            .as_deref()
            .is_some_and(|e| e.starts_with("Msg 1412:"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_certificate_not_trusted_on_the_mi_fails_with_41973() {
    let r = rig(common::sql2019()).await;
    let _src = prepare(&r, "db1").await;
    r.links.delete_trust_certificate(SOURCE_CERT).unwrap();
    r.links.create(spec("db1", false)).unwrap();
    let s = wait_for(&r.links, "DAG_db1", "LinkInitError", |s| {
        state(s) == "LinkInitError"
    })
    .await;
    let err = s.databases[0].most_recent_link_error.clone().unwrap();
    assert!(err.starts_with("Msg 41973:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mi_certificate_missing_on_sql_server_fails_with_41974() {
    let r = rig(common::sql2019()).await;
    let mut src = prepare(&r, "db1").await;
    exec(&mut src, &format!("DROP CERTIFICATE [{MI_FQDN}]")).await;
    r.links.create(spec("db1", false)).unwrap();
    let s = wait_for(&r.links, "DAG_db1", "LinkInitError", |s| {
        state(s) == "LinkInitError"
    })
    .await;
    let err = s.databases[0].most_recent_link_error.clone().unwrap();
    assert!(err.starts_with("Msg 41974:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_partner_availability_group_fails_with_41976() {
    let r = rig(common::sql2019()).await;
    let _src = prepare(&r, "db1").await;
    let mut spec = spec("db1", false);
    spec.partner_ag = "AG_nope".into();
    r.links.create(spec).unwrap();
    let s = wait_for(&r.links, "DAG_db1", "LinkInitError", |s| {
        state(s) == "LinkInitError"
    })
    .await;
    let err = s.databases[0].most_recent_link_error.clone().unwrap();
    assert!(
        err.starts_with("Msg 41976:") && err.contains("'AG_nope'"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_endpoint_fails_with_41962_after_five_minutes() {
    let r = rig(common::sql2019()).await;
    let _src = prepare(&r, "db1").await;
    r.network.block_port(SOURCE, 5022);
    r.links.create(spec("db1", false)).unwrap();
    let s = wait_for(&r.links, "DAG_db1", "LinkInitError", |s| {
        state(s) == "LinkInitError"
    })
    .await;
    let err = s.databases[0].most_recent_link_error.clone().unwrap();
    assert!(err.starts_with("Msg 41962:"), "{err}");
    assert_eq!(s.databases[0].connected_state, "DISCONNECTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_cannot_be_a_link_are_refused_at_once() {
    let r = rig(common::sql2019()).await;
    let mut bad = spec("db1", false);
    bad.partner_endpoint = "http://SRC01:5022".into();
    assert!(r.links.create(bad).unwrap_err().message.contains("TCP://"));
    let mut bad = spec("db1", false);
    bad.databases.clear();
    assert!(r.links.create(bad).is_err());
    r.links.create(spec("db1", false)).unwrap();
    let again = r.links.create(spec("db1", false)).unwrap_err();
    assert!(again.message.contains("already exists"), "{again}");
    assert!(r.links.failover("DAG_nope", false).is_err());
    assert!(
        r.links
            .put_trust_certificate("x", b"not a certificate")
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_dag_on_sql_server_stops_the_flow() {
    let r = rig(common::sql2019()).await;
    let mut src = prepare(&r, "db1").await;
    r.links.create(spec("db1", false)).unwrap();
    wait_for(&r.links, "DAG_db1", SYNCHRONIZING, |s| {
        state(s) == SYNCHRONIZING
    })
    .await;
    exec(&mut src, "DROP AVAILABILITY GROUP [DAG_db1]").await;
    wait_for(&r.links, "DAG_db1", "DISCONNECTED", |s| {
        s.databases[0].connected_state == "DISCONNECTED"
    })
    .await;
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (2, N'after the drop')",
    )
    .await;
    // A full pass of the engine and more: nothing arrives.
    r.links.set_lag(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut mi = connect(&r.mi).await;
    assert_eq!(
        text(&mut mi, "SELECT COUNT(*) FROM db1.dbo.t")
            .await
            .as_deref(),
        Some("1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_that_never_finishes_is_canceled_after_six_days() {
    let r = rig(common::sql2019()).await;
    let _src = prepare(&r, "db1").await;
    r.links.set_seeding_rate(1);
    r.links.create(spec("db1", false)).unwrap();
    wait_for(&r.links, "DAG_db1", "seeding", |s| {
        s.databases[0].seeding_progress != "0%"
    })
    .await;
    r.links.inject(LinkFault::StallSeeding { stalled: true });
    // Six virtual days in well under a real second.
    r.mi.server.clock().set_speed(1_000_000.0);
    let s = wait_for(&r.links, "DAG_db1", "LinkCreationError", |s| {
        state(s) == "LinkCreationError"
    })
    .await;
    let err = s.databases[0].most_recent_link_error.clone().unwrap();
    assert!(err.contains("6 days"), "{err}");
}
