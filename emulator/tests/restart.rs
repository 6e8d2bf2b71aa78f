//! A server stopped and started again on the same port and data directory comes back as it
//! was — logins, credentials, databases, msdb history — and a restore that was running on the
//! MI carries on from where it stood. While it is down, clients find nothing listening.

mod common;

use std::time::Duration;

use common::*;
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Fault, Server, ServerOptions, TlsMode};

/// Polls `sql`'s first column (a string) until `done` says so; panics after a generous
/// hang guard.
async fn wait_for(r: &Running, sql: &str, done: impl Fn(&str) -> bool) -> String {
    for _ in 0..600 {
        let mut c = connect(r).await;
        let v = scalar_string(&mut c, sql).await;
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{sql} never reached the expected value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_keeps_its_catalog_and_data() {
    let r = start(sql2019(), TlsMode::Required).await;
    let backup = r._data.path().join("Shop.bak");
    let mut c = connect(&r).await;
    for sql in [
        "CREATE LOGIN [app] WITH PASSWORD = N'App#Pa55word', CHECK_POLICY = OFF",
        "CREATE CREDENTIAL [https://acct.blob.core.windows.net/c] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = 'sv=2022&sig=kept-secret'",
        "CREATE DATABASE Shop",
        "CREATE TABLE Shop.dbo.Items (Id int PRIMARY KEY, Name nvarchar(20))",
        "INSERT INTO Shop.dbo.Items VALUES (1, N'one'), (2, N'two')",
        "CREATE TABLE tempdb.dbo.Scratch (Id int)",
    ] {
        exec(&mut c, sql).await;
    }
    exec(
        &mut c,
        &format!("BACKUP DATABASE Shop TO DISK = '{}'", backup.display()),
    )
    .await;
    let hash_before = one_row(&mut c, "SELECT LOGINPROPERTY('app', 'PasswordHash')")
        .await
        .get::<&[u8], _>(0)
        .unwrap()
        .to_vec();
    drop(c);

    r.server.stop().await;
    assert!(!r.server.is_running());
    assert!(
        tokio::net::TcpStream::connect(r.server.addr).await.is_err(),
        "nothing listens while the server is down"
    );
    assert!(r.server.run_sql("SELECT 1").is_err());
    r.server.restart().await.unwrap();

    let mut c = connect(&r).await;
    assert_eq!(
        scalar_string(&mut c, "SELECT Name FROM Shop.dbo.Items WHERE Id = 2").await,
        "two"
    );
    let hash_after = one_row(&mut c, "SELECT LOGINPROPERTY('app', 'PasswordHash')")
        .await
        .get::<&[u8], _>(0)
        .unwrap()
        .to_vec();
    assert_eq!(hash_before, hash_after, "the login keeps its hash");
    assert_eq!(
        scalar_string(
            &mut c,
            "SELECT CAST(COUNT(*) AS nvarchar(10)) FROM msdb.dbo.backupset WHERE database_name = 'Shop'"
        )
        .await,
        "1",
        "msdb history survives"
    );
    assert_eq!(
        r.server
            .credential("https://acct.blob.core.windows.net/c")
            .map(|c| c.1),
        Some(Some("sv=2022&sig=kept-secret".to_owned())),
        "the credential keeps its secret in the emulator's store"
    );
    assert_eq!(
        error_code(&mut c, "SELECT * FROM tempdb.dbo.Scratch").await,
        208,
        "tempdb starts empty, as SQL Server re-creates it at every start"
    );
    let app = connect_with(
        &r,
        tiberius::AuthMethod::sql_server("app", "App#Pa55word"),
        tiberius::EncryptionLevel::Required,
    )
    .await;
    assert!(app.is_ok(), "the login created before the restart logs in");
    // The restore of the backup taken before the restart still finds its history chain.
    exec(
        &mut c,
        &format!(
            "RESTORE DATABASE ShopCopy FROM DISK = '{}'",
            backup.display()
        ),
    )
    .await;
    drop(c);

    // A second server cannot open a directory that is in use ...
    let options = ServerOptions::local(sql2019(), r._data.path(), PASSWORD);
    let certs = std::sync::Arc::new(ferry_emulator::ServerTls::generate(&[]).unwrap());
    let err = Server::start(
        "127.0.0.1:0".parse().unwrap(),
        options.clone(),
        certs.clone(),
    )
    .await
    .err()
    .expect("the directory is locked");
    assert!(err.to_string().contains("in use"), "{err}");
    // ... but a new server on the same port and directory, once the first is gone, is the
    // same server.
    let addr = r.server.addr;
    let Running { server, ca, _data } = r;
    drop(server);
    std::fs::write(ca.path(), &certs.ca_pem).unwrap();
    let again = Running {
        server: std::sync::Arc::new(Server::start(addr, options, certs).await.unwrap()),
        ca,
        _data,
    };
    let mut c = connect_with(
        &again,
        tiberius::AuthMethod::sql_server("sa", PASSWORD),
        tiberius::EncryptionLevel::Required,
    )
    .await
    .unwrap();
    assert_eq!(
        scalar_string(&mut c, "SELECT Name FROM ShopCopy.dbo.Items WHERE Id = 1").await,
        "one"
    );
}

/// Sales (one row, 7) backed up into Azurite's `backups` container: the backup's URL, and the
/// statement that gives a server a Read+List credential for the container.
async fn sales_backup(az: &Azurite) -> (String, String) {
    az.create_container("backups").await.unwrap();
    let container = az.container_url("backups");
    let credential = |perms| {
        let sas = azurite::devstore_container_sas("backups", perms).unwrap();
        format!(
            "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
        )
    };
    let src = start(sql2019(), TlsMode::Required).await;
    src.server
        .run_sql("CREATE DATABASE Sales; CREATE TABLE Sales.dbo.T (Id int); INSERT INTO Sales.dbo.T VALUES (7)")
        .unwrap();
    let mut s = connect(&src).await;
    exec(&mut s, &credential("racwl")).await;
    let url = format!("{container}/Sales/Sales.bak");
    exec(
        &mut s,
        &format!("BACKUP DATABASE Sales TO URL = '{url}' WITH COPY_ONLY, CHECKSUM"),
    )
    .await;
    (url, credential("rl"))
}

/// An MI whose restores take 40 virtual seconds at 20× speed (two real seconds, a tick of 50 ms
/// being 2.5 %), a client on it holding the credential for the Sales backup at the URL given.
async fn mi_with_sales_backup() -> (Azurite, String, Running, C) {
    let az = Azurite::start().unwrap();
    let (url, read_credential) = sales_backup(&az).await;
    let mi = start(mi(), TlsMode::Required).await;
    mi.server.set_restore_time(Some(Duration::from_secs(40)));
    mi.server.clock().set_speed(20.0);
    let mut m = connect(&mi).await;
    exec(&mut m, &read_credential).await;
    (az, url, mi, m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_in_flight_carries_on_after_a_restart() {
    let (_az, url, mi, mut m) = mi_with_sales_backup().await;
    // The client walks away as soon as the restore has started; it runs on in the background.
    mi.server
        .inject(Fault::disconnect_during("RESTORE DATABASE").times(1));
    let _ = m
        .simple_query(format!("RESTORE DATABASE Sales FROM URL = '{url}'"))
        .await;
    let progress = "SELECT CAST(percent_complete AS nvarchar(10)) FROM sys.dm_operation_status WHERE major_resource_id = 'Sales'";
    let before: i32 = wait_for(&mi, progress, |p| p.parse::<i32>().unwrap_or(0) >= 25)
        .await
        .parse()
        .unwrap();
    mi.server.stop().await;
    assert!(
        tokio::net::TcpStream::connect(mi.server.addr)
            .await
            .is_err()
    );
    mi.server.restart().await.unwrap();

    let mut m = connect(&mi).await;
    // Still restoring, under its GUID name (methods.md §4.4).
    assert_eq!(
        scalar_string(
            &mut m,
            "SELECT CAST(COUNT(*) AS nvarchar(5)) FROM sys.databases WHERE state_desc = 'RESTORING' AND name <> 'Sales'"
        )
        .await,
        "1"
    );
    // The next tick after the restart goes on from where the restore stood: no new start.
    let after: i32 = wait_for(&mi, progress, |p| p.parse::<i32>().unwrap_or(0) != before)
        .await
        .parse()
        .unwrap();
    assert!(
        after > before,
        "progress went on from {before} % (first after the restart: {after} %)"
    );
    wait_for(
        &mi,
        "SELECT CAST(COUNT(*) AS nvarchar(5)) FROM sys.databases WHERE name = 'Sales' AND state_desc = 'ONLINE'",
        |s| s == "1",
    )
    .await;
    assert_eq!(
        scalar_string(&mut m, "SELECT CAST(Id AS nvarchar(5)) FROM Sales.dbo.T").await,
        "7"
    );
}

/// A server that stops while a client waits on its RESTORE answers nothing: the client's
/// connection drops, as when SQL Server goes down or an MI fails over (no server error is
/// made up for it), and the restore carries on once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_waiting_on_a_restore_loses_its_connection_when_the_server_stops() {
    let (_az, url, mi, mut m) = mi_with_sales_backup().await;
    let waiting = tokio::spawn(async move {
        let r = m
            .simple_query(format!("RESTORE DATABASE Sales FROM URL = '{url}'"))
            .await;
        match r {
            Ok(stream) => stream.into_results().await.map(|_| ()),
            Err(e) => Err(e),
        }
    });
    let progress = "SELECT CAST(percent_complete AS nvarchar(10)) FROM sys.dm_operation_status WHERE major_resource_id = 'Sales'";
    wait_for(&mi, progress, |p| p.parse::<i32>().unwrap_or(0) >= 25).await;
    mi.server.stop().await;
    match waiting.await.unwrap() {
        Err(tiberius::error::Error::Server(e)) => {
            panic!(
                "a stopped server answered the RESTORE with error {}: {}",
                e.code(),
                e.message()
            )
        }
        Err(_) => {}
        Ok(()) => panic!("the RESTORE finished although its server stopped"),
    }
    mi.server.restart().await.unwrap();
    wait_for(
        &mi,
        "SELECT CAST(COUNT(*) AS nvarchar(5)) FROM sys.databases WHERE name = 'Sales' AND state_desc = 'ONLINE'",
        |s| s == "1",
    )
    .await;
}
