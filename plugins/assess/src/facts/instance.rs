//! The instance's facts, each from the view its documentation page describes (learn.microsoft.com
//! T-SQL reference): SERVERPROPERTY, `sys.dm_os_sys_info`, `sys.configurations`,
//! `sys.servers`, `sys.server_principals`, `msdb.dbo.sysjobs`/`sysjobsteps`,
//! `msdb.dbo.sysmail_profile`, `sys.master_files`, `DBCC TRACESTATUS` and
//! `sys.dm_server_registry`.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::{QueryLimits, SqlConnection, SqlValue};

use super::{DatabaseSize, InstanceFacts, JobStep, LinkedServer, WindowsLogin};

type Rows = Vec<Vec<SqlValue>>;

/// The rows of a query the server must answer (every supported version has the view).
pub fn rows<C>(cx: &mut Context<'_, C>, conn: SqlConnection, sql: &str) -> Result<Rows> {
    Ok(cx.rows_if_present(conn, sql, &[])?.unwrap_or_default())
}

/// Reads the instance behind `conn`.
pub fn read<C>(cx: &mut Context<'_, C>, conn: SqlConnection) -> Result<InstanceFacts> {
    let mut f = InstanceFacts::default();
    // "SERVERPROPERTY (Transact-SQL)": ProductVersion, Edition, Collation, IsHadrEnabled,
    // ServerName.
    let server = rows(
        cx,
        conn,
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, \
         CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, \
         CAST(SERVERPROPERTY('Collation') AS nvarchar(128)) AS collation, \
         CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS is_hadr_enabled, \
         CAST(SERVERPROPERTY('ServerName') AS nvarchar(256)) AS server_name",
    )?;
    if let Some(r) = server.first() {
        f.product_version = text(r.first());
        f.edition = text(r.get(1));
        f.collation = text(r.get(2));
        f.server_name = text(r.get(4));
        // NULL before SQL Server 2012 (no Always On): unknown, not off.
        f.hadr_enabled = match r.get(3) {
            None | Some(SqlValue::Null) => None,
            v => Some(int(v) == 1),
        };
    }
    // "sys.dm_os_sys_info": cpu_count (logical CPUs), physical_memory_kb (2012+; the column
    // was physical_memory_in_bytes before, so an older server leaves memory unknown).
    let both = cx.rows_if_present(
        conn,
        "SELECT cpu_count, physical_memory_kb FROM sys.dm_os_sys_info",
        &[],
    )?;
    if let Some(r) = both.as_ref().and_then(|r| r.first()) {
        f.cpu_count = Some(int(r.first()).max(0) as u64);
        f.physical_memory_kb = Some(int(r.get(1)).max(0) as u64);
    } else if let Some(r) = cx
        .rows_if_present(conn, "SELECT cpu_count FROM sys.dm_os_sys_info", &[])?
        .and_then(|r| r.into_iter().next())
    {
        f.cpu_count = Some(int(r.first()).max(0) as u64);
    }
    configurations(cx, conn, &mut f)?;
    // "sys.servers": linked servers only (server_id 0 is the instance itself).
    f.linked_servers = rows(
        cx,
        conn,
        "SELECT name, product, provider, data_source FROM sys.servers WHERE is_linked = 1",
    )?
    .iter()
    .map(|r| LinkedServer {
        name: text(r.first()),
        product: text(r.get(1)),
        provider: text(r.get(2)),
        data_source: text(r.get(3)),
    })
    .collect();
    // "sys.server_principals": type U (Windows login), G (Windows group); the service and
    // built-in accounts are the machine's, not migrated (methods.md §5.1).
    f.windows_logins = rows(
        cx,
        conn,
        "SELECT name, type FROM sys.server_principals WHERE type IN ('U', 'G') \
         AND name NOT LIKE 'NT SERVICE\\%' AND name NOT LIKE 'NT AUTHORITY\\%' \
         AND name NOT LIKE 'BUILTIN\\%'",
    )?
    .iter()
    .map(|r| WindowsLogin {
        name: text(r.first()),
        group: text(r.get(1)).trim().eq_ignore_ascii_case("G"),
    })
    .collect();
    // "dbo.sysjobsteps (Transact-SQL)": the subsystem of every step.
    f.job_steps = rows(
        cx,
        conn,
        "SELECT j.name, s.step_name, s.subsystem FROM msdb.dbo.sysjobsteps s \
         JOIN msdb.dbo.sysjobs j ON j.job_id = s.job_id",
    )?
    .iter()
    .map(|r| JobStep {
        job: text(r.first()),
        step: text(r.get(1)),
        subsystem: text(r.get(2)),
    })
    .collect();
    // "sysmail_profile (Transact-SQL)".
    f.mail_profiles = rows(cx, conn, "SELECT name FROM msdb.dbo.sysmail_profile")?
        .iter()
        .map(|r| text(r.first()))
        .collect();
    // "sys.master_files": size in 8 KiB pages; user databases only.
    f.databases = rows(
        cx,
        conn,
        "SELECT d.name, SUM(CAST(f.size AS bigint)) AS pages, COUNT(*) AS files \
         FROM sys.master_files f JOIN sys.databases d ON d.database_id = f.database_id \
         WHERE f.database_id > 4 GROUP BY d.name",
    )?
    .iter()
    .map(|r| DatabaseSize {
        name: text(r.first()),
        size_bytes: int(r.get(1)).max(0) as u64 * 8192,
        files: int(r.get(2)).max(0) as u64,
    })
    .collect();
    trace_flags(cx, conn, &mut f)?;
    Ok(f)
}

