//! SQL Server Agent on a Managed Instance: what its msdb refuses, and a job recreated there
//! from what a SQL Server's msdb holds, read back as a migration tool diffs it.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_instance_refuses_what_its_agent_lacks() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "EXEC msdb.dbo.sp_add_job @job_name = N'J'").await;
    let step = |rest: &str| {
        format!("EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N's', {rest}")
    };
    for sub in [
        "CmdExec",
        "Merge",
        "QueueReader",
        "ANALYSISCOMMAND",
        "ANALYSISQUERY",
    ] {
        assert_eq!(
            error_code(&mut c, &step(&format!("@subsystem = N'{sub}'"))).await,
            14234,
            "{sub}"
        );
    }
    for sub in ["TSQL", "SSIS", "PowerShell"] {
        exec(&mut c, &format!("EXEC msdb.dbo.sp_add_jobstep @job_name = N'J', @step_name = N'{sub}', @subsystem = N'{sub}', @command = N'x'")).await;
    }
    assert_eq!(
        error_code(&mut c, &step("@output_file_name = N'/tmp/out.txt'")).await,
        41978
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_schedule @schedule_name = N'Idle', @freq_type = 128"
        )
        .await,
        41914
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_jobschedule @job_name = N'J', @name = N'Idle', @freq_type = 128"
        )
        .await,
        41914
    );
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_add_schedule @schedule_name = N'At start', @freq_type = 64",
    )
    .await;
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_update_schedule @name = N'At start', @freq_type = 128"
        )
        .await,
        41914
    );
    assert_eq!(error_code(&mut c, "CREATE CREDENTIAL [c] WITH IDENTITY = N'SHARED ACCESS SIGNATURE', SECRET = N'x'; EXEC msdb.dbo.sp_add_proxy @proxy_name = N'p', @credential_name = N'c'").await, 41914);
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_alert @name = N'a', @severity = 17"
        )
        .await,
        41914
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_set_agent_properties @jobhistory_max_rows = 10"
        )
        .await,
        41905
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_set_sqlagent_properties @jobhistory_max_rows = 10"
        )
        .await,
        41905
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_operator @name = N'o', @netsend_address = N'host'"
        )
        .await,
        41914
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC msdb.dbo.sp_add_operator @name = N'o', @pager_address = N'555'"
        )
        .await,
        41914
    );
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_add_operator @name = N'o', @email_address = N'o@contoso.example'",
    )
    .await;
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_update_job @job_name = N'J', @notify_level_netsend = 2, @notify_netsend_operator_name = N'o'").await,
        41914
    );
    // Email notifications are what MI has; the event log level is set to 0 (msdb on MI).
    exec(&mut c, "EXEC msdb.dbo.sp_update_job @job_name = N'J', @notify_level_email = 2, @notify_email_operator_name = N'o', @notify_level_eventlog = 2").await;
    let r = one_row(
        &mut c,
        "SELECT notify_level_email, notify_level_eventlog FROM msdb.dbo.sysjobs",
    )
    .await;
    assert_eq!((r.get::<i32, _>(0), r.get::<i32, _>(1)), (Some(2), Some(0)));
}

