//! The fault matrix: each fault the emulator can inject, against each method, through the real
//! `ferry` binary. Every database must end done, or failed with a reason that names the fault,
//! and nothing ferry made may be left behind: no credential on either server, no database
//! left RESTORING by a native restore. Faults a retry outlives (a dropped connection, a
//! throttled or failing ARM, a busy blob service, a server restart) must end done.

mod common;

use std::time::Duration;

use common::native_rig::Rig;
use common::*;
use ferry_emulator::Fault;

/// How a case must end.
enum Expect {
    Done,
    /// Failed, with a reason containing this.
    Failed(&'static str),
}

/// The checks every native case ends with: how the database ended, one RESTORE at most, no
/// credential left, nothing left RESTORING.
async fn native_ends(rig: &Rig, expect: Expect, case: &str) {
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    let db = "Sales";
    match expect {
        Expect::Done => {
            assert!(out.status.success(), "{case}: {all}");
            assert_eq!(rig.state(db), "ONLINE", "{case}: {all}");
        }
        Expect::Failed(reason) => {
            assert_eq!(out.status.code(), Some(1), "{case}: {all}");
            let failed = native_rig::item(&events, "item-failed", db)
                .unwrap_or_else(|| panic!("{case}: no item-failed: {all}"));
            let error = failed["error"].as_str().unwrap_or_default();
            assert!(
                error.contains(reason),
                "{case}: `{reason}` not in `{error}`"
            );
            assert_ne!(
                rig.state(db),
                "RESTORING",
                "{case}: a restoring database is left"
            );
        }
    }
    assert!(
        received(&rig.mi, "RESTORE DATABASE [Sales]") <= 1,
        "{case}: more than one RESTORE reached the MI"
    );
    for (name, server) in [("source", &rig.src), ("MI", &rig.mi)] {
        assert_eq!(
            rig.count(server, "SELECT COUNT(*) FROM sys.credentials"),
            0,
            "{case}: a credential is left on the {name}: {all}"
        );
    }
}

/// A dropped connection at each statement native-restore sends is retried and the database
/// arrives; `disconnect_during` cuts the connection after the statement ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_restore_outlives_a_dropped_connection_at_each_statement() {
    let cases: &[(&str, bool, Fault)] = &[
        (
            "source CREATE CREDENTIAL",
            true,
            Fault::disconnect("CREATE CREDENTIAL"),
        ),
        ("BACKUP", true, Fault::disconnect("BACKUP DATABASE")),
        (
            "BACKUP, cut after it ran",
            true,
            Fault::disconnect_during("BACKUP DATABASE"),
        ),
        (
            "source DROP CREDENTIAL",
            true,
            Fault::disconnect_during("DROP CREDENTIAL"),
        ),
        (
            "MI CREATE CREDENTIAL",
            false,
            Fault::disconnect("CREATE CREDENTIAL"),
        ),
        (
            "RESTORE, cut after it started",
            false,
            Fault::disconnect_during("RESTORE DATABASE"),
        ),
        (
            "MI DROP CREDENTIAL",
            false,
            Fault::disconnect_during("DROP CREDENTIAL"),
        ),
    ];
    for (case, on_source, fault) in cases {
        let rig = Rig::new(&["Sales"], "").await;
        let server = if *on_source { &rig.src } else { &rig.mi };
        server.inject(fault.clone().times(1));
        native_ends(&rig, Expect::Done, case).await;
    }
}

/// Errors SQL Server and MI answer with end the database with the number and its meaning,
/// and ferry drops what it made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_restore_ends_a_database_on_a_server_error_and_leaves_nothing() {
    let cases: &[(&str, bool, Fault, &str)] = &[
        (
            "3013 on BACKUP",
            true,
            Fault::error("BACKUP DATABASE", 3013),
            "3013",
        ),
        (
            "3201 on RESTORE",
            false,
            Fault::error("RESTORE DATABASE", 3201),
            "3201",
        ),
        (
            "41901 on RESTORE",
            false,
            Fault::error("RESTORE DATABASE", 41901),
            "41901",
        ),
    ];
    for (case, on_source, fault, reason) in cases {
        let rig = Rig::new(&["Sales"], "").await;
        let server = if *on_source { &rig.src } else { &rig.mi };
        server.inject(fault.clone());
        native_ends(&rig, Expect::Failed(reason), case).await;
    }
}