/// "sys.configurations": `value_in_use` of the options the rules read.
fn configurations<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    f: &mut InstanceFacts,
) -> Result<()> {
    let config = rows(
        cx,
        conn,
        "SELECT name, CAST(value_in_use AS int) AS value_in_use FROM sys.configurations \
         WHERE name IN ('xp_cmdshell', 'Ole Automation Procedures', 'SQL Mail XPs', \
         'Database Mail XPs')",
    )?;
    let value = |name: &str| {
        config
            .iter()
            .find(|r| text(r.first()).eq_ignore_ascii_case(name))
            .map(|r| int(r.get(1)) != 0)
    };
    f.xp_cmdshell = value("xp_cmdshell").unwrap_or(false);
    f.ole_automation = value("Ole Automation Procedures").unwrap_or(false);
    f.sql_mail_xps = value("SQL Mail XPs");
    f.database_mail_xps = value("Database Mail XPs").unwrap_or(false);
    Ok(())
}

/// Global trace flags: `DBCC TRACESTATUS(-1)` ("DBCC TRACESTATUS (Transact-SQL)": TraceFlag,
/// Status, Global, Session). A `read` grant refuses every DBCC, so when the host denies it the
/// startup parameters (`-T<flag>`) in `sys.dm_server_registry` are read instead: they are the
/// flags set at every start, not ones turned on since with DBCC TRACEON (the report says which
/// source was read).
fn trace_flags<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    f: &mut InstanceFacts,
) -> Result<()> {
    let limits = QueryLimits {
        max_rows: 10_000,
        max_bytes: 1 << 20,
    };
    match cx.query(conn, "DBCC TRACESTATUS(-1) WITH NO_INFOMSGS", &[], limits) {
        Ok(r) => {
            let flags = r
                .into_first_rows()
                .iter()
                .filter(|r| int(r.get(1)) == 1 && int(r.get(2)) == 1)
                .map(|r| int(r.first()))
                .collect();
            f.trace_flags = Some(flags);
            f.trace_flags_source = "DBCC TRACESTATUS(-1)".into();
            return Ok(());
        }
        Err(Error::Denied(_)) => {}
        Err(Error::Failed(_)) => {}
        Err(e) => return Err(e),
    }
    // "sys.dm_server_registry": startup parameters are the values named SQLArg0, SQLArg1, ….
    let startup = cx.rows_if_present(
        conn,
        "SELECT CAST(value_data AS nvarchar(4000)) AS value_data FROM sys.dm_server_registry \
         WHERE value_name LIKE N'SQLArg%'",
        &[],
    );
    match startup {
        Ok(Some(rows)) => {
            f.trace_flags = Some(
                rows.iter()
                    .filter_map(|r| startup_flag(&text(r.first())))
                    .collect(),
            );
            f.trace_flags_source =
                "startup parameters in sys.dm_server_registry (DBCC is refused under a read grant)"
                    .into();
        }
        Ok(None) | Err(Error::Denied(_)) | Err(Error::Failed(_)) => {
            f.trace_flags = None;
            f.trace_flags_source = "not readable".into();
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// `-T1117` → 1117.
pub fn startup_flag(arg: &str) -> Option<i64> {
    let a = arg.trim();
    a.strip_prefix("-T")
        .or_else(|| a.strip_prefix("-t"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn startup_trace_flags_are_read_from_their_parameter() {
        assert_eq!(super::startup_flag("-T1117"), Some(1117));
        assert_eq!(super::startup_flag(" -t 3226"), Some(3226));
        assert_eq!(super::startup_flag("-dC:\\data\\master.mdf"), None);
    }
}
