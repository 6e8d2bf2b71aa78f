//! `ferry apply` SIGKILLed right after each change the `lrs` plugin makes has reached its
//! server, then run again: the database ends migrated exactly once — LRS started once, the
//! tail taken once, no credential left on the source, the source as the mode leaves it. The
//! changes are the rows of the table at the top of `plugins/lrs/src/lib.rs`. The emulator
//! carries each change out and then holds its reply (`Fault::delay_after` for T-SQL,
//! `ArmServer::hold_reply` for ARM), so ferry dies still waiting for it, before the journal
//! can record what came of it.

mod common;

use std::time::Duration;

use common::lrs_rig::*;
use common::*;
use ferry_emulator::Fault;
use ferry_emulator::arm::ArmServer;

/// Far longer than a test runs: ferry is killed while the reply is held.
const HOLD: Duration = Duration::from_secs(600);

/// LRS completes by itself after the first log backup ferry takes.
const AUTOCOMPLETE: &str = "mode = \"autocomplete\"";
/// Continuous mode, cut over on the first look (the window opened long ago); the tail is
/// taken WITH NORECOVERY.
const CUT_OVER_AT_ONCE: &str = "cutover_after = \"2000-01-01T00:00:00Z\"";

fn apply(site: &Site) -> std::process::Command {
    ferry_cmd(site, &["apply", "--json", "migration.toml"])
}

/// Kills the first `ferry apply` right after the first source statement containing `change`
/// ran.
async fn kill_after_statement(rig: &Rig, change: &str) {
    let (_, src, _, _, site, _) = rig;
    src.inject(Fault::delay_after(change, HOLD).times(1));
    kill_when(apply(site), &site.path("killed.log"), || {
        received(src, change) > 0
    })
    .await;
}

/// How many `method` requests whose path contains `path` ARM received.
fn arm_received(front: &ArmServer, method: &str, path: &str) -> usize {
    front
        .requests()
        .iter()
        .filter(|(m, p)| m == method && p.contains(path))
        .count()
}

/// Kills the first `ferry apply` right after ARM carried out its first `method` request to a
/// path containing `path`.
async fn kill_after_arm(rig: &Rig, method: &str, path: &str) {
    let (_, _, _, front, site, _) = rig;
    front.hold_reply(method, path, HOLD);
    kill_when(apply(site), &site.path("killed.log"), || {
        arm_received(front, method, path) > 0
    })
    .await;
}

