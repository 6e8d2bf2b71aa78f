//! What a Managed Instance cannot restore, through the real `ferry` binary running the bundled
//! `native-restore` plugin against the emulator and Azurite: each refusal is found before
//! anything changes (or, for what only the MI can see, explained by its number), and a
//! credential the MI may still read through is never dropped.

mod common;

use common::native_rig::*;
use common::*;
use ferry_emulator::{Fault, Server};

/// Each of the MI's documented restore refusals ends its database with the number and what
/// it means ("Database engine events and errors 41000 to 49999", sql-docs), so the reader
/// need not look the number up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_restore_refusal_is_explained_by_its_number() {
    let cases: &[(&str, i32, &str)] = &[
        ("Device", 41902, "restores only from URL"),
        (
            "FileType",
            41907,
            "file type the Managed Instance does not restore",
        ),
        ("Stream", 41913, "FILESTREAM files"),
        ("Xtp", 41915, "only a Business Critical instance restores"),
        ("Files", 41916, "maximum number of database files"),
        ("Sets", 41919, "several backup sets"),
        ("Logs", 41921, "several log files"),
        ("Thumb", 41923, "lacks its certificate"),
        ("Pvs", 41939, "ADR version store outside PRIMARY"),
    ];
    let dbs: Vec<&str> = cases.iter().map(|(db, ..)| *db).collect();
    let rig = Rig::new(&dbs, "").await;
    for (db, number, _) in cases {
        rig.mi
            .inject(Fault::error(&format!("RESTORE DATABASE [{db}]"), *number));
    }
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    for (db, number, meaning) in cases {
        let failed = item(&events, "item-failed", db).unwrap_or_else(|| panic!("{db}: {all}"));
        let error = failed["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("error {number}")) && error.contains(meaning),
            "{db}: {error}"
        );
    }
    for s in [&rig.src, &rig.mi] {
        assert_eq!(rig.count(s, "SELECT COUNT(*) FROM sys.credentials"), 0);
    }
}

/// What the MI cannot take is refused before anything changes: FILESTREAM data (a FILESTREAM
/// filegroup, told apart from memory-optimized data by `sys.filegroups.type`), and a database
/// past the instance's 100 databases (error 41912 later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filestream_and_a_full_instance_are_refused_before_anything_changes() {
    let rig = Rig::new(&["Fs", "Sales"], "").await;
    rig.add_container_filegroup("Fs", "FILESTREAM");
    let full: String = (0..100)
        .map(|i| format!("CREATE DATABASE [Other{i}]; "))
        .collect();
    tokio::task::block_in_place(|| rig.mi.run_sql(&full)).unwrap();
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    for (db, code, words) in [
        ("Fs", "filestream", "FILESTREAM filegroup"),
        ("Sales", "database-count", "already holds 100 databases"),
    ] {
        failed_with(&events, &all, db, code, words);
    }
    assert!(
        rig.src
            .statements()
            .iter()
            .all(|s| !s.text.contains("BACKUP") && !s.text.contains("CREDENTIAL")),
        "nothing was changed on the source"
    );
}

/// The MI reads the backup through ferry's credential for the whole restore, which goes on
/// without ferry. When ferry cannot tell whether the restore still runs, it leaves that
/// credential on the MI and says so, rather than pull it from under a running restore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_is_never_dropped_under_a_restore_that_may_still_run() {
    let rig = Rig::new(&["Sales"], "").await;
    rig.mi
        .set_restore_time(Some(std::time::Duration::from_secs(30)));
    let restores = |s: &Server| received(s, "RESTORE DATABASE [Sales]");
    let apply = rig.command(&["apply", "--json", "migration.toml"]);
    kill_when(apply, &rig.site.path("killed.log"), || {
        restores(&rig.mi) > 0
    })
    .await;
    // The resumed run cannot read sys.dm_operation_status (where the restore is followed).
    rig.mi.inject(Fault::error("dm_operation_status", 50000));
    let (out, _, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("ferry leaves its credential") && all.contains("DROP CREDENTIAL"),
        "{all}"
    );
    assert_eq!(
        rig.count(&rig.mi, "SELECT COUNT(*) FROM sys.credentials"),
        1,
        "the MI keeps the credential the restore reads through"
    );
    assert_eq!(restores(&rig.mi), 1, "no second restore");
}

/// In-Memory OLTP is not FILESTREAM: both put type-2 files in `sys.database_files`, and only
/// `sys.filegroups.type` (FX, not FD) tells them apart. A General Purpose MI refuses a
/// non-empty memory-optimized filegroup (error 41915): refused before anything changes,
/// naming the tier read from `sys.server_resource_stats`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_optimized_data_is_refused_on_general_purpose_naming_the_tier() {
    let rig = Rig::new(&["Mem"], "").await;
    rig.add_container_filegroup("Mem", "MEMORY_OPTIMIZED_DATA");
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    let failed = item(&events, "item-failed", "Mem").unwrap_or_else(|| panic!("{all}"));
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("memory-optimized")
            && error.contains("General Purpose")
            && error.contains("41915")
            && !error.contains("FILESTREAM"),
        "{error}"
    );
    assert!(
        !all.contains("did not say its service tier"),
        "the tier was read: {all}"
    );
    rig.nothing_backed_up();
}

