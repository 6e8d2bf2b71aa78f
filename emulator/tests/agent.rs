//! SQL Server Agent in msdb: the tables a migration tool reads, the procedures it recreates
//! objects with, their errors, and the Managed Instance's refusals.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use tiberius::Row;

async fn rows(c: &mut C, sql: &str) -> Vec<Row> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn int(c: &mut C, sql: &str) -> i64 {
    let row = one_row(c, sql).await;
    row.try_get::<i32, _>(0)
        .ok()
        .flatten()
        .map(i64::from)
        .or_else(|| row.try_get::<u8, _>(0).ok().flatten().map(i64::from))
        .or_else(|| row.try_get::<i64, _>(0).ok().flatten())
        .unwrap_or_else(|| panic!("{sql}: no integer in {row:?}"))
}

async fn sql2019_client() -> (Running, C) {
    let r = start(sql2019(), TlsMode::Required).await;
    let c = connect(&r).await;
    (r, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msdb_has_the_agent_tables_and_seeded_categories() {
    let (_r, mut c) = sql2019_client().await;
    for table in [
        "sysjobs",
        "sysjobsteps",
        "sysschedules",
        "sysjobschedules",
        "sysjobservers",
        "syscategories",
        "sysoperators",
        "sysalerts",
        "sysnotifications",
        "sysproxies",
        "sysproxylogin",
        "sysproxysubsystem",
        "syssubsystems",
        "sysjobs_view",
        "sysjobhistory",
    ] {
        exec(&mut c, &format!("SELECT TOP 1 * FROM msdb.dbo.{table}")).await;
    }
    exec(
        &mut c,
        "SELECT job_id, name, enabled, description, owner_sid, category_id, start_step_id, notify_level_email, notify_email_operator_id, notify_level_eventlog, delete_level FROM msdb.dbo.sysjobs",
    )
    .await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'Viewed'").await;
    let v = one_row(
        &mut c,
        "SELECT originating_server, name, master_server, originating_server_id FROM msdb.dbo.sysjobs_view",
    )
    .await;
    assert_eq!(v.get::<&str, _>(0), Some("SRC01"));
    assert_eq!(v.get::<&str, _>(1), Some("Viewed"));
    assert_eq!(v.get::<bool, _>(2), Some(false));
    assert_eq!(v.get::<i32, _>(3), Some(0));
    let r = one_row(
        &mut c,
        "SELECT name, category_class, category_type FROM msdb.dbo.syscategories WHERE category_id = 0",
    )
    .await;
    assert_eq!(r.get::<&str, _>(0), Some("[Uncategorized (Local)]"));
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.syscategories WHERE name = N'Database Maintenance' AND category_class = 1").await,
        1
    );
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.syssubsystems WHERE subsystem IN (N'TSQL', N'CmdExec', N'PowerShell', N'SSIS', N'Merge')").await,
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sp_add_job_returns_its_id_and_validates_as_msdb_does() {
    let (_r, mut c) = sql2019_client().await;
    let row = one_row(
        &mut c,
        "DECLARE @id uniqueidentifier; EXEC msdb.dbo.sp_add_job @job_name = N'Nightly', @job_id = @id OUTPUT; SELECT @id",
    )
    .await;
    let id = row.get::<tiberius::Uuid, _>(0).expect("a job id");
    let stored = one_row(&mut c, "SELECT job_id, description, category_id, notify_level_eventlog FROM msdb.dbo.sysjobs WHERE name = N'Nightly'").await;
    assert_eq!(stored.get::<tiberius::Uuid, _>(0), Some(id));
    assert_eq!(stored.get::<&str, _>(1), Some("No description available."));
    assert_eq!(stored.get::<i32, _>(2), Some(0));
    assert_eq!(
        stored.get::<i32, _>(3),
        Some(2),
        "sp_add_job's default event log level"
    );
    // The owner defaults to the caller.
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysjobs j JOIN sys.server_principals p ON p.sid = j.owner_sid WHERE p.name = N'sa'").await,
        1
    );
    // Duplicate name: 14261. An owner that is no login: 14234 (sp_verify_job).
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'Nightly'").await,
        14261
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_job @job_name = N'Other', @owner_login_name = N'nobody'"
        )
        .await,
        14234
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_job @job_name = N'Other', @category_name = N'No such category'"
        )
        .await,
        14234
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_job @job_name = N'Other', @enabled = 3"
        )
        .await,
        14266
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_job @job_name = N'Other', @bogus = 1"
        )
        .await,
        8145
    );
    // The procedure lives in msdb: not found from master unless qualified.
    assert_eq!(
        error_code(&mut c, "EXEC sp_add_job @job_name = N'Other'").await,
        2812
    );
    exec(
        &mut c,
        "EXEC msdb..sp_add_job N'Positional', 0, N'by position'",
    )
    .await;
    let r = one_row(
        &mut c,
        "SELECT enabled, description FROM msdb.dbo.sysjobs WHERE name = N'Positional'",
    )
    .await;
    assert_eq!(r.get::<u8, _>(0), Some(0));
    assert_eq!(r.get::<&str, _>(1), Some("by position"));
    exec(
        &mut c,
        "USE msdb; EXEC dbo.sp_add_job @job_name = N'From msdb'",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_steps_are_checked_and_numbered() {
    let (_r, mut c) = sql2019_client().await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'J'").await;
    let add = |rest: &str| format!("EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', {rest}");
    exec(&mut c, &add("@step_name = N'one', @command = N'SELECT 1', @database_name = N'Sales', @on_success_action = 3")).await;
    exec(&mut c, &add("@step_name = N'two', @subsystem = N'CmdExec', @command = N'dir', @database_name = N'Sales'")).await;
    let r = one_row(&mut c, "SELECT subsystem, database_name, on_fail_action, step_uid FROM msdb.dbo.sysjobsteps WHERE step_name = N'two'").await;
    assert_eq!(r.get::<&str, _>(0), Some("CmdExec"));
    assert_eq!(r.get::<&str, _>(1), None, "CmdExec steps have no database");
    assert_eq!(r.get::<u8, _>(2), Some(2));
    assert!(r.get::<tiberius::Uuid, _>(3).is_some());
    assert_eq!(
        error_code(&mut c, &add("@step_name = N'x', @subsystem = N'Nope'")).await,
        14234
    );
    assert_eq!(error_code(&mut c, &add("@step_name = N'one'")).await, 14261);
    assert_eq!(
        error_code(&mut c, &add("@step_name = N'x', @on_success_action = 9")).await,
        14266
    );
    assert_eq!(
        error_code(
            &mut c,
            &add("@step_name = N'x', @step_id = 3, @on_fail_action = 4, @on_fail_step_id = 3")
        )
        .await,
        14235
    );
    assert_eq!(
        error_code(
            &mut c,
            &add("@step_name = N'x', @database_name = N'NoSuchDb'")
        )
        .await,
        14262
    );
    assert_eq!(
        error_code(&mut c, &add("@step_name = N'x', @step_id = 7")).await,
        14266
    );
    assert_eq!(
        error_code(
            &mut c,
            &add("@step_name = N'x', @proxy_name = N'NoProxy', @subsystem = N'CmdExec'")
        )
        .await,
        14262
    );
    // Inserting at step 1 moves the others up.
    exec(&mut c, &add("@step_name = N'zero', @step_id = 1")).await;
    let steps = rows(
        &mut c,
        "SELECT step_id, step_name FROM msdb.dbo.sysjobsteps ORDER BY step_id",
    )
    .await;
    let names: Vec<_> = steps
        .iter()
        .map(|r| r.get::<&str, _>(1).unwrap().to_owned())
        .collect();
    assert_eq!(names, ["zero", "one", "two"]);
    exec(&mut c, "EXEC msdb.dbo.sp_update_jobstep @job_name = N'J', @step_id = 2, @command = N'SELECT 2', @retry_attempts = 3").await;
    let r = one_row(
        &mut c,
        "SELECT command, retry_attempts, database_name FROM msdb.dbo.sysjobsteps WHERE step_id = 2",
    )
    .await;
    assert_eq!(r.get::<&str, _>(0), Some("SELECT 2"));
    assert_eq!(r.get::<i32, _>(1), Some(3));
    assert_eq!(r.get::<&str, _>(2), Some("Sales"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_validated_attached_and_deleted() {
    let (_r, mut c) = sql2019_client().await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'J'").await;
    let id = int(
        &mut c,
        "DECLARE @sid int; EXEC msdb.dbo.sp_add_schedule @schedule_name = N'Weekly', @freq_type = 8, @freq_interval = 2, @freq_recurrence_factor = 1, @active_start_time = 233000, @schedule_id = @sid OUTPUT; SELECT @sid",
    )
    .await;
    let r = one_row(&mut c, &format!("SELECT freq_type, freq_interval, freq_subday_type, active_end_date, active_end_time FROM msdb.dbo.sysschedules WHERE schedule_id = {id}")).await;
    assert_eq!(
        (
            r.get::<i32, _>(0),
            r.get::<i32, _>(1),
            r.get::<i32, _>(2),
            r.get::<i32, _>(3),
            r.get::<i32, _>(4)
        ),
        (Some(8), Some(2), Some(1), Some(99991231), Some(235959))
    );
    exec(
        &mut c,
        &format!("EXEC msdb.dbo.sp_attach_schedule @job_name = N'J', @schedule_id = {id}"),
    )
    .await;
    // sp_update_schedule keeps what it is not given, and checks the result.
    exec(&mut c, "EXEC msdb.dbo.sp_update_schedule @name = N'Weekly', @freq_interval = 65, @new_name = N'Weekend'").await;
    let u = one_row(&mut c, &format!("SELECT name, freq_type, freq_interval, freq_recurrence_factor, active_start_time FROM msdb.dbo.sysschedules WHERE schedule_id = {id}")).await;
    assert_eq!(u.get::<&str, _>(0), Some("Weekend"));
    assert_eq!(
        (
            u.get::<i32, _>(1),
            u.get::<i32, _>(2),
            u.get::<i32, _>(3),
            u.get::<i32, _>(4)
        ),
        (Some(8), Some(65), Some(1), Some(233000))
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_update_schedule @name = N'Weekend', @freq_interval = 0"
        )
        .await,
        14278
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_update_schedule @name = N'Nope', @enabled = 0"
        )
        .await,
        14262
    );
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_update_schedule @name = N'Weekend', @new_name = N'Weekly'",
    )
    .await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_jobschedule @job_name = N'J', @name = N'Daily', @freq_type = 4, @freq_interval = 1").await;
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysjobschedules").await,
        2
    );
    // The freq_* checks of sp_verify_schedule.
    let bad = |rest: &str| format!("EXEC msdb.dbo.sp_add_schedule @schedule_name = N'Bad', {rest}");
    assert_eq!(error_code(&mut c, &bad("@freq_type = 3")).await, 14266);
    assert_eq!(error_code(&mut c, &bad("@freq_type = 2")).await, 14295);
    assert_eq!(
        error_code(&mut c, &bad("@freq_type = 4, @freq_interval = 0")).await,
        14278
    );
    assert_eq!(
        error_code(
            &mut c,
            &bad("@freq_type = 8, @freq_interval = 200, @freq_recurrence_factor = 1")
        )
        .await,
        14278
    );
    assert_eq!(
        error_code(&mut c, &bad("@freq_type = 8, @freq_interval = 2")).await,
        14278
    );
    assert_eq!(
        error_code(
            &mut c,
            &bad("@freq_type = 4, @freq_interval = 1, @active_start_time = 126000")
        )
        .await,
        14287
    );
    assert_eq!(
        error_code(
            &mut c,
            &bad("@freq_type = 4, @freq_interval = 1, @active_start_time = 256000")
        )
        .await,
        14266
    );
    assert_eq!(
        error_code(
            &mut c,
            &bad("@freq_type = 1, @active_start_date = 20261340")
        )
        .await,
        14266
    );
    assert_eq!(
        error_code(
            &mut c,
            &bad("@freq_type = 4, @freq_interval = 1, @owner_login_name = N'ghost'")
        )
        .await,
        14262
    );
    // CPU idle is a SQL Server schedule type.
    exec(&mut c, &bad("@freq_type = 128")).await;
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_delete_schedule @schedule_name = N'Weekly'"
        )
        .await,
        14372
    );
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_attach_schedule @job_name = N'J'").await,
        14373
    );
    // Deleting the job takes its schedules that no other job uses.
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_delete_job @job_name = N'J', @delete_unused_schedule = 1",
    )
    .await;
    assert_eq!(
        int(
            &mut c,
            "SELECT COUNT(*) FROM msdb.dbo.sysschedules WHERE name IN (N'Weekly', N'Daily')"
        )
        .await,
        0
    );
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysjobs").await,
        0
    );
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_delete_job @job_name = N'J'").await,
        14262
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_notifications_and_alerts() {
    let (_r, mut c) = sql2019_client().await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_operator @name = N'DBA', @email_address = N'dba@contoso.example', @pager_address = N'555'").await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_add_operator @name = N'DBA'").await,
        14261
    );
    exec(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'J'").await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_update_job @job_name = N'J', @notify_level_email = 2, @notify_email_operator_name = N'Nobody'").await,
        14234
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_update_job @job_name = N'J', @notify_email_operator_name = N'DBA'"
        )
        .await,
        14266,
        "an operator needs a level"
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_update_job @job_name = N'J', @owner_login_name = N'ghost'"
        )
        .await,
        14262
    );
    exec(&mut c, "EXEC msdb.dbo.sp_update_job @job_name = N'J', @notify_level_email = 2, @notify_email_operator_name = N'DBA', @description = N'changed'").await;
    let r = one_row(&mut c, "SELECT j.notify_level_email, o.name, j.description FROM msdb.dbo.sysjobs j JOIN msdb.dbo.sysoperators o ON o.id = j.notify_email_operator_id").await;
    assert_eq!(r.get::<i32, _>(0), Some(2));
    assert_eq!(r.get::<&str, _>(1), Some("DBA"));
    assert_eq!(r.get::<&str, _>(2), Some("changed"));
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_update_operator @name = N'DBA', @enabled = 0",
    )
    .await;
    assert_eq!(
        int(
            &mut c,
            "SELECT enabled FROM msdb.dbo.sysoperators WHERE name = N'DBA'"
        )
        .await,
        0
    );
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_add_alert @name = N'Sev 17', @severity = 17",
    )
    .await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_add_alert @name = N'Nothing'").await,
        14500
    );
    exec(&mut c, "EXEC msdb.dbo.sp_add_notification @alert_name = N'Sev 17', @operator_name = N'DBA', @notification_method = 1").await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_add_notification @alert_name = N'Sev 17', @operator_name = N'DBA', @notification_method = 1").await,
        14261
    );
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysnotifications").await,
        1
    );
    exec(&mut c, "EXEC msdb.dbo.sp_delete_operator @name = N'DBA'").await;
    assert_eq!(
        int(
            &mut c,
            "SELECT notify_email_operator_id FROM msdb.dbo.sysjobs"
        )
        .await,
        0
    );
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_add_category @class = N'JOB', @type = N'LOCAL', @name = N'ETL'",
    )
    .await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_add_category @name = N'ETL'").await,
        14261
    );
    assert_eq!(
        int(
            &mut c,
            "SELECT category_id FROM msdb.dbo.syscategories WHERE name = N'ETL'"
        )
        .await,
        100
    );
    let help = rows(&mut c, "EXEC msdb.dbo.sp_help_job").await;
    assert_eq!(help.len(), 1);
    assert_eq!(help[0].get::<&str, _>("name"), Some("J"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_on_sql_server() {
    let (_r, mut c) = sql2019_client().await;
    exec(
        &mut c,
        "CREATE CREDENTIAL [etl_cred] WITH IDENTITY = N'CONTOSO\\etl', SECRET = N'pw'",
    )
    .await;
    let proxy = int(&mut c, "DECLARE @p int; EXEC msdb.dbo.sp_add_proxy @proxy_name = N'ETL proxy', @credential_name = N'etl_cred', @proxy_id = @p OUTPUT; SELECT @p").await;
    assert_eq!(proxy, 1);
    exec(&mut c, "EXEC msdb.dbo.sp_grant_proxy_to_subsystem @proxy_name = N'ETL proxy', @subsystem_name = N'CmdExec'").await;
    assert_eq!(error_code(&mut c, "EXEC msdb.dbo.sp_grant_proxy_to_subsystem @proxy_name = N'ETL proxy', @subsystem_name = N'TSQL'").await, 14530);
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_grant_login_to_proxy @login_name = N'sa', @proxy_name = N'ETL proxy'",
    )
    .await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'J'").await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N's', @subsystem = N'CmdExec', @command = N'x.exe', @proxy_name = N'ETL proxy', @output_file_name = N'C:\\logs\\j.txt'").await;
    let r = one_row(
        &mut c,
        "SELECT proxy_id, output_file_name FROM msdb.dbo.sysjobsteps",
    )
    .await;
    assert_eq!(r.get::<i32, _>(0), Some(1));
    assert_eq!(r.get::<&str, _>(1), Some("C:\\logs\\j.txt"));
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N't', @subsystem = N'PowerShell', @proxy_name = N'ETL proxy'").await,
        14600
    );
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysproxylogin").await,
        1
    );
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_set_sqlagent_properties @jobhistory_max_rows = 2000",
    )
    .await;
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_set_agent_properties @jobhistory_max_rows = 2000"
        )
        .await,
        2812
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uids_passed_by_a_script_are_kept() {
    let (_r, mut c) = sql2019_client().await;
    exec(
        &mut c,
        concat!(
            "EXEC msdb.dbo.sp_add_job @job_name = N'J'; ",
            "EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N's', @step_uid = N'0C5F1B2A-1111-4222-8333-444455556666'; ",
            "EXEC msdb.dbo.sp_add_jobschedule @job_name = N'J', @name = N'Daily', @freq_type = 4, @freq_interval = 1, @schedule_uid = N'7D1E2F3A-AAAA-4BBB-8CCC-DDDDEEEEFFFF'"
        ),
    )
    .await;
    let step = one_row(
        &mut c,
        "SELECT CAST(step_uid AS nvarchar(36)) FROM msdb.dbo.sysjobsteps",
    )
    .await;
    assert_eq!(
        step.get::<&str, _>(0),
        Some("0C5F1B2A-1111-4222-8333-444455556666")
    );
    let sched = one_row(
        &mut c,
        "SELECT CAST(schedule_uid AS nvarchar(36)) FROM msdb.dbo.sysschedules",
    )
    .await;
    assert_eq!(
        sched.get::<&str, _>(0),
        Some("7D1E2F3A-AAAA-4BBB-8CCC-DDDDEEEEFFFF")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_transaction_undoes_what_the_procedures_did() {
    let (_r, mut c) = sql2019_client().await;
    exec(
        &mut c,
        concat!(
            "BEGIN TRANSACTION; ",
            "EXEC msdb.dbo.sp_add_operator @name = N'Temp'; ",
            "EXEC msdb.dbo.sp_add_job @job_name = N'Scripted'; ",
            "EXEC msdb.dbo.sp_add_jobstep @job_name = N'Scripted', @step_name = N's'; ",
            "EXEC sp_configure 'show advanced options', 1; ",
            "ROLLBACK TRANSACTION"
        ),
    )
    .await;
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysjobs").await,
        0
    );
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysjobsteps").await,
        0
    );
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysoperators").await,
        0
    );
    assert_eq!(
        int(&mut c, "SELECT CAST(value AS int) FROM sys.configurations WHERE name = N'show advanced options'").await,
        0
    );
    exec(
        &mut c,
        "BEGIN TRAN; EXEC msdb.dbo.sp_add_job @job_name = N'Kept'; COMMIT",
    )
    .await;
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysjobs").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_schedules_and_categories_come_apart_as_msdb_takes_them() {
    let (_r, mut c) = sql2019_client().await;
    exec(
        &mut c,
        concat!(
            "EXEC msdb.dbo.sp_add_category @name = N'ETL'; ",
            "EXEC msdb.dbo.sp_add_job @job_name = N'J', @category_name = N'ETL'; ",
            "EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N'a', @on_success_action = 3; ",
            "EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N'b', @on_fail_action = 4, @on_fail_step_id = 3; ",
            "EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N'c', @on_success_action = 4, @on_success_step_id = 2; ",
            "EXEC msdb.dbo.sp_add_jobschedule @job_name = N'J', @name = N'Daily', @freq_type = 4, @freq_interval = 1"
        ),
    )
    .await;
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_delete_jobstep @job_name = N'J', @step_id = 2",
    )
    .await;
    let steps = rows(&mut c, "SELECT step_id, step_name, on_success_action, on_success_step_id, on_fail_action, on_fail_step_id FROM msdb.dbo.sysjobsteps ORDER BY step_id").await;
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[1].get::<&str, _>(1), Some("c"));
    assert_eq!(steps[1].get::<i32, _>(0), Some(2));
    // c jumped to the deleted step: it now quits with success.
    assert_eq!(
        (steps[1].get::<u8, _>(2), steps[1].get::<i32, _>(3)),
        (Some(1), Some(0))
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_delete_jobstep @job_name = N'J', @step_id = 5"
        )
        .await,
        14266
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_detach_schedule @job_name = N'J', @schedule_name = N'Nope'"
        )
        .await,
        14262
    );
    exec(&mut c, "EXEC msdb.dbo.sp_detach_schedule @job_name = N'J', @schedule_name = N'Daily', @delete_unused_schedule = 1").await;
    assert_eq!(
        int(&mut c, "SELECT COUNT(*) FROM msdb.dbo.sysschedules").await,
        0
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_delete_category @class = N'JOB', @name = N'Database Maintenance'"
        )
        .await,
        14276
    );
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_delete_category @class = N'JOB', @name = N'ETL'",
    )
    .await;
    assert_eq!(
        int(&mut c, "SELECT category_id FROM msdb.dbo.sysjobs").await,
        0
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_delete_category @class = N'JOB', @name = N'ETL'"
        )
        .await,
        14262
    );
}
