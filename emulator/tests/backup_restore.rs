//! BACKUP TO DISK on one SQL Server and RESTORE on another: stripes, checksums, the log chain
//! and its errors, msdb history, and equal data on both sides.

mod common;

use common::*;
use ferry_emulator::{Edition, Personality, Release, TlsMode};

async fn count_and_checksum(c: &mut C, db: &str) -> (i32, i32) {
    let row = c
        .simple_query(format!(
            "SELECT COUNT(*) AS n, CHECKSUM_AGG(BINARY_CHECKSUM(*)) AS c FROM {db}.dbo.Orders"
        ))
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    (
        row.get::<i32, _>("n").unwrap(),
        row.get::<i32, _>("c").unwrap(),
    )
}

async fn insert_rows(c: &mut C, from: i32, to: i32) {
    let values: Vec<String> = (from..to)
        .map(|i| format!("({i}, N'customer {i}', {}.{:02})", i * 3, i % 100))
        .collect();
    exec(
        c,
        &format!("INSERT INTO Sales.dbo.Orders VALUES {}", values.join(", ")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_and_log_backups_restore_in_chain_on_another_server() {
    let share = tempfile::tempdir().unwrap();
    let bak = |f: &str| share.path().join(f).display().to_string();
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(
        Personality::SqlServer {
            release: Release::Sql2022,
            edition: Edition::Standard,
            hadr: false,
            name: "DST".into(),
        },
        TlsMode::Required,
    )
    .await;
    // Both servers' service accounts may use the share, as on a real site.
    src.server.allow_backup_directory(share.path()).unwrap();
    dst.server.allow_backup_directory(share.path()).unwrap();
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE DATABASE Sales; CREATE TABLE Sales.dbo.Orders (Id int PRIMARY KEY, Customer nvarchar(50), Total decimal(10,2))").await;
    insert_rows(&mut s, 0, 500).await;
    exec(&mut s, &format!("BACKUP DATABASE [Sales] TO DISK = '{}', DISK = '{}' WITH CHECKSUM, COMPRESSION, FORMAT, MAXTRANSFERSIZE = 4194304, STATS = 10", bak("full_1.bak"), bak("full_2.bak"))).await;
    insert_rows(&mut s, 500, 600).await;
    exec(
        &mut s,
        &format!(
            "BACKUP LOG [Sales] TO DISK = '{}' WITH CHECKSUM",
            bak("log1.trn")
        ),
    )
    .await;
    exec(&mut s, "UPDATE Sales.dbo.Orders SET Total = Total + 1 WHERE Id < 10; DELETE FROM Sales.dbo.Orders WHERE Id = 599").await;
    let source = count_and_checksum(&mut s, "Sales").await;
    // The tail-log backup leaves the source RESTORING: nothing can be written after it.
    exec(
        &mut s,
        &format!(
            "BACKUP LOG [Sales] TO DISK = '{}' WITH CHECKSUM, NORECOVERY",
            bak("log2.trn")
        ),
    )
    .await;
    assert_eq!(
        scalar_string(
            &mut s,
            "SELECT state_desc FROM sys.databases WHERE name = N'Sales'"
        )
        .await,
        "RESTORING"
    );
    assert_eq!(
        error_code(
            &mut s,
            "INSERT INTO Sales.dbo.Orders VALUES (9999, N'late', 1.00)"
        )
        .await,
        927,
        "no write after the tail-log backup"
    );

    // msdb history proves the chain before anything is restored.
    let history = s
        .simple_query("SELECT b.type, b.first_lsn, b.last_lsn, m.physical_device_name FROM msdb.dbo.backupset b JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id WHERE b.database_name = N'Sales' ORDER BY b.backup_set_id, m.family_sequence_number")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let types: Vec<&str> = history
        .iter()
        .map(|r| r.get::<&str, _>(0).unwrap())
        .collect();
    assert_eq!(
        types,
        ["D", "D", "L", "L"],
        "two stripes for the full, then two logs"
    );
    let lsn = |i: usize, col: &str| {
        history[i]
            .get::<tiberius::numeric::Numeric, _>(col)
            .unwrap()
            .value()
    };
    assert_eq!(
        lsn(2, "first_lsn"),
        lsn(0, "last_lsn"),
        "the first log starts where the full ends"
    );
    assert_eq!(
        lsn(3, "first_lsn"),
        lsn(2, "last_lsn"),
        "consecutive logs are contiguous"
    );

    let mut d = connect(&dst).await;
    let header = d
        .simple_query(format!(
            "RESTORE HEADERONLY FROM DISK = '{}', DISK = '{}'",
            bak("full_1.bak"),
            bak("full_2.bak")
        ))
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header.get::<i16, _>("BackupType"), Some(1));
    assert_eq!(header.get::<&str, _>("DatabaseName"), Some("Sales"));
    assert_eq!(header.get::<bool, _>("HasBackupChecksums"), Some(true));
    assert_eq!(header.get::<bool, _>("Compressed"), Some(true));
    assert_eq!(header.get::<&str, _>("ServerName"), Some("SRC01"));

    assert_eq!(
        error_code(
            &mut d,
            &format!("RESTORE DATABASE Sales FROM DISK = '{}'", bak("full_1.bak"))
        )
        .await,
        3132,
        "every stripe is required"
    );
    exec(
        &mut d,
        &format!(
            "RESTORE DATABASE Sales FROM DISK = '{}', DISK = '{}' WITH NORECOVERY, CHECKSUM",
            bak("full_2.bak"),
            bak("full_1.bak")
        ),
    )
    .await;
    assert_eq!(
        scalar_string(
            &mut d,
            "SELECT state_desc FROM sys.databases WHERE name = N'Sales'"
        )
        .await,
        "RESTORING"
    );
    assert_eq!(
        error_code(&mut d, "SELECT COUNT(*) FROM Sales.dbo.Orders").await,
        927
    );
    assert_eq!(
        error_code(
            &mut d,
            &format!(
                "RESTORE LOG Sales FROM DISK = '{}' WITH NORECOVERY",
                bak("log2.trn")
            )
        )
        .await,
        4305,
        "a gap in the chain"
    );
    exec(
        &mut d,
        &format!(
            "RESTORE LOG Sales FROM DISK = '{}' WITH NORECOVERY",
            bak("log1.trn")
        ),
    )
    .await;
    exec(
        &mut d,
        &format!(
            "RESTORE LOG Sales FROM DISK = '{}' WITH RECOVERY",
            bak("log2.trn")
        ),
    )
    .await;
    assert_eq!(
        error_code(
            &mut d,
            &format!("RESTORE LOG Sales FROM DISK = '{}'", bak("log1.trn"))
        )
        .await,
        3117,
        "an online database takes no more logs"
    );

    let target = count_and_checksum(&mut d, "Sales").await;
    assert_eq!(source.0, 599);
    assert_eq!(
        source, target,
        "row counts and checksums are equal on both sides"
    );

    // An existing database is not overwritten without REPLACE.
    assert_eq!(
        error_code(
            &mut d,
            &format!(
                "RESTORE DATABASE Sales FROM DISK = '{}', DISK = '{}'",
                bak("full_1.bak"),
                bak("full_2.bak")
            )
        )
        .await,
        3159
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_media_and_bad_devices_fail_with_their_numbers() {
    let share = tempfile::tempdir().unwrap();
    let path = |f: &str| share.path().join(f);
    let src = start(sql2019(), TlsMode::Required).await;
    src.server.allow_backup_directory(share.path()).unwrap();
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE DATABASE Small; CREATE TABLE Small.dbo.T (Id int); INSERT INTO Small.dbo.T VALUES (1)").await;
    exec(&mut s, "ALTER DATABASE Small SET RECOVERY SIMPLE").await;
    let full = path("small.bak");
    exec(
        &mut s,
        &format!(
            "BACKUP DATABASE Small TO DISK = '{}' WITH CHECKSUM",
            full.display()
        ),
    )
    .await;
    exec(
        &mut s,
        &format!("RESTORE VERIFYONLY FROM DISK = '{}'", full.display()),
    )
    .await;

    let mut bytes = std::fs::read(&full).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(path("damaged.bak"), &bytes).unwrap();
    assert_eq!(
        error_code(
            &mut s,
            &format!(
                "RESTORE VERIFYONLY FROM DISK = '{}'",
                path("damaged.bak").display()
            )
        )
        .await,
        3183
    );
    std::fs::write(path("short.bak"), &bytes[..40]).unwrap();
    assert_eq!(
        error_code(
            &mut s,
            &format!(
                "RESTORE HEADERONLY FROM DISK = '{}'",
                path("short.bak").display()
            )
        )
        .await,
        3241
    );
    assert_eq!(
        error_code(
            &mut s,
            "BACKUP DATABASE Small TO DISK = '/nonexistent-dir/x.bak'"
        )
        .await,
        3201
    );
    assert_eq!(
        error_code(
            &mut s,
            &format!("BACKUP LOG Small TO DISK = '{}'", path("l.trn").display())
        )
        .await,
        4208,
        "no log backups in SIMPLE recovery"
    );
    // Without INIT or FORMAT a BACKUP TO DISK appends a backup set to the file ("BACKUP
    // (Transact-SQL)": NOINIT is the default); RESTORE reads the one FILE names.
    exec(
        &mut s,
        &format!("INSERT INTO Small.dbo.T VALUES (2); BACKUP DATABASE Small TO DISK = '{}' WITH NAME = N'second'", full.display()),
    )
    .await;
    let sets = s
        .simple_query(format!(
            "RESTORE HEADERONLY FROM DISK = '{}'",
            full.display()
        ))
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(sets.len(), 2, "two backup sets on the file");
    assert_eq!(sets[1].get::<i16, _>("Position"), Some(2));
    assert_eq!(sets[1].get::<&str, _>("BackupName"), Some("second"));
    exec(
        &mut s,
        &format!(
            "RESTORE DATABASE Second FROM DISK = '{}' WITH FILE = 2",
            full.display()
        ),
    )
    .await;
    let n = one_row(&mut s, "SELECT COUNT(*) FROM Second.dbo.T").await;
    assert_eq!(n.get::<i32, _>(0), Some(2), "the second set has both rows");
    assert_eq!(
        error_code(
            &mut s,
            &format!(
                "RESTORE HEADERONLY FROM DISK = '{}' WITH FILE = 3",
                full.display()
            )
        )
        .await,
        4038,
        "no third set"
    );
    // The service account has no rights outside the data directory and its granted shares.
    let outside = tempfile::tempdir().unwrap();
    let denied = error_code(
        &mut s,
        &format!(
            "BACKUP DATABASE Small TO DISK = '{}'",
            outside.path().join("x.bak").display()
        ),
    )
    .await;
    assert_eq!(
        denied, 3201,
        "another directory is not the server's to write"
    );
    exec(
        &mut s,
        "CREATE DATABASE Fresh; ALTER DATABASE Fresh SET RECOVERY FULL",
    )
    .await;
    assert_eq!(
        error_code(
            &mut s,
            &format!("BACKUP LOG Fresh TO DISK = '{}'", path("f.trn").display())
        )
        .await,
        4214,
        "no log backup before a full one"
    );
    assert_eq!(
        error_code(
            &mut s,
            &format!(
                "BACKUP DATABASE Fresh TO DISK = '{}' WITH DIFFERENTIAL",
                path("f.dif").display()
            )
        )
        .await,
        3035
    );

    // Managed Instance: only full restores, from URL, without WITH options; each refusal has
    // its own number ("Database engine events and errors 41400 to 49999").
    let mi_server = start(mi(), TlsMode::Required).await;
    let mut m = connect(&mi_server).await;
    assert_eq!(error_code(&mut m, "RESTORE DATABASE Small FROM URL = 'https://acct.blob.core.windows.net/c/small.bak' WITH NORECOVERY").await, 41901);
    assert_eq!(
        error_code(
            &mut m,
            &format!("RESTORE DATABASE Small FROM DISK = '{}'", full.display())
        )
        .await,
        41902,
        "URL devices only"
    );
    assert_eq!(
        error_code(
            &mut m,
            "RESTORE LOG Small FROM URL = 'https://acct.blob.core.windows.net/c/l.trn'"
        )
        .await,
        41906,
        "RESTORE LOG is not supported"
    );
}
