//! `sp_help_job` ("sp_help_job (Transact-SQL)"): one row per job with the columns of the
//! reference page's first result set. For a single job SQL Server also returns its steps,
//! schedules and target servers as three more result sets; the emulator returns the job's row
//! only (those are readable from sysjobsteps, sysjobschedules and sysjobservers).

use super::context::{Ctx, Def};
use super::job_checks::job_of;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[(
    "sp_help_job",
    &[
        "job_id",
        "job_name",
        "job_aspect",
        "job_type",
        "owner_login_name",
        "subsystem",
        "category_name",
        "enabled",
        "execution_status",
        "date_comparator",
        "date_created",
        "date_last_modified",
        "description",
    ],
    help_job,
)];

fn help_job(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (filter, params) = if c.p.guid("job_id")?.is_some() || c.p.text("job_name").is_some() {
        let (id, _) = job_of(c)?;
        ("WHERE j.job_id = ?1 COLLATE NOCASE", vec![Value::Text(id)])
    } else if let Some(enabled) = c.p.int("enabled")? {
        ("WHERE j.enabled = ?1", vec![Value::Int(enabled)])
    } else {
        ("", vec![])
    };
    let sql = format!(
        r#"SELECT j.job_id, CAST(?{n} AS nvarchar(128)) AS originating_server, j.name, j.enabled, j.description, j.start_step_id,
            c.name AS category, p.name AS owner, j.notify_level_eventlog, j.notify_level_email, j.notify_level_netsend,
            j.notify_level_page, oe.name AS notify_email_operator, onet.name AS notify_netsend_operator,
            op.name AS notify_page_operator, j.delete_level, j.date_created, j.date_modified, j.version_number,
            0 AS last_run_date, 0 AS last_run_time, 5 AS last_run_outcome, 0 AS next_run_date, 0 AS next_run_time,
            0 AS next_run_schedule_id, 4 AS current_execution_status, '0 (unknown)' AS current_execution_step,
            0 AS current_retry_attempt,
            (SELECT COUNT(*) FROM msdb."dbo.sysjobsteps" s WHERE s.job_id = j.job_id) AS has_step,
            (SELECT COUNT(*) FROM msdb."dbo.sysjobschedules" s WHERE s.job_id = j.job_id) AS has_schedule,
            (SELECT COUNT(*) FROM msdb."dbo.sysjobservers" s WHERE s.job_id = j.job_id) AS has_target,
            CASE WHEN EXISTS (SELECT 1 FROM msdb."dbo.sysjobservers" s WHERE s.job_id = j.job_id) THEN 1 ELSE 0 END AS type
        FROM msdb."dbo.sysjobs" j
        LEFT JOIN msdb."dbo.syscategories" c ON c.category_id = j.category_id
        LEFT JOIN main."sys.server_principals" p ON p.sid = j.owner_sid
        LEFT JOIN msdb."dbo.sysoperators" oe ON oe.id = j.notify_email_operator_id
        LEFT JOIN msdb."dbo.sysoperators" onet ON onet.id = j.notify_netsend_operator_id
        LEFT JOIN msdb."dbo.sysoperators" op ON op.id = j.notify_page_operator_id
        {filter} ORDER BY j.name"#,
        n = params.len() + 1
    );
    let mut params = params;
    params.push(Value::Text(
        c.s.personality.server_name().to_ascii_uppercase(),
    ));
    let (columns, rows) = c.inst.query(&sql, &params)?;
    Ok(vec![Outcome::Rows { columns, rows }])
}
