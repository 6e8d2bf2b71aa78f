//! A source instance as migration teams meet them, for rehearsing and testing the
//! `instance-objects` step (issue 14): ~50 logins of every kind (SQL, Windows users and
//! groups, certificate-mapped, disabled, denied), custom server roles and permissions,
//! credentials, ~30 Agent jobs across subsystems (some Managed Instance lacks) with operators,
//! alerts and a proxy, Database Mail, two linked servers (one to Oracle), a server trigger, an
//! audit to a file, user-defined messages, configuration, and a TDE-protected database. Every
//! object is made through the statements and procedures SQL Server documents, so seeding is
//! itself a test of the emulator.

/// The password every seeded SQL login has: a rehearsal can log in to the MI with it after the
/// migration.
pub const SQL_LOGIN_PASSWORD: &str = "Seed#Login-2026";

/// The domain the seeded Windows accounts are in, and the one left unmapped.
pub const DOMAIN: &str = "CONTOSO";
pub const UNMAPPED_DOMAIN: &str = "FABRIKAM";

/// Windows users and groups of the seed (without the domain).
pub const WINDOWS_USERS: [&str; 8] = [
    "anna",
    "ben",
    "chloe",
    "dmitri",
    "emma",
    "farid",
    "grace",
    "svc_reporting",
];
pub const WINDOWS_GROUPS: [&str; 3] = ["DBAs", "SQL Admins", "Report Readers"];

/// The database the seed protects with TDE, and its certificate.
pub const TDE_DATABASE: &str = "HRDb";
pub const TDE_CERTIFICATE: &str = "TdeCert_HR";

