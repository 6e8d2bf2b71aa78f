//! The bundled `lrs` plugin through the real `ferry` binary, against the emulator's SQL Server,
//! its Managed Instance's ARM front end and a real Azurite: continuous mode with kills while it
//! monitors and while the tail-log backup runs (LRS started once, the tail taken once), then
//! `ferry cutover`; backups from a share uploaded as they appear, with a kill while
//! completeRestore runs; autocomplete, the plan, and LRS's refusals (nested folder, wrong SAS,
//! missing managed-identity role, a gap in the chain, a log outside the folder); ARM throttling.

mod common;

use std::time::{Duration, Instant};

use common::lrs_rig::*;
use common::*;
use ferry_emulator::arm::ArmOptions;
use ferry_emulator::azurite;
use ferry_emulator::control::{Fault, FaultAction};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_lrs_survives_a_kill_and_cuts_over_on_request() {
    // The backup-set arrays that count pending log backups came with 2024-05-01-preview.
    let (_az, src, mi, front, site, _data) = setup("api_version = \"2024-05-01-preview\"").await;

    // First run: backups, LRS started, monitoring. Meanwhile `ferry status` from another
    // shell shows what LRS is doing, not just that ferry waits. Then ferry is killed.
    let apply = apply_until_restoring(&site, &mi).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = run(&site, &["status", "migration.toml"]).await;
        let (stdout, _) = text(&out);
        if stdout.contains("waiting: LRS restores the chain — restoring: restored")
            && stdout.contains("log backup(s) pending")
        {
            break;
        }
        assert!(Instant::now() < deadline, "{stdout}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    apply.kill();
    // A database the run does not have is refused, naming the ones it has.
    let out = run(&site, &["cutover", "--database", "Nope", "migration.toml"]).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has no database `Nope` (it has: Sales)"),
        "{stderr}"
    );

    // A write after the last log backup: only the tail-log backup carries it.
    tokio::task::block_in_place(|| src.run_sql("INSERT INTO [Sales].dbo.T VALUES (3)")).unwrap();
    let out = run(&site, &["cutover", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("cutover requested for every database"),
        "{stdout}"
    );

    // ferry is killed while the tail-log backup runs (held 3 s by the server); the backup
    // then finishes on the server. Under load the kill may come before the statement was
    // sent: the next run must be right either way, and take the tail exactly once.
    src.inject(Fault {
        pattern: "_tail.trn".into(),
        action: FaultAction::Delay(Duration::from_secs(3)),
        times: Some(1),
    });
    let apply = Apply::start(&site);
    apply.until("tail-log backup").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    apply.kill();
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        until_answer(
            &src,
            "SELECT COUNT(*) FROM msdb.dbo.backupmediafamily WHERE physical_device_name LIKE '%Sales_tail.trn'",
            "Int(1)",
        ),
    )
    .await;

    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let tails = src
        .statements()
        .iter()
        .filter(|s| s.text.contains("BACKUP LOG") && s.text.contains("_tail.trn"))
        .count();
    assert_eq!(
        tails, 1,
        "the tail-log backup msdb recorded was not taken again"
    );
    // The source's credential was made at the start and renewed before the tail-log backup
    // (its SAS may have expired in a long migration).
    let statements = src.statements();
    let at = |what: &str| statements.iter().rposition(|s| s.text.contains(what));
    let creates = statements
        .iter()
        .filter(|s| s.text.contains("CREATE CREDENTIAL"))
        .count();
    assert!(creates >= 2, "{creates} CREATE CREDENTIAL");
    assert!(at("CREATE CREDENTIAL") < at("_tail.trn"));
    assert!(
        sales_state(&src).contains("RESTORING"),
        "the tail-log backup WITH NORECOVERY leaves the source RESTORING"
    );
    let done = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "item-done")
        .unwrap_or_else(|| panic!("{stdout}\n{stderr}"));
    assert_eq!(done["output"]["last_file"], "Sales_tail.trn", "{done}");
    // The phases survived both kills; the report shows them and the cutover's length.
    let phases: Vec<&str> = done["output"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["phase"].as_str())
        .collect();
    assert_eq!(phases, ["backup", "restoring", "cutover"], "{done}");
    assert!(done["output"]["cutover_ms"].as_u64().is_some(), "{done}");
    let report = std::fs::read_to_string(site.path(".ferry/migration/report.md")).unwrap();
    assert!(report.contains("cutover took"), "{report}");
    assert!(
        stdout.contains("\"resumed\":true"),
        "the second run resumed the first one's monitoring: {stdout}"
    );
    let puts = front
        .requests()
        .iter()
        .filter(|(m, p)| m == "PUT" && p.contains("/databases/Sales?"))
        .count();
    assert_eq!(puts, 1, "LRS was started once: {:?}", front.requests());
    assert!(sales_state(&mi).contains("ONLINE"));
    assert!(
        scalar(&mi, "SELECT COUNT(*) FROM [Sales].dbo.T").contains("Int(3)"),
        "the row written before cutover arrived with the tail-log backup"
    );
    assert!(
        !stdout.contains("sig=") && !stderr.contains("sig="),
        "no SAS in the output"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_finishes_alone_and_a_nested_folder_stops_with_lrs_reason() {
    let (_az, _src, mi, front, site, _data) = setup("mode = \"autocomplete\"").await;
    // The plan lists the backups and the LRS start, with the SAS as its placeholder, and
    // sends nothing that changes anything.
    let out = run(&site, &["plan", "migration.toml"]).await;
    let plan = std::fs::read_to_string(site.path("migration.plan.txt")).unwrap_or_default();
    assert!(out.status.success(), "{}\n{plan}", text(&out).1);
    for needle in [
        "BACKUP DATABASE [Sales] TO URL",
        "BACKUP LOG [Sales] TO URL",
        "[arm on mi]",
        "PUT databases/Sales?api-version=2023-08-01",
        "\"storageContainerSasToken\":\"{{sas}}\"",
    ] {
        assert!(plan.contains(needle), "the plan shows `{needle}`:\n{plan}");
    }
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "planning only read: {:?}",
        front.requests()
    );
    applied(&site, "Sales_log_0001.trn").await;
    assert!(sales_state(&mi).contains("ONLINE"));

    // A sub-folder in the database's folder: LRS refuses it, and the item says why.
    let (az, src, _mi, front, site, _data2) = setup("mode = \"autocomplete\"").await;
    let container = az.container_url("migration");
    let rwl = write_sas();
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'; \
             BACKUP DATABASE [Sales] TO URL = '{container}/Sales/old/earlier.bak' WITH CHECKSUM"
        ))
        .unwrap();
    });
    // Azure documents no code for it, so it is refused before LRS starts.
    let stdout = fails_with(&site, "holds `Sales/old/earlier.bak` in a sub-folder").await;
    assert!(stdout.contains("LRS reads one flat folder"), "{stdout}");
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "nothing started: {:?}",
        front.requests()
    );

    // A SAS from the site's secret with more than Read and List: LRS refuses to start, and
    // the item says which secret to fix and how.
    let (_az, _src, _mi, _front, site, _data3) =
        setup("mode = \"autocomplete\"\nsas_secret = \"lrs-sas\"").await;
    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for needle in [
        "LRS refused to start for [Sales]",
        "StorageBrokenIssueDetectedAtTheStart",
        "the SAS in secret `lrs-sas` must be for the container, unexpired, and grant Read and List only",
    ] {
        assert!(stdout.contains(needle), "`{needle}` in: {stdout}");
    }
    assert!(
        !stdout.contains("sig=") && !stderr.contains("sig="),
        "no SAS in the output"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_on_a_share_are_uploaded_as_they_appear_and_a_kill_during_completion_resumes() {
    let config =
        "backups_from = \"share\"\nshare = \"share\"\nsource_share_path = \"{site}/share\"";
    // completeRestore's operation takes 3 s: long enough to kill ferry while it waits.
    let mut options = ArmOptions::local("mi", TOKEN);
    options.operation_time = Duration::from_secs(3);
    let (_az, src, mi, front, site, _data) = setup_with(config, options).await;
    let share = site.path("share/Sales");
    let disk = |file: &str| share.join(file).display().to_string();
    backups_on_the_share(&src, &site);
    // The plan lists the upload from the share and the LRS start, and changes nothing.
    let out = run(&site, &["plan", "migration.toml"]).await;
    let plan = std::fs::read_to_string(site.path("migration.plan.txt")).unwrap_or_default();
    assert!(out.status.success(), "{:?}\n{plan}", text(&out));
    for needle in [
        "Sales_full.bak",
        "Sales_log1.trn",
        "PUT databases/Sales?api-version",
    ] {
        assert!(plan.contains(needle), "the plan shows `{needle}`:\n{plan}");
    }
    assert!(front.requests().iter().all(|(m, _)| m == "GET"));
    let apply = apply_until_restoring(&site, &mi).await;
    // The share's retention deletes the full backup, already uploaded: the chain still counts.
    std::fs::remove_file(share.join("Sales_full.bak")).unwrap();
    // LRS runs: a log backup taken now is found in msdb and uploaded by the running ferry.
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "INSERT INTO [Sales].dbo.T VALUES (4); BACKUP LOG [Sales] TO DISK = '{}' WITH CHECKSUM",
            disk("Sales_log2.trn")
        ))
        .unwrap();
    });
    apply.until("uploading Sales_log2.trn from the share").await;
    tokio::task::block_in_place(|| src.run_sql("INSERT INTO [Sales].dbo.T VALUES (5)")).unwrap();
    cutover(&site).await;
    // The tail goes to the share, is uploaded, and completeRestore is sent; ferry is killed
    // while it waits for that operation.
    apply.until("completing the restore").await;
    apply.kill();
    assert!(
        share.join("Sales_tail.trn").exists(),
        "the tail-log backup was written to the share"
    );

    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\"last_file\":\"Sales_tail.trn\""),
        "{stdout}"
    );
    assert!(
        scalar(&mi, "SELECT COUNT(*) FROM [Sales].dbo.T").contains("Int(5)"),
        "rows from the first log, the log taken while LRS ran and the tail all arrived"
    );
    let count = |m: &str, p: &str| {
        front
            .requests()
            .iter()
            .filter(|(method, path)| method == m && path.contains(p))
            .count()
    };
    assert_eq!(count("PUT", "/databases/Sales?"), 1, "LRS started once");
    assert!(
        (1..=2).contains(&count("POST", "/completeRestore")),
        "completeRestore sent once (twice only if the kill cut the call that sent it): {:?}",
        front.requests()
    );
    assert!(
        src.statements().iter().all(|s| !s.text.contains("TO URL")),
        "from a share the source never writes to the container"
    );
    let killed_run = std::fs::read_to_string(site.path("apply.log")).unwrap();
    assert!(
        ![stdout.as_str(), stderr.as_str(), killed_run.as_str()]
            .iter()
            .any(|t| t.contains("sig=")),
        "no SAS in the output"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_arm_is_waited_out_and_a_throttle_or_garbage_that_never_ends_fails_with_its_reason()
 {
    let config = "mode = \"autocomplete\"\n[steps.limits]\nretries = 0";
    let (_az, _src, _mi, front, site, _data) = setup(config).await;
    // Two 429s with Retry-After: 1 on the first ARM call: ferry waits them out.
    front.throttle(2, 1);
    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let first = front.requests()[..3].to_vec();
    assert!(
        first
            .iter()
            .all(|(m, p)| m == "GET" && p.contains("/databases/Sales?")),
        "the throttled GET was sent three times: {first:?}"
    );

    // Something between ferry and ARM answers HTML: a clear failure, not a panic or a hang.
    let (_az, _src, _mi, front, site, _data) = setup(config).await;
    front.garble(1000);
    fails_with(
        &site,
        "ARM answered GET databases/Sales with a body that is not a JSON object",
    )
    .await;

    // ARM throttles every request: the item fails saying so, and nothing was started.
    let (_az, _src, _mi, front, site, _data) = setup(config).await;
    front.throttle(1000, 0);
    fails_with(
        &site,
        "TooManyRequests: The request is being throttled; retry after the interval in \
         Retry-After (still 429 after 5 attempts",
    )
    .await;
    assert!(front.requests().iter().all(|(m, _)| m == "GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_identity_reads_the_folder_once_granted_and_a_missing_role_is_named() {
    let config = "mode = \"autocomplete\"\nstorage_identity = \"managed-identity\"";
    // No role assignment for the MI's identity on the container: LRS stops, saying so.
    let (_az, _src, _mi, _front, site, _data) = setup(config).await;
    let stdout = fails_with(&site, "LRS refused to start for [Sales]").await;
    assert!(
        stdout.contains(
            "ManagedIdentityIssueDetectedFromTheStart: The managed instance's identity cannot read"
        ),
        "{stdout}"
    );

    // With Storage Blob Data Reader granted, the same migration goes through.
    let (az, _src, mi, front, site, _data) = setup(config).await;
    front.grant_managed_identity(
        &az.container_url("migration"),
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
    );
    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(sales_state(&mi).contains("ONLINE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cutover_gate_in_the_migration_file_cuts_over_without_the_cli() {
    // A cutover window that has already opened: continuous mode cuts over on its first look.
    let (_az, src, mi, _front, site, _data) =
        setup("cutover_after = \"2000-01-01T00:00:00Z\"\ntail_log = \"online\"").await;
    // `ferry cutover` before any run, and after the run ended, says why it does nothing.
    let refused = |out: std::process::Output, code: i32, why: &str| {
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(code), "{stdout}{stderr}");
        assert!(stderr.contains(why), "`{why}` in {stderr}");
    };
    refused(
        run(&site, &["cutover", "migration.toml"]).await,
        2,
        "`ferry apply migration.toml` has not run here yet",
    );
    let stdout = applied(&site, "Sales_tail.trn").await;
    assert!(stdout.contains("cutover_after has passed"), "{stdout}");
    refused(
        run(&site, &["cutover", "migration.toml"]).await,
        3,
        "has already ended; there is nothing to cut over",
    );
    assert!(sales_state(&mi).contains("ONLINE"));
    assert!(
        sales_state(&src).contains("ONLINE"),
        "tail_log = \"online\" leaves the source usable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tail_log_none_the_operators_own_last_log_backup_completes_the_restore() {
    let (az, src, mi, front, site, _data) = setup("tail_log = \"none\"").await;
    apply_until_restoring_then_kill(&site, &mi).await;
    // The DBA stops the application and takes the last log backup into the folder.
    let folder = format!("{}/Sales", az.container_url("migration"));
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "INSERT INTO [Sales].dbo.T VALUES (3); \
             BACKUP LOG [Sales] TO URL = '{folder}/final.trn' WITH CHECKSUM"
        ))
        .unwrap();
    });
    cutover(&site).await;
    let stdout = applied(&site, "final.trn").await;
    assert!(
        stdout.contains("cutover with your last log backup, final.trn"),
        "{stdout}"
    );
    assert!(scalar(&mi, "SELECT COUNT(*) FROM [Sales].dbo.T").contains("Int(3)"));
    assert!(
        src.statements()
            .iter()
            .all(|s| !s.text.contains("_tail.trn")),
        "ferry took no tail-log backup"
    );
    assert!(sales_state(&src).contains("ONLINE"));
    assert_eq!(
        front
            .requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p.contains("/completeRestore"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_mi_cannot_restore_stops_before_anything_is_backed_up() {
    // TDE without the certificate moved: named, with the thumbprint.
    let (_az, src, _mi, front, site, _data) = setup("").await;
    tokio::task::block_in_place(|| {
        src.run_sql(
            "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; \
             CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for Sales'; \
             USE Sales; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 \
             ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master; \
             ALTER DATABASE Sales SET ENCRYPTION ON",
        )
        .unwrap();
    });
    fails_with(
        &site,
        "[Sales] is protected by TDE with certificate [TdeCert] (thumbprint 0x",
    )
    .await;
    assert!(front.requests().iter().all(|(m, _)| m == "GET"));

    // A second log file.
    let (_az, src, _mi, _front, site, _data) = setup("").await;
    tokio::task::block_in_place(|| {
        src.run_sql(
            "ALTER DATABASE [Sales] ADD LOG FILE (NAME = Sales_log2, FILENAME = 'Sales_log2.ldf')",
        )
        .unwrap();
    });
    fails_with(
        &site,
        "[Sales] has 2 log files; a Managed Instance restores one (error 41921",
    )
    .await;
    assert!(
        src.statements().iter().all(|s| !s.text.contains("BACKUP")),
        "nothing was backed up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_lrs_runs_ferry_takes_log_backups_so_the_tail_stays_small() {
    let (_az, src, mi, _front, site, _data) = setup("log_backup_seconds = 1").await;
    let apply = apply_until_restoring(&site, &mi).await;
    tokio::task::block_in_place(|| src.run_sql("INSERT INTO [Sales].dbo.T VALUES (3)")).unwrap();
    // The first log, then at least two taken by ferry while LRS runs.
    let logs =
        "SELECT COUNT(*) FROM msdb.dbo.backupset WHERE database_name = N'Sales' AND type = 'L'";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = scalar(&src, logs);
        let n: u32 = answer
            .split("Int(")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if n >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ferry took no log backups: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cutover(&site).await;
    let out = apply.finished().await;
    assert!(out.contains("\"last_file\":\"Sales_tail.trn\""), "{out}");
    assert!(scalar(&mi, "SELECT COUNT(*) FROM [Sales].dbo.T").contains("Int(3)"));
    let periodic: Vec<String> = src
        .statements()
        .iter()
        .filter(|s| s.text.contains("BACKUP LOG") && s.text.contains("Sales_log_1"))
        .map(|s| s.text.clone())
        .collect();
    assert!(periodic.len() >= 2, "{periodic:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_run_prints_a_long_wait_once_not_at_every_look() {
    let (_az, _src, _mi, _front, site, _data) = setup("tail_log = \"online\"").await;
    // Plain lines (no --json, not a terminal) go to stderr.
    let apply = Apply::start_with(&site, &["apply", "migration.toml"], "plain.log", true);
    // LRS is looked at every second; four seconds of looks, then the cutover.
    apply
        .until("waiting  Sales · lrs: LRS restores the chain")
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    cutover(&site).await;
    let stderr = apply.finished().await;
    assert!(stderr.contains("done     Sales · lrs"), "{stderr}");
    let waits = stderr
        .lines()
        .filter(|l| l.starts_with("waiting  Sales · lrs: LRS restores the chain"))
        .count();
    assert_eq!(waits, 1, "{stderr}");
    // Progress is a line too, repeated at most once a minute: here only the first.
    assert!(
        stderr.contains("progress Sales · lrs: checking: source, folder and target"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("progress Sales").count(), 1, "{stderr}");
}

/// A log backup another job writes elsewhere while LRS runs takes log records the folder's
/// chain needs: ferry ends the database saying so at its next look, before the tail-log
/// backup, instead of LRS failing later with BrokenRestorePlanGapInLogBackups. (Before issue
/// 13 this test expected that late LRS failure.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_backup_taken_elsewhere_breaks_the_chain_and_the_item_says_so() {
    let (az, src, mi, front, site, _data) = setup("").await;
    apply_until_restoring_then_kill(&site, &mi).await;
    // A log backup job writes somewhere else meanwhile: the folder's chain now has a hole
    // that the tail-log backup cannot close.
    let elsewhere = format!("{}/elsewhere", az.container_url("migration"));
    let rwl = write_sas();
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "CREATE CREDENTIAL [{elsewhere}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'; \
             INSERT INTO [Sales].dbo.T VALUES (3); \
             BACKUP LOG [Sales] TO URL = '{elsewhere}/job.trn' WITH CHECKSUM; \
             INSERT INTO [Sales].dbo.T VALUES (4)"
        ))
        .unwrap();
    });
    cutover(&site).await;
    let stdout = fails_with(
        &site,
        "a log backup of [Sales] was written outside the folder while LRS ran",
    )
    .await;
    assert!(stdout.contains("elsewhere/job.trn"), "{stdout}");
    assert!(
        src.statements()
            .iter()
            .all(|s| !s.text.contains("_tail.trn")),
        "no tail-log backup was taken into a broken chain"
    );
    assert!(
        !front
            .requests()
            .iter()
            .any(|(m, p)| m == "POST" && p.contains("/completeRestore")),
        "no completeRestore was sent"
    );
}

/// Before anything starts with `backups_from = "ferry"`, msdb's log backups of the database
/// written elsewhere since its last full backup mean a log-backup job runs: ferry's log
/// backups would split its chain, and its backups would break LRS's. The database stops,
/// saying what to do; once the job is paused (`log_backup_job_paused`), it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_backup_job_writing_elsewhere_stops_ferry_mode_before_anything_starts() {
    let (az, src, mi, front, site, _data) = setup("mode = \"autocomplete\"").await;
    let nightly = format!("{}/nightly", az.container_url("migration"));
    own_backups(
        &src,
        &nightly,
        &format!("{nightly}/full.bak"),
        &format!("{nightly}/log_0100.trn"),
    );
    let stdout = fails_with(
        &site,
        "msdb shows 1 log backup(s) of [Sales] written outside",
    )
    .await;
    assert!(
        stdout.contains("nightly/log_0100.trn") && stdout.contains("log_backup_job_paused"),
        "{stdout}"
    );
    assert!(
        src.statements()
            .iter()
            .all(|s| !s.text.contains("BACKUP DATABASE [Sales] TO URL = N'")),
        "ferry took no backup"
    );
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "LRS was not started"
    );

    // The DBA pauses the job and says so: the database goes, with ferry's full COPY_ONLY so
    // the job's differential base is untouched.
    let m = std::fs::read_to_string(site.migration()).unwrap();
    std::fs::write(
        site.migration(),
        m.replace(
            "[steps.config]\n",
            "[steps.config]\nlog_backup_job_paused = true\n",
        ),
    )
    .unwrap();
    let out = run(&site, &["apply", "--json", "--fresh", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(sales_state(&mi).contains("ONLINE"));
    let full = src
        .statements()
        .into_iter()
        .map(|s| s.text)
        .find(|t| t.contains("BACKUP DATABASE [Sales] TO URL = N'"))
        .expect("ferry's full backup");
    assert!(full.contains("WITH COPY_ONLY, CHECKSUM"), "{full}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_backups_are_read_from_msdb_and_a_log_outside_the_folder_stops_before_lrs_starts()
{
    let config = "backups_from = \"history\"\nmode = \"autocomplete\"";
    // The database's own backups, taken TO URL into its folder before ferry runs.
    let (az, src, mi, _front, site, _data) = setup(config).await;
    let container = az.container_url("migration");
    own_backups(
        &src,
        &container,
        &format!("{container}/Sales/nightly_full.bak"),
        &format!("{container}/Sales/log_0900.trn"),
    );
    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\"last_file\":\"log_0900.trn\""),
        "{stdout}"
    );
    assert!(scalar(&mi, "SELECT COUNT(*) FROM [Sales].dbo.T").contains("Int(3)"));

    // A log backup that went elsewhere: msdb shows where it is, and LRS is never started.
    let (az, src, _mi, front, site, _data2) = setup(config).await;
    let container = az.container_url("migration");
    own_backups(
        &src,
        &container,
        &format!("{container}/Sales/full.bak"),
        &format!("{container}/elsewhere/log1.trn"),
    );
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "INSERT INTO [Sales].dbo.T VALUES (4); \
             BACKUP LOG [Sales] TO URL = '{container}/Sales/log2.trn' WITH CHECKSUM"
        ))
    })
    .unwrap();
    fails_with(&site, "elsewhere/log1.trn, not in").await;
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "nothing was started: {:?}",
        front.requests()
    );
}

