//! The link's connectivity tests through SQL Server Agent jobs, as "Prepare environment for
//! link" scripts them: PowerShell `tnc` steps started with sp_start_job, read back from
//! sysjobhistory and sysjobstepslogs, answered by the emulated network.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use ferry_emulator::hadr::Network;
use ferry_emulator::hadr::fabric::Fabric;

const MI: &str = "mi-target.public.abc123.database.windows.net";

/// The recipe's test endpoint, as "Prepare environment for link" writes it.
const TEST_ENDPOINT: &str = "CREATE CERTIFICATE TEST_CERT WITH SUBJECT = N'Certificate for SQL Server', EXPIRY_DATE = N'3/30/2051';
    CREATE ENDPOINT TEST_ENDPOINT STATE=STARTED AS TCP (LISTENER_PORT=5022, LISTENER_IP = ALL)
      FOR DATABASE_MIRRORING (ROLE=ALL, AUTHENTICATION = CERTIFICATE TEST_CERT, ENCRYPTION = REQUIRED ALGORITHM AES)";

/// The NetHelper job of the recipe, run on the managed instance.
const NET_HELPER: &str = "DECLARE @SQLServerIpAddress NVARCHAR(MAX) = '10.0.0.4'
    DECLARE @tncCommand NVARCHAR(MAX) = 'tnc ' + @SQLServerIpAddress + ' -port 5022 -InformationLevel Quiet'
    DECLARE @jobId BINARY(16)
    EXEC msdb.dbo.sp_add_job @job_name=N'NetHelper', @enabled=1,
        @description=N'Test Managed Instance to SQL Server network connectivity on port 5022.',
        @category_name=N'[Uncategorized (Local)]', @owner_login_name=N'sa', @job_id = @jobId OUTPUT
    EXEC msdb.dbo.sp_add_jobstep @job_id=@jobId, @step_name=N'TNC network probe from MI to SQL Server',
        @step_id=1, @os_run_priority=0, @subsystem=N'PowerShell', @command = @tncCommand,
        @database_name=N'master', @flags=40
    EXEC msdb.dbo.sp_update_job @job_id = @jobId, @start_step_id = 1
    EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)'";

const NET_HELPER_LOG: &str = "SELECT sj.name JobName, sjs.step_name, sjsl.log
    FROM msdb.dbo.sysjobs sj
    LEFT OUTER JOIN msdb.dbo.sysjobsteps sjs ON sj.job_id = sjs.job_id
    LEFT OUTER JOIN msdb.dbo.sysjobstepslogs sjsl ON sjs.step_uid = sjsl.step_uid
    WHERE sj.name = 'NetHelper'";

