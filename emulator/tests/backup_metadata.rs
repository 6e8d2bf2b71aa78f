//! Backup metadata as SQL Server writes it: RESTORE HEADERONLY and FILELISTONLY with the
//! columns of their reference pages, a FamilyGUID that stays with the database, BeginsLogChain,
//! FILESTREAM and memory-optimized filegroups told apart, COMPRESSION that compresses, and block
//! blobs written in MAXTRANSFERSIZE blocks up to Azure's block limit.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::blob;

fn columns(rows: &[tiberius::Row]) -> Vec<String> {
    rows[0]
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect()
}

async fn rows(c: &mut C, sql: &str) -> Vec<tiberius::Row> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn guid(r: &tiberius::Row, col: &str) -> String {
    r.get::<tiberius::Uuid, _>(col)
        .unwrap_or_else(|| panic!("{col}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_file_lists_and_the_log_chain() {
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(sql2019(), TlsMode::Required).await;
    let share = tempfile::tempdir().unwrap();
    src.server.allow_backup_directory(share.path()).unwrap();
    dst.server.allow_backup_directory(share.path()).unwrap();
    let bak = |f: &str| share.path().join(f).display().to_string();
    let mut s = connect(&src).await;
    exec(
        &mut s,
        "CREATE DATABASE Sales; CREATE TABLE Sales.dbo.T (Id int, Note nvarchar(200))",
    )
    .await;
    let values: Vec<String> = (0..400)
        .map(|i| format!("({i}, N'the same note, again and again and again')"))
        .collect();
    exec(
        &mut s,
        &format!("INSERT INTO Sales.dbo.T VALUES {}", values.join(", ")),
    )
    .await;
    // Backup encryption is not emulated: refused by name rather than taken unencrypted.
    let refused = s
        .simple_query(format!(
            "BACKUP DATABASE Sales TO DISK = '{}' WITH ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = BackupCert)",
            bak("encrypted.bak")
        ))
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(refused.contains("WITH ENCRYPTION"), "{refused}");
    assert!(!share.path().join("encrypted.bak").exists());
    exec(&mut s, "ALTER DATABASE Sales ADD FILEGROUP Docs CONTAINS FILESTREAM; ALTER DATABASE Sales ADD FILEGROUP Mem CONTAINS MEMORY_OPTIMIZED_DATA; ALTER DATABASE Sales ADD FILE (NAME = Docs1, FILENAME = '/var/opt/mssql/data/docs1') TO FILEGROUP Docs; ALTER DATABASE Sales ADD FILE (NAME = Mem1, FILENAME = '/var/opt/mssql/data/mem1') TO FILEGROUP Mem").await;
    let groups = rows(
        &mut s,
        "SELECT name, type, type_desc FROM Sales.sys.filegroups ORDER BY data_space_id",
    )
    .await;
    let types: Vec<(&str, &str)> = groups
        .iter()
        .map(|r| (r.get::<&str, _>(1).unwrap(), r.get::<&str, _>(2).unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            ("FG", "ROWS_FILEGROUP"),
            ("FD", "FILESTREAM_DATA_FILEGROUP"),
            ("FX", "MEMORY_OPTIMIZED_DATA_FILEGROUP")
        ]
    );

    exec(
        &mut s,
        &format!(
            "BACKUP DATABASE Sales TO DISK = '{}' WITH CHECKSUM, COMPRESSION, NAME = N'nightly'",
            bak("full.bak")
        ),
    )
    .await;
    exec(
        &mut s,
        &format!(
            "BACKUP DATABASE Sales TO DISK = '{}' WITH COPY_ONLY",
            bak("copy.bak")
        ),
    )
    .await;
    exec(
        &mut s,
        &format!("BACKUP LOG Sales TO DISK = '{}'", bak("log1.trn")),
    )
    .await;
    exec(
        &mut s,
        &format!(
            "INSERT INTO Sales.dbo.T VALUES (1000, N'x'); BACKUP LOG Sales TO DISK = '{}'",
            bak("log2.trn")
        ),
    )
    .await;

    // HEADERONLY: the reference page's columns, in its order.
    let full = rows(
        &mut s,
        &format!("RESTORE HEADERONLY FROM DISK = '{}'", bak("full.bak")),
    )
    .await;
    assert_eq!(
        columns(&full),
        [
            "BackupName",
            "BackupDescription",
            "BackupType",
            "ExpirationDate",
            "Compressed",
            "Position",
            "DeviceType",
            "UserName",
            "ServerName",
            "DatabaseName",
            "DatabaseVersion",
            "DatabaseCreationDate",
            "BackupSize",
            "FirstLSN",
            "LastLSN",
            "CheckpointLSN",
            "DatabaseBackupLSN",
            "BackupStartDate",
            "BackupFinishDate",
            "SortOrder",
            "CodePage",
            "UnicodeLocaleId",
            "UnicodeComparisonStyle",
            "CompatibilityLevel",
            "SoftwareVendorId",
            "SoftwareVersionMajor",
            "SoftwareVersionMinor",
            "SoftwareVersionBuild",
            "MachineName",
            "Flags",
            "BindingID",
            "RecoveryForkID",
            "Collation",
            "FamilyGUID",
            "HasBulkLoggedData",
            "IsSnapshot",
            "IsReadOnly",
            "IsSingleUser",
            "HasBackupChecksums",
            "IsDamaged",
            "BeginsLogChain",
            "HasIncompleteMetaData",
            "IsForceOffline",
            "IsCopyOnly",
            "FirstRecoveryForkID",
            "ForkPointLSN",
            "RecoveryModel",
            "DifferentialBaseLSN",
            "DifferentialBaseGUID",
            "BackupTypeDescription",
            "BackupSetGUID",
            "CompressedBackupSize",
            "containment",
            "KeyAlgorithm",
            "EncryptorThumbprint",
            "EncryptorType"
        ]
    );
    let h = &full[0];
    assert_eq!(h.get::<&str, _>("BackupName"), Some("nightly"));
    assert_eq!(h.get::<&str, _>("BackupTypeDescription"), Some("DATABASE"));
    assert_eq!(
        h.get::<u8, _>("DeviceType"),
        Some(102),
        "a disk device named by path"
    );
    assert_eq!(h.get::<bool, _>("Compressed"), Some(true));
    let size = h.get::<tiberius::numeric::Numeric, _>("BackupSize");
    let compressed = h.get::<i64, _>("CompressedBackupSize").unwrap();
    assert!(
        (compressed as f64) < size.unwrap().value() as f64 / 2.0,
        "COMPRESSION compresses: {compressed} of {size:?}"
    );
    // The same FamilyGUID on every backup of the database, and on its restored copy's.
    let family = guid(h, "FamilyGUID");
    let copy = rows(
        &mut s,
        &format!("RESTORE HEADERONLY FROM DISK = '{}'", bak("copy.bak")),
    )
    .await;
    assert_eq!(guid(&copy[0], "FamilyGUID"), family);
    assert_eq!(copy[0].get::<bool, _>("Compressed"), Some(false));
    assert_eq!(
        copy[0]
            .get::<i64, _>("CompressedBackupSize")
            .map(|n| n as u64),
        copy[0]
            .get::<tiberius::numeric::Numeric, _>("BackupSize")
            .map(|n| n.value() as u64),
        "uncompressed: the same size"
    );
    // BeginsLogChain: the first log backup after the database's creation, not the next.
    let log1 = rows(
        &mut s,
        &format!("RESTORE HEADERONLY FROM DISK = '{}'", bak("log1.trn")),
    )
    .await;
    let log2 = rows(
        &mut s,
        &format!("RESTORE HEADERONLY FROM DISK = '{}'", bak("log2.trn")),
    )
    .await;
    assert_eq!(log1[0].get::<bool, _>("BeginsLogChain"), Some(true));
    assert_eq!(log2[0].get::<bool, _>("BeginsLogChain"), Some(false));
    assert_eq!(
        log1[0].get::<&str, _>("BackupTypeDescription"),
        Some("TRANSACTION LOG")
    );
    assert_eq!(guid(&log2[0], "FamilyGUID"), family);
    // A switch to SIMPLE and back ends the chain; the next log backup begins one again.
    exec(&mut s, &format!("ALTER DATABASE Sales SET RECOVERY SIMPLE; ALTER DATABASE Sales SET RECOVERY FULL; BACKUP DATABASE Sales TO DISK = '{}'; BACKUP LOG Sales TO DISK = '{}'", bak("full2.bak"), bak("log3.trn"))).await;
    let log3 = rows(
        &mut s,
        &format!("RESTORE HEADERONLY FROM DISK = '{}'", bak("log3.trn")),
    )
    .await;
    assert_eq!(log3[0].get::<bool, _>("BeginsLogChain"), Some(true));
    // msdb too: backup_size against compressed_backup_size, begins_log_chain.
    let history = rows(&mut s, "SELECT type, backup_size, compressed_backup_size, begins_log_chain FROM msdb.dbo.backupset ORDER BY backup_set_id").await;
    let first = &history[0];
    assert!(
        first
            .get::<tiberius::numeric::Numeric, _>(1)
            .unwrap()
            .value()
            > first
                .get::<tiberius::numeric::Numeric, _>(2)
                .unwrap()
                .value()
                * 2
    );
    assert_eq!(history[2].get::<bool, _>(3), Some(true));

    // FILELISTONLY: the reference page's columns; the containers of both kinds are type S.
    let files = rows(
        &mut s,
        &format!("RESTORE FILELISTONLY FROM DISK = '{}'", bak("full.bak")),
    )
    .await;
    assert_eq!(
        columns(&files),
        [
            "LogicalName",
            "PhysicalName",
            "Type",
            "FileGroupName",
            "Size",
            "MaxSize",
            "FileID",
            "CreateLSN",
            "DropLSN",
            "UniqueID",
            "ReadOnlyLSN",
            "ReadWriteLSN",
            "BackupSizeInBytes",
            "SourceBlockSize",
            "FileGroupID",
            "LogGroupGUID",
            "DifferentialBaseLSN",
            "DifferentialBaseGUID",
            "IsReadOnly",
            "IsPresent",
            "TDEThumbprint",
            "SnapshotURL"
        ]
    );
    let listed: Vec<(&str, &str, Option<&str>)> = files
        .iter()
        .map(|r| {
            (
                r.get::<&str, _>("LogicalName").unwrap(),
                r.get::<&str, _>("Type").unwrap(),
                r.get::<&str, _>("FileGroupName"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("Sales", "D", Some("PRIMARY")),
            ("Sales_log", "L", None),
            ("Docs1", "S", Some("Docs")),
            ("Mem1", "S", Some("Mem"))
        ]
    );

    // The restored copy keeps the family; its own backups carry it on.
    let mut d = connect(&dst).await;
    exec(
        &mut d,
        &format!("RESTORE DATABASE Copy FROM DISK = '{}'", bak("full.bak")),
    )
    .await;
    exec(
        &mut d,
        &format!(
            "BACKUP DATABASE Copy TO DISK = '{}'",
            bak("copy-of-copy.bak")
        ),
    )
    .await;
    let again = rows(
        &mut d,
        &format!(
            "RESTORE HEADERONLY FROM DISK = '{}'",
            bak("copy-of-copy.bak")
        ),
    )
    .await;
    assert_eq!(guid(&again[0], "FamilyGUID"), family);
    assert_eq!(again[0].get::<&str, _>("DatabaseName"), Some("Copy"));
    // A differential is based on the full that precedes it.
    exec(
        &mut s,
        &format!(
            "BACKUP DATABASE Sales TO DISK = '{}' WITH DIFFERENTIAL",
            bak("diff.bak")
        ),
    )
    .await;
    let diff = rows(
        &mut s,
        &format!("RESTORE HEADERONLY FROM DISK = '{}'", bak("diff.bak")),
    )
    .await;
    let base = rows(
        &mut s,
        &format!("RESTORE HEADERONLY FROM DISK = '{}'", bak("full2.bak")),
    )
    .await;
    assert_eq!(
        guid(&diff[0], "DifferentialBaseGUID"),
        guid(&base[0], "BackupSetGUID")
    );
    assert_eq!(
        diff[0].get::<&str, _>("BackupTypeDescription"),
        Some("DATABASE DIFFERENTIAL")
    );

    // MAXTRANSFERSIZE and BLOCKSIZE are checked as SQL Server checks them (3250, 3253).
    assert_eq!(
        error_code(
            &mut s,
            &format!(
                "BACKUP DATABASE Sales TO DISK = '{}' WITH MAXTRANSFERSIZE = 1000",
                bak("x.bak")
            )
        )
        .await,
        3250
    );
    assert_eq!(
        error_code(
            &mut s,
            &format!(
                "BACKUP DATABASE Sales TO DISK = '{}' WITH BLOCKSIZE = 1000",
                bak("x.bak")
            )
        )
        .await,
        3253
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_blobs_in_maxtransfersize_blocks_up_to_the_block_limit() {
    let az = Azurite::start().unwrap();
    az.create_container("blocks").await.unwrap();
    let container = az.container_url("blocks");
    let sas = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "blocks",
        "racwdl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, &format!("CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'")).await;
    exec(
        &mut s,
        "CREATE DATABASE Big; CREATE TABLE Big.dbo.T (Id int, Pad nvarchar(400))",
    )
    .await;
    // Distinct rows, so the file is a few hundred KiB.
    let values: Vec<String> = (0..1500)
        .map(|i| format!("({i}, N'{}')", format!("{i:0>8}").repeat(20)))
        .collect();
    exec(
        &mut s,
        &format!("INSERT INTO Big.dbo.T VALUES {}", values.join(", ")),
    )
    .await;

    // MAXTRANSFERSIZE = 64 KiB: every block of the blob is at most that.
    let url = format!("{container}/Big/big.bak");
    exec(
        &mut s,
        &format!("BACKUP DATABASE Big TO URL = '{url}' WITH COPY_ONLY, MAXTRANSFERSIZE = 65536"),
    )
    .await;
    let loc = blob::locate(&url).unwrap();
    let size = blob::size(&loc, &sas).await.unwrap();
    let client = azure_storage_blob::BlobContainerClient::new(
        format!("{}?{sas}", loc.container_url).parse().unwrap(),
        None,
        None,
    )
    .unwrap()
    .blob_client(&loc.blob)
    .block_blob_client();
    let list = client
        .get_block_list(azure_storage_blob::models::BlockListType::Committed, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let blocks: Vec<i64> = list
        .committed_blocks
        .unwrap_or_default()
        .iter()
        .map(|b| b.size.unwrap())
        .collect();
    assert!(blocks.len() > 2, "{size} bytes in {} blocks", blocks.len());
    assert!(blocks.iter().all(|b| *b <= 65_536), "{blocks:?}");
    assert_eq!(blocks.iter().sum::<i64>() as u64, size);

    // A blob that would need more blocks than a block blob may have fails as SQL Server's
    // write fails (3202, then 3013), and nothing is committed. The limit is Azure's 50,000
    // scaled down, so the test writes kilobytes, not gigabytes.
    src.server.set_blob_block_limit(2);
    let over = format!("{container}/Big/over.bak");
    let mut errors = Vec::new();
    match s
        .simple_query(format!(
            "BACKUP DATABASE Big TO URL = '{over}' WITH COPY_ONLY, MAXTRANSFERSIZE = 65536"
        ))
        .await
    {
        Ok(stream) => {
            let _ = stream.into_results().await.map_err(|e| errors.push(e));
        }
        Err(e) => errors.push(e),
    }
    match errors.first() {
        Some(tiberius::error::Error::Server(e)) => {
            assert_eq!(e.code(), 3202, "{}", e.message());
            assert!(e.message().contains("1117"), "{}", e.message());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        blob::size(&blob::locate(&over).unwrap(), &sas).await,
        Err(blob::BlobError::NotFound),
        "no blob was committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msdb_gives_each_backup_set_its_position_on_the_media() {
    // "backupset (Transact-SQL)": `position`, the set's place on its media; a BACKUP without
    // INIT appends to the file, so the second set on it is at 2 (DMS and LRS refuse those).
    let src = start(sql2019(), TlsMode::Required).await;
    let share = tempfile::tempdir().unwrap();
    src.server.allow_backup_directory(share.path()).unwrap();
    let file = share.path().join("both.bak").display().to_string();
    let own = share.path().join("own.trn").display().to_string();
    let mut s = connect(&src).await;
    exec(
        &mut s,
        "CREATE DATABASE Ops; ALTER DATABASE Ops SET RECOVERY FULL",
    )
    .await;
    exec(
        &mut s,
        &format!(
            "BACKUP DATABASE Ops TO DISK = '{file}'; BACKUP LOG Ops TO DISK = '{file}'; BACKUP LOG Ops TO DISK = '{own}' WITH INIT"
        ),
    )
    .await;
    let positions: Vec<(String, Option<i32>)> = rows(
        &mut s,
        "SELECT type, position FROM msdb.dbo.backupset WHERE database_name = 'Ops' ORDER BY backup_set_id",
    )
    .await
    .iter()
    .map(|r| (r.get::<&str, _>(0).unwrap().to_owned(), r.get::<i32, _>(1)))
    .collect();
    assert_eq!(
        positions,
        vec![
            ("D".to_owned(), Some(1)),
            ("L".to_owned(), Some(2)),
            ("L".to_owned(), Some(1))
        ]
    );
}