/// `examples/lrs/` passes `ferry check` as shipped and with its share lines switched on; a
/// share without `source_share_path` in continuous mode is refused naming the key.
#[test]
fn the_example_site_passes_check_as_shipped_and_from_a_share() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lrs");
    let migration = std::fs::read_to_string(root.join("migration.toml")).unwrap();
    let environment = std::fs::read_to_string(root.join("environment.toml")).unwrap();
    let check = |migration: &str, environment: &str| {
        let site = Site::new(migration, environment);
        site.run(
            &["check", "migration.toml"],
            &[("SRC_PASSWORD", "x"), ("STORAGE_ACCOUNT_KEY", "a2V5")],
        )
    };
    let out = check(&migration, &environment);
    assert!(out.status.success(), "{:?}", text(&out));

    let from_share = migration
        .replace("backups_from = \"ferry\"", "backups_from = \"share\"")
        .replace("# share = ", "share = ")
        .replace("# source_share_path = ", "source_share_path = ");
    let environment = environment
        .replace("# [storage.sqlbackups]", "[storage.sqlbackups]")
        .replace("# kind = \"share\"", "kind = \"share\"")
        .replace("# path = ", "path = ");
    let shared = from_share.replace(
        "storage = [\"backups\"]",
        "storage = [\"backups\", \"sqlbackups:read\"]",
    );
    let out = check(&shared, &environment);
    assert!(out.status.success(), "{:?}", text(&out));

    // Labels renamed through the step's config: the plugin's needs follow them.
    let renamed = migration
        .replace("source = \"source\"", "source = \"sql01\"")
        .replace("azure = \"mi\"", "azure = \"mi-prod\"")
        .replace("sql = [\"source\"]", "sql = [\"sql01\"]")
        .replace("azure = [\"mi\"]", "azure = [\"mi-prod\"]");
    let renamed_env = std::fs::read_to_string(root.join("environment.toml"))
        .unwrap()
        .replace("[sql.source]", "[sql.sql01]")
        .replace("[azure.mi]", "[azure.mi-prod]");
    let out = check(&renamed, &renamed_env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let read_only = renamed.replace("sql = [\"sql01\"]", "sql = [\"sql01:read\"]");
    let (_, stderr) = text(&check(&read_only, &renamed_env));
    assert!(
        stderr.contains("needs sql `sql01` (its `source` in the step's config) with write access"),
        "{stderr}"
    );

    let missing = shared.replace("source_share_path = ", "# source_share_path = ");
    let out = check(&missing, &environment);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        format!("{stdout}{stderr}").contains("source_share_path"),
        "{stdout}{stderr}"
    );
}

