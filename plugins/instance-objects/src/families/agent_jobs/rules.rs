//! Managed Instance's rules for a job (methods.md §5.4; "SQL Agent job limitations in SQL
//! Managed Instance" and the SQL Server Agent section of "T-SQL differences between SQL Server
//! and Azure SQL Managed Instance"). Each rewrite is a note; what cannot be rewritten refuses
//! the whole job, since a job missing a step or a schedule would run differently.

use super::model::{Agent, Job, Schedule, Step};

/// The Database Mail profile Managed Instance's Agent sends notifications through; no other
/// name is used ("Database Mail in Azure SQL Managed Instance", job limitations page).
pub const MI_MAIL_PROFILE: &str = "AzureManagedInstance_dbmail_profile";

/// A job made ready for the MI.
#[derive(Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub schedules: Vec<Schedule>,
    /// E-mail notification: level and operator name.
    pub email: Option<(i64, String)>,
    /// Whether the job targets the local server (`sysjobservers` server 0).
    pub local: bool,
    pub notes: Vec<String>,
}

/// Why a job cannot go.
#[derive(Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub why: String,
}

/// Subsystems Managed Instance lacks: merge and queue reader replication, Analysis Services,
/// ActiveScripting (removed from SQL Server 2016 as well), and the command shell: the docs
/// disagree on it ("T-SQL differences" says "Command shell isn't yet supported", the job
/// automation page mentions OS command steps), and the stricter reading is taken, as the
/// emulator's MI takes it.
const MISSING: [&str; 6] = [
    "CMDEXEC",
    "MERGE",
    "QUEUEREADER",
    "ANALYSISCOMMAND",
    "ANALYSISQUERY",
    "ACTIVESCRIPTING",
];
/// Subsystems Managed Instance runs as the documentation describes them: T-SQL, SSIS (with an
/// Azure-SSIS integration runtime) and snapshot, log reader and distribution replication.
const SUPPORTED: [&str; 5] = ["TSQL", "SSIS", "SNAPSHOT", "LOGREADER", "DISTRIBUTION"];
/// Supported with limits the job automation page describes: no local files, network shares
/// or external modules.
const VERIFY: [&str; 1] = ["POWERSHELL"];

/// `flags` bit for "append to the output file" (sp_add_jobstep): meaningless without the file.
const APPEND_OUTPUT_FILE: i64 = 2;

fn step_rules(agent: &Agent, s: &Step, notes: &mut Vec<String>) -> Result<Step, String> {
    let sub = s.subsystem.to_uppercase();
    let label = format!("step {} `{}`", s.step_id, s.name);
    if MISSING.contains(&sub.as_str())
        || !(SUPPORTED.contains(&sub.as_str()) || VERIFY.contains(&sub.as_str()))
    {
        return Err(format!(
            "{label} uses the {} subsystem, which Managed Instance does not have",
            s.subsystem
        ));
    }
    let mut out = s.clone();
    if VERIFY.contains(&sub.as_str()) {
        notes.push(format!(
            "{label} is a {} step: Managed Instance's documentation differs on these and the \
             MI has no local files, network shares or external modules; run the job once on \
             the MI to verify it.",
            s.subsystem
        ));
    }
    if let Some(p) = s.proxy_id {
        let name = agent
            .proxies
            .get(&p)
            .cloned()
            .unwrap_or_else(|| p.to_string());
        notes.push(format!(
            "{label}: proxy `{name}` dropped: Managed Instance has no Agent proxies; the step \
             runs as the job's owner (T-SQL) or the Agent service."
        ));
        out.proxy_id = None;
    }
    if !s.output_file_name.is_empty() {
        notes.push(format!(
            "{label}: output file `{}` dropped: Managed Instance's Agent cannot write files; \
             the step's output stays in the job history.",
            s.output_file_name
        ));
        out.output_file_name.clear();
        out.flags &= !APPEND_OUTPUT_FILE;
    }
    Ok(out)
}

fn schedule_rules(s: &Schedule, notes: &mut Vec<String>) -> Result<(), String> {
    match s.freq_type {
        128 => Err(format!(
            "schedule `{}` starts the job when the CPU is idle, which Managed Instance does not \
             support",
            s.name
        )),
        64 => {
            notes.push(format!(
                "schedule `{}` starts the job when SQL Agent starts: on Managed Instance that is \
                 also after every failover.",
                s.name
            ));
            Ok(())
        }
        _ => Ok(()),
    }
}

fn notification_rules(job: &Job, agent: &Agent, notes: &mut Vec<String>) -> Option<(i64, String)> {
    if job.notify_level_eventlog != 0 {
        notes.push(
            "event log notification dropped: Managed Instance has no Windows event log.".into(),
        );
    }
    if job.notify_level_page != 0 {
        notes.push("pager notification dropped: Managed Instance notifies by e-mail only.".into());
    }
    if job.notify_level_netsend != 0 {
        notes.push(
            "net send notification dropped: Managed Instance notifies by e-mail only.".into(),
        );
    }
    if job.notify_level_email == 0 {
        return None;
    }
    match agent.operators.get(&job.notify_email_operator_id) {
        Some(op) => {
            notes.push(format!(
                "e-mail to operator `{op}` goes through the Database Mail profile \
                 {MI_MAIL_PROFILE}, the only one Managed Instance's Agent mails through (the \
                 database-mail family makes it)."
            ));
            Some((job.notify_level_email, op.clone()))
        }
        None => {
            notes.push(format!(
                "e-mail notification dropped: its operator (id {}) is not in msdb.dbo.sysoperators.",
                job.notify_email_operator_id
            ));
            None
        }
    }
}

/// Applies the rules to `job`.
pub fn plan(job: &Job, agent: &Agent) -> Result<Plan, Refusal> {
    let servers = agent.servers_of(job);
    let category_multi = agent
        .categories
        .get(&job.category_id)
        .is_some_and(|c| c.kind == 2);
    if job.originating_server_id != 0 || servers.iter().any(|s| *s != 0) || category_multi {
        return Err(Refusal {
            code: "multi-server-job",
            why: "a multi-server (MSX/TSX) job: Managed Instance has no multi-server \
                  administration; make it a local job on its master server and migrate that"
                .into(),
        });
    }
    let mut notes = Vec::new();
    let mut refused = Vec::new();
    let mut steps = Vec::new();
    for s in agent.steps_of(job) {
        match step_rules(agent, s, &mut notes) {
            Ok(s) => steps.push(s),
            Err(why) => refused.push(why),
        }
    }
    if !refused.is_empty() {
        return Err(Refusal {
            code: "unsupported-subsystem",
            why: format!(
                "{}; the job is not made without it: rewrite the step as T-SQL (or move its \
                 work off the MI) and apply again",
                refused.join("; ")
            ),
        });
    }
    let mut schedules = Vec::new();
    for (_, s) in agent.schedules_of(job) {
        if let Err(why) = schedule_rules(s, &mut notes) {
            return Err(Refusal {
                code: "cpu-idle-schedule",
                why: format!(
                    "{why}; give the job a recurring schedule instead (sp_update_schedule) and \
                     apply again"
                ),
            });
        }
        schedules.push(s.clone());
    }
    let email = notification_rules(job, agent, &mut notes);
    Ok(Plan {
        steps,
        schedules,
        email,
        local: servers.contains(&0),
        notes,
    })
}