/// The batches that make the instance, in order; `databases` must exist already (the seed
/// adds users to them; the TDE database must be among them).
pub fn instance_objects(databases: &[&str]) -> Vec<String> {
    let mut b = Vec::new();
    let p = SQL_LOGIN_PASSWORD;
    // Certificates first: a TDE protector and a signing certificate with a login mapped to it.
    b.push(
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Seed#MasterKey-2026'; \
         CREATE CERTIFICATE [TdeCert_HR] WITH SUBJECT = 'TDE protector for HRDb'; \
         CREATE CERTIFICATE [CodeSigning] WITH SUBJECT = 'Signs the audit procedures'"
            .to_owned(),
    );
    if databases.contains(&TDE_DATABASE) {
        b.push(format!(
            "USE [{TDE_DATABASE}]; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 \
             ENCRYPTION BY SERVER CERTIFICATE [{TDE_CERTIFICATE}]; USE master"
        ));
        b.push(format!("ALTER DATABASE [{TDE_DATABASE}] SET ENCRYPTION ON"));
    }
    // Credentials: one MI can take (a SAS for a container), one it cannot (a Windows account,
    // used by the Agent proxy below).
    b.push(
        "CREATE CREDENTIAL [https://backupsacct.blob.core.windows.net/sql] WITH IDENTITY = \
         'SHARED ACCESS SIGNATURE', SECRET = 'sv=2022-11-02&sr=c&sp=rl&sig=c2VlZA%3D%3D'; \
         CREATE CREDENTIAL [etl_proxy_cred] WITH IDENTITY = 'CONTOSO\\svc_etl', SECRET = 'Seed#Etl-2026'"
            .to_owned(),
    );
    // 36 SQL logins: applications, some disabled, some denied, one with a credential.
    let mut logins = Vec::new();
    for i in 1..=30 {
        logins.push(format!(
            "CREATE LOGIN [app_{i:02}] WITH PASSWORD = '{p}', CHECK_POLICY = {}",
            if i % 3 == 0 { "ON" } else { "OFF" }
        ));
    }
    for name in ["report_reader", "etl_service", "legacy_app", "old_vendor"] {
        logins.push(format!(
            "CREATE LOGIN [{name}] WITH PASSWORD = '{p}', CHECK_POLICY = OFF, DEFAULT_DATABASE = [{}]",
            databases.first().unwrap_or(&"master")
        ));
    }
    logins.push("ALTER LOGIN [legacy_app] DISABLE".into());
    logins.push("ALTER LOGIN [app_29] DISABLE".into());
    logins.push("DENY CONNECT SQL TO [old_vendor]".into());
    logins.push("DENY CONNECT SQL TO [app_30]".into());
    logins.push(
        "ALTER LOGIN [etl_service] ADD CREDENTIAL [https://backupsacct.blob.core.windows.net/sql]"
            .into(),
    );
    logins.push("CREATE LOGIN [code_signer] FROM CERTIFICATE [CodeSigning]".into());
    b.push(logins.join("; "));
    // Windows users and groups, one in a domain nobody mapped.
    let mut windows: Vec<String> = WINDOWS_USERS
        .iter()
        .chain(&WINDOWS_GROUPS)
        .map(|n| format!("CREATE LOGIN [{DOMAIN}\\{n}] FROM WINDOWS"))
        .collect();
    windows.push(format!(
        "CREATE LOGIN [{UNMAPPED_DOMAIN}\\legacy_admin] FROM WINDOWS"
    ));
    b.push(windows.join("; "));
    // Server roles, membership and permissions.
    b.push(
        "CREATE SERVER ROLE [monitoring]; CREATE SERVER ROLE [deployers] AUTHORIZATION [CONTOSO\\DBAs]; \
         ALTER SERVER ROLE [monitoring] ADD MEMBER [app_01]; ALTER SERVER ROLE [monitoring] ADD MEMBER [CONTOSO\\Report Readers]; \
         ALTER SERVER ROLE [deployers] ADD MEMBER [etl_service]; ALTER SERVER ROLE [sysadmin] ADD MEMBER [CONTOSO\\DBAs]; \
         ALTER SERVER ROLE [dbcreator] ADD MEMBER [FABRIKAM\\legacy_admin]; \
         GRANT VIEW SERVER STATE TO [monitoring]; GRANT VIEW ANY DEFINITION TO [CONTOSO\\anna]; \
         GRANT ALTER ANY LOGIN TO [deployers] WITH GRANT OPTION; DENY VIEW ANY DATABASE TO [report_reader]; \
         GRANT IMPERSONATE ON LOGIN::[etl_service] TO [app_02]; \
         GRANT CONNECT ON ENDPOINT::[TSQL Default TCP] TO [app_03]"
            .to_owned(),
    );
    // Database users: Windows ones the users part remaps, SQL ones that stay mapped by SID.
    for (k, db) in databases.iter().enumerate() {
        let users = [
            format!("{DOMAIN}\\{}", WINDOWS_USERS[k % WINDOWS_USERS.len()]),
            format!("{DOMAIN}\\Report Readers"),
            format!("app_{:02}", k + 1),
            "report_reader".into(),
        ];
        let creates: Vec<String> = users
            .iter()
            .map(|u| format!("CREATE USER [{u}] FOR LOGIN [{u}]"))
            .collect();
        b.push(format!("USE [{db}]; {}; USE master", creates.join("; ")));
    }
    b.extend(agent());
    if let Some(db) = databases.first() {
        // A job whose step runs in a user database: it can be made on the MI only once that
        // database has been restored there.
        b.push(format!(
            "EXEC msdb.dbo.sp_add_job @job_name = N'Refresh reporting', @owner_login_name = N'sa'; \
             EXEC msdb.dbo.sp_add_jobstep @job_name = N'Refresh reporting', @step_name = N'Refresh', \
             @command = N'UPDATE dbo.T SET Id = Id', @database_name = N'{db}'; \
             EXEC msdb.dbo.sp_add_jobserver @job_name = N'Refresh reporting'"
        ));
    }
    b.extend(mail_and_servers());
    // A user extended event session writing to a file on disk, running: MI takes it only
    // with its event_file moved to a blob URL.
    b.push(
        "CREATE EVENT SESSION [Long queries] ON SERVER \
         ADD EVENT sqlserver.sql_statement_completed (ACTION (sqlserver.sql_text, sqlserver.database_name) WHERE duration > 5000000) \
         ADD TARGET package0.event_file (SET filename = N'D:\\XE\\long_queries.xel', max_file_size = 100) \
         WITH (MAX_MEMORY = 8 MB, MAX_DISPATCH_LATENCY = 10 SECONDS, STARTUP_STATE = ON); \
         ALTER EVENT SESSION [Long queries] ON SERVER STATE = START"
            .to_owned(),
    );
    // Resource Governor: a pool for reports (with an IOPS limit Managed Instance does not
    // take), a group in it, and the governor on.
    b.push(
        "CREATE RESOURCE POOL [reporting_pool] WITH (MIN_CPU_PERCENT = 5, MAX_CPU_PERCENT = 40, \
         MAX_MEMORY_PERCENT = 30, MAX_IOPS_PER_VOLUME = 400); \
         CREATE WORKLOAD GROUP [reporting_group] WITH (IMPORTANCE = LOW, MAX_DOP = 2) \
         USING [reporting_pool]; ALTER RESOURCE GOVERNOR RECONFIGURE"
            .to_owned(),
    );
    b
}