/// Azure SQL's transient login errors (40613 database unavailable, 40501 service busy) are
/// retried: the database arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_restore_outlives_transient_login_errors() {
    for number in [40613, 40501] {
        let rig = Rig::new(&["Sales"], "").await;
        rig.mi
            .inject(Fault::error("sa", number).times(2).at_login());
        native_ends(&rig, Expect::Done, &format!("{number} at login")).await;
    }
}

/// A server that goes away mid-run and comes back on its own data: the source during the
/// BACKUP, the MI during the RESTORE (which an MI carries on). The run waits it out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_restore_outlives_a_server_restart() {
    for (case, on_source, at) in [
        ("source restart at BACKUP", true, "BACKUP DATABASE"),
        ("MI restart during RESTORE", false, "RESTORE DATABASE"),
    ] {
        let rig = Rig::new(&["Sales"], "").await;
        let server = if on_source { &rig.src } else { &rig.mi };
        // Hold the statement a moment so the restart lands while ferry waits on it.
        server.inject(Fault::delay_after(at, Duration::from_millis(300)).times(1));
        let cmd = rig.command(&["apply", "--json", "migration.toml"]);
        let log = rig.site.path("restarted.log");
        let mut child = {
            let mut cmd = cmd;
            cmd.stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::process::Stdio::null());
            cmd.spawn().unwrap()
        };
        let deadline = std::time::Instant::now() + RUN_LIMIT;
        while received(server, at) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{case}: never reached"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.stop().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.restart().await.unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(status.success(), "{case}: {out}");
        // The run's own apply finished it; one more is the usual check, with nothing to do.
        native_ends(&rig, Expect::Done, case).await;
    }
}

/// Blob requests answered 503 ServerBusy (Azure Storage's "retry" answer) while ferry uploads
/// a share's backups: retried, and the database arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_restore_outlives_a_busy_blob_service() {
    let rig = Rig::new(&["Sales"], "mode = \"share\"\nshare = \"share\"").await;
    rig.backup_to_share("Sales", true);
    let proxy = ferry_emulator::blob_proxy::BlobFaultProxy::start(
        "127.0.0.1:0".parse().unwrap(),
        rig.az.addr,
    )
    .await
    .unwrap();
    // ferry's own blob label goes through the proxy; the first three PUTs are refused busy.
    let env = std::fs::read_to_string(rig.site.path("environment.toml")).unwrap();
    let env = env.replace(
        &rig.az.container_url("backups"),
        &proxy.container_url("backups"),
    );
    std::fs::write(rig.site.path("environment.toml"), env).unwrap();
    proxy.busy(3, Some(reqwest::Method::PUT), "/backups/");
    native_ends(&rig, Expect::Done, "503 ServerBusy on upload").await;
    assert!(
        proxy
            .requests()
            .iter()
            .filter(|(_, _, status)| *status == 503)
            .count()
            >= 3,
        "the busy answers were given"
    );
}

mod lrs {
    use super::*;
    use common::lrs_rig;