/// A TDE-protected database goes with LRS and no manual step: an `instance-objects` step before
/// it uploads the certificate through ARM (`tdeCertificates`), and the LRS step then finds the
/// thumbprint on the MI and goes ahead; the restore brings the database ONLINE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tde_database_goes_with_lrs_once_an_instance_step_uploads_its_certificate() {
    // `target`: the MI's SQL label, through which LRS sees the MI's certificates.
    let (_az, src, mi, _front, site, _data) =
        setup("mode = \"autocomplete\"\ntarget = \"target\"").await;
    tokio::task::block_in_place(|| {
        src.run_sql(
            "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#Lrs-2026'; \
             CREATE CERTIFICATE [LrsTde] WITH SUBJECT = 'TDE for Sales'",
        )
        .unwrap();
        src.run_sql(
            "USE Sales; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 \
             ENCRYPTION BY SERVER CERTIFICATE [LrsTde]; USE master",
        )
        .unwrap();
        src.run_sql("ALTER DATABASE Sales SET ENCRYPTION ON")
            .unwrap();
    });
    let off: String = [
        "certificates",
        "credentials",
        "logins",
        "server_roles",
        "server_permissions",
        "database_mail",
        "agent_operators",
        "agent_jobs",
        "linked_servers",
        "audits",
        "server_triggers",
        "messages",
        "configuration",
    ]
    .iter()
    .map(|f| format!("{f} = {{ enabled = false }}\n"))
    .collect();
    let migration = std::fs::read_to_string(site.migration()).unwrap().replacen(
        "[[steps]]",
        &format!(
            "[plugins.objects]\nbundled = \"instance-objects\"\n[[steps]]\nname = \"tde\"\nplugin = \"objects\"\n\
             scope = \"instance\"\n[steps.config]\nsource = \"source\"\ntarget = \"target\"\nazure = \"mi\"\n{off}\
             [steps.grants]\nsql = [\"source\", \"target:write\"]\nazure = [\"mi:write\"]\n\n[[steps]]"
        ),
        1,
    );
    std::fs::write(site.migration(), migration).unwrap();
    applied(&site, "Sales_log_0001.trn").await;
    assert!(sales_state(&mi).contains("ONLINE"), "{}", sales_state(&mi));
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(site.path(".ferry/migration/report.json")).unwrap(),
    )
    .unwrap();
    let text = report.to_string();
    assert!(
        text.contains("\"name\":\"LrsTde\"") && text.contains("tdeCertificates"),
        "the certificate's row says it was uploaded: {text}"
    );
}