#[tokio::test(flavor = "multi_thread")]
async fn the_managed_instance_reaches_the_sql_server_test_endpoint() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mi_r = start(mi(), TlsMode::Required).await;
    let net = Network::new();
    net.register(&["SRC01".into(), "10.0.0.4".into()], src.server.clone());
    net.register(&[MI.into()], mi_r.server.clone());
    let mut s = connect(&src).await;
    let mut m = connect(&mi_r).await;
    exec(&mut m, NET_HELPER).await;

    // No endpoint on SQL Server yet: nothing answers on 5022.
    exec(
        &mut m,
        "EXEC msdb.dbo.sp_start_job @job_name = N'NetHelper'",
    )
    .await;
    assert_eq!(
        one_row(&mut m, NET_HELPER_LOG).await.get::<&str, _>(2),
        Some("False")
    );

    exec(
        &mut s,
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd'",
    )
    .await;
    exec(&mut s, TEST_ENDPOINT).await;
    let expiry = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.certificates WHERE name = 'TEST_CERT' AND expiry_date >= '2051-03-30' AND expiry_date < '2051-03-31'",
    )
    .await;
    assert_eq!(
        expiry.get::<i32, _>(0),
        Some(1),
        "N'3/30/2051' is March 30 (mdy)"
    );
    exec(
        &mut m,
        "EXEC msdb.dbo.sp_start_job @job_name = N'NetHelper'",
    )
    .await;
    assert_eq!(
        one_row(&mut m, NET_HELPER_LOG).await.get::<&str, _>(2),
        Some("True"),
        "flags 8: the log is overwritten"
    );
    let done = one_row(
        &mut m,
        "SELECT COUNT(*) FROM msdb.dbo.sysjobs sj JOIN msdb.dbo.sysjobactivity sja ON sj.job_id = sja.job_id
         WHERE sj.name = 'NetHelper' AND sja.stop_execution_date IS NOT NULL",
    )
    .await;
    assert_eq!(done.get::<i32, _>(0), Some(2));

    net.block_port("SRC01", 5022);
    exec(
        &mut m,
        "EXEC msdb.dbo.sp_start_job @job_name = N'NetHelper'",
    )
    .await;
    assert_eq!(
        one_row(&mut m, NET_HELPER_LOG).await.get::<&str, _>(2),
        Some("False")
    );
    net.heal();
    exec(
        &mut s,
        "DROP ENDPOINT TEST_ENDPOINT; DROP CERTIFICATE TEST_CERT",
    )
    .await;
    exec(
        &mut m,
        "EXEC msdb.dbo.sp_start_job @job_name = N'NetHelper'",
    )
    .await;
    assert_eq!(
        one_row(&mut m, NET_HELPER_LOG).await.get::<&str, _>(2),
        Some("False")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_server_reaches_the_managed_instance_on_5022_and_its_hadr_port() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mi_r = start(mi(), TlsMode::Required).await;
    let net = Network::new();
    net.register(&["SRC01".into()], src.server.clone());
    net.register(&[MI.into()], mi_r.server.clone());
    let f = Fabric::of(MI);
    let mut s = connect(&src).await;
    let job = format!(
        "DECLARE @node NVARCHAR(512) = N'{node}'
         DECLARE @port NVARCHAR(512) = N'{port}'
         DECLARE @serverName NVARCHAR(512) = N'{MI}'
         DECLARE @jobId BINARY(16), @cmd NVARCHAR(MAX)
         EXEC msdb.dbo.sp_add_job @job_name=N'TestMILinkConnection', @enabled=1, @job_id = @jobId OUTPUT
         SET @cmd = (N'tnc ' + @serverName + N' -port 5022 | select ComputerName, RemoteAddress, TcpTestSucceeded | Format-List')
         EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Test Port 5022'
         , @step_id = 1, @cmdexec_success_code = 0, @on_success_action = 3, @on_fail_action = 3
         , @subsystem = N'PowerShell', @command = @cmd, @database_name = N'master'
         SET @cmd = (N'tnc ' + @node + N' -port ' + @port +' | select ComputerName, RemoteAddress, TcpTestSucceeded | Format-List')
         EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Test HADR Port'
         , @step_id = 2, @cmdexec_success_code = 0, @subsystem = N'PowerShell', @command = @cmd, @database_name = N'master'",
        node = f.node_fqdn(),
        port = f.hadr_port
    );
    exec(&mut s, &job).await;
    assert_eq!(
        error_code(
            &mut s,
            "EXEC msdb.dbo.sp_start_job @job_name = N'TestMILinkConnection'"
        )
        .await,
        14256,
        "no job server"
    );
    exec(&mut s, "EXEC msdb.dbo.sp_add_jobserver @job_name = N'TestMILinkConnection', @server_name = N'(local)'").await;
    exec(
        &mut s,
        "EXEC msdb.dbo.sp_start_job @job_name = N'TestMILinkConnection'",
    )
    .await;
    let results = "SELECT [step_name]
        ,SUBSTRING([message], CHARINDEX('TcpTestSucceeded',[message]), CHARINDEX('Process Exit', [message])-CHARINDEX('TcpTestSucceeded',[message])) as TcpTestResult
        ,[run_status]
        FROM [msdb].[dbo].[sysjobhistory] JH JOIN [msdb].[dbo].[sysjobs] J ON JH.job_id= J.job_id
        WHERE J.name = N'TestMILinkConnection' and step_id <> 0 ORDER BY instance_id";
    let rows = s
        .simple_query(results)
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(
            r.get::<&str, _>(1).map(str::trim),
            Some("TcpTestSucceeded : True"),
            "{:?}",
            r.get::<&str, _>(0)
        );
        assert_eq!(r.get::<i32, _>(2), Some(1));
    }
    let outcome = one_row(
        &mut s,
        "SELECT run_status FROM msdb.dbo.sysjobhistory JH JOIN msdb.dbo.sysjobs J ON JH.job_id = J.job_id
         WHERE J.name = N'TestMILinkConnection' AND step_id = 0",
    )
    .await;
    assert_eq!(outcome.get::<i32, _>(0), Some(1));

    net.block_port(MI, f.hadr_port);
    exec(
        &mut s,
        "EXEC msdb.dbo.sp_start_job @job_name = N'TestMILinkConnection'",
    )
    .await;
    let rows = s
        .simple_query(results)
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(
        rows[3].get::<&str, _>(1).map(str::trim),
        Some("TcpTestSucceeded : False")
    );
    assert_eq!(
        rows[2].get::<&str, _>(1).map(str::trim),
        Some("TcpTestSucceeded : True")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_runs_only_tnc() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_add_job @job_name = N'other'
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'other', @step_name = N'ps', @subsystem = N'PowerShell', @command = N'Get-ChildItem C:\\'
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'other'",
    )
    .await;
    exec(&mut c, "EXEC msdb.dbo.sp_start_job @job_name = N'other'").await;
    let row = one_row(
        &mut c,
        "SELECT jh.run_status, jh.message FROM msdb.dbo.sysjobhistory jh WHERE jh.step_id = 1",
    )
    .await;
    assert_eq!(row.get::<i32, _>(0), Some(0));
    assert!(
        row.get::<&str, _>(1)
            .unwrap()
            .contains("runs only PowerShell steps of the form 'tnc")
    );
    let outcome = one_row(
        &mut c,
        "SELECT run_status FROM msdb.dbo.sysjobhistory WHERE step_id = 0",
    )
    .await;
    assert_eq!(outcome.get::<i32, _>(0), Some(0));
    // A server on no network resolves no name.
    exec(
        &mut c,
        "EXEC msdb.dbo.sp_add_job @job_name = N'lonely'
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'lonely', @step_name = N'tnc', @subsystem = N'PowerShell', @command = N'tnc SRC01 -port 5022 -InformationLevel Quiet', @flags = 8
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'lonely'
         EXEC msdb.dbo.sp_start_job @job_name = N'lonely'",
    )
    .await;
    let log = one_row(
        &mut c,
        "SELECT l.log FROM msdb.dbo.sysjobstepslogs l JOIN msdb.dbo.sysjobsteps s ON s.step_uid = l.step_uid
         JOIN msdb.dbo.sysjobs j ON j.job_id = s.job_id WHERE j.name = 'lonely'",
    )
    .await;
    assert_eq!(log.get::<&str, _>(0), Some("False"));
    assert_eq!(
        error_code(&mut c, "EXEC msdb.dbo.sp_start_job @job_name = N'missing'").await,
        14262
    );
}
