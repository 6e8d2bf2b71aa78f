//! Server configuration (`sys.configurations`, sp_configure, RECONFIGURE) and user-defined
//! messages (`sys.messages`, sp_addmessage, sp_dropmessage) on SQL Server and on a Managed
//! Instance.

mod common;

use common::*;
use ferry_emulator::{Server, ServerOptions, TlsMode};
use tiberius::Row;

async fn rows(c: &mut C, sql: &str) -> Vec<Row> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn option(c: &mut C, name: &str) -> (i32, i32) {
    let r = one_row(
        c,
        &format!("SELECT CAST(value AS int), CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'{name}'"),
    )
    .await;
    (r.get::<i32, _>(0).unwrap(), r.get::<i32, _>(1).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_configurations_lists_sql_servers_options() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let row = one_row(
        &mut c,
        "SELECT configuration_id, name, value, minimum, maximum, value_in_use, description, is_dynamic, is_advanced FROM sys.configurations WHERE name = N'max degree of parallelism'",
    )
    .await;
    assert_eq!(row.get::<i32, _>(0), Some(1539));
    assert_eq!(
        row.get::<i32, _>(2),
        Some(0),
        "value is a sql_variant holding int"
    );
    assert_eq!(row.get::<i32, _>(4), Some(32767));
    assert_eq!(row.get::<&str, _>(6), Some("maximum degree of parallelism"));
    assert_eq!(row.get::<bool, _>(7), Some(true));
    assert_eq!(row.get::<bool, _>(8), Some(true));
    let n = one_row(&mut c, "SELECT COUNT(*) FROM sys.configurations")
        .await
        .get::<i32, _>(0)
        .unwrap();
    assert!(n > 80, "{n} options");
    assert_eq!(
        one_row(&mut c, "SELECT COUNT(*) FROM master.sys.configurations WHERE name IN (N'xp_cmdshell', N'remote access', N'Database Mail XPs')").await.get::<i32, _>(0),
        Some(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sp_configure_shows_sets_and_reconfigure_installs() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    // Without show advanced options, advanced options are hidden.
    let basic = rows(&mut c, "EXEC sp_configure").await;
    let names: Vec<String> = basic
        .iter()
        .map(|r| r.get::<&str, _>("name").unwrap().to_owned())
        .collect();
    assert!(names.contains(&"show advanced options".to_owned()));
    assert!(!names.contains(&"max degree of parallelism".to_owned()));
    assert_eq!(
        basic[0]
            .columns()
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>(),
        ["name", "minimum", "maximum", "config_value", "run_value"]
    );
    assert_eq!(
        error_code(&mut c, "EXEC sp_configure 'Database Mail XPs', 1").await,
        15123
    );
    exec(
        &mut c,
        "EXEC sp_configure 'show advanced options', 1; RECONFIGURE",
    )
    .await;
    assert!(rows(&mut c, "EXEC sp_configure").await.len() > basic.len());
    // A dynamic option: configured, then in use after RECONFIGURE.
    exec(&mut c, "EXEC sp_configure 'Database Mail XPs', 1").await;
    assert_eq!(option(&mut c, "Database Mail XPs").await, (1, 0));
    exec(&mut c, "RECONFIGURE WITH OVERRIDE").await;
    assert_eq!(option(&mut c, "Database Mail XPs").await, (1, 1));
    let one = rows(&mut c, "EXEC sp_configure 'Database Mail XPs'").await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].get::<i32, _>("run_value"), Some(1));
    // A static one waits for a restart.
    exec(&mut c, "EXEC sp_configure 'priority boost', 1\nRECONFIGURE").await;
    assert_eq!(option(&mut c, "priority boost").await, (1, 0));
    // Errors.
    assert_eq!(
        error_code(
            &mut c,
            "EXEC sp_configure 'max degree of parallelism', 40000"
        )
        .await,
        15129
    );
    assert_eq!(
        error_code(&mut c, "EXEC sp_configure 'no such option'").await,
        15123
    );
    assert_eq!(error_code(&mut c, "EXEC sp_configure 'max'").await, 15124);
    exec(&mut c, "EXEC sp_configure 'allow updates', 1").await;
    assert_eq!(error_code(&mut c, "RECONFIGURE WITH OVERRIDE").await, 5808);
    exec(
        &mut c,
        "EXEC sp_configure 'allow updates', 0; EXEC sp_configure 'recovery interval (min)', 120",
    )
    .await;
    assert_eq!(error_code(&mut c, "RECONFIGURE").await, 5807);
    exec(&mut c, "RECONFIGURE WITH OVERRIDE").await;
    assert_eq!(error_code(&mut c, "BEGIN TRAN; RECONFIGURE").await, 574);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_instance_has_no_options_it_does_not_support() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "EXEC sp_configure 'show advanced options', 1; RECONFIGURE",
    )
    .await;
    for name in [
        "remote access",
        "allow updates",
        "xp_cmdshell",
        "scan for startup procs",
        "filestream access level",
        "remote proc trans",
        "remote data archive",
        "allow polybase export",
    ] {
        assert_eq!(
            error_code(&mut c, &format!("EXEC sp_configure '{name}', 0")).await,
            15123,
            "{name}"
        );
        assert_eq!(
            one_row(
                &mut c,
                &format!("SELECT COUNT(*) FROM sys.configurations WHERE name = N'{name}'")
            )
            .await
            .get::<i32, _>(0),
            Some(0)
        );
    }
    exec(&mut c, "EXEC sp_configure 'Database Mail XPs', 1; EXEC sp_configure 'Ole Automation Procedures', 1; RECONFIGURE").await;
    assert_eq!(option(&mut c, "Database Mail XPs").await, (1, 1));
    assert_eq!(
        one_row(
            &mut c,
            "SELECT COUNT(*) FROM sys.configurations WHERE name = N'suppress recovery model errors'"
        )
        .await
        .get::<i32, _>(0),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_defined_messages() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "EXEC sp_addmessage 50001, 16, N'Order %d was not found.'",
    )
    .await;
    exec(&mut c, "EXEC sp_addmessage @msgnum = 50002, @severity = 10, @msgtext = N'Audit %s', @lang = 'us_english', @with_log = 'TRUE'").await;
    let m = rows(&mut c, "SELECT message_id, language_id, severity, is_event_logged, text FROM sys.messages WHERE message_id > 50000 ORDER BY message_id").await;
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].get::<i32, _>(0), Some(50001));
    assert_eq!(m[0].get::<i16, _>(1), Some(1033));
    assert_eq!(m[0].get::<u8, _>(2), Some(16));
    assert_eq!(m[0].get::<bool, _>(3), Some(false));
    assert_eq!(m[1].get::<bool, _>(3), Some(true));
    assert_eq!(m[0].get::<&str, _>(4), Some("Order %d was not found."));
    assert_eq!(
        error_code(&mut c, "EXEC sp_addmessage 50001, 16, N'again'").await,
        15043
    );
    exec(
        &mut c,
        "EXEC sp_addmessage 50001, 11, N'again', @replace = 'replace'",
    )
    .await;
    assert_eq!(
        one_row(
            &mut c,
            "SELECT severity FROM sys.messages WHERE message_id = 50001"
        )
        .await
        .get::<u8, _>(0),
        Some(11)
    );
    assert_eq!(
        error_code(&mut c, "EXEC sp_addmessage 50000, 16, N'low'").await,
        15040
    );
    assert_eq!(
        error_code(&mut c, "EXEC sp_addmessage 50003, 26, N'high'").await,
        15041
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC sp_addmessage 50003, 16, N'x', @with_log = 'maybe'"
        )
        .await,
        15271
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC sp_addmessage 50003, 16, N'x', @lang = 'Klingon'"
        )
        .await,
        15033
    );
    // RAISERROR by number raises the stored text, formatted, with the number.
    let Err(err) = c.simple_query("RAISERROR(50001, 16, 1, 42)").await else {
        panic!("not raised")
    };
    match err {
        tiberius::error::Error::Server(e) => {
            assert_eq!(e.code(), 50001);
            assert_eq!(e.message(), "again");
        }
        other => panic!("{other:?}"),
    }
    exec(
        &mut c,
        "EXEC sp_addmessage 50004, 16, N'Order %d was not found.'",
    )
    .await;
    let Err(err) = c.simple_query("RAISERROR(50004, -1, 1, 42)").await else {
        panic!("not raised")
    };
    match err {
        tiberius::error::Error::Server(e) => {
            assert_eq!((e.code(), e.class()), (50004, 16));
            assert_eq!(e.message(), "Order 42 was not found.");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error_code(&mut c, "RAISERROR(59999, 16, 1)").await, 18054);
    exec(&mut c, "EXEC sp_dropmessage 50004").await;
    exec(&mut c, "EXEC sp_dropmessage 50002").await;
    assert_eq!(error_code(&mut c, "EXEC sp_dropmessage 50002").await, 15179);
    assert_eq!(error_code(&mut c, "EXEC sp_dropmessage 2812").await, 15178);
    assert_eq!(
        rows(&mut c, "SELECT message_id FROM sys.messages")
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_installs_static_options_and_keeps_msdb() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "EXEC sp_configure 'show advanced options', 1; RECONFIGURE",
    )
    .await;
    exec(&mut c, "EXEC sp_configure 'priority boost', 1; RECONFIGURE").await;
    exec(&mut c, "EXEC sp_addmessage 50010, 16, N'kept'").await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'Kept'").await;
    assert_eq!(option(&mut c, "priority boost").await, (1, 0));
    drop(c);
    let options = ServerOptions::local(sql2019(), r._data.path(), PASSWORD);
    let certs = std::sync::Arc::new(ferry_emulator::ServerTls::generate(&[]).unwrap());
    let addr = r.server.addr;
    let Running { server, ca, _data } = r;
    drop(server);
    std::fs::write(ca.path(), &certs.ca_pem).unwrap();
    let again = Running {
        server: std::sync::Arc::new(Server::start(addr, options, certs).await.unwrap()),
        ca,
        _data,
    };
    let mut c = connect(&again).await;
    assert_eq!(option(&mut c, "priority boost").await, (1, 1));
    assert_eq!(
        one_row(
            &mut c,
            "SELECT COUNT(*) FROM msdb.dbo.sysjobs WHERE name = N'Kept'"
        )
        .await
        .get::<i32, _>(0),
        Some(1)
    );
    assert_eq!(
        one_row(
            &mut c,
            "SELECT COUNT(*) FROM sys.messages WHERE message_id = 50010"
        )
        .await
        .get::<i32, _>(0),
        Some(1)
    );
    assert_eq!(
        one_row(
            &mut c,
            "SELECT COUNT(*) FROM msdb.dbo.syscategories WHERE category_id < 100"
        )
        .await
        .get::<i32, _>(0),
        Some(21),
        "the permanent categories are seeded once"
    );
}
