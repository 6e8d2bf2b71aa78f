//! SQL Server Agent's tables in msdb, with the columns and types of the msdb that SQL Server
//! installs (instmsdb.sql; "dbo.sysjobs (Transact-SQL)", "dbo.sysjobsteps", "dbo.sysschedules",
//! … pages of the Transact-SQL reference), and the rows SQL Server seeds them with: the
//! permanent categories and the subsystems.
//!
//! `sysjobhistory` is written by `sp_start_job` (sql/system_procs/agent_run.rs), which runs only
//! the link's PowerShell `tnc` steps; the emulator runs no schedules.
//!
//! `msdb.dbo.sysjobs_view` is the permission-filtered view Agent's procedures read; every
//! session of the emulator is a sysadmin, so it shows every job, as it does for a sysadmin.

use rusqlite::Connection;

use crate::personality::Personality;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS msdb."dbo.sysjobs" (
    job_id uniqueidentifier NOT NULL, originating_server_id int NOT NULL, name sysname NOT NULL,
    enabled tinyint NOT NULL, description nvarchar(512), start_step_id int NOT NULL, category_id int NOT NULL,
    owner_sid varbinary(85) NOT NULL, notify_level_eventlog int NOT NULL, notify_level_email int NOT NULL,
    notify_level_netsend int NOT NULL, notify_level_page int NOT NULL, notify_email_operator_id int NOT NULL,
    notify_netsend_operator_id int NOT NULL, notify_page_operator_id int NOT NULL, delete_level int NOT NULL,
    date_created datetime NOT NULL, date_modified datetime NOT NULL, version_number int NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysjobsteps" (
    job_id uniqueidentifier NOT NULL, step_id int NOT NULL, step_name sysname NOT NULL, subsystem nvarchar(40) NOT NULL,
    command nvarchar(-1), flags int NOT NULL, additional_parameters nvarchar(-1), cmdexec_success_code int NOT NULL,
    on_success_action tinyint NOT NULL, on_success_step_id int NOT NULL, on_fail_action tinyint NOT NULL,
    on_fail_step_id int NOT NULL, server sysname, database_name sysname, database_user_name sysname,
    retry_attempts int NOT NULL, retry_interval int NOT NULL, os_run_priority int NOT NULL,
    output_file_name nvarchar(200), last_run_outcome int NOT NULL, last_run_duration int NOT NULL,
    last_run_retries int NOT NULL, last_run_date int NOT NULL, last_run_time int NOT NULL, proxy_id int,
    step_uid uniqueidentifier
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysschedules" (
    schedule_id INTEGER PRIMARY KEY, schedule_uid uniqueidentifier NOT NULL, originating_server_id int NOT NULL,
    name sysname NOT NULL, owner_sid varbinary(85) NOT NULL, enabled int NOT NULL, freq_type int NOT NULL,
    freq_interval int NOT NULL, freq_subday_type int NOT NULL, freq_subday_interval int NOT NULL,
    freq_relative_interval int NOT NULL, freq_recurrence_factor int NOT NULL, active_start_date int NOT NULL,
    active_end_date int NOT NULL, active_start_time int NOT NULL, active_end_time int NOT NULL,
    date_created datetime NOT NULL, date_modified datetime NOT NULL, version_number int NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysjobschedules" (
    schedule_id int, job_id uniqueidentifier, next_run_date int NOT NULL, next_run_time int NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysjobservers" (
    job_id uniqueidentifier NOT NULL, server_id int NOT NULL, last_run_outcome tinyint NOT NULL,
    last_outcome_message nvarchar(4000), last_run_date int NOT NULL, last_run_time int NOT NULL,
    last_run_duration int NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.syscategories" (
    category_id INTEGER PRIMARY KEY, category_class int NOT NULL, category_type tinyint NOT NULL, name sysname NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysoperators" (
    id INTEGER PRIMARY KEY, name sysname NOT NULL, enabled tinyint NOT NULL, email_address nvarchar(100),
    last_email_date int NOT NULL, last_email_time int NOT NULL, pager_address nvarchar(100),
    last_pager_date int NOT NULL, last_pager_time int NOT NULL, weekday_pager_start_time int NOT NULL,
    weekday_pager_end_time int NOT NULL, saturday_pager_start_time int NOT NULL, saturday_pager_end_time int NOT NULL,
    sunday_pager_start_time int NOT NULL, sunday_pager_end_time int NOT NULL, pager_days tinyint NOT NULL,
    netsend_address nvarchar(100), last_netsend_date int NOT NULL, last_netsend_time int NOT NULL,
    category_id int NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysalerts" (
    id INTEGER PRIMARY KEY, name sysname NOT NULL, event_source nvarchar(100) NOT NULL, event_category_id int,
    event_id int, message_id int NOT NULL, severity int NOT NULL, enabled tinyint NOT NULL,
    delay_between_responses int NOT NULL, last_occurrence_date int NOT NULL, last_occurrence_time int NOT NULL,
    last_response_date int NOT NULL, last_response_time int NOT NULL, notification_message nvarchar(512),
    include_event_description tinyint NOT NULL, database_name nvarchar(512), event_description_keyword nvarchar(100),
    occurrence_count int NOT NULL, count_reset_date int NOT NULL, count_reset_time int NOT NULL,
    job_id uniqueidentifier NOT NULL, has_notification int NOT NULL, flags int NOT NULL,
    performance_condition nvarchar(512), category_id int NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysnotifications" (
    alert_id int NOT NULL, operator_id int NOT NULL, notification_method tinyint NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysproxies" (
    proxy_id INTEGER PRIMARY KEY, name sysname NOT NULL, credential_id int NOT NULL, enabled tinyint NOT NULL,
    description nvarchar(512), user_sid varbinary(85) NOT NULL, credential_date_created datetime NOT NULL
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysproxylogin" (proxy_id int NOT NULL, sid varbinary(85), flags int NOT NULL);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysproxysubsystem" (subsystem_id int NOT NULL, proxy_id int NOT NULL);
CREATE TABLE IF NOT EXISTS msdb."dbo.syssubsystems" (
    subsystem_id int NOT NULL, subsystem nvarchar(40) NOT NULL, description_id int, subsystem_dll nvarchar(255),
    agent_exe nvarchar(255), start_entry_point nvarchar(30), event_entry_point nvarchar(30),
    stop_entry_point nvarchar(30), max_worker_threads int
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysjobhistory" (
    instance_id INTEGER PRIMARY KEY, job_id uniqueidentifier NOT NULL, step_id int NOT NULL, step_name sysname NOT NULL,
    sql_message_id int NOT NULL, sql_severity int NOT NULL, message nvarchar(4000), run_status int NOT NULL,
    run_date int NOT NULL, run_time int NOT NULL, run_duration int NOT NULL, operator_id_emailed int NOT NULL,
    operator_id_netsent int NOT NULL, operator_id_paged int NOT NULL, retries_attempted int NOT NULL, server sysname NOT NULL
);
"#;

/// The permanent categories (ids below 100) SQL Server's msdb holds from installation.
const CATEGORIES: &[(i64, i64, i64, &str)] = &[
    (0, 1, 1, "[Uncategorized (Local)]"),
    (1, 1, 1, "Jobs from MSX"),
    (2, 1, 2, "[Uncategorized (Multi-Server)]"),
    (3, 1, 1, "Database Maintenance"),
    (5, 1, 1, "Full-Text"),
    (6, 1, 1, "Log Shipping"),
    (7, 1, 1, "Database Engine Tuning Advisor"),
    (8, 1, 1, "Data Collector"),
    (10, 1, 1, "REPL-Distribution"),
    (11, 1, 1, "REPL-Distribution Cleanup"),
    (12, 1, 1, "REPL-History Cleanup"),
    (13, 1, 1, "REPL-LogReader"),
    (14, 1, 1, "REPL-Merge"),
    (15, 1, 1, "REPL-Snapshot"),
    (16, 1, 1, "REPL-Checkup"),
    (17, 1, 1, "REPL-Subscription Cleanup"),
    (18, 1, 1, "REPL-Alert Response"),
    (19, 1, 1, "REPL-QueueReader"),
    (20, 2, 3, "Replication"),
    (98, 2, 3, "[Uncategorized]"),
    (99, 3, 3, "[Uncategorized]"),
];

/// Agent's subsystems with their description message ids (14550 "Command-Line Subsystem" …),
/// as `sp_enum_sqlagent_subsystems` lists them on SQL Server 2016 and later, and whether a
/// Managed Instance has them. "SQL Agent job limitations in SQL Managed Instance" ("Automate
/// management tasks using SQL Agent jobs in Azure SQL Managed Instance") and "T-SQL differences
/// between SQL Server and Azure SQL Managed Instance", section SQL Server Agent: T-SQL, SSIS and
/// the log reader, snapshot and distribution replication steps are supported; merge, queue
/// reader and Analysis Services are not; the differences page says "Command shell isn't yet
/// supported" while the job automation page mentions OS command and PowerShell steps. The
/// emulator takes the stricter reading for CmdExec (absent on MI) and keeps PowerShell, which
/// neither page lists as unsupported. On MI msdb refuses an absent subsystem in
/// sp_verify_subsystem (error 14234), as for any unknown name.
pub(super) const SUBSYSTEMS: &[(i64, &str, Option<i64>, bool)] = &[
    (1, "TSQL", Some(14556), true),
    (2, "ActiveScripting", Some(14555), false),
    (3, "CmdExec", Some(14550), false),
    (4, "Snapshot", Some(14551), true),
    (5, "LogReader", Some(14552), true),
    (6, "Distribution", Some(14553), true),
    (7, "Merge", Some(14554), false),
    (8, "QueueReader", Some(14581), false),
    (9, "ANALYSISQUERY", Some(14513), false),
    (10, "ANALYSISCOMMAND", Some(14514), false),
    (11, "SSIS", Some(14538), true),
    // Its description message is not in the documented 14000–14999 list: left NULL.
    (12, "PowerShell", None, true),
];

/// `sysjobs_view` with the columns of msdb's: the job's columns in its order, with the name of
/// its originating server and whether that is a master server, from
/// `sysoriginatingservers_view` (this server, id 0, upper-case, not a master: the emulator has
/// no multi-server administration). That view is kept as a one-row table, rewritten when the
/// server starts, so its columns keep their declared types.
fn jobs_view(server: &str) -> String {
    format!(
        r#"DROP VIEW IF EXISTS msdb."dbo.sysjobs_view";
        DROP TABLE IF EXISTS msdb."dbo.sysoriginatingservers_view";
        CREATE TABLE msdb."dbo.sysoriginatingservers_view" (
            originating_server_id int, originating_server sysname, master_server bit
        );
        INSERT INTO msdb."dbo.sysoriginatingservers_view" VALUES (0, '{}', 0);
        CREATE VIEW msdb."dbo.sysjobs_view" AS
        SELECT j.job_id, s.originating_server, j.name, j.enabled, j.description, j.start_step_id,
            j.category_id, j.owner_sid, j.notify_level_eventlog, j.notify_level_email, j.notify_level_netsend,
            j.notify_level_page, j.notify_email_operator_id, j.notify_netsend_operator_id, j.notify_page_operator_id,
            j.delete_level, j.date_created, j.date_modified, j.version_number, j.originating_server_id, s.master_server
        FROM msdb."dbo.sysjobs" j JOIN msdb."dbo.sysoriginatingservers_view" s
            ON s.originating_server_id = j.originating_server_id;"#,
        server.to_ascii_uppercase().replace('\'', "''")
    )
}

/// Creates the tables (a new instance) and seeds them the first time.
pub(super) fn prepare(conn: &Connection, p: &Personality) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(&jobs_view(p.server_name()))?;
    let seeded: i64 = conn.query_row(
        r#"SELECT COUNT(*) FROM msdb."dbo.syscategories""#,
        [],
        |r| r.get(0),
    )?;
    if seeded == 0 {
        for (id, class, ty, name) in CATEGORIES {
            conn.execute(
                r#"INSERT INTO msdb."dbo.syscategories" VALUES (?1, ?2, ?3, ?4)"#,
                rusqlite::params![id, class, ty, name],
            )?;
        }
    }
    let subsystems: i64 = conn.query_row(
        r#"SELECT COUNT(*) FROM msdb."dbo.syssubsystems""#,
        [],
        |r| r.get(0),
    )?;
    if subsystems == 0 {
        let mi = p.is_managed_instance();
        // ActiveScripting was removed in SQL Server 2016 ("Discontinued Database Engine
        // functionality in SQL Server 2016"); PowerShell steps came with SQL Server 2008.
        let before_2016 = p.compatibility_level() < 130;
        for (id, name, description, on_mi) in SUBSYSTEMS {
            let present = if mi {
                *on_mi
            } else {
                *name != "ActiveScripting" || before_2016
            };
            if present {
                conn.execute(
                    r#"INSERT INTO msdb."dbo.syssubsystems" (subsystem_id, subsystem, description_id, max_worker_threads) VALUES (?1, ?2, ?3, 100)"#,
                    rusqlite::params![id, name, description],
                )?;
            }
        }
    }
    Ok(())
}