/// While it restores, MI lists the database under a GUID and renames it at the end
/// (methods.md §4.4); `sys.dm_operation_status` keys the restore by the target name. A run
/// killed mid-restore finds the restore there, follows it, and never sends a second RESTORE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_under_a_guid_name_is_found_and_followed_not_started_twice() {
    let rig = Rig::new(&["Sales"], "").await;
    rig.mi
        .set_restore_time(Some(std::time::Duration::from_secs(6)));
    let apply = rig.command(&["apply", "--json", "migration.toml"]);
    kill_when(apply, &rig.site.path("killed.log"), || {
        received(&rig.mi, "RESTORE DATABASE [Sales]") > 0
    })
    .await;
    assert_eq!(rig.state("Sales"), "", "the target name is not listed yet");
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    assert!(item(&events, "item-done", "Sales").is_some(), "{all}");
    assert_eq!(rig.state("Sales"), "ONLINE");
    assert_eq!(received(&rig.mi, "RESTORE DATABASE [Sales]"), 1, "{all}");
    assert_eq!(
        rig.count(&rig.mi, "SELECT COUNT(*) FROM sys.credentials"),
        0
    );
}

/// BACKUP TO URL with a SAS credential needs SQL Server 2016: an older source is refused
/// before anything changes, pointing to share mode. The version comes from
/// `SERVERPROPERTY('ProductVersion')`, which 2008 and 2012 answer too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_older_than_2016_is_pointed_to_share_mode() {
    let rig = Rig::with_source(&["Sales"], "", "2014").await;
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    let failed = item(&events, "item-failed", "Sales").unwrap_or_else(|| panic!("{all}"));
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("SQL Server 2014") && error.contains("mode = \"share\""),
        "{error}"
    );
    rig.nothing_backed_up();
}

/// A partially contained database and one whose ADR version store is outside PRIMARY
/// (error 41939) are refused before anything changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_containment_and_a_version_store_outside_primary_are_refused() {
    let rig = Rig::new(&["Contained", "Pvs"], "").await;
    rig.on_source(
        "ALTER DATABASE [Contained] SET CONTAINMENT = PARTIAL; \
         ALTER DATABASE [Pvs] ADD FILEGROUP VersionStore; \
         ALTER DATABASE [Pvs] ADD FILE (NAME = Vs, FILENAME = '/var/opt/mssql/data/Vs.ndf') TO FILEGROUP VersionStore; \
         ALTER DATABASE [Pvs] SET ACCELERATED_DATABASE_RECOVERY = ON (PERSISTENT_VERSION_STORE_FILEGROUP = VersionStore)",
    );
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    for (db, code, words) in [
        ("Contained", "partially-contained", "partially contained"),
        ("Pvs", "version-store", "41939"),
    ] {
        failed_with(&events, &all, db, code, words);
    }
    rig.nothing_backed_up();
}

/// A database name with characters a URL reserves reaches SQL Server percent-encoded in every
/// URL (the credential's name, each stripe's), as Azure Blob Storage reads blob names from the
/// URL path; the file names themselves are ASCII.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_name_with_a_space_travels_in_encoded_urls() {
    let rig = Rig::new(&["Sales Q1"], "").await;
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    let done = item(&events, "item-done", "Sales Q1").unwrap_or_else(|| panic!("{all}"));
    let files = done["output"]["files"].as_array().unwrap();
    assert!(
        files[0]
            .as_str()
            .unwrap()
            .ends_with("/backups/Sales%20Q1/Sales_Q1_1of1.bak"),
        "{done}"
    );
    assert_eq!(rig.state("Sales Q1"), "ONLINE");
    let backup = rig
        .src
        .statements()
        .into_iter()
        .map(|s| s.text)
        .find(|t| t.contains("BACKUP DATABASE"))
        .unwrap();
    assert!(backup.contains("/Sales%20Q1/Sales_Q1_1of1.bak"), "{backup}");
}

/// The MI reads the backup through ferry's credential for the whole restore, which goes on
/// after ferry's statement ends: the SAS in it lasts at least a day (the floor; larger
/// databases add their transfer at 10 MiB/s), never the minutes a backup alone would need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mis_credential_outlasts_the_restore() {
    let rig = Rig::new(&["Sales"], "").await;
    rig.mi
        .set_restore_time(Some(std::time::Duration::from_secs(4)));
    let mut cmd = rig.command(&["apply", "--json", "migration.toml"]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    while received(&rig.mi, "RESTORE DATABASE [Sales]") == 0 {
        assert!(child.try_wait().unwrap().is_none(), "ferry ended first");
        assert!(std::time::Instant::now() < deadline, "no restore");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let name = match Rig::scalar(&rig.mi, "SELECT TOP 1 name FROM sys.credentials") {
        Some(ferry_emulator::protocol::types::Value::Text(n)) => n,
        other => panic!("a credential on the MI while it restores: {other:?}"),
    };
    let (_, secret) = rig.mi.credential(&name).unwrap();
    let secret = secret.unwrap();
    let expiry = secret
        .split('&')
        .find_map(|kv| kv.strip_prefix("se="))
        .unwrap_or_else(|| panic!("an expiry in the SAS of {name}"))
        .replace("%3A", ":")
        .replace("%3a", ":");
    let expiry =
        time::OffsetDateTime::parse(&expiry, &time::format_description::well_known::Rfc3339)
            .unwrap();
    let left = expiry - time::OffsetDateTime::now_utc();
    assert!(
        left >= time::Duration::hours(23),
        "the SAS of {name} expires in {left}"
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(rig.state("Sales"), "ONLINE");
}

/// The MI's free storage (`sys.server_resource_stats`: reserved less used) must hold the
/// database's files: refused before anything changes, not at the storage limit mid-restore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_larger_than_the_mis_free_storage_is_refused_before_anything_changes() {
    let rig = Rig::new(&["Sales"], "").await;
    rig.mi.set_reserved_storage_mb(1);
    let (out, events, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{all}");
    failed_with(
        &events,
        &all,
        "Sales",
        "storage",
        "Raise the instance's storage",
    );
    rig.nothing_backed_up();
}
