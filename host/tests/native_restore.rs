//! The bundled `native-restore` plugin through the real `ferry` binary: a source SQL Server and
//! a Managed Instance from the emulator, backups through a real Azurite. Covers the migration
//! itself, `ferry plan` (no mutating statement reaches a server) and `ferry apply plan.json`,
//! and each failure ending only its own database with a reason.

mod common;

use common::native_rig::*;
use common::*;
use ferry_emulator::azurite;
use ferry_emulator::{Fault, Server};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_databases_are_migrated_and_the_credentials_cleaned_up() {
    let rig = Rig::new(&["Sales", "Hr"], "").await;
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    for db in ["Sales", "Hr"] {
        let done = item(&events, "item-done", db).unwrap_or_else(|| panic!("{db} done: {all}"));
        let o = &done["output"];
        assert_eq!(o["method"], "native-restore");
        assert_eq!(o["files"].as_array().unwrap().len(), 1, "{o}");
        assert_eq!(rig.state(db), "ONLINE");
        assert_eq!(
            rig.count(&rig.mi, &format!("SELECT COUNT(*) FROM [{db}].dbo.T")),
            3,
            "the rows arrived"
        );
        let phases: Vec<&str> = o["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["phase"].as_str().unwrap())
            .collect();
        assert_eq!(phases, ["backup", "restore", "verify"], "{o}");
    }
    for s in [&rig.src, &rig.mi] {
        assert_eq!(
            rig.count(s, "SELECT COUNT(*) FROM sys.credentials"),
            0,
            "credentials ferry made are dropped"
        );
    }
    let backup: Vec<String> = rig
        .src
        .statements()
        .into_iter()
        .map(|s| s.text)
        .filter(|t| t.contains("BACKUP DATABASE"))
        .collect();
    assert!(
        backup
            .iter()
            .all(|t| t.contains("COPY_ONLY, CHECKSUM, COMPRESSION")),
        "{backup:?}"
    );
    // The report, in three forms, in the state directory.
    let state = rig.site.path(".ferry/migration");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        (report["done"].clone(), report["failed"].clone()),
        (2.into(), 0.into())
    );
    for d in report["databases"].as_array().unwrap() {
        assert_eq!(d["outcome"], "done", "{d}");
        assert_eq!(d["method"], "native-restore", "{d}");
        assert!(d["size_bytes"].as_u64().unwrap() > 0, "{d}");
        assert_eq!(d["phases"].as_array().unwrap().len(), 3, "{d}");
    }
    let md = std::fs::read_to_string(state.join("report.md")).unwrap();
    assert!(
        md.contains("| Sales | all | done | native-restore |"),
        "{md}"
    );
    let html = std::fs::read_to_string(state.join("report.html")).unwrap();
    assert!(
        html.contains("<td>Hr</td>") && html.contains("<style>"),
        "{html}"
    );
    assert!(
        !html.contains("src=") && !html.contains("<link"),
        "the HTML needs no other file"
    );
    assert!(
        events.iter().any(|e| e["event"] == "report"),
        "--json says where the report is"
    );
    // The SAS ferry signed reached both servers' credentials but nothing ferry wrote.
    let journal = all_journal(&rig.site);
    assert!(!journal.contains("sig="), "a SAS leaked into the journal");
    assert!(!all.contains("sig="), "a SAS leaked into the output");
    assert!(!all.contains(azurite::ACCOUNT_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_changes_nothing_and_apply_runs_exactly_that_plan() {
    let rig = Rig::new(&["Sales", "Hr"], "").await;
    let (out, events, all) = rig.ferry(&["plan", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    let summary = events
        .iter()
        .find(|e| e["event"] == "plan")
        .expect("plan event");
    assert_eq!(summary["stops"], 0, "{summary}");
    // Nothing that could change a server reached either one.
    for (name, server) in [("source", &rig.src), ("target", &rig.mi)] {
        for s in server.statements() {
            assert!(
                ferry_tsql::read_only::check(&s.text).is_ok(),
                "planning sent a mutating statement to the {name}: {}",
                s.text
            );
        }
    }
    assert_eq!(rig.state("Sales"), "", "nothing was restored");
    let text = std::fs::read_to_string(rig.site.path("migration.plan.txt")).unwrap();
    for needle in [
        "BACKUP DATABASE [Sales] TO URL",
        "WITH COPY_ONLY, CHECKSUM, COMPRESSION",
        "RESTORE DATABASE [Hr] FROM URL",
        "SECRET = @sas [@sas = ***]",
        "[start on target]",
    ] {
        assert!(text.contains(needle), "the plan shows `{needle}`:\n{text}");
    }
    assert!(!text.contains("sig="), "no SAS in the plan");
    let json = std::fs::read_to_string(rig.site.path("migration.plan.json")).unwrap();
    assert!(!json.contains("sig="), "no SAS in the plan");

    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.plan.json"]).await;
    assert!(out.status.success(), "{all}");
    for db in ["Sales", "Hr"] {
        assert!(item(&events, "item-done", db).is_some(), "{all}");
        assert_eq!(rig.state(db), "ONLINE");
    }

    // A plan whose inputs changed since it was made is refused, naming what changed.
    let m = std::fs::read_to_string(rig.site.migration()).unwrap();
    std::fs::write(
        rig.site.migration(),
        m.replace("[steps.config]\n", "[steps.config]\nsas_minutes = 60\n"),
    )
    .unwrap();
    let (out, _, all) = rig.ferry(&["apply", "migration.plan.json"]).await;
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("changed since this plan was made") && all.contains("step `restore` changed"),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_ends_only_its_own_database_with_a_reason() {
    let rig = Rig::new(
        &["Good", "Taken", "Opts", "Denied", "Broken", "Tde", "Flaky"],
        "",
    )
    .await;
    // Flaky's restore loses its connection once it has started: MI carries on, so the
    // database still arrives.
    rig.mi
        .inject(Fault::disconnect_during("RESTORE DATABASE [Flaky]").times(1));
    tokio::task::block_in_place(|| {
        rig.mi.run_sql("CREATE DATABASE [Taken]").unwrap();
        rig.src
            .run_sql(
                "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026-native'; \
                 CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for ferry tests'; \
                 USE [Tde]; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert; \
                 USE master; ALTER DATABASE [Tde] SET ENCRYPTION ON",
            )
            .unwrap();
    });
    rig.mi
        .inject(Fault::error("RESTORE DATABASE [Opts]", 41901));
    rig.mi
        .inject(Fault::error("RESTORE DATABASE [Denied]", 3201));
    rig.src
        .inject(Fault::error("BACKUP DATABASE [Broken]", 3013));
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "some items failed: {all}");
    for db in ["Good", "Flaky"] {
        assert!(item(&events, "item-done", db).is_some(), "{db}: {all}");
        assert_eq!(rig.state(db), "ONLINE");
    }
    for (db, code, words) in [
        (
            "Taken",
            "name-collision",
            "already has a database named [Taken]",
        ),
        ("Opts", "server-error", "error 41901"),
        ("Denied", "server-error", "error 3201"),
        ("Broken", "server-error", "error 3013"),
        ("Tde", "tde-certificate", "certificate [TdeCert]"),
    ] {
        failed_with(&events, &all, db, code, words);
    }
    assert_eq!(
        rig.state("Taken"),
        "ONLINE",
        "the existing database is untouched"
    );
    let report = std::fs::read_to_string(rig.site.path(".ferry/migration/report.md")).unwrap();
    assert!(
        report.contains("**2 done**, **5 failed**") && report.contains("| Opts | all | failed |"),
        "{report}"
    );
    assert!(
        report.contains("| Tde | database | Tde | failed | tde-certificate |"),
        "{report}"
    );
    for s in [&rig.src, &rig.mi] {
        assert_eq!(
            rig.count(s, "SELECT COUNT(*) FROM sys.credentials"),
            0,
            "credentials ferry made are dropped after failures too"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_sas_and_a_missing_source_credential_stop_with_reasons() {
    let rig = Rig::new(&["Sales"], "sas_secret = \"bad-sas\"").await;
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    let failed = item(&events, "item-failed", "Sales").expect("failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("3201") && error.contains("SAS is wrong, expired or lacks a permission"),
        "{error}"
    );
    assert!(!all.contains("d3JvbmcgYnV0"), "the SAS given is not shown");

    let rig = Rig::new(&["Sales"], "source_credential = \"existing\"").await;
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    let failed = item(&events, "item-failed", "Sales").expect("failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("the source has no credential for"),
        "{failed}"
    );
    assert!(
        rig.src
            .statements()
            .iter()
            .all(|s| !s.text.contains("BACKUP")),
        "nothing was backed up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_the_restore_resumes_without_a_second_restore() {
    let rig = Rig::new(&["Sales"], "").await;
    rig.mi
        .set_restore_time(Some(std::time::Duration::from_secs(6)));
    let mut cmd = rig.command(&["apply", "--json", "migration.toml"]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let restores = |s: &Server| {
        s.statements()
            .iter()
            .filter(|s| s.text.contains("RESTORE DATABASE [Sales]"))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while restores(&rig.mi) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed mid-restore: MI lists the database under a GUID until the restore ends, and
    // sys.dm_operation_status keys the restore by the target's name.
    assert_eq!(rig.state("Sales"), "", "killed mid-restore");
    assert_eq!(
        rig.count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.dm_operation_status WHERE major_resource_id = 'Sales' AND state_desc = 'IN_PROGRESS'"
        ),
        1,
        "killed mid-restore"
    );

    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    assert!(item(&events, "item-done", "Sales").is_some(), "{all}");
    assert_eq!(rig.state("Sales"), "ONLINE");
    assert_eq!(
        restores(&rig.mi),
        1,
        "the resumed run followed the first restore: {all}"
    );
    assert!(all.contains("following it on the MI"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_on_a_share_are_checked_uploaded_and_restored() {
    let rig = Rig::new(&["Sales", "Hr"], "mode = \"share\"\nshare = \"share\"").await;
    let share = rig.site.path("share");
    // Sales: a full backup WITH CHECKSUM, as the runbook asks; Hr: one without, which the
    // MI restores all the same (CHECKSUM is recommended, not required): a warning, not a stop.
    rig.backup_to_share("Sales", true);
    rig.backup_to_share("Hr", false);
    std::fs::write(share.join("Sales/readme.txt"), "not a backup").unwrap();
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    let done = item(&events, "item-done", "Sales").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(done["output"]["mode"], "share", "{done}");
    let files = done["output"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "only the .bak is uploaded: {done}");
    assert!(
        files[0]
            .as_str()
            .unwrap()
            .ends_with("/backups/Sales/Sales_full.bak")
    );
    assert_eq!(rig.state("Sales"), "ONLINE");
    assert_eq!(rig.count(&rig.mi, "SELECT COUNT(*) FROM [Sales].dbo.T"), 3);
    assert!(item(&events, "item-done", "Hr").is_some(), "{all}");
    assert_eq!(rig.state("Hr"), "ONLINE");
    let warned = events.iter().any(|e| {
        e["event"] == "log"
            && e["item"] == "Hr"
            && e["level"] == "warn"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("taken without CHECKSUM"))
    });
    assert!(warned, "the missing CHECKSUM is warned about: {all}");
    assert!(
        rig.src
            .statements()
            .iter()
            .all(|s| !s.text.contains("TO URL")),
        "share mode takes no backup on the source"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_plan_does_not_list_fails_instead_of_running() {
    // 8 MiB per stripe: the 16 MiB database is planned as two stripes.
    let rig = Rig::new(&["Sales"], "stripe_bytes = 8388608").await;
    let (out, _, all) = rig.ferry(&["plan", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    assert!(all.contains("Sales_2of2.bak"), "{all}");
    // The database grows after the review: it now needs three stripes.
    tokio::task::block_in_place(|| {
        rig.src
            .run_sql("ALTER DATABASE [Sales] ADD FILE (NAME = Sales2, FILENAME = '/var/opt/mssql/data/Sales2.ndf')")
            .unwrap();
    });
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.plan.json"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    let failed = item(&events, "item-failed", "Sales").unwrap_or_else(|| panic!("{all}"));
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("is not in the reviewed plan") && error.contains("Sales_3of3.bak"),
        "{error}"
    );
    assert!(
        rig.src
            .statements()
            .iter()
            .all(|s| !s.text.contains("BACKUP DATABASE")),
        "the unreviewed BACKUP never reached the source"
    );
    assert_eq!(
        rig.count(&rig.src, "SELECT COUNT(*) FROM sys.credentials"),
        0,
        "the credential made before the refusal is dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_each_database_in_flight_has_a_live_line_with_an_eta() {
    let rig = Rig::new(&["Sales"], "").await;
    rig.mi
        .set_restore_time(Some(std::time::Duration::from_secs(4)));
    // `script` gives ferry a pseudo-terminal, as a DBA's shell would.
    let mut cmd = std::process::Command::new("script");
    cmd.current_dir(rig.site.dir.path())
        .args([
            "-qec",
            &format!("stty cols 160 rows 40; {FERRY} apply migration.toml"),
            "/dev/null",
        ])
        .env("FERRY_CACHE_DIR", shared_cache())
        .env("TEST_SA", SA)
        .env("TEST_BLOB_KEY", azurite::ACCOUNT_KEY)
        .env("TEST_BAD_SAS", BAD_SAS);
    let out = tokio::task::spawn_blocking(move || cmd.finish())
        .await
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("Sales · restore") && screen.contains("RESTORE DATABASE [Sales]"),
        "a line for the database in flight, with its phase: {screen}"
    );
    assert!(screen.contains('%'), "its percent: {screen}");
    assert!(
        screen.contains("ETA "),
        "an ETA once the restore has moved: {screen}"
    );
    assert!(screen.contains("report: "), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_gone_before_the_backup_is_named_as_the_cause() {
    // The source has its own credential for the container, which ferry uses and leaves alone.
    let rig = Rig::new(&["Sales"], "").await;
    let container = rig.az.container_url("backups");
    let sas = azurite::devstore_container_sas("backups", "racwdl").unwrap();
    tokio::task::block_in_place(|| {
        rig.src.run_sql(&format!(
            "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
        ))
    })
    .unwrap();
    // ferry stops just before its BACKUP (it is killed while it asks msdb whether the backup
    // was taken), and someone drops that credential meanwhile.
    let probe = "backupset b JOIN";
    rig.src
        .inject(Fault::delay_after(probe, std::time::Duration::from_secs(600)).times(1));
    let apply = rig.command(&["apply", "--json", "migration.toml"]);
    kill_when(apply, &rig.site.path("killed.log"), || {
        received(&rig.src, probe) > 0
    })
    .await;
    tokio::task::block_in_place(|| rig.src.run_sql(&format!("DROP CREDENTIAL [{container}]")))
        .unwrap();

    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    let failed = item(&events, "item-failed", "Sales").unwrap_or_else(|| panic!("{all}"));
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("error 3201 because `source` has no credential for")
            && error.contains("the credential that covered it when ferry checked is gone"),
        "{error}"
    );
    assert!(
        !error.contains("SAS is wrong"),
        "the SAS is not blamed: {error}"
    );
    let row = events
        .iter()
        .find(|e| e["event"] == "row" && e["name"] == "Sales")
        .unwrap_or_else(|| panic!("a report row: {all}"));
    assert_eq!(row["reason_code"], "missing-credential", "{row}");
}
