//! Server-level DDL and logon triggers as a migration reads them (definition, events, disabled
//! state) and recreates them: CREATE TRIGGER … ON ALL SERVER keeps its batch as written.

mod common;

use common::*;
use ferry_emulator::TlsMode;

const DEFINITION: &str = "-- refuse new logins outside office hours\r\n\
CREATE TRIGGER [ddl_guard]\r\n\
ON ALL SERVER\r\n\
WITH EXECUTE AS 'sa'\r\n\
FOR DDL_LOGIN_EVENTS, CREATE_DATABASE\r\n\
AS\r\n\
BEGIN\r\n\
    SET NOCOUNT ON;\r\n\
    IF DATEPART(hour, GETDATE()) NOT BETWEEN 8 AND 18\r\n\
        ROLLBACK;   -- keep   this   spacing\r\n\
END\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_trigger_keeps_its_text_events_and_state() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, DEFINITION).await;
    // A body with its own variables: compiled as a module of its own, not with the batch.
    exec(
        &mut s,
        "CREATE TRIGGER logon_audit ON ALL SERVER FOR LOGON AS \
         DECLARE @e xml = EVENTDATA(); INSERT INTO master.dbo.x VALUES (@e)",
    )
    .await;

    let t = one_row(
        &mut s,
        "SELECT t.name, t.object_id, t.parent_class_desc, t.type, t.type_desc, t.is_ms_shipped, t.is_disabled, \
         m.definition, m.execute_as_principal_id, m.uses_ansi_nulls FROM sys.server_triggers t \
         JOIN sys.server_sql_modules m ON m.object_id = t.object_id WHERE t.name = N'ddl_guard'",
    )
    .await;
    assert_eq!(t.get::<&str, _>("parent_class_desc"), Some("SERVER"));
    assert_eq!(t.get::<&str, _>("type"), Some("TR"));
    assert_eq!(t.get::<&str, _>("type_desc"), Some("SQL_TRIGGER"));
    assert_eq!(t.get::<bool, _>("is_ms_shipped"), Some(false));
    assert_eq!(t.get::<bool, _>("is_disabled"), Some(false));
    assert_eq!(t.get::<&str, _>("definition"), Some(DEFINITION));
    let sa = one_row(
        &mut s,
        "SELECT principal_id FROM sys.server_principals WHERE name = N'sa'",
    )
    .await;
    assert_eq!(
        t.get::<i32, _>("execute_as_principal_id"),
        sa.get::<i32, _>(0)
    );
    let id = t.get::<i32, _>("object_id").unwrap();

    // The group stands for its events, each row naming the group.
    let events = s
        .simple_query(format!(
            "SELECT type, type_desc, event_group_type_desc FROM sys.server_trigger_events \
             WHERE object_id = {id} ORDER BY type"
        ))
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let got: Vec<(i32, &str, Option<&str>)> = events
        .iter()
        .map(|r| {
            (
                r.get::<i32, _>(0).unwrap(),
                r.get::<&str, _>(1).unwrap(),
                r.get::<&str, _>(2),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (144, "CREATE_LOGIN", Some("DDL_LOGIN_EVENTS")),
            (145, "ALTER_LOGIN", Some("DDL_LOGIN_EVENTS")),
            (146, "DROP_LOGIN", Some("DDL_LOGIN_EVENTS")),
            (201, "CREATE_DATABASE", None),
        ]
    );

    // Disabled state, as a migration scripts it after the CREATE.
    exec(&mut s, "DISABLE TRIGGER [ddl_guard] ON ALL SERVER").await;
    let d = one_row(
        &mut s,
        "SELECT is_disabled FROM sys.server_triggers WHERE name = N'ddl_guard'",
    )
    .await;
    assert_eq!(d.get::<bool, _>(0), Some(true));
    exec(&mut s, "ENABLE TRIGGER ALL ON ALL SERVER").await;
    let n = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.server_triggers WHERE is_disabled = 0",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(2));

    // The emulator does not run trigger bodies: the guarded DDL still happens.
    exec(&mut s, "CREATE LOGIN late WITH PASSWORD = N'Str0ng!pw'").await;

    exec(&mut s, "DROP TRIGGER ddl_guard, logon_audit ON ALL SERVER").await;
    let n = one_row(&mut s, "SELECT COUNT(*) FROM sys.server_sql_modules").await;
    assert_eq!(n.get::<i32, _>(0), Some(0));
    exec(&mut s, "DROP TRIGGER IF EXISTS ddl_guard ON ALL SERVER").await;
    // Event notifications are read the same way; the emulator has none (no Service Broker).
    let n = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.server_event_notifications",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_triggers_answer_with_sql_servers_errors() {
    let dst = start(mi(), TlsMode::Required).await;
    let mut d = connect(&dst).await;
    assert_eq!(
        error_code(
            &mut d,
            "CREATE TRIGGER t ON ALL SERVER FOR CREATE_LOGINS AS PRINT 1"
        )
        .await,
        1084
    );
    assert_eq!(
        error_code(
            &mut d,
            "CREATE TRIGGER t ON ALL SERVER FOR CREATE_LOGIN, create_login AS PRINT 1"
        )
        .await,
        1095
    );
    assert_eq!(
        error_code(
            &mut d,
            "CREATE TRIGGER t ON ALL SERVER WITH EXECUTE AS OWNER FOR LOGON AS PRINT 1"
        )
        .await,
        1083
    );
    assert_eq!(
        error_code(
            &mut d,
            "CREATE TRIGGER t ON ALL SERVER WITH EXECUTE AS 'nobody' FOR LOGON AS PRINT 1"
        )
        .await,
        15406
    );
    assert_eq!(
        error_code(
            &mut d,
            "SELECT 1; CREATE TRIGGER t ON ALL SERVER FOR LOGON AS PRINT 1"
        )
        .await,
        111
    );
    exec(
        &mut d,
        "CREATE TRIGGER t ON ALL SERVER FOR DDL_SERVER_LEVEL_EVENTS AS PRINT 1",
    )
    .await;
    assert_eq!(
        error_code(
            &mut d,
            "CREATE TRIGGER T ON ALL SERVER FOR LOGON AS PRINT 1"
        )
        .await,
        2714
    );
    assert_eq!(
        error_code(&mut d, "DISABLE TRIGGER nope ON ALL SERVER").await,
        1088
    );
    assert_eq!(
        error_code(&mut d, "DROP TRIGGER nope ON ALL SERVER").await,
        3701
    );
    // A rolled-back CREATE TRIGGER leaves nothing behind: the catalog is transactional.
    exec(
        &mut d,
        "BEGIN TRAN; EXEC ('CREATE TRIGGER t2 ON ALL SERVER FOR LOGON AS PRINT 2'); ROLLBACK",
    )
    .await;
    let n = one_row(&mut d, "SELECT COUNT(*) FROM sys.server_triggers").await;
    assert_eq!(n.get::<i32, _>(0), Some(1));
    // WITH ENCRYPTION hides the definition.
    exec(
        &mut d,
        "CREATE TRIGGER hidden ON ALL SERVER WITH ENCRYPTION FOR CREATE_DATABASE AS PRINT 3",
    )
    .await;
    let m = one_row(
        &mut d,
        "SELECT m.definition FROM sys.server_sql_modules m JOIN sys.server_triggers t ON t.object_id = m.object_id WHERE t.name = N'hidden'",
    )
    .await;
    assert_eq!(m.get::<&str, _>(0), None);
}