    /// LRS (autocomplete) under ARM faults a retry outlives: throttling, server errors,
    /// garbled replies, a restart of the ARM front end. The database arrives, with one start.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lrs_outlives_arm_faults() {
        for case in ["429", "5xx", "garbled", "restart"] {
            let data = tempfile::tempdir().unwrap();
            let mut options = ferry_emulator::arm::ArmOptions::local("mi", lrs_rig::TOKEN);
            options.data_dir = Some(data.path().join("arm"));
            let rig = lrs_rig::setup_with("mode = \"autocomplete\"", options).await;
            let (_az, src, mi, front, site, _data) = &rig;
            match case {
                "429" => front.throttle(2, 1),
                "5xx" => front.fail(2, 503),
                "garbled" => front.garble(2),
                _ => {}
            }
            let apply = lrs_rig::Apply::start(site);
            if case == "restart" {
                // Restart the front end as soon as LRS was started: its job carries on.
                let deadline = std::time::Instant::now() + RUN_LIMIT;
                while !front.requests().iter().any(|(m, _)| m == "PUT") {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "LRS was never started"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                front.stop().await;
                tokio::time::sleep(Duration::from_millis(1500)).await;
                front.restart().await.unwrap();
            }
            let out = apply.finished().await;
            assert!(lrs_rig::sales_state(mi).contains("ONLINE"), "{case}: {out}");
            let starts = front
                .requests()
                .iter()
                .filter(|(m, p)| m == "PUT" && p.contains("/databases/Sales?"))
                .count();
            assert_eq!(starts, 1, "{case}: one LRS start: {out}");
            assert!(
                lrs_rig::scalar(src, "SELECT COUNT(*) FROM sys.credentials").contains("Int(0)"),
                "{case}: the source credential is dropped"
            );
        }
    }

    /// The tail-log backup's connection lost before SQL Server answered — before it ran, and
    /// after (the reply lost) — is looked for in msdb and taken again only if it is not there:
    /// the cutover ends with the database ONLINE and one tail in the folder's chain.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tail_log_backup_whose_connection_is_lost_is_found_or_taken_again() {
        for (case, fault) in [
            (
                "lost before it ran",
                Fault::disconnect("_tail.trn").times(1),
            ),
            (
                "lost after it ran",
                Fault::disconnect_during("_tail.trn").times(1),
            ),
        ] {
            let rig = lrs_rig::setup("tail_log = \"online\"").await;
            let (_az, src, mi, _front, site, _data) = &rig;
            let apply = lrs_rig::apply_until_restoring(site, mi).await;
            src.inject(fault);
            lrs_rig::cutover(site).await;
            let out = apply.finished().await;
            assert!(lrs_rig::sales_state(mi).contains("ONLINE"), "{case}: {out}");
            let tails = lrs_rig::scalar(
                src,
                "SELECT COUNT(*) FROM msdb.dbo.backupmediafamily WHERE physical_device_name LIKE '%_tail.trn'",
            );
            assert!(
                tails.contains("Int(1)"),
                "{case}: one tail-log backup: {tails}"
            );
            assert!(
                out.contains("\"last_file\":\"Sales_tail.trn\""),
                "{case}: {out}"
            );
        }
    }

    /// A dropped connection at the source's statements is retried; a backup error ends the
    /// database with its number, before LRS is started.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lrs_outlives_dropped_connections_and_names_a_backup_error() {
        for pattern in ["CREATE CREDENTIAL", "BACKUP DATABASE", "BACKUP LOG"] {
            let rig = lrs_rig::setup("mode = \"autocomplete\"").await;
            let (_az, src, mi, _front, site, _data) = &rig;
            src.inject(Fault::disconnect(pattern).times(1));
            let out = lrs_rig::Apply::start(site).finished().await;
            assert!(
                lrs_rig::sales_state(mi).contains("ONLINE"),
                "{pattern}: {out}"
            );
        }
        let rig = lrs_rig::setup("mode = \"autocomplete\"").await;
        let (_az, src, _mi, front, site, _data) = &rig;
        src.inject(Fault::error("BACKUP DATABASE", 3013));
        let reason = lrs_rig::fails_with(site, "3013").await;
        assert!(
            !front.requests().iter().any(|(m, _)| m == "PUT"),
            "LRS was not started after a failed backup: {reason}"
        );
        assert!(
            lrs_rig::scalar(src, "SELECT COUNT(*) FROM sys.credentials").contains("Int(0)"),
            "the source credential is dropped: {reason}"
        );
    }
}
