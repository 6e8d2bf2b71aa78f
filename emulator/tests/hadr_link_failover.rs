//! Cutover over the MI link ("Fail over link", "Troubleshoot link"): planned failover only in
//! synchronous commit with the MI caught up, then the MI is writable with every committed row
//! and SQL Server a read-only secondary that receives the MI's changes; forced failover and
//! the split brain it leaves; one-way links that can only be broken; the MI's automatic
//! backup after failover.

mod common;
#[path = "hadr/rig.rs"]
mod rig;

use common::{connect, error_code, exec};
use ferry_emulator::Release;
use ferry_emulator::hadr::link::LinkRole;
use rig::*;

const SYNCHRONIZING: &str = "LinkSynchronizing";
const LOCAL_ROLE: &str = "SELECT rs.role_desc FROM sys.availability_groups ag JOIN sys.dm_hadr_availability_replica_states rs ON ag.group_id = rs.group_id WHERE rs.is_local = 1 AND ag.is_distributed = 1 AND ag.name = 'DAG_db1'";

fn sql2022cu13() -> ferry_emulator::Personality {
    ferry_emulator::Personality::SqlServer {
        release: Release::Sql2022Cu13,
        edition: ferry_emulator::Edition::Enterprise,
        hadr: true,
        name: SOURCE.into(),
    }
}

async fn linked(two_way: bool) -> (Rig, common::C, common::C) {
    let r = rig(sql2022cu13()).await;
    let src = prepare(&r, "db1").await;
    r.links.create(spec("db1", two_way)).unwrap();
    wait_for(&r.links, "DAG_db1", SYNCHRONIZING, |s| {
        state(s) == SYNCHRONIZING
    })
    .await;
    let mi = connect(&r.mi).await;
    (r, src, mi)
}

