//! Database Mail's configuration in msdb: accounts, profiles and their links through the
//! sysmail_*_sp procedures, with the SMTP password kept out of every readable table.

mod common;

use common::*;
use ferry_emulator::TlsMode;

async fn count(c: &mut C, sql: &str) -> i32 {
    one_row(c, sql).await.get::<i32, _>(0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_profiles_and_their_links() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let id = one_row(
        &mut c,
        "DECLARE @a int; EXEC msdb.dbo.sysmail_add_account_sp @account_name = N'Relay', @email_address = N'sql@contoso.example', @display_name = N'SQL', @mailserver_name = N'smtp.contoso.example', @port = 587, @username = N'relay-user', @password = N'Sm7p-Secret!', @enable_ssl = 1, @account_id = @a OUTPUT; SELECT @a",
    )
    .await
    .get::<i32, _>(0);
    assert_eq!(id, Some(1));
    let s = one_row(&mut c, "SELECT servertype, servername, port, username, enable_ssl, use_default_credentials FROM msdb.dbo.sysmail_server WHERE account_id = 1").await;
    assert_eq!(s.get::<&str, _>(0), Some("SMTP"));
    assert_eq!(s.get::<&str, _>(1), Some("smtp.contoso.example"));
    assert_eq!(s.get::<i32, _>(2), Some(587));
    assert_eq!(s.get::<&str, _>(3), Some("relay-user"));
    assert_eq!(s.get::<bool, _>(4), Some(true));
    // The password is in no table a client can read.
    for table in [
        "sysmail_account",
        "sysmail_server",
        "sysmail_profile",
        "sysmail_profileaccount",
    ] {
        let rows = c
            .simple_query(format!("SELECT * FROM msdb.dbo.{table}"))
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        assert!(!format!("{rows:?}").contains("Sm7p-Secret!"), "{table}");
    }
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sysmail_add_account_sp @account_name = N'Relay', @email_address = N'x@contoso.example'").await,
        2627
    );
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sysmail_add_account_sp @account_name = N'NoUser', @email_address = N'x@contoso.example', @password = N'p'").await,
        14615
    );
    exec(&mut c, "EXEC msdb.dbo.sysmail_add_profile_sp @profile_name = N'AzureManagedInstance_dbmail_profile', @description = N'Agent mail'").await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sysmail_add_profile_sp @profile_name = N'AzureManagedInstance_dbmail_profile'").await,
        2627
    );
    exec(&mut c, "EXEC msdb.dbo.sysmail_add_profileaccount_sp @profile_name = N'AzureManagedInstance_dbmail_profile', @account_name = N'Relay', @sequence_number = 1").await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sysmail_add_profileaccount_sp @profile_name = N'Nope', @account_name = N'Relay', @sequence_number = 1").await,
        14607
    );
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sysmail_add_profileaccount_sp @account_name = N'Relay', @sequence_number = 1").await,
        14604
    );
    exec(&mut c, "EXEC msdb.dbo.sysmail_add_principalprofile_sp @principal_name = N'public', @profile_name = N'AzureManagedInstance_dbmail_profile', @is_default = 1").await;
    let p = one_row(
        &mut c,
        "SELECT principal_sid, is_default FROM msdb.dbo.sysmail_principalprofile",
    )
    .await;
    assert_eq!(p.get::<&[u8], _>(0), Some(&[0u8][..]));
    assert_eq!(p.get::<bool, _>(1), Some(true));
    exec(&mut c, "EXEC msdb.dbo.sysmail_update_account_sp @account_name = N'Relay', @port = 465, @display_name = N'SQL Server'").await;
    assert_eq!(
        count(&mut c, "SELECT port FROM msdb.dbo.sysmail_server").await,
        465
    );
    exec(&mut c, "EXEC msdb.dbo.sysmail_delete_profileaccount_sp @profile_name = N'AzureManagedInstance_dbmail_profile', @account_name = N'Relay'").await;
    exec(&mut c, "EXEC msdb.dbo.sysmail_delete_principalprofile_sp @principal_name = N'public', @profile_name = N'AzureManagedInstance_dbmail_profile'").await;
    exec(&mut c, "EXEC msdb.dbo.sysmail_delete_profile_sp @profile_name = N'AzureManagedInstance_dbmail_profile'").await;
    exec(
        &mut c,
        "EXEC msdb.dbo.sysmail_delete_account_sp @account_name = N'Relay'",
    )
    .await;
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysmail_account").await,
        0
    );
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysmail_server").await,
        0
    );
    assert_eq!(
        count(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysmail_profile").await,
        0
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sysmail_delete_account_sp @account_name = N'Relay'"
        )
        .await,
        14607
    );
}