/// What a migration tool diffs: a job read back from the source's msdb and recreated through
/// the procedures on the target reads back the same, ids and dates aside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_recreated_from_msdb_reads_back_identically() {
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(mi(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    let mut d = connect(&dst).await;
    let setup = concat!(
        "CREATE DATABASE Sales; ",
        "EXEC msdb.dbo.sp_add_category @name = N'ETL'; ",
        "EXEC msdb.dbo.sp_add_operator @name = N'DBA', @email_address = N'dba@contoso.example'; ",
        "DECLARE @jobId BINARY(16); ",
        "EXEC msdb.dbo.sp_add_job @job_name = N'Load', @enabled = 1, @description = N'Nightly load', @category_name = N'ETL', @owner_login_name = N'sa', @notify_level_eventlog = 0, @notify_level_email = 2, @notify_email_operator_name = N'DBA', @job_id = @jobId OUTPUT; ",
        "EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Extract', @step_id = 1, @subsystem = N'TSQL', @command = N'EXEC dbo.extract', @database_name = N'Sales', @on_success_action = 3, @on_fail_action = 2, @retry_attempts = 2, @retry_interval = 5; ",
        "EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Load', @step_id = 2, @subsystem = N'TSQL', @command = N'EXEC dbo.load', @database_name = N'Sales', @on_success_action = 1, @on_fail_action = 4, @on_fail_step_id = 1; ",
        "EXEC msdb.dbo.sp_update_job @job_id = @jobId, @start_step_id = 1; ",
        "EXEC msdb.dbo.sp_add_jobschedule @job_id = @jobId, @name = N'Nightly 02:00', @enabled = 1, @freq_type = 4, @freq_interval = 1, @freq_subday_type = 1, @active_start_date = 20260101, @active_start_time = 20000; ",
        "EXEC msdb.dbo.sp_add_schedule @schedule_name = N'Hourly', @freq_type = 4, @freq_interval = 1, @freq_subday_type = 8, @freq_subday_interval = 1, @active_start_date = 20260101; ",
        "EXEC msdb.dbo.sp_attach_schedule @job_id = @jobId, @schedule_name = N'Hourly'; ",
        "EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)'"
    );
    exec(&mut s, setup).await;

    let job_sql = "SELECT j.name, j.enabled, j.description, c.name AS category, j.start_step_id, j.notify_level_eventlog, j.notify_level_email, o.name AS operator, j.delete_level FROM msdb.dbo.sysjobs j JOIN msdb.dbo.syscategories c ON c.category_id = j.category_id LEFT JOIN msdb.dbo.sysoperators o ON o.id = j.notify_email_operator_id";
    let steps_sql = "SELECT step_id, step_name, subsystem, command, database_name, on_success_action, on_success_step_id, on_fail_action, on_fail_step_id, retry_attempts, retry_interval, output_file_name, proxy_id FROM msdb.dbo.sysjobsteps ORDER BY step_id";
    let sched_sql = "SELECT s.name, s.enabled, s.freq_type, s.freq_interval, s.freq_subday_type, s.freq_subday_interval, s.freq_relative_interval, s.freq_recurrence_factor, s.active_start_date, s.active_end_date, s.active_start_time, s.active_end_time FROM msdb.dbo.sysschedules s JOIN msdb.dbo.sysjobschedules js ON js.schedule_id = s.schedule_id ORDER BY s.name";
    let servers_sql = "SELECT server_id FROM msdb.dbo.sysjobservers";

    // Recreate from what the source's tables say, as a migration tool scripts it.
    let job = one_row(&mut s, job_sql).await;
    let steps = rows(&mut s, steps_sql).await;
    let scheds = rows(&mut s, sched_sql).await;
    let mut script = String::from(concat!(
        "CREATE DATABASE Sales; ",
        "EXEC msdb.dbo.sp_add_category @name = N'ETL'; ",
        "EXEC msdb.dbo.sp_add_operator @name = N'DBA', @email_address = N'dba@contoso.example'; ",
        "DECLARE @jobId uniqueidentifier; "
    ));
    let q = |v: Option<&str>| {
        v.map_or("NULL".to_owned(), |t| {
            format!("N'{}'", t.replace('\'', "''"))
        })
    };
    script += &format!(
        "EXEC msdb.dbo.sp_add_job @job_name = {}, @enabled = {}, @description = {}, @category_name = {}, @notify_level_eventlog = {}, @notify_level_email = {}, @notify_email_operator_name = {}, @delete_level = {}, @job_id = @jobId OUTPUT; ",
        q(job.get(0)),
        job.get::<u8, _>(1).unwrap(),
        q(job.get(2)),
        q(job.get(3)),
        job.get::<i32, _>(5).unwrap(),
        job.get::<i32, _>(6).unwrap(),
        q(job.get(7)),
        job.get::<i32, _>(8).unwrap()
    );
    for st in &steps {
        script += &format!(
            "EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_id = {}, @step_name = {}, @subsystem = {}, @command = {}, @database_name = {}, @on_success_action = {}, @on_success_step_id = {}, @on_fail_action = {}, @on_fail_step_id = {}, @retry_attempts = {}, @retry_interval = {}; ",
            st.get::<i32, _>(0).unwrap(),
            q(st.get(1)),
            q(st.get(2)),
            q(st.get(3)),
            q(st.get(4)),
            st.get::<u8, _>(5).unwrap(),
            st.get::<i32, _>(6).unwrap(),
            st.get::<u8, _>(7).unwrap(),
            st.get::<i32, _>(8).unwrap(),
            st.get::<i32, _>(9).unwrap(),
            st.get::<i32, _>(10).unwrap()
        );
    }
    script += &format!(
        "EXEC msdb.dbo.sp_update_job @job_id = @jobId, @start_step_id = {}; ",
        job.get::<i32, _>(4).unwrap()
    );
    for sc in &scheds {
        let n = |i: usize| sc.get::<i32, _>(i).unwrap();
        script += &format!(
            "EXEC msdb.dbo.sp_add_jobschedule @job_id = @jobId, @name = {}, @enabled = {}, @freq_type = {}, @freq_interval = {}, @freq_subday_type = {}, @freq_subday_interval = {}, @freq_relative_interval = {}, @freq_recurrence_factor = {}, @active_start_date = {}, @active_end_date = {}, @active_start_time = {}, @active_end_time = {}; ",
            q(sc.get(0)),
            n(1),
            n(2),
            n(3),
            n(4),
            n(5),
            n(6),
            n(7),
            n(8),
            n(9),
            n(10),
            n(11)
        );
    }
    script += "EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)'";
    exec(&mut d, &script).await;

    for sql in [job_sql, steps_sql, sched_sql, servers_sql] {
        let a = rows(&mut s, sql).await;
        let b = rows(&mut d, sql).await;
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{sql}");
    }
}
