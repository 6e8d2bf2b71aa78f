//! Taking Agent objects apart: `sp_delete_jobstep`, `sp_detach_schedule`,
//! `sp_delete_category` ("sp_delete_jobstep (Transact-SQL)" and its siblings), with what
//! msdb's procedures do to the objects that referred to them.

use super::agent_steps::touch_job;
use super::context::{Ctx, Def};
use super::job_checks::job_of;
use super::proc_errors::{invalid, missing, supply_either};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[
    (
        "sp_delete_jobstep",
        &["job_id", "job_name", "step_id"],
        delete_jobstep,
    ),
    (
        "sp_detach_schedule",
        &[
            "job_id",
            "job_name",
            "schedule_id",
            "schedule_name",
            "delete_unused_schedule",
            "automatic_post",
        ],
        detach_schedule,
    ),
    ("sp_delete_category", &["class", "name"], delete_category),
];

/// Step 0 deletes every step. Otherwise the later steps move down one, jumps to them follow,
/// and jumps to the deleted step become "quit with success" / "quit with failure".
fn delete_jobstep(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, _) = job_of(c)?;
    let step = c.p.int_or("step_id", -1)?;
    let key = Value::Text(job.clone());
    let max = c
        .scalar_int(
            r#"SELECT MAX(step_id) FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE"#,
            std::slice::from_ref(&key),
        )?
        .unwrap_or(0);
    if step < 0 || step > max {
        return Err(invalid("@step_id", &format!("0..{max}")));
    }
    let t = "dbo.sysjobsteps";
    if step == 0 {
        c.write(
            "msdb",
            t,
            r#"DELETE FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE"#,
            &[key],
        )?;
    } else {
        let p = [key, Value::Int(step)];
        for sql in [
            r#"DELETE FROM msdb."dbo.sysjobsteps" WHERE job_id = ?1 COLLATE NOCASE AND step_id = ?2"#,
            r#"UPDATE msdb."dbo.sysjobsteps" SET step_id = step_id - 1 WHERE job_id = ?1 COLLATE NOCASE AND step_id > ?2"#,
            r#"UPDATE msdb."dbo.sysjobsteps" SET on_success_step_id = on_success_step_id - 1 WHERE job_id = ?1 COLLATE NOCASE AND on_success_step_id > ?2"#,
            r#"UPDATE msdb."dbo.sysjobsteps" SET on_fail_step_id = on_fail_step_id - 1 WHERE job_id = ?1 COLLATE NOCASE AND on_fail_step_id > ?2"#,
            r#"UPDATE msdb."dbo.sysjobsteps" SET on_success_step_id = 0, on_success_action = 1 WHERE job_id = ?1 COLLATE NOCASE AND on_success_step_id = ?2"#,
            r#"UPDATE msdb."dbo.sysjobsteps" SET on_fail_step_id = 0, on_fail_action = 2 WHERE job_id = ?1 COLLATE NOCASE AND on_fail_step_id = ?2"#,
        ] {
            c.write("msdb", t, sql, &p)?;
        }
    }
    touch_job(c, &job)?;
    Ok(Vec::new())
}

fn detach_schedule(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (job, job_name) = job_of(c)?;
    let (schedule, name) = match (c.p.int("schedule_id")?, c.p.text("schedule_name")) {
        (Some(id), None) => (id, id.to_string()),
        (None, Some(n)) => {
            let id = c
                .scalar_int(
                    r#"SELECT s.schedule_id FROM msdb."dbo.sysschedules" s JOIN msdb."dbo.sysjobschedules" js ON js.schedule_id = s.schedule_id
                       WHERE s.name = ?1 COLLATE NOCASE AND js.job_id = ?2 COLLATE NOCASE"#,
                    &[Value::Text(n.clone()), Value::Text(job.clone())],
                )?
                .ok_or_else(|| missing("@schedule_name", &n))?;
            (id, n)
        }
        _ => return Err(supply_either(14373, "@schedule_id", "@schedule_name", "")),
    };
    let key = [Value::Text(job.clone()), Value::Int(schedule)];
    let attached = c.scalar_int(
        r#"SELECT 1 FROM msdb."dbo.sysjobschedules" WHERE job_id = ?1 COLLATE NOCASE AND schedule_id = ?2"#,
        &key,
    )?;
    if attached.is_none() {
        // SQL Server error 14374.
        return Err(ServerMessage::error(
            14374,
            16,
            format!(
                "The specified schedule name \"{name}\" is not associated with the job \"{job_name}\"."
            ),
        ));
    }
    c.write("msdb", "dbo.sysjobschedules", r#"DELETE FROM msdb."dbo.sysjobschedules" WHERE job_id = ?1 COLLATE NOCASE AND schedule_id = ?2"#, &key)?;
    if c.p.int_or("delete_unused_schedule", 0)? != 0 {
        let used = c
            .scalar_int(
                r#"SELECT COUNT(*) FROM msdb."dbo.sysjobschedules" WHERE schedule_id = ?1"#,
                &[Value::Int(schedule)],
            )?
            .unwrap_or(0);
        if used == 0 {
            c.write(
                "msdb",
                "dbo.sysschedules",
                r#"DELETE FROM msdb."dbo.sysschedules" WHERE schedule_id = ?1"#,
                &[Value::Int(schedule)],
            )?;
        }
    }
    touch_job(c, &job)?;
    Ok(Vec::new())
}

/// A user category (ids from 100 on; SQL Server's own are permanent, 14276); its jobs go back
/// to the default category of their type, its alerts to [Uncategorized] (sp_delete_category).
fn delete_category(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let class = c.p.text("class").unwrap_or_default().to_ascii_uppercase();
    let class_id = match class.as_str() {
        "JOB" => 1,
        "ALERT" => 2,
        "OPERATOR" => 3,
        _ => return Err(invalid("@class", "JOB, ALERT, OPERATOR")),
    };
    let name = c.p.text("name").unwrap_or_default();
    let (_, rows) = c.inst.query(
        r#"SELECT category_id, category_type FROM msdb."dbo.syscategories" WHERE name = ?1 COLLATE NOCASE AND category_class = ?2"#,
        &[Value::Text(name.clone()), Value::Int(class_id)],
    )?;
    let Some(row) = rows.first() else {
        return Err(missing("@name", &name));
    };
    let (id, ty) = (
        crate::protocol::types::int(&row[0]),
        crate::protocol::types::int(&row[1]),
    );
    if id < 100 {
        return Err(ServerMessage::error(
            14276,
            16,
            format!("'{name}' is a permanent {class} category and cannot be deleted."),
        ));
    }
    let default = if ty == 2 { 2 } else { 0 };
    c.write(
        "msdb",
        "dbo.sysjobs",
        r#"UPDATE msdb."dbo.sysjobs" SET category_id = ?2 WHERE category_id = ?1"#,
        &[Value::Int(id), Value::Int(default)],
    )?;
    c.write(
        "msdb",
        "dbo.sysalerts",
        r#"UPDATE msdb."dbo.sysalerts" SET category_id = 98 WHERE category_id = ?1"#,
        &[Value::Int(id)],
    )?;
    c.write(
        "msdb",
        "dbo.sysoperators",
        r#"UPDATE msdb."dbo.sysoperators" SET category_id = 99 WHERE category_id = ?1"#,
        &[Value::Int(id)],
    )?;
    c.write(
        "msdb",
        "dbo.syscategories",
        r#"DELETE FROM msdb."dbo.syscategories" WHERE category_id = ?1"#,
        &[Value::Int(id)],
    )?;
    Ok(Vec::new())
}