/// Operators, alerts, a proxy, and 30 jobs (31 with the one in a user database): 24 T-SQL jobs on schedules, two CmdExec and one
/// PowerShell step, one Merge replication job (MI has no Merge agent), one that runs through
/// the proxy and writes an output file, one on a CPU-idle schedule.
fn agent() -> Vec<String> {
    let mut b = vec![
        "EXEC msdb.dbo.sp_add_operator @name = N'DBA On Call', @email_address = N'dba@contoso.example'; \
         EXEC msdb.dbo.sp_add_operator @name = N'Night Shift', @email_address = N'night@contoso.example', @pager_address = N'555-0100'; \
         EXEC msdb.dbo.sp_add_category @class = N'JOB', @type = N'LOCAL', @name = N'Contoso ETL'"
            .to_owned(),
        "EXEC msdb.dbo.sp_add_alert @name = N'Severity 17', @severity = 17; \
         EXEC msdb.dbo.sp_add_notification @alert_name = N'Severity 17', @operator_name = N'DBA On Call', @notification_method = 1; \
         EXEC msdb.dbo.sp_add_alert @name = N'Log full', @message_id = 9002"
            .to_owned(),
        "EXEC msdb.dbo.sp_add_proxy @proxy_name = N'ETL proxy', @credential_name = N'etl_proxy_cred'; \
         EXEC msdb.dbo.sp_grant_proxy_to_subsystem @proxy_name = N'ETL proxy', @subsystem_name = N'CmdExec'; \
         EXEC msdb.dbo.sp_grant_proxy_to_subsystem @proxy_name = N'ETL proxy', @subsystem_name = N'PowerShell'"
            .to_owned(),
    ];
    for i in 1..=24 {
        // msdb refuses a Windows group as a job's owner (sp_verify_job), so owners are logins.
        let owner = if i % 4 == 0 { "etl_service" } else { "sa" };
        let owner = if i % 8 == 0 { "CONTOSO\\anna" } else { owner };
        b.push(format!(
            "EXEC msdb.dbo.sp_add_job @job_name = N'Maintenance {i:02}', @owner_login_name = N'{owner}', \
             @category_name = N'Database Maintenance', @notify_level_email = 2, @notify_email_operator_name = N'DBA On Call'; \
             EXEC msdb.dbo.sp_add_jobstep @job_name = N'Maintenance {i:02}', @step_name = N'Check', \
             @command = N'DBCC CHECKDB WITH NO_INFOMSGS', @database_name = N'master', @on_success_action = 3; \
             EXEC msdb.dbo.sp_add_jobstep @job_name = N'Maintenance {i:02}', @step_name = N'Statistics', \
             @command = N'EXEC sp_updatestats', @database_name = N'master', @retry_attempts = 2, @retry_interval = 5; \
             EXEC msdb.dbo.sp_add_jobschedule @job_name = N'Maintenance {i:02}', @name = N'Nightly {i:02}', \
             @freq_type = 4, @freq_interval = 1, @active_start_time = {}; \
             EXEC msdb.dbo.sp_add_jobserver @job_name = N'Maintenance {i:02}'",
            10000 + i * 100
        ));
    }
    b.push(
        "EXEC msdb.dbo.sp_add_job @job_name = N'Export files', @category_name = N'Contoso ETL'; \
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'Export files', @step_name = N'Run exporter', @subsystem = N'CmdExec', @command = N'exporter.exe --all'; \
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'Export files'; \
         EXEC msdb.dbo.sp_add_job @job_name = N'Cleanup temp'; \
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'Cleanup temp', @step_name = N'Delete', @subsystem = N'CmdExec', @command = N'del /q D:\\temp\\*'; \
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'Cleanup temp'; \
         EXEC msdb.dbo.sp_add_job @job_name = N'Report refresh'; \
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'Report refresh', @step_name = N'Refresh', @subsystem = N'PowerShell', @command = N'Invoke-Sqlcmd -Query ''EXEC dbo.Refresh'''; \
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'Report refresh'; \
         EXEC msdb.dbo.sp_add_job @job_name = N'Merge sync'; \
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'Merge sync', @step_name = N'Merge agent', @subsystem = N'Merge', @command = N'-Publisher SRC01 -Publication Sales'; \
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'Merge sync'; \
         EXEC msdb.dbo.sp_add_job @job_name = N'ETL load', @category_name = N'Contoso ETL'; \
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'ETL load', @step_name = N'Load', @subsystem = N'PowerShell', @command = N'& .\\load.ps1', @proxy_name = N'ETL proxy', @output_file_name = N'D:\\logs\\etl.txt'; \
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'ETL load'; \
         EXEC msdb.dbo.sp_add_job @job_name = N'Idle compaction'; \
         EXEC msdb.dbo.sp_add_jobstep @job_name = N'Idle compaction', @step_name = N'Compact', @command = N'DBCC SHRINKDATABASE (tempdb)'; \
         EXEC msdb.dbo.sp_add_jobschedule @job_name = N'Idle compaction', @name = N'When idle', @freq_type = 128; \
         EXEC msdb.dbo.sp_add_jobserver @job_name = N'Idle compaction'"
            .to_owned(),
    );
    b
}

