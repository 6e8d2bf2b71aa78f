//! Managed Instance's rules, each with the number "Database engine events and errors 41400 to
//! 49999" gives it: BACKUP only COPY_ONLY full TO URL; RESTORE refusing what MI cannot hold
//! (several backup sets in a file, FILESTREAM, several memory-optimized containers, in-memory
//! tables on General Purpose, the file cap, a missing TDE certificate, a version store outside
//! PRIMARY); and a restore that reads its blobs as it runs, so a SAS that expires half-way
//! fails it.

mod common;

use std::time::Duration;

use common::*;
use ferry_emulator::TlsMode;
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::blob;

fn credential(container_url: &str, sas: &str) -> String {
    format!(
        "CREATE CREDENTIAL [{container_url}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
    )
}

struct Rig {
    _az: Azurite,
    container: String,
    write_sas: String,
    read_sas: String,
    src: Running,
    mi: Running,
}

async fn rig(container: &str) -> Rig {
    let az = Azurite::start().unwrap();
    az.create_container(container).await.unwrap();
    let url = az.container_url(container);
    let sas = |p| {
        azurite::container_sas(
            azurite::ACCOUNT,
            azurite::ACCOUNT_KEY,
            container,
            p,
            "2099-01-01T00:00:00Z",
        )
        .unwrap()
    };
    let (write_sas, read_sas) = (sas("racwl"), sas("rl"));
    let src = start(sql2019(), TlsMode::Required).await;
    let mi = start(mi(), TlsMode::Required).await;
    src.server.run_sql(&credential(&url, &write_sas)).unwrap();
    mi.server.run_sql(&credential(&url, &read_sas)).unwrap();
    Rig {
        _az: az,
        container: url,
        write_sas,
        read_sas,
        src,
        mi,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_on_mi_is_copy_only_full_to_url() {
    let r = rig("mibackups").await;
    let mut m = connect(&r.mi).await;
    exec(
        &mut m,
        "CREATE DATABASE Own; CREATE TABLE Own.dbo.T (Id int)",
    )
    .await;
    let url = format!("{}/Own/own.bak", r.container);
    // A backup MI takes must be a user's COPY_ONLY full one (41904), to URL (41975), without
    // the options the page lists (41901), on 32 stripes at most (3205).
    assert_eq!(
        error_code(&mut m, &format!("BACKUP DATABASE Own TO URL = '{url}'")).await,
        41904
    );
    assert_eq!(
        error_code(&mut m, &format!("BACKUP LOG Own TO URL = '{url}'")).await,
        41904
    );
    assert_eq!(
        error_code(
            &mut m,
            &format!("BACKUP DATABASE Own TO URL = '{url}' WITH COPY_ONLY, DIFFERENTIAL")
        )
        .await,
        41904
    );
    assert_eq!(
        error_code(
            &mut m,
            "BACKUP DATABASE Own TO DISK = 'own.bak' WITH COPY_ONLY"
        )
        .await,
        41975
    );
    assert_eq!(
        error_code(
            &mut m,
            &format!("BACKUP DATABASE Own TO URL = '{url}' WITH COPY_ONLY, CREDENTIAL = 'c'")
        )
        .await,
        41901
    );
    let many: Vec<String> = (0..33)
        .map(|i| format!("URL = '{}/Own/s{i}.bak'", r.container))
        .collect();
    assert_eq!(
        error_code(
            &mut m,
            &format!("BACKUP DATABASE Own TO {} WITH COPY_ONLY", many.join(", "))
        )
        .await,
        3205
    );
    // The MI's credential may only read; a writable one lets the COPY_ONLY backup through.
    exec(&mut m, &format!("DROP CREDENTIAL [{}]", r.container)).await;
    exec(&mut m, &credential(&r.container, &r.write_sas)).await;
    exec(
        &mut m,
        &format!("BACKUP DATABASE Own TO URL = '{url}' WITH COPY_ONLY"),
    )
    .await;
    // And its recovery model stays FULL.
    assert_eq!(
        error_code(&mut m, "ALTER DATABASE Own SET RECOVERY BULK_LOGGED").await,
        5008
    );
}

/// Backs up database `db` from the source to `<container>/<db>.bak` (COPY_ONLY); its URL.
async fn backup(r: &Rig, s: &mut C, db: &str) -> String {
    let url = format!("{}/{db}.bak", r.container);
    exec(
        s,
        &format!("BACKUP DATABASE [{db}] TO URL = '{url}' WITH COPY_ONLY, FORMAT"),
    )
    .await;
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mi_refuses_what_it_cannot_restore() {
    let r = rig("refused").await;
    let mut s = connect(&r.src).await;
    let mut m = connect(&r.mi).await;
    let restore = |db: &str, url: &str| format!("RESTORE DATABASE [{db}] FROM URL = '{url}'");

    // FILESTREAM data: 41907.
    exec(&mut s, "CREATE DATABASE Fs; ALTER DATABASE Fs ADD FILEGROUP Docs CONTAINS FILESTREAM; ALTER DATABASE Fs ADD FILE (NAME = D1, FILENAME = '/d1') TO FILEGROUP Docs").await;
    let url = backup(&r, &mut s, "Fs").await;
    assert_eq!(error_code(&mut m, &restore("Fs", &url)).await, 41907);

    // Two memory-optimized containers: 41913.
    exec(&mut s, "CREATE DATABASE Xtp2; ALTER DATABASE Xtp2 ADD FILEGROUP Mem CONTAINS MEMORY_OPTIMIZED_DATA; ALTER DATABASE Xtp2 ADD FILE (NAME = M1, FILENAME = '/m1') TO FILEGROUP Mem; ALTER DATABASE Xtp2 ADD FILE (NAME = M2, FILENAME = '/m2') TO FILEGROUP Mem").await;
    let url = backup(&r, &mut s, "Xtp2").await;
    assert_eq!(error_code(&mut m, &restore("Xtp2", &url)).await, 41913);

    // A memory-optimized table on General Purpose: 41915. (Without a container SQL Server
    // refuses the table itself: 41337.)
    exec(&mut s, "CREATE DATABASE Xtp").await;
    assert_eq!(
        error_code(&mut s, "CREATE TABLE Xtp.dbo.Hot (Id int NOT NULL PRIMARY KEY NONCLUSTERED) WITH (MEMORY_OPTIMIZED = ON, DURABILITY = SCHEMA_AND_DATA)").await,
        41337
    );
    exec(&mut s, "ALTER DATABASE Xtp ADD FILEGROUP Mem CONTAINS MEMORY_OPTIMIZED_DATA; ALTER DATABASE Xtp ADD FILE (NAME = M1, FILENAME = '/m1') TO FILEGROUP Mem").await;
    let empty = backup(&r, &mut s, "Xtp").await;
    // While the filegroup is empty the restore goes through, and MI calls the filegroup XTP.
    exec(&mut m, &restore("XtpEmpty", &empty)).await;
    let fg = one_row(
        &mut m,
        "SELECT name, type FROM XtpEmpty.sys.filegroups WHERE type = 'FX'",
    )
    .await;
    assert_eq!(
        (fg.get::<&str, _>(0), fg.get::<&str, _>(1)),
        (Some("XTP"), Some("FX"))
    );
    exec(&mut m, "DROP DATABASE XtpEmpty").await;
    exec(&mut s, "CREATE TABLE Xtp.dbo.Hot (Id int NOT NULL PRIMARY KEY NONCLUSTERED) WITH (MEMORY_OPTIMIZED = ON, DURABILITY = SCHEMA_AND_DATA); INSERT INTO Xtp.dbo.Hot VALUES (1)").await;
    let url = backup(&r, &mut s, "Xtp").await;
    assert_eq!(error_code(&mut m, &restore("Xtp", &url)).await, 41915);

    // The version store outside PRIMARY: 41939.
    exec(&mut s, "CREATE DATABASE Adr; ALTER DATABASE Adr ADD FILEGROUP Versions; ALTER DATABASE Adr ADD FILE (NAME = V1, FILENAME = '/v1') TO FILEGROUP Versions; ALTER DATABASE Adr SET ACCELERATED_DATABASE_RECOVERY = ON (PERSISTENT_VERSION_STORE_FILEGROUP = Versions)").await;
    let url = backup(&r, &mut s, "Adr").await;
    assert_eq!(error_code(&mut m, &restore("Adr", &url)).await, 41939);

    // A TDE backup whose certificate is not on the MI: 41923.
    exec(&mut s, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE'; CREATE DATABASE Secure; USE Secure; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master; ALTER DATABASE Secure SET ENCRYPTION ON").await;
    let url = backup(&r, &mut s, "Secure").await;
    let (number, text) = match m.simple_query(restore("Secure", &url)).await {
        Err(tiberius::error::Error::Server(e)) => (e.code(), e.message().to_owned()),
        other => panic!("{:?}", other.map(|_| ())),
    };
    assert_eq!(number, 41923);
    assert!(
        text.contains("Cannot find server certificate with thumbprint"),
        "{text}"
    );

    // A log backup cannot be restored as a database: 3135.
    exec(
        &mut s,
        "CREATE DATABASE Logged; BACKUP DATABASE Logged TO DISK = 'logged.bak'",
    )
    .await;
    let log = format!("{}/Logged.trn", r.container);
    exec(&mut s, &format!("BACKUP LOG Logged TO URL = '{log}'")).await;
    assert_eq!(error_code(&mut m, &restore("Logged", &log)).await, 3135);

    // Two backup sets in one file: 41919. BACKUP TO DISK appends a set; the file is uploaded.
    exec(&mut s, "CREATE DATABASE Twice; BACKUP DATABASE Twice TO DISK = 'twice.bak' WITH COPY_ONLY; BACKUP DATABASE Twice TO DISK = 'twice.bak' WITH COPY_ONLY").await;
    let file = std::fs::read(r.src._data.path().join("backup").join("twice.bak")).unwrap();
    let twice = format!("{}/twice.bak", r.container);
    blob::upload(&blob::locate(&twice).unwrap(), &r.write_sas, file, true)
        .await
        .unwrap();
    assert_eq!(error_code(&mut m, &restore("Twice", &twice)).await, 41919);

    // The instance's 280 files: 41916.
    let adds: Vec<String> = (0..280)
        .map(|i| format!("ALTER DATABASE Wide ADD FILE (NAME = F{i}, FILENAME = '/f{i}.ndf')"))
        .collect();
    exec(
        &mut s,
        &format!("CREATE DATABASE Wide; {}", adds.join("; ")),
    )
    .await;
    let url = backup(&r, &mut s, "Wide").await;
    let (number, text) = match m.simple_query(restore("Wide", &url)).await {
        Err(tiberius::error::Error::Server(e)) => (e.code(), e.message().to_owned()),
        other => panic!("{:?}", other.map(|_| ())),
    };
    assert_eq!(number, 41916);
    assert!(text.contains("280"), "{text}");

    // Nothing of the refused restores is left behind.
    let left = one_row(
        &mut m,
        "SELECT COUNT(*) FROM sys.databases WHERE database_id > 4",
    )
    .await;
    assert_eq!(left.get::<i32, _>(0), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sas_that_expires_mid_restore_fails_it() {
    let r = rig("expiring").await;
    let mut s = connect(&r.src).await;
    exec(
        &mut s,
        "CREATE DATABASE Sales; CREATE TABLE Sales.dbo.T (Id int, Pad nvarchar(400))",
    )
    .await;
    let values: Vec<String> = (0..1000)
        .map(|i| format!("({i}, N'{}')", format!("{i:0>8}").repeat(20)))
        .collect();
    exec(
        &mut s,
        &format!("INSERT INTO Sales.dbo.T VALUES {}", values.join(", ")),
    )
    .await;
    let url = backup(&r, &mut s, "Sales").await;

    // The restore takes a virtual hour and starts with the clock nearly stopped: it has begun
    // reading its blob, and goes on reading it as the clock runs.
    let mut m = connect(&r.mi).await;
    r.mi.server
        .set_restore_time(Some(Duration::from_secs(3600)));
    r.mi.server.clock().set_speed(0.001);
    let mut restorer = connect(&r.mi).await;
    let restore = tokio::spawn(async move {
        match restorer
            .simple_query(format!("RESTORE DATABASE Sales FROM URL = '{url}'"))
            .await
        {
            Ok(stream) => stream.into_results().await.map(|_| ()),
            Err(e) => Err(e),
        }
    });
    let mut running = false;
    for _ in 0..600 {
        let rows = m
            .simple_query(
                "SELECT state_desc FROM sys.dm_operation_status WHERE major_resource_id = N'Sales'",
            )
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        if rows.first().and_then(|r| r.get::<&str, _>(0)) == Some("IN_PROGRESS") {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(running, "the restore started");
    // Half-way, the SAS the MI reads with is one that has expired: swapped in one batch (one
    // hold of the instance), so the restore never meets the container without a credential.
    let expired = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "expiring",
        "rl",
        "2020-01-01T00:00:00Z",
    )
    .unwrap();
    exec(
        &mut m,
        &format!(
            "DROP CREDENTIAL [{}]; {}",
            r.container,
            credential(&r.container, &expired)
        ),
    )
    .await;
    r.mi.server.clock().set_speed(1000.0);
    // A hang guard only.
    let result = tokio::time::timeout(Duration::from_secs(120), restore)
        .await
        .expect("the restore ended")
        .unwrap();
    match result {
        Err(tiberius::error::Error::Server(e)) => {
            assert_eq!(e.code(), 3201, "{}", e.message());
            assert!(
                e.message()
                    .contains("Operating system error 5(Access is denied.)"),
                "{}",
                e.message()
            );
        }
        other => panic!("the restore should fail: {other:?}"),
    }
    let op = one_row(&mut m, "SELECT state_desc, error_code, error_severity FROM sys.dm_operation_status WHERE major_resource_id = N'Sales'").await;
    assert_eq!(op.get::<&str, _>(0), Some("FAILED"));
    assert_eq!(op.get::<i32, _>(1), Some(3201));
    assert_eq!(op.get::<i32, _>(2), Some(16));
    let left = one_row(
        &mut m,
        "SELECT COUNT(*) FROM sys.databases WHERE database_id > 4",
    )
    .await;
    assert_eq!(
        left.get::<i32, _>(0),
        Some(0),
        "the GUID-named database is gone"
    );
    let _ = r.read_sas;
}
