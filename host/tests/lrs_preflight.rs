//! The bundled `lrs` plugin against Microsoft's documentation, through the real `ferry` binary,
//! the emulator's SQL Server, its Managed Instance (ARM and T-SQL) and Azurite: ferry's own
//! backups fit Azure's block limits, what the MI cannot take is refused before anything
//! starts, names LRS refuses are caught first, the MI's read of the folder is checked before
//! LRS starts, and `restoreDetails` is read as Azure shapes it.

mod common;

use common::lrs_rig::*;
use common::*;
use serde_json::Value;

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `backups_from = "ferry"`: the full is striped so that no blob passes Azure's 50,000
/// blocks, with the transfer sizes for block blobs, COMPRESSION and CHECKSUM; the logs carry
/// the same sizes. A database whose log chain no full has started yet gets a normal full
/// (a COPY_ONLY one starts no chain: its log backup would fail with 4214).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrys_full_backup_is_striped_to_fit_azures_block_limit() {
    // 4 MiB per stripe: the emulator's 16 MiB database takes four.
    let (_az, src, mi, _front, site, _data) =
        setup("mode = \"autocomplete\"\nstripe_bytes = 4194304").await;
    let stdout = applied(&site, "Sales_log_0001.trn").await;
    assert!(sales_state(&mi).contains("ONLINE"));
    let full = statement(&src, "BACKUP DATABASE [Sales]");
    for n in 1..=4 {
        assert!(
            full.contains(&format!("/Sales/Sales_full_{n}of4.bak'")),
            "{full}"
        );
    }
    assert!(
        full.contains(
            "WITH CHECKSUM, COMPRESSION, FORMAT, MAXTRANSFERSIZE = 4194304, BLOCKSIZE = 65536"
        ),
        "{full}"
    );
    assert!(
        stdout.contains("a normal one (not COPY_ONLY)"),
        "no full had started a log chain: {stdout}"
    );
    let log = statement(&src, "BACKUP LOG [Sales]");
    assert!(
        log.contains("MAXTRANSFERSIZE = 4194304, BLOCKSIZE = 65536"),
        "{log}"
    );
}

/// With a `target` label, ferry checks before LRS starts that the MI reads the folder through
/// the SAS LRS gets (the LRS guide's RESTORE HEADERONLY through a credential), and drops the
/// credential it made for that. A SAS the storage refuses stops the database there, not as
/// StorageBrokenIssueDetectedAtTheStart after LRS started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mi_reading_the_folder_is_checked_before_lrs_starts() {
    let config = "mode = \"autocomplete\"\ntarget = \"target\"";
    let (_az, _src, mi, front, site, _data) = setup(config).await;
    let stdout = applied(&site, "Sales_log_0001.trn").await;
    assert!(
        stdout.contains("reads the folder through the SAS LRS gets"),
        "{stdout}"
    );
    let headers = received(&mi, "RESTORE HEADERONLY FROM URL");
    assert_eq!(headers, 1, "the MI read the full backup's header");
    assert!(
        scalar(&mi, "SELECT COUNT(*) FROM sys.credentials").contains("Int(0)"),
        "the check's credential is dropped"
    );
    assert_eq!(
        front
            .requests()
            .iter()
            .filter(|(m, p)| m == "PUT" && p.contains("/databases/Sales?"))
            .count(),
        1
    );

    let config = format!("{config}\nsas_secret = \"bad-sas\"");
    let (_az, _src, mi, front, site, _data) = setup(&config).await;
    let stdout = fails_with(&site, "cannot read the folder through the SAS LRS").await;
    assert!(
        stdout.contains("error 3201") && stdout.contains("LRS was not started"),
        "{stdout}"
    );
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "LRS was not started: {:?}",
        front.requests()
    );
    assert!(
        scalar(&mi, "SELECT COUNT(*) FROM sys.credentials").contains("Int(0)"),
        "the check's credential is dropped after a refusal too"
    );
    assert!(!stdout.contains("d3JvbmcgYnV0"), "the SAS is not shown");
}

/// What the MI cannot take is refused before anything is backed up: the instance's 100
/// databases (counted from ARM's list; error 41912, DatabaseNumberLimitReached later), and a
/// last backup name LRS would refuse (LastBackupNameHasNonAsciiCharacter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_and_a_non_ascii_backup_name_stop_before_anything_starts() {
    let (_az, src, mi, front, site, _data) = setup("mode = \"autocomplete\"").await;
    let full: String = (0..100)
        .map(|i| format!("CREATE DATABASE [Other{i}]; "))
        .collect();
    tokio::task::block_in_place(|| mi.run_sql(&full)).unwrap();
    fails_with(&site, "already holds 100 databases, its limit is 100").await;
    nothing_started(&src, &front);

    let config = "backups_from = \"history\"\nmode = \"autocomplete\"";
    let (az, src, _mi, front, site, _data) = setup(config).await;
    let container = az.container_url("migration");
    own_backups(
        &src,
        &container,
        &format!("{container}/Sales/full.bak"),
        &format!("{container}/Sales/journal_Ümit.trn"),
    );
    fails_with(&site, "LastBackupNameHasNonAsciiCharacter").await;
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "LRS was not started"
    );
}

