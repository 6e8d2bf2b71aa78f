//! What a migration tool reads about a server before it moves anything, as SQL Server and
//! Managed Instance answer it: versions older than 2016 (`ProductMajorVersion` NULL before the
//! late-2015 updates of 2012), partial containment and the accelerated database recovery
//! version store in the catalog, every database's files in `sys.master_files`, and the MI's
//! tier and storage in `sys.server_resource_stats` (a view SQL Server does not have).

mod common;

use common::*;
use ferry_emulator::{Edition, Personality, Release, TlsMode};

fn sql(release: Release) -> Personality {
    Personality::SqlServer {
        release,
        edition: Edition::Standard,
        hadr: false,
        name: "OLD".into(),
    }
}

async fn cell(c: &mut C, query: &str) -> Option<String> {
    let row = c
        .simple_query(query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_row()
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{query}: no row"));
    row.try_get::<&str, _>(0)
        .ok()
        .flatten()
        .map(str::to_owned)
        .or_else(|| {
            row.try_get::<i32, _>(0)
                .ok()
                .flatten()
                .map(|v| v.to_string())
        })
        .or_else(|| {
            row.try_get::<u8, _>(0)
                .ok()
                .flatten()
                .map(|v| v.to_string())
        })
        .or_else(|| {
            row.try_get::<i64, _>(0)
                .ok()
                .flatten()
                .map(|v| v.to_string())
        })
        .or_else(|| {
            row.try_get::<bool, _>(0)
                .ok()
                .flatten()
                .map(|v| u8::from(v).to_string())
        })
        .or_else(|| {
            row.try_get::<i16, _>(0)
                .ok()
                .flatten()
                .map(|v| v.to_string())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_releases_answer_their_version_and_no_major_version_before_late_2015() {
    for (release, version, major, level) in [
        (Release::Sql2008, "10.0.6000.29", None, "100"),
        (Release::Sql2008R2, "10.50.6000.34", None, "100"),
        (Release::Sql2012, "11.0.5058.0", None, "110"),
        (Release::Sql2014, "12.0.6024.0", Some("12"), "120"),
    ] {
        let r = start(sql(release), TlsMode::Required).await;
        let mut c = connect(&r).await;
        let v = cell(
            &mut c,
            "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))",
        )
        .await;
        assert_eq!(v.as_deref(), Some(version), "{release:?}");
        let m = cell(
            &mut c,
            "SELECT CAST(SERVERPROPERTY('ProductMajorVersion') AS nvarchar(128))",
        )
        .await;
        assert_eq!(m.as_deref(), major, "{release:?}");
        exec(&mut c, "CREATE DATABASE Old").await;
        let l = cell(
            &mut c,
            "SELECT compatibility_level FROM sys.databases WHERE name = 'Old'",
        )
        .await;
        assert_eq!(l.as_deref(), Some(level), "{release:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containment_and_the_version_store_show_in_the_catalog() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Contained; CREATE DATABASE Pvs; CREATE DATABASE Plain; \
         ALTER DATABASE [Contained] SET CONTAINMENT = PARTIAL; \
         ALTER DATABASE [Pvs] ADD FILEGROUP VersionStore; \
         ALTER DATABASE [Pvs] ADD FILE (NAME = Vs, FILENAME = '/var/opt/mssql/data/Vs.ndf') TO FILEGROUP VersionStore; \
         ALTER DATABASE [Pvs] SET ACCELERATED_DATABASE_RECOVERY = ON (PERSISTENT_VERSION_STORE_FILEGROUP = VersionStore)",
    )
    .await;
    for (db, containment, desc, adr) in [
        ("Contained", "1", "PARTIAL", "0"),
        ("Pvs", "0", "NONE", "1"),
        ("Plain", "0", "NONE", "0"),
    ] {
        let q = |col: &str| format!("SELECT {col} FROM sys.databases WHERE name = '{db}'");
        assert_eq!(
            cell(&mut c, &q("containment")).await.as_deref(),
            Some(containment)
        );
        assert_eq!(
            cell(&mut c, &q("containment_desc")).await.as_deref(),
            Some(desc)
        );
        assert_eq!(
            cell(&mut c, &q("is_accelerated_database_recovery_on"))
                .await
                .as_deref(),
            Some(adr),
            "{db}"
        );
    }
    let fg = cell(
        &mut c,
        "SELECT s.pvs_filegroup_id FROM sys.dm_tran_persistent_version_store_stats s \
         JOIN sys.databases d ON d.database_id = s.database_id WHERE d.name = 'Pvs'",
    )
    .await;
    let expected = cell(
        &mut c,
        "SELECT data_space_id FROM Pvs.sys.filegroups WHERE name = 'VersionStore'",
    )
    .await;
    assert_eq!(fg, expected);
    assert_ne!(fg.as_deref(), Some("1"), "not PRIMARY");
    exec(&mut c, "ALTER DATABASE [Contained] SET CONTAINMENT = NONE").await;
    assert_eq!(
        cell(
            &mut c,
            "SELECT containment FROM sys.databases WHERE name = 'Contained'"
        )
        .await
        .as_deref(),
        Some("0")
    );
    // Every database's files, with the database's id: two each, three for Pvs.
    let files = cell(
        &mut c,
        "SELECT COUNT(*) FROM sys.master_files f JOIN sys.databases d ON d.database_id = f.database_id WHERE d.name IN ('Contained', 'Pvs', 'Plain')",
    )
    .await;
    assert_eq!(files.as_deref(), Some("7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_mi_reports_its_tier_and_storage() {
    let r = start(mi(), TlsMode::Required).await;
    r.server.set_reserved_storage_mb(65_536);
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    assert_eq!(
        cell(
            &mut c,
            "SELECT TOP 1 sku FROM master.sys.server_resource_stats ORDER BY end_time DESC"
        )
        .await
        .as_deref(),
        Some("General Purpose")
    );
    assert_eq!(
        cell(
            &mut c,
            "SELECT reserved_storage_mb FROM sys.server_resource_stats"
        )
        .await
        .as_deref(),
        Some("65536")
    );
    let used = cell(
        &mut c,
        "SELECT CAST(storage_space_used_mb * 100 AS bigint) FROM sys.server_resource_stats",
    )
    .await
    .unwrap();
    assert!(
        used.parse::<i64>().unwrap() > 0,
        "the databases' files use storage: {used}"
    );
    let update = cell(
        &mut c,
        "SELECT CAST(SERVERPROPERTY('ProductUpdateType') AS nvarchar(128))",
    )
    .await;
    assert_eq!(update.as_deref(), Some("CU"));

    let s = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&s).await;
    assert_eq!(
        error_code(&mut c, "SELECT sku FROM master.sys.server_resource_stats").await,
        208
    );
}