const TO_SYNC: &str = "ALTER AVAILABILITY GROUP [DAG_db1] MODIFY AVAILABILITY GROUP ON 'AG_db1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'mi-target' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_failover_needs_sync_on_both_sides_then_the_mi_takes_every_row_and_writes() {
    let (r, mut src, mut mi) = linked(true).await;
    for n in 2..=20 {
        exec(
            &mut src,
            &format!("INSERT INTO db1.dbo.t VALUES ({n}, N'row {n}')"),
        )
        .await;
    }
    let e = r.links.failover("DAG_db1", false).unwrap_err();
    assert_eq!(e.number, 41142, "asynchronous commit: {e}");
    r.links.set_replication_mode("DAG_db1", true).unwrap();
    let e = r.links.failover("DAG_db1", false).unwrap_err();
    assert_eq!(e.number, 41142, "SQL Server still asynchronous: {e}");
    exec(&mut src, TO_SYNC).await;
    wait_sql(
        &mut src,
        "SELECT drs.synchronization_state_desc FROM sys.dm_hadr_database_replica_states drs JOIN sys.availability_groups ag ON ag.group_id = drs.group_id WHERE ag.is_distributed = 1 AND drs.is_local = 0",
        "SYNCHRONIZED",
    )
    .await;
    r.links.failover("DAG_db1", false).unwrap();
    let s = r.links.status("DAG_db1").unwrap();
    assert_eq!(
        (s.instance_role, s.partner_role),
        (LinkRole::Primary, LinkRole::Secondary)
    );

    assert_eq!(
        text(&mut mi, "SELECT COUNT(*) FROM db1.dbo.t")
            .await
            .as_deref(),
        Some("20")
    );
    exec(
        &mut mi,
        "INSERT INTO db1.dbo.t VALUES (21, N'written on the MI')",
    )
    .await;
    assert_eq!(
        error_code(
            &mut src,
            "INSERT INTO db1.dbo.t VALUES (22, N'on the new secondary')"
        )
        .await,
        3906
    );
    // Two-way: the MI's change flows back to SQL Server.
    wait_sql(
        &mut src,
        "SELECT note FROM db1.dbo.t WHERE id = 21",
        "written on the MI",
    )
    .await;
    wait_sql(&mut src, LOCAL_ROLE, "SECONDARY").await;
    wait_sql(&mut mi, LOCAL_ROLE, "PRIMARY").await;
    // The MI's first automatic full backup, some virtual minutes after the failover.
    wait_sql(
        &mut mi,
        "SELECT COUNT(*) FROM msdb.dbo.backupset WHERE database_name = 'db1' AND type = 'D'",
        "1",
    )
    .await;

    // Failing back: planned, from the MI side (ARM setRole Secondary, Planned).
    r.links.set_role("DAG_db1", false, false).unwrap();
    let s = r.links.status("DAG_db1").unwrap();
    assert_eq!(s.instance_role, LinkRole::Secondary);
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (23, N'after failing back')",
    )
    .await;
    wait_sql(
        &mut mi,
        "SELECT note FROM db1.dbo.t WHERE id = 23",
        "after failing back",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_planned_failover_goes_back_to_sql_server_with_what_the_mi_wrote() {
    let (r, mut src, mut mi) = linked(true).await;
    r.links.set_replication_mode("DAG_db1", true).unwrap();
    exec(&mut src, TO_SYNC).await;
    wait_sql(
        &mut src,
        "SELECT drs.synchronization_state_desc FROM sys.dm_hadr_database_replica_states drs JOIN sys.availability_groups ag ON ag.group_id = drs.group_id WHERE ag.is_distributed = 1 AND drs.is_local = 0",
        "SYNCHRONIZED",
    )
    .await;
    r.links.failover("DAG_db1", false).unwrap();
    wait_sql(&mut mi, LOCAL_ROLE, "PRIMARY").await;
    exec(
        &mut mi,
        "INSERT INTO db1.dbo.t VALUES (2, N'written on the MI')",
    )
    .await;
    wait_sql(
        &mut src,
        "SELECT note FROM db1.dbo.t WHERE id = 2",
        "written on the MI",
    )
    .await;

    // The same POST …/failover (Planned) is the failback ("Fail over a link").
    r.links.failover("DAG_db1", false).unwrap();
    let s = r.links.status("DAG_db1").unwrap();
    assert_eq!(
        (s.instance_role, s.partner_role),
        (LinkRole::Secondary, LinkRole::Primary)
    );
    wait_sql(&mut src, LOCAL_ROLE, "PRIMARY").await;
    wait_sql(&mut mi, LOCAL_ROLE, "SECONDARY").await;
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (3, N'SQL Server again')",
    )
    .await;
    assert_eq!(
        error_code(
            &mut mi,
            "INSERT INTO db1.dbo.t VALUES (4, N'on the MI again')"
        )
        .await,
        3906
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_failover_splits_the_brain_until_sql_server_is_set_secondary() {
    let (r, mut src, mut mi) = linked(true).await;
    r.links.failover("DAG_db1", true).unwrap();
    exec(
        &mut mi,
        "INSERT INTO db1.dbo.t VALUES (2, N'on the MI after forcing')",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (3, N'on SQL Server, to be lost')",
    )
    .await;
    wait_sql(&mut src, LOCAL_ROLE, "PRIMARY").await;
    wait_sql(&mut mi, LOCAL_ROLE, "PRIMARY").await;
    assert_eq!(r.links.failover("DAG_db1", true).unwrap_err().number, 41965);

    exec(
        &mut src,
        "ALTER AVAILABILITY GROUP [DAG_db1] SET (ROLE = SECONDARY)",
    )
    .await;
    wait_for(&r.links, "DAG_db1", "SQL Server secondary", |s| {
        s.partner_role == LinkRole::Secondary
    })
    .await;
    wait_sql(
        &mut src,
        "SELECT note FROM db1.dbo.t WHERE id = 2",
        "on the MI after forcing",
    )
    .await;
    assert_eq!(
        text(&mut src, "SELECT COUNT(*) FROM db1.dbo.t WHERE id = 3")
            .await
            .as_deref(),
        Some("0"),
        "what SQL Server wrote during the split brain is gone"
    );
    assert_eq!(
        error_code(&mut src, "INSERT INTO db1.dbo.t VALUES (4, N'x')").await,
        3906
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_role_answers_the_documented_refusals() {
    let (r, _src, _mi) = linked(true).await;
    assert_eq!(
        r.links.set_role("DAG_db1", true, false).unwrap_err().number,
        41970
    );
    assert_eq!(
        r.links
            .set_role("DAG_db1", false, false)
            .unwrap_err()
            .number,
        41965
    );
    r.links.set_role("DAG_db1", true, true).unwrap();
    assert_eq!(
        r.links.set_role("DAG_db1", true, true).unwrap_err().number,
        41965
    );
    // Split brain repaired from the MI's side: the MI goes back to SQL Server's copy.
    r.links.set_role("DAG_db1", false, true).unwrap();
    let s = r.links.status("DAG_db1").unwrap();
    assert_eq!(
        (s.instance_role, s.partner_role),
        (LinkRole::Secondary, LinkRole::Primary)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_way_link_cannot_fail_over_and_breaking_it_makes_both_databases_writable() {
    let (r, mut src, mut mi) = linked(false).await;
    let e = r.links.failover("DAG_db1", false).unwrap_err();
    assert!(e.message.contains("one-way"), "{e}");
    exec(&mut src, "INSERT INTO db1.dbo.t VALUES (2, N'last row')").await;
    wait_sql(&mut mi, "SELECT COUNT(*) FROM db1.dbo.t", "2").await;
    r.links.delete("DAG_db1").unwrap();
    assert!(r.links.status("DAG_db1").is_none());
    exec(&mut mi, "INSERT INTO db1.dbo.t VALUES (3, N'on the MI')").await;
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (4, N'on SQL Server')",
    )
    .await;
    assert_eq!(
        text(
            &mut mi,
            "SELECT COUNT(*) FROM sys.availability_groups WHERE name = 'DAG_db1'"
        )
        .await
        .as_deref(),
        Some("0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_link_during_seeding_drops_the_copy_on_the_mi() {
    let r = rig(sql2022cu13()).await;
    let _src = prepare(&r, "db1").await;
    r.links.set_seeding_rate(1);
    r.links.create(spec("db1", true)).unwrap();
    let mut mi = connect(&r.mi).await;
    wait_sql(
        &mut mi,
        "SELECT state_desc FROM sys.databases WHERE name = 'db1'",
        "RESTORING",
    )
    .await;
    r.links.delete("DAG_db1").unwrap();
    assert_eq!(
        text(
            &mut mi,
            "SELECT COUNT(*) FROM sys.databases WHERE name = 'db1'"
        )
        .await
        .as_deref(),
        Some("0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_during_cutover_refuses_the_planned_failover_and_t_sql_failover_carries_it_out()
{
    let (r, mut src, mut mi) = linked(true).await;
    r.links.set_replication_mode("DAG_db1", true).unwrap();
    exec(&mut src, TO_SYNC).await;
    exec(
        &mut src,
        "INSERT INTO db1.dbo.t VALUES (2, N'last before cutover')",
    )
    .await;
    r.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: true });
    wait_for(&r.links, "DAG_db1", "DISCONNECTED", |s| {
        s.databases[0].connected_state == "DISCONNECTED"
    })
    .await;
    assert_eq!(
        r.links.failover("DAG_db1", false).unwrap_err().number,
        41142
    );
    r.links
        .inject(ferry_emulator::hadr::link::LinkFault::Partition { partitioned: false });
    wait_for(&r.links, "DAG_db1", "CONNECTED", |s| {
        s.databases[0].connected_state == "CONNECTED"
    })
    .await;
    // "Fail over link": T-SQL on the primary, SQL Server 2022 CU13 and later.
    exec(&mut src, "ALTER AVAILABILITY GROUP [DAG_db1] FAILOVER").await;
    wait_for(&r.links, "DAG_db1", "the MI primary", |s| {
        s.instance_role == LinkRole::Primary
    })
    .await;
    assert_eq!(
        text(&mut mi, "SELECT note FROM db1.dbo.t WHERE id = 2")
            .await
            .as_deref(),
        Some("last before cutover")
    );
    exec(&mut mi, "INSERT INTO db1.dbo.t VALUES (3, N'on the MI')").await;
    let s = r.links.status("DAG_db1").unwrap();
    let (cert, _) = s.databases[0]
        .partner_cert
        .clone()
        .expect("partnerAuthCertValidity");
    assert_eq!(cert, SOURCE_CERT);
}
