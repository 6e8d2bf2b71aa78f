//! The bundled `lrs` plugin through the real `ferry` binary, against the emulator's SQL Server,
//! its Managed Instance's ARM front end and a real Azurite: continuous mode, a `ferry apply`
//! killed while it monitors and run again (LRS is not started twice), then `ferry cutover`:
//! the tail-log backup is taken and restored, and the restore completed.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Server, ServerTls};
use serde_json::Value;

const TOKEN: &str = "lrs-arm-token";
const SA: &str = "Lrs#Src-Pa55";

fn scalar(server: &Server, sql: &str) -> String {
    format!("{:?}", tokio::task::block_in_place(|| server.run_sql(sql)))
}

/// Azurite, a source SQL Server with `Sales` (FULL recovery, two rows), an MI with its ARM
/// front end, and a site running the bundled `lrs` plugin with `config` added to its step.
async fn setup(
    config: &str,
) -> (
    Azurite,
    Server,
    Arc<Server>,
    ArmServer,
    Site,
    tempfile::TempDir,
) {
    let az = Azurite::start().unwrap();
    az.create_container("migration").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let src = emulated_sql2019(&data.path().join("src"), SA, certs.clone()).await;
    let mi = Arc::new(emulated_mi("mi", &data.path().join("mi"), "Mi#Pa55", certs).await);
    mi.clock().set_speed(200.0);
    let front = ArmServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mi.clone(),
        ArmOptions::local("mi", TOKEN),
    )
    .await
    .unwrap();
    tokio::task::block_in_place(|| {
        src.run_sql(
            "CREATE DATABASE [Sales]; ALTER DATABASE [Sales] SET RECOVERY FULL; \
             CREATE TABLE [Sales].dbo.T (Id int PRIMARY KEY); INSERT INTO [Sales].dbo.T VALUES (1), (2)",
        )
        .unwrap();
    });
    let migration = format!(
        "databases = [\"Sales\"]\n[migration]\nname = \"lrs\"\n[plugins.lrs]\nbundled = \"lrs\"\n[[steps]]\nname = \"lrs\"\nplugin = \"lrs\"\n[steps.config]\npoll_seconds = 1\n{config}\n[steps.grants]\nsql = [\"source\"]\nazure = [\"mi\"]\nstorage = [\"backups\"]\n"
    );
    let env = format!(
        "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
         [azure.mi]\nendpoint = \"{}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\nmanaged_instance = \"mi\"\ntoken = \"env:TEST_ARM_TOKEN\"\n\n\
         [storage.backups]\nkind = \"blob\"\nurl = \"{}\"\naccount_key = \"env:TEST_BLOB_KEY\"\n",
        src.addr.port(),
        front.endpoint(),
        az.container_url("migration")
    );
    let site = Site::new(&migration, &env);
    std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
    (az, src, mi, front, site, data)
}