/// Database Mail, linked servers, a server trigger, an audit to a file, messages and
/// configuration.
fn mail_and_servers() -> Vec<String> {
    vec![
        "EXEC msdb.dbo.sysmail_add_account_sp @account_name = N'DBA Mail', @email_address = N'sql@contoso.example', \
         @display_name = N'SQL Server', @mailserver_name = N'smtp.contoso.example', @port = 587, @username = N'sql-relay', \
         @password = N'Seed#Smtp-2026', @enable_ssl = 1; \
         EXEC msdb.dbo.sysmail_add_profile_sp @profile_name = N'DBA Profile', @description = N'Alerts and job mail'; \
         EXEC msdb.dbo.sysmail_add_profileaccount_sp @profile_name = N'DBA Profile', @account_name = N'DBA Mail', @sequence_number = 1; \
         EXEC msdb.dbo.sysmail_add_principalprofile_sp @profile_name = N'DBA Profile', @principal_name = N'public', @is_default = 1"
            .to_owned(),
        "EXEC sp_addlinkedserver @server = N'SALESSRV', @srvproduct = N'', @provider = N'SQLNCLI11', @datasrc = N'sales01.contoso.example'; \
         EXEC sp_addlinkedsrvlogin @rmtsrvname = N'SALESSRV', @useself = N'FALSE', @locallogin = NULL, @rmtuser = N'report_reader', @rmtpassword = N'Seed#Remote-2026'; \
         EXEC sp_serveroption @server = N'SALESSRV', @optname = N'rpc out', @optvalue = N'true'; \
         EXEC sp_addlinkedserver @server = N'ORAFIN', @srvproduct = N'Oracle', @provider = N'OraOLEDB.Oracle', @datasrc = N'finance.contoso.example'"
            .to_owned(),
        "CREATE TRIGGER [audit_login_changes] ON ALL SERVER FOR CREATE_LOGIN, ALTER_LOGIN, DROP_LOGIN AS\nBEGIN\n    PRINT 'login change recorded'\nEND"
            .to_owned(),
        "CREATE SERVER AUDIT [Compliance] TO FILE (FILEPATH = 'D:\\Audit\\', MAXSIZE = 100 MB) WITH (QUEUE_DELAY = 1000, ON_FAILURE = CONTINUE); \
         CREATE SERVER AUDIT SPECIFICATION [Compliance logins] FOR SERVER AUDIT [Compliance] ADD (FAILED_LOGIN_GROUP), ADD (SERVER_ROLE_MEMBER_CHANGE_GROUP) WITH (STATE = ON); \
         ALTER SERVER AUDIT [Compliance] WITH (STATE = ON)"
            .to_owned(),
        "EXEC sp_addmessage @msgnum = 50001, @severity = 16, @msgtext = N'Order %d was not found.'; \
         EXEC sp_addmessage @msgnum = 50002, @severity = 10, @msgtext = N'Nightly load finished: %d rows.', @with_log = 'TRUE'"
            .to_owned(),
        "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; \
         EXEC sp_configure 'max degree of parallelism', 4; EXEC sp_configure 'cost threshold for parallelism', 40; \
         EXEC sp_configure 'remote access', 0; RECONFIGURE"
            .to_owned(),
    ]
}

/// The seed's Windows groups, as the source's directory knows them
/// ([`crate::Server::set_windows_groups`] before the seed runs).
pub fn windows_groups() -> Vec<String> {
    WINDOWS_GROUPS
        .iter()
        .map(|g| format!("{DOMAIN}\\{g}"))
        .collect()
}

/// The Microsoft Entra users and groups the seed's Windows accounts become under
/// `examples/full-instance/entra-map.toml` (`CONTOSO = "contoso.com"`, with
/// `svc_reporting` and `SQL Admins` mapped by name), for the MI's directory.
pub fn entra_directory() -> (Vec<String>, Vec<String>) {
    let users = WINDOWS_USERS
        .iter()
        .map(|u| match *u {
            "svc_reporting" => "svc-reporting@contoso.com".to_owned(),
            u => format!("{u}@contoso.com"),
        })
        .collect();
    let groups = WINDOWS_GROUPS
        .iter()
        .map(|g| match *g {
            "SQL Admins" => "SQL Administrators".to_owned(),
            g => (*g).to_owned(),
        })
        .collect();
    (users, groups)
}
