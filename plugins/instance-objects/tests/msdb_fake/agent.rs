//! msdb's Agent procedures as the fake target learns them (`sp_add_job` and the rest, as far
//! as the plugin calls them), with the checks that matter here: a job's owner must be a login,
//! named jobs, operators and categories must exist, MI's missing subsystems are refused.

use super::*;

pub const JOBS: &str = "msdb.dbo.sysjobs";
pub const STEPS: &str = "msdb.dbo.sysjobsteps";
pub const SCHEDULES: &str = "msdb.dbo.sysschedules";

fn category_id(db: &Db, name: &str, class: i64, default: i64) -> Result<i64, String> {
    if name.is_empty() {
        return Ok(default);
    }
    db.rows("msdb.dbo.syscategories")
        .iter()
        .find(|r| {
            cell_text(r, "name").eq_ignore_ascii_case(name)
                && cell_int(r, "category_class") == class
        })
        .map(|r| cell_int(r, "category_id"))
        .ok_or_else(|| format!("category '{name}' does not exist"))
}

fn job_id(db: &Db, a: &Args) -> Result<String, String> {
    let name = text(a, "job_name");
    db.rows(JOBS)
        .iter()
        .find(|r| cell_text(r, "name") == name)
        .map(|r| cell_text(r, "job_id"))
        .ok_or_else(|| format!("The specified @job_name ('{name}') does not exist."))
}

fn operator_id(db: &Db, name: &str) -> Result<i64, String> {
    db.rows("msdb.dbo.sysoperators")
        .iter()
        .find(|r| cell_text(r, "name") == name)
        .map(|r| cell_int(r, "id"))
        .ok_or_else(|| format!("operator '{name}' does not exist"))
}

fn next_id(db: &Db, table: &str, col: &str, floor: i64) -> i64 {
    db.rows(table)
        .iter()
        .map(|r| cell_int(r, col))
        .max()
        .unwrap_or(floor)
        .max(floor)
        + 1
}

