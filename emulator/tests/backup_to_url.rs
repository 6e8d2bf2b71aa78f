//! BACKUP TO URL on the SQL Server personality into Azurite, RESTORE FROM URL on the Managed
//! Instance personality with the SAS in its credential: progress over virtual time, a restore
//! that outlives its client, equal data on both sides, and the failures MI gives.

mod common;

use std::time::Duration;

use common::*;
use ferry_emulator::TlsMode;
use ferry_emulator::azurite::{self, Azurite};

fn credential(container_url: &str, sas: &str) -> String {
    format!(
        "CREATE CREDENTIAL [{container_url}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_url_then_restore_on_mi_with_progress() {
    let az = Azurite::start().unwrap();
    az.create_container("backups").await.unwrap();
    let container = az.container_url("backups");
    let write_sas = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "backups",
        "racwl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let read_sas = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "backups",
        "rl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();

    let src = start(sql2019(), TlsMode::Required).await;
    src.server.run_sql("CREATE DATABASE Sales; CREATE TABLE Sales.dbo.Orders (Id int PRIMARY KEY, Customer nvarchar(40), Total decimal(9,2))").unwrap();
    let values: Vec<String> = (0..2000)
        .map(|i| format!("({i}, N'c{i}', {}.{:02})", i * 7, i % 100))
        .collect();
    src.server
        .run_sql(&format!(
            "INSERT INTO Sales.dbo.Orders VALUES {}",
            values.join(", ")
        ))
        .unwrap();
    let mut s = connect(&src).await;
    exec(&mut s, &credential(&container, &write_sas)).await;
    let url1 = format!("{container}/Sales/Sales_1.bak");
    let url2 = format!("{container}/Sales/Sales_2.bak");
    exec(&mut s, &format!("BACKUP DATABASE [Sales] TO URL = '{url1}', URL = '{url2}' WITH COPY_ONLY, CHECKSUM, COMPRESSION, FORMAT, MAXTRANSFERSIZE = 4194304, BLOCKSIZE = 65536")).await;
    assert_ne!(
        error_code(
            &mut s,
            &format!("BACKUP DATABASE [Sales] TO URL = '{url1}', URL = '{url2}'")
        )
        .await,
        0,
        "no overwrite without FORMAT"
    );

    let dst = start(mi(), TlsMode::Required).await;
    // 20 virtual seconds at 20× speed: about one real second.
    dst.server.set_restore_time(Some(Duration::from_secs(20)));
    dst.server.clock().set_speed(20.0);
    let mut m = connect(&dst).await;
    // Without a credential the URL cannot be opened.
    assert_eq!(
        error_code(
            &mut m,
            &format!("RESTORE HEADERONLY FROM URL = '{url1}', URL = '{url2}'")
        )
        .await,
        3201
    );
    let forged = read_sas.replace("sig=", "sig=x");
    exec(&mut m, &credential(&container, &forged)).await;
    assert_eq!(
        error_code(
            &mut m,
            &format!("RESTORE DATABASE Sales FROM URL = '{url1}', URL = '{url2}'")
        )
        .await,
        3201,
        "a wrong SAS is refused by storage"
    );
    exec(&mut m, &format!("DROP CREDENTIAL [{container}]")).await;
    exec(&mut m, &credential(&container, &read_sas)).await;
    let header = one_row(
        &mut m,
        &format!("RESTORE HEADERONLY FROM URL = '{url1}', URL = '{url2}'"),
    )
    .await;
    // A device named by its URL is a physical URL device: 109 ("RESTORE HEADERONLY").
    assert_eq!(header.get::<u8, _>("DeviceType"), Some(109), "URL devices");
    assert_eq!(header.get::<bool, _>("IsCopyOnly"), Some(true));
    assert_eq!(
        error_code(
            &mut m,
            &format!("RESTORE DATABASE Sales FROM URL = '{url1}'")
        )
        .await,
        3132,
        "every stripe is required"
    );

    // Start the restore on its own connection, and walk away from it half-way.
    let mut restorer = connect(&dst).await;
    let restore_sql = format!("RESTORE DATABASE Sales FROM URL = '{url1}', URL = '{url2}'");
    let task = tokio::spawn(async move {
        let _ = restorer.simple_query(restore_sql).await;
    });
    let mut seen: Vec<i32> = Vec::new();
    let mut restoring_as = Vec::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(40)).await;
        // dm_operation_status names the target; sys.databases shows the database under a
        // GUID name until it is restored (methods.md §4.4).
        let rows = m
            .simple_query("SELECT percent_complete, state_desc FROM sys.dm_operation_status WHERE operation = N'RESTORE DATABASE' AND major_resource_id = N'Sales'")
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        let databases = m
            .simple_query("SELECT name FROM sys.databases WHERE state_desc = N'RESTORING'")
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        restoring_as.extend(
            databases
                .iter()
                .map(|r| r.get::<&str, _>(0).unwrap().to_owned()),
        );
        if let Some(r) = rows.first() {
            seen.push(r.get::<i32, _>(0).unwrap());
            if seen.len() == 5 {
                task.abort(); // the client goes away; the restore must not
            }
            if r.get::<&str, _>(1) == Some("COMPLETED") {
                break;
            }
        }
    }
    assert!(seen.len() >= 3, "progress was visible: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress only rises: {seen:?}"
    );
    assert_eq!(*seen.last().unwrap(), 100);
    assert!(!restoring_as.is_empty(), "the database was seen restoring");
    assert!(
        restoring_as
            .iter()
            .all(|n| n != "Sales" && n.len() == 36 && n.matches('-').count() == 4),
        "under a GUID name while it restores: {restoring_as:?}"
    );
    let online = one_row(
        &mut m,
        "SELECT state_desc, recovery_model_desc FROM sys.databases WHERE name = N'Sales'",
    )
    .await;
    assert_eq!(online.get::<&str, _>(0), Some("ONLINE"));
    assert_eq!(
        online.get::<&str, _>(1),
        Some("FULL"),
        "MI sets FULL recovery"
    );

    let check = "SELECT COUNT(*) AS n, CHECKSUM_AGG(BINARY_CHECKSUM(*)) AS c FROM Sales.dbo.Orders";
    let a = one_row(&mut s, check).await;
    let b = one_row(&mut m, check).await;
    assert_eq!(a.get::<i32, _>("n"), Some(2000));
    assert_eq!(
        (a.get::<i32, _>("n"), a.get::<i32, _>("c")),
        (b.get::<i32, _>("n"), b.get::<i32, _>("c"))
    );

    assert_eq!(
        error_code(
            &mut m,
            &format!("RESTORE DATABASE Sales FROM URL = '{url1}', URL = '{url2}'")
        )
        .await,
        1801,
        "an existing name is refused on MI"
    );
    let history = one_row(&mut s, "SELECT m.device_type, m.physical_device_name FROM msdb.dbo.backupmediafamily m ORDER BY m.family_sequence_number").await;
    assert_eq!(history.get::<u8, _>(0), Some(9));
    assert_eq!(history.get::<&str, _>(1), Some(url1.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mi_refuses_a_backup_with_two_log_files() {
    let az = Azurite::start().unwrap();
    az.create_container("twologs").await.unwrap();
    let container = az.container_url("twologs");
    let sas = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "twologs",
        "racwl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE DATABASE TwoLogs; ALTER DATABASE TwoLogs ADD LOG FILE (NAME = TwoLogs_log2, FILENAME = '/var/opt/mssql/data/TwoLogs_log2.ldf', SIZE = 8MB)").await;
    let files = s
        .simple_query("SELECT type_desc FROM TwoLogs.sys.database_files ORDER BY file_id")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(
        files
            .iter()
            .map(|r| r.get::<&str, _>(0).unwrap())
            .collect::<Vec<_>>(),
        ["ROWS", "LOG", "LOG"]
    );
    exec(&mut s, &credential(&container, &sas)).await;
    exec(
        &mut s,
        &format!("BACKUP DATABASE TwoLogs TO URL = '{container}/TwoLogs.bak' WITH COPY_ONLY"),
    )
    .await;

    let dst = start(mi(), TlsMode::Required).await;
    let mut m = connect(&dst).await;
    exec(&mut m, &credential(&container, &sas)).await;
    assert_eq!(
        error_code(
            &mut m,
            &format!("RESTORE DATABASE TwoLogs FROM URL = '{container}/TwoLogs.bak'")
        )
        .await,
        41921
    );
    let gone = m
        .simple_query("SELECT COUNT(*) FROM sys.databases WHERE name = N'TwoLogs'")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.get::<i32, _>(0), Some(0), "nothing is left behind");
}