/// Starts `ferry apply`, waits until LRS has restored the full backup on the MI, and kills
/// ferry while it monitors.
async fn apply_until_restoring_then_kill(site: &Site, mi: &Server) {
    let mut first = ferry_cmd(site, &["apply", "--json", "migration.toml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !scalar(
        mi,
        "SELECT state_desc FROM sys.databases WHERE name = N'Sales'",
    )
    .contains("RESTORING")
    {
        assert!(
            Instant::now() < deadline,
            "LRS never restored the full backup"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.kill().unwrap();
    first.wait().unwrap();
}

/// A read/write SAS on the test container, for backups the tests take themselves.
fn write_sas() -> String {
    azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "migration",
        "racwl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap()
}

/// Runs `ferry apply` and checks its database failed with `reason`.
async fn fails_with(site: &Site, reason: &str) {
    let out = run(site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains(reason), "`{reason}` in: {stdout}");
}

/// Runs `ferry args` in the site to the end.
async fn run(site: &Site, args: &[&str]) -> std::process::Output {
    let mut cmd = ferry_cmd(site, args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn ferry_cmd(site: &Site, args: &[&str]) -> std::process::Command {
    let mut cmd = site.ferry(args);
    cmd.env("TEST_SA", SA)
        .env("TEST_ARM_TOKEN", TOKEN)
        .env("TEST_BLOB_KEY", azurite::ACCOUNT_KEY);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_lrs_survives_a_kill_and_cuts_over_on_request() {
    let (_az, src, mi, front, site, _data) = setup("").await;

    // First run: backups, LRS started, monitoring — then killed.
    apply_until_restoring_then_kill(&site, &mi).await;

    // A write after the last log backup: only the tail-log backup carries it.
    tokio::task::block_in_place(|| src.run_sql("INSERT INTO [Sales].dbo.T VALUES (3)")).unwrap();
    let out = run(&site, &["cutover", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("cutover requested for every database"),
        "{stdout}"
    );

    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let done = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "item-done")
        .unwrap_or_else(|| panic!("{stdout}\n{stderr}"));
    assert_eq!(done["output"]["last_file"], "Sales_tail.trn", "{done}");
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
    assert!(
        scalar(
            &mi,
            "SELECT state_desc FROM sys.databases WHERE name = N'Sales'"
        )
        .contains("ONLINE")
    );
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
    let out = run(&site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\"last_file\":\"Sales_log_0001.trn\""),
        "{stdout}"
    );
    assert!(
        scalar(
            &mi,
            "SELECT state_desc FROM sys.databases WHERE name = N'Sales'"
        )
        .contains("ONLINE")
    );

    // A sub-folder in the database's folder: LRS refuses it, and the item says why.
    let (az, src, _mi, _front, site, _data2) = setup("mode = \"autocomplete\"").await;
    let container = az.container_url("migration");
    let rwl = write_sas();
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'; \
             BACKUP DATABASE [Sales] TO URL = '{container}/Sales/old/earlier.bak' WITH CHECKSUM"
        ))
        .unwrap();
    });
    fails_with(&site, "LRS stopped: NestedFoldersNotSupported").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_backup_taken_elsewhere_breaks_the_chain_and_the_item_says_so() {
    let (az, src, mi, _front, site, _data) = setup("").await;
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
    assert!(
        run(&site, &["cutover", "migration.toml"])
            .await
            .status
            .success()
    );
    fails_with(&site, "LRS stopped: BrokenRestorePlanGapInLogBackups").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_backups_are_read_from_msdb_and_a_log_outside_the_folder_stops_before_lrs_starts()
{
    let config = "backups_from = \"history\"\nmode = \"autocomplete\"";
    // The database's own backups, taken TO URL into its folder before ferry runs.
    let (az, src, mi, _front, site, _data) = setup(config).await;
    let container = az.container_url("migration");
    let rwl = write_sas();
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'; \
             BACKUP DATABASE [Sales] TO URL = '{container}/Sales/nightly_full.bak' WITH CHECKSUM; \
             INSERT INTO [Sales].dbo.T VALUES (3); \
             BACKUP LOG [Sales] TO URL = '{container}/Sales/log_0900.trn' WITH CHECKSUM"
        ))
        .unwrap();
    });
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
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'; \
             BACKUP DATABASE [Sales] TO URL = '{container}/Sales/full.bak' WITH CHECKSUM; \
             INSERT INTO [Sales].dbo.T VALUES (3); \
             BACKUP LOG [Sales] TO URL = '{container}/elsewhere/log1.trn' WITH CHECKSUM; \
             INSERT INTO [Sales].dbo.T VALUES (4); \
             BACKUP LOG [Sales] TO URL = '{container}/Sales/log2.trn' WITH CHECKSUM"
        ))
        .unwrap();
    });
    fails_with(&site, "elsewhere/log1.trn, not in").await;
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "nothing was started: {:?}",
        front.requests()
    );
}