/// msdb's Agent procedures, as far as the plugin calls them.
pub fn apply(db: &mut Db, proc: &str, a: &Args, var: &mut Option<i64>) -> Result<(), String> {
    let copy = |r: &mut Row, keys: &[&str]| {
        for k in keys {
            if let Some(v) = a.get(*k) {
                r.insert((*k).into(), v.clone());
            }
        }
    };
    match proc {
        "sp_add_category" => {
            let class = if text(a, "class") == "JOB" { 1 } else { 3 };
            let id = next_id(db, "msdb.dbo.syscategories", "category_id", 99);
            db.add(
                "msdb.dbo.syscategories",
                row(&[
                    ("category_id", i(id)),
                    ("category_class", i(class)),
                    ("category_type", i(if class == 1 { 1 } else { 3 })),
                    ("name", t(&text(a, "name"))),
                ]),
            );
        }
        "sp_add_operator" | "sp_update_operator" => {
            let cat = category_id(db, &text(a, "category_name"), 3, 99)?;
            let name = text(a, "name");
            let exists = db
                .rows("msdb.dbo.sysoperators")
                .iter()
                .any(|r| cell_text(r, "name") == name);
            if proc == "sp_add_operator" && exists {
                return Err(format!("The specified @name ('{name}') already exists."));
            }
            if !exists {
                let id = next_id(db, "msdb.dbo.sysoperators", "id", 0);
                db.add(
                    "msdb.dbo.sysoperators",
                    row(&[("id", i(id)), ("name", t(&name))]),
                );
            }
            let r = db
                .rows_mut("msdb.dbo.sysoperators")
                .iter_mut()
                .find(|r| cell_text(r, "name") == name)
                .unwrap();
            copy(r, &["enabled", "email_address"]);
            r.insert("category_id".into(), i(cat));
        }
        "sp_add_job" => {
            let owner = text(a, "owner_login_name");
            let sid = db
                .rows("sys.server_principals")
                .iter()
                .find(|r| cell_text(r, "name") == owner)
                .and_then(|r| r.get("sid").cloned())
                .ok_or_else(|| format!("The specified @owner_login_name ('{owner}') is invalid"))?;
            let cat = category_id(db, &text(a, "category_name"), 1, 0)?;
            let n = db
                .rows(JOBS)
                .iter()
                .filter_map(|r| {
                    cell_text(r, "job_id")
                        .strip_prefix("JOB-")?
                        .parse::<i64>()
                        .ok()
                })
                .max()
                .unwrap_or(100);
            let id = format!("JOB-{}", n + 1);
            let mut r = row(&[
                ("job_id", t(&id)),
                ("name", t(&text(a, "job_name"))),
                ("owner_sid", sid),
                ("category_id", i(cat)),
                ("start_step_id", i(1)),
                ("notify_level_email", i(0)),
                ("originating_server_id", i(0)),
            ]);
            copy(
                &mut r,
                &[
                    "enabled",
                    "description",
                    "notify_level_eventlog",
                    "delete_level",
                ],
            );
            db.add(JOBS, r);
        }
        "sp_update_job" => {
            let id = job_id(db, a)?;
            let op = match a.get("notify_email_operator_name") {
                Some(_) => Some(operator_id(db, &text(a, "notify_email_operator_name"))?),
                None => None,
            };
            let r = db
                .rows_mut(JOBS)
                .iter_mut()
                .find(|r| cell_text(r, "job_id") == id)
                .unwrap();
            copy(r, &["start_step_id", "notify_level_email"]);
            if let Some(op) = op {
                r.insert("notify_email_operator_id".into(), i(op));
            }
        }
        "sp_add_jobstep" => {
            let id = job_id(db, a)?;
            let sub = text(a, "subsystem");
            if ["Merge", "QueueReader", "ANALYSISQUERY", "ANALYSISCOMMAND"].contains(&sub.as_str())
            {
                return Err(format!("The specified @subsystem ('{sub}') is invalid"));
            }
            let mut r = row(&[("job_id", t(&id))]);
            copy(
                &mut r,
                &[
                    "step_id",
                    "step_name",
                    "subsystem",
                    "command",
                    "database_name",
                    "on_success_action",
                    "on_success_step_id",
                    "on_fail_action",
                    "on_fail_step_id",
                    "retry_attempts",
                    "retry_interval",
                    "flags",
                    "output_file_name",
                ],
            );
            db.add(STEPS, r);
        }
        "sp_add_schedule" => {
            let id = next_id(db, SCHEDULES, "schedule_id", 0);
            let mut r = row(&[
                ("schedule_id", i(id)),
                ("name", t(&text(a, "schedule_name"))),
            ]);
            copy(
                &mut r,
                &[
                    "enabled",
                    "freq_type",
                    "freq_interval",
                    "freq_subday_type",
                    "freq_subday_interval",
                    "freq_relative_interval",
                    "freq_recurrence_factor",
                    "active_start_date",
                    "active_end_date",
                    "active_start_time",
                    "active_end_time",
                ],
            );
            db.add(SCHEDULES, r);
            *var = Some(id);
        }
        "sp_attach_schedule" => {
            let id = job_id(db, a)?;
            let s = var.take().ok_or("no @schedule_id")?;
            db.add(
                "msdb.dbo.sysjobschedules",
                row(&[("job_id", t(&id)), ("schedule_id", i(s))]),
            );
        }
        "sp_add_jobserver" => {
            assert_eq!(text(a, "server_name"), "(local)");
            let id = job_id(db, a)?;
            db.add(
                "msdb.dbo.sysjobservers",
                row(&[("job_id", t(&id)), ("server_id", i(0))]),
            );
        }
        "sp_delete_job" => {
            let id = job_id(db, a)?;
            for table in [JOBS, STEPS, "msdb.dbo.sysjobservers"] {
                db.rows_mut(table).retain(|r| cell_text(r, "job_id") != id);
            }
            let mine: Vec<i64> = db
                .rows("msdb.dbo.sysjobschedules")
                .iter()
                .filter(|r| cell_text(r, "job_id") == id)
                .map(|r| cell_int(r, "schedule_id"))
                .collect();
            db.rows_mut("msdb.dbo.sysjobschedules")
                .retain(|r| cell_text(r, "job_id") != id);
            if int(a, "delete_unused_schedule", 0) == 1 {
                let used: Vec<i64> = db
                    .rows("msdb.dbo.sysjobschedules")
                    .iter()
                    .map(|r| cell_int(r, "schedule_id"))
                    .collect();
                db.rows_mut(SCHEDULES).retain(|r| {
                    let s = cell_int(r, "schedule_id");
                    !mine.contains(&s) || used.contains(&s)
                });
            }
        }
        other => return Err(format!("the fake msdb has no {other}")),
    }
    Ok(())
}