/// Runs `apply` again to its end and checks the database ended migrated once, completed with
/// `last_file` and holding `rows` rows, the source left `source_state`; returns the output.
async fn ends_migrated_once(rig: &Rig, last_file: &str, rows: u32, source_state: &str) -> String {
    let (_, src, mi, front, site, _) = rig;
    let stdout = applied(site, last_file).await;
    assert_eq!(times_done(site, "Sales"), 1, "{stdout}");
    assert_eq!(
        arm_received(front, "PUT", "/databases/Sales?"),
        1,
        "LRS was started once: {stdout}"
    );
    assert!(sales_state(mi).contains("ONLINE"), "{}", sales_state(mi));
    assert!(
        scalar(mi, "SELECT COUNT(*) FROM [Sales].dbo.T").contains(&format!("Int({rows})")),
        "the rows arrived"
    );
    assert!(
        scalar(src, "SELECT COUNT(*) FROM sys.credentials").contains("Int(0)"),
        "no credential is left on the source: {stdout}"
    );
    assert!(
        sales_state(src).contains(source_state),
        "the source is {source_state}: {}",
        sales_state(src)
    );
    assert!(
        !stdout.contains("could not drop"),
        "a credential already dropped is not a warning: {stdout}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_source_credential_was_made_keeps_it_ferrys_to_drop() {
    let rig = setup(AUTOCOMPLETE).await;
    kill_after_statement(&rig, "CREATE CREDENTIAL").await;
    ends_migrated_once(&rig, "Sales_log_0001.trn", 2, "ONLINE").await;
    assert_eq!(
        received(&rig.1, "CREATE CREDENTIAL"),
        1,
        "the repeat found the credential made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_first_backups_finds_them_in_msdb_and_takes_none_again() {
    let rig = setup(AUTOCOMPLETE).await;
    kill_after_statement(&rig, "BACKUP DATABASE [Sales]").await;
    ends_migrated_once(&rig, "Sales_log_0001.trn", 2, "ONLINE").await;
    assert_eq!(
        received(&rig.1, "BACKUP DATABASE [Sales]"),
        1,
        "msdb showed both backups taken"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_lrs_was_started_monitors_it_and_starts_no_second() {
    let rig = setup(AUTOCOMPLETE).await;
    kill_after_arm(&rig, "PUT", "/databases/Sales").await;
    let stdout = ends_migrated_once(&rig, "Sales_log_0001.trn", 2, "ONLINE").await;
    assert!(
        stdout.contains("was started for [Sales] before ferry stopped"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_between_dropping_and_making_the_renewed_credential_makes_it_again() {
    // Before the tail-log backup ferry renews the credential's SAS: drop, then create. Killed
    // after the drop, the resumed run makes it again before it takes the tail.
    let rig = setup(CUT_OVER_AT_ONCE).await;
    kill_after_statement(&rig, "DROP CREDENTIAL").await;
    ends_migrated_once(&rig, "Sales_tail.trn", 2, "RESTORING").await;
    let statements = rig.1.statements();
    let at = |what: &str| statements.iter().rposition(|s| s.text.contains(what));
    assert!(
        at("CREATE CREDENTIAL") < at("_tail.trn"),
        "made before the tail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_a_periodic_log_backup_goes_on_and_cuts_over() {
    let rig = setup("log_backup_seconds = 1").await;
    // The first log backup ferry takes while LRS runs (they are named by their time).
    kill_after_statement(&rig, "Sales_log_1").await;
    cutover(&rig.4).await;
    ends_migrated_once(&rig, "Sales_tail.trn", 2, "RESTORING").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_tail_log_backup_finds_it_in_msdb_and_takes_no_second() {
    let rig = setup(CUT_OVER_AT_ONCE).await;
    kill_after_statement(&rig, "_tail.trn").await;
    ends_migrated_once(&rig, "Sales_tail.trn", 2, "RESTORING").await;
    assert_eq!(received(&rig.1, "_tail.trn"), 1, "the tail was taken once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_complete_restore_was_accepted_finishes_once() {
    let rig = setup(CUT_OVER_AT_ONCE).await;
    kill_after_arm(&rig, "POST", "/completeRestore").await;
    ends_migrated_once(&rig, "Sales_tail.trn", 2, "RESTORING").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_source_credential_was_dropped_finishes_once() {
    let rig = setup(AUTOCOMPLETE).await;
    kill_after_statement(&rig, "DROP CREDENTIAL").await;
    ends_migrated_once(&rig, "Sales_log_0001.trn", 2, "ONLINE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_while_backups_are_uploaded_from_a_share_uploads_them_again() {
    // An upload has no server reply to hold: ferry is killed once it waits on the upload.
    // Whether the blobs had landed or not, the resumed run uploads what the folder lacks.
    let config = "mode = \"autocomplete\"\nbackups_from = \"share\"\nshare = \"share\"";
    let rig = setup(config).await;
    let (_, src, _, _, site, _) = &rig;
    backups_on_the_share(src, site);
    let log = site.path("killed.log");
    kill_when(apply(site), &log, || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("uploading backups from the share")
    })
    .await;
    ends_migrated_once(&rig, "Sales_log1.trn", 3, "ONLINE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_gone_before_the_first_backups_is_named_as_the_cause() {
    // The source has its own credential for the folder, which ferry uses and leaves alone.
    let rig = setup(AUTOCOMPLETE).await;
    let (az, src, _, _, site, _) = &rig;
    let folder = format!("{}/Sales", az.container_url("migration"));
    let create = format!(
        "CREATE CREDENTIAL [{folder}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{}'",
        write_sas()
    );
    tokio::task::block_in_place(|| src.run_sql(&create)).unwrap();
    // ferry stops just before its backups (killed while it asks msdb whether they were
    // taken), and someone drops that credential meanwhile.
    kill_after_statement(&rig, "backupmediafamily m").await;
    tokio::task::block_in_place(|| src.run_sql(&format!("DROP CREDENTIAL [{folder}]"))).unwrap();
    let stdout = fails_with(
        site,
        "error 50(The request is not supported.) — `source` has no credential for",
    )
    .await;
    assert!(
        stdout.contains("the one that covered it when ferry checked is gone"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("SAS is wrong"),
        "the SAS is not blamed: {stdout}"
    );
}