/// Error answers to `restoreDetails` that do not end a job do not end the database: a code
/// the service documents as passing (the storage connection LRS retries by itself) is shown
/// and waited out, and one it does not document for that GET is retried, never taken for the
/// job's end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_error_answers_while_lrs_runs_do_not_end_the_database() {
    let (_az, _src, mi, front, site, _data) = setup("tail_log = \"online\"").await;
    let apply = apply_until_restoring(&site, &mi).await;
    front.refuse(
        "GET",
        "/restoreDetails/",
        3,
        400,
        "StorageBrokenIssueDetectedWhileInProgress",
    );
    apply.until("LRS retries by itself").await;
    front.refuse("GET", "/restoreDetails/", 2, 400, "SomethingNotDocumented");
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    while front
        .requests()
        .iter()
        .filter(|(m, p)| m == "GET" && p.contains("/restoreDetails/"))
        .count()
        < 8
    {
        assert!(
            std::time::Instant::now() < deadline,
            "LRS was not looked at"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cutover(&site).await;
    let out = apply.finished().await;
    assert!(out.contains("\"last_file\":\"Sales_tail.trn\""), "{out}");
    assert!(sales_state(&mi).contains("ONLINE"));
    assert!(
        !events(&out).iter().any(|e| e["event"] == "item-failed"),
        "{out}"
    );
}

/// A job that fails after ferry restarted (so the start's operation is gone) is read from
/// `restoreDetails`, where LRS answers a failed job with 400 and its code
/// (`ManagedDatabaseRestoreDetails.json`): the database ends with LRS's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failing_after_a_restart_ends_with_lrs_code_from_restore_details() {
    // The database's own backups go into the folder (history mode, continuous).
    let (az, src, mi, _front, site, _data) = setup("backups_from = \"history\"").await;
    let container = az.container_url("migration");
    own_backups(
        &src,
        &container,
        &format!("{container}/Sales/full.bak"),
        &format!("{container}/Sales/log1.trn"),
    );
    apply_until_restoring_then_kill(&site, &mi).await;
    // While ferry is down, a log backup lands elsewhere and the next one in the folder: the
    // folder's chain has a hole, and LRS fails the job.
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "INSERT INTO [Sales].dbo.T VALUES (103); \
             BACKUP LOG [Sales] TO URL = '{container}/elsewhere/hole.trn' WITH CHECKSUM; \
             INSERT INTO [Sales].dbo.T VALUES (104); \
             BACKUP LOG [Sales] TO URL = '{container}/Sales/after_hole.trn' WITH CHECKSUM"
        ))
        .unwrap();
    });
    fails_with(&site, "LRS stopped: BrokenRestorePlanGapInLogBackups").await;
}

/// restoreDetails as Azure shapes it for api-version 2023-08-01: no backup-set arrays or
/// counts, so the pending count is unknown, and completion is read from the database's
/// status becoming Online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_details_of_2023_08_01_have_no_pending_count_and_completion_is_the_database_online()
{
    let (_az, _src, mi, _front, site, _data) = setup("tail_log = \"online\"").await;
    let apply = apply_until_restoring(&site, &mi).await;
    apply.until("pending count unknown").await;
    cutover(&site).await;
    let out = apply.finished().await;
    assert!(out.contains("\"last_file\":\"Sales_tail.trn\""), "{out}");
    assert!(sales_state(&mi).contains("ONLINE"));
}

/// With `backups_from = "ferry"` the backups go TO URL with a SAS credential, which SQL Server
/// 2014 cannot do: refused before anything starts, pointing to share or history mode. The
/// version is read from `ProductVersion` (2008 R2 and early 2012 builds lack
/// `ProductMajorVersion`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_mode_points_a_2014_source_to_share_or_history_mode() {
    let options = ferry_emulator::arm::ArmOptions::local("mi", TOKEN);
    let (_az, src, _mi, front, site, _data) =
        setup_source("mode = \"autocomplete\"", options, &["Sales"], "2014").await;
    let stdout = fails_with(&site, "SQL Server 2014").await;
    assert!(stdout.contains("backups_from = \\\"share\\\""), "{stdout}");
    nothing_started(&src, &front);
}

/// In-Memory OLTP on a General Purpose instance (ARM `sku.tier`): refused before anything
/// starts, naming the tier (LRS would fail with XtpInitializedDuringRestore).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_optimized_data_stops_lrs_on_general_purpose() {
    let (_az, src, _mi, front, site, _data) = setup("mode = \"autocomplete\"").await;
    tokio::task::block_in_place(|| {
        src.run_sql(
            "ALTER DATABASE [Sales] ADD FILEGROUP MemData CONTAINS MEMORY_OPTIMIZED_DATA; \
             ALTER DATABASE [Sales] ADD FILE (NAME = MemC, FILENAME = '/var/opt/mssql/data/MemC') TO FILEGROUP MemData",
        )
        .unwrap();
    });
    let stdout = fails_with(&site, "XtpInitializedDuringRestore").await;
    assert!(stdout.contains("General Purpose"), "{stdout}");
    assert!(!stdout.contains("did not say its service tier"), "{stdout}");
    nothing_started(&src, &front);
}
