//! SQL Agent jobs (methods.md §5.4): job categories, then each job with its steps, schedules,
//! target server and e-mail notification, made through msdb's procedures after Managed
//! Instance's rules (`rules`). A job is one decision; its owner is the source owner's login as
//! the MI knows it. Alerts have no place on the MI: each is a row of its own, skipped.

mod model;
mod read;
mod rules;
mod sql;

use ferry_sdk::prelude::*;

use super::agent_operators::category_decisions;
use super::principals::{self, Principal, hex_literal};
use crate::config::Config;
use crate::decision::{Decision, Verdict};
use crate::msdb::is_builtin_category;
use crate::servers::Servers;
use model::{Agent, Job, Shape};
use rules::Refusal;

pub use rules::MI_MAIL_PROFILE;

/// The login that owns `job` on the MI, with a note when it is another name.
fn owner(
    cfg: &Config,
    job: &Job,
    src: &[Principal],
    dst: &[Principal],
) -> Result<(String, Option<String>), Refusal> {
    // `sa` (SID 0x01) exists on every instance, the MI too, where it may be renamed.
    if job.owner_sid == [1] {
        let name = dst
            .iter()
            .find(|p| p.sid == [1])
            .map_or_else(|| "sa".to_owned(), |p| p.name.clone());
        return Ok((name, None));
    }
    let Some(p) = src.iter().find(|p| p.sid == job.owner_sid) else {
        return Err(Refusal {
            code: "owner-unknown",
            why: format!(
                "its owner (SID {}) is no login on the source (a Windows user known only \
                 through a group?): give it an owner that is a login (sp_update_job \
                 @owner_login_name) and apply again",
                hex_literal(&job.owner_sid)
            ),
        });
    };
    let name = principals::target_name(cfg, p).map_err(|why| Refusal {
        code: "windows-unmapped",
        why: format!("its owner `{}` has no Microsoft Entra name: {why}", p.name),
    })?;
    if p.kind == "G" {
        return Err(Refusal {
            code: "owner-is-group",
            why: format!(
                "its owner `{}` is a group; a job's owner must be a login mapped directly \
                 (SQL Agent on Managed Instance): give it another owner",
                p.name
            ),
        });
    }
    let note = (name != p.name).then(|| {
        format!(
            "owner `{}` becomes `{name}` (Managed Instance has no Windows logins).",
            p.name
        )
    });
    Ok((name, note))
}

fn category(agent: &Agent, id: i64) -> Option<&str> {
    agent
        .categories
        .get(&id)
        .filter(|c| !is_builtin_category(id, c))
        .map(|c| c.name.as_str())
}

fn target_shape(dst: &Agent, t: &Job) -> Shape {
    let op = dst
        .operators
        .get(&t.notify_email_operator_id)
        .map_or("", String::as_str);
    let email = if t.notify_level_email == 0 {
        (0, "")
    } else {
        (t.notify_level_email, op)
    };
    Shape::new(
        t.enabled,
        dst.steps_of(t),
        dst.schedules_of(t).into_iter().map(|(_, s)| s),
        email,
    )
}

fn job_decision(
    cfg: &Config,
    job: &Job,
    src: &Agent,
    dst: &Agent,
    sp: &[Principal],
    dp: &[Principal],
) -> Decision {
    let refused = |r: Refusal| {
        Decision::new(
            "agent-job",
            &job.name,
            Verdict::Refused {
                code: r.code,
                why: r.why,
            },
        )
    };
    let (owner, owner_note) = match owner(cfg, job, sp, dp) {
        Ok(o) => o,
        Err(r) => return refused(r),
    };
    let plan = match rules::plan(job, src) {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    let statements = sql::create(job, &owner, category(src, job.category_id), &plan);
    let email = plan
        .email
        .as_ref()
        .map_or((0, ""), |(l, o)| (*l, o.as_str()));
    let shape = Shape::new(job.enabled, &plan.steps, plan.schedules.iter(), email);
    let verdict = match dst
        .jobs
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(&job.name))
    {
        None => Verdict::Create(statements),
        Some(t) => {
            let what = target_shape(dst, t).differences(&shape);
            if what.is_empty() {
                Verdict::Unchanged
            } else {
                Verdict::Conflict {
                    differs: what.join("; "),
                    replace: std::iter::once(sql::delete(&t.name))
                        .chain(statements)
                        .collect(),
                }
            }
        }
    };
    let mut d = Decision::new("agent-job", &job.name, verdict);
    d.notes = owner_note.into_iter().chain(plan.notes).collect();
    d
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let cfg = cx.config().clone();
    let patterns = cfg.agent_jobs.patterns();
    let sp = principals::read(cx, s.source)?;
    let dp = principals::read(cx, s.target)?;
    let src = read::agent(cx, s.source)?;
    let dst = read::agent(cx, s.target)?;
    let on_target = crate::table::Table::read(
        cx,
        s.target,
        "sys.databases",
        "SELECT name FROM sys.databases",
        &[],
    )?;
    let on_target: Vec<String> = on_target.rows().map(|r| r.text("name")).collect();
    let mut out = category_decisions(&src.categories, &dst.categories, 1);
    for job in src.jobs.iter().filter(|j| patterns.admits(&j.name)) {
        // msdb refuses a step in a database the MI does not have (14262), and an instance
        // step before the restores runs when none is there yet: such a job waits for an
        // instance-objects step after the databases (examples/full-instance has one).
        let missing = src.steps_of(job).iter().find(|st| {
            !st.database_name.is_empty()
                && !on_target
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(&st.database_name))
        });
        if let Some(st) = missing {
            out.push(Decision::new(
                "agent-job",
                &job.name,
                Verdict::Skipped {
                    code: "database-not-on-target",
                    why: format!(
                        "step {} `{}` runs in [{}], which is not on the Managed Instance yet: an \
                         instance-objects step listed after the databases' restore makes this \
                         job once it is",
                        st.step_id, st.name, st.database_name
                    ),
                },
            ));
            continue;
        }
        out.push(job_decision(&cfg, job, &src, &dst, &sp, &dp));
    }
    for a in read::alerts(cx, s.source)? {
        let mut what = Vec::new();
        if let Some(j) = src.jobs.iter().find(|j| j.id == a.job_id) {
            what.push(format!("runs job `{}`", j.name));
        }
        let ops: Vec<&str> = a
            .operators
            .iter()
            .filter_map(|o| src.operators.get(o).map(String::as_str))
            .collect();
        if !ops.is_empty() {
            what.push(format!("notifies {}", ops.join(", ")));
        }
        let what = if what.is_empty() {
            String::new()
        } else {
            format!(" (it {})", what.join(" and "))
        };
        out.push(Decision::new(
            "agent-alert",
            &a.name,
            Verdict::Skipped {
                code: "alerts-unsupported",
                why: format!(
                    "Managed Instance has no SQL Agent alerts{what}: recreate it as an Azure \
                     Monitor alert on the MI's metrics or logs"
                ),
            },
        ));
    }
    Ok(out)
}
