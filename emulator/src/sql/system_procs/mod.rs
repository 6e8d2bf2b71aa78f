//! System procedures beyond sp_executesql and sp_who: SQL Server Agent's and Database Mail's
//! procedures in msdb, `sp_configure`, `sp_addmessage` and `sp_dropmessage`. Each is modelled
//! on its Transact-SQL reference page and on the checks msdb's own procedures make (the
//! `sp_verify_*` procedures instmsdb.sql installs), with their error numbers and texts.
//!
//! The msdb procedures live in msdb: they are found when the name says `msdb` or the session
//! is in msdb, as SQL Server resolves them; elsewhere they do not exist (error 2812). The
//! master procedures are found from every database.

mod agent_jobs;
mod agent_misc;
mod agent_notify;
mod agent_proxies;
mod agent_removals;
mod agent_run;
mod agent_schedules;
mod agent_steps;
mod configure;
mod context;
mod help_job;
mod job_checks;
mod mail;
mod mail_checks;
mod mail_profiles;
mod messages;
mod params;
mod proc_errors;
mod schedule_checks;
mod stats;
mod step_fields;

use super::outcome::Outcome;
use super::procedures::Arg;
use super::scalar::Typed;
use super::session::SessionView;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;

pub(super) use configure::reconfigure;
use context::{Ctx, Def, Proc};
pub(super) use messages::raise_user_message;
use params::Params;

/// A call as EXEC wrote it.
pub struct Call<'a> {
    /// The procedure's name, without database and schema.
    pub name: &'a str,
    pub written: &'a str,
    pub args: &'a [Arg<'a>],
    pub values: &'a [Typed],
    pub s: &'a SessionView<'a>,
}

/// What a procedure produced, and the OUTPUT variables to set: (variable, value).
pub struct Done {
    pub out: Vec<Outcome>,
    pub outputs: Vec<(String, Typed)>,
}

/// Where a procedure lives, and its parameters in declaration order.
struct Entry {
    name: &'static str,
    msdb: bool,
    params: &'static [&'static str],
    run: Proc,
}

fn registry() -> Vec<Entry> {
    let mut all = Vec::new();
    all.extend(agent_jobs::ENTRIES.iter().map(entry(true)));
    all.extend(agent_steps::ENTRIES.iter().map(entry(true)));
    all.extend(agent_schedules::ENTRIES.iter().map(entry(true)));
    all.extend(agent_misc::ENTRIES.iter().map(entry(true)));
    all.extend(agent_notify::ENTRIES.iter().map(entry(true)));
    all.extend(agent_proxies::ENTRIES.iter().map(entry(true)));
    all.extend(agent_removals::ENTRIES.iter().map(entry(true)));
    all.extend(agent_run::ENTRIES.iter().map(entry(true)));
    all.extend(help_job::ENTRIES.iter().map(entry(true)));
    all.extend(mail::ENTRIES.iter().map(entry(true)));
    all.extend(mail_profiles::ENTRIES.iter().map(entry(true)));
    all.extend(configure::ENTRIES.iter().map(entry(false)));
    all.extend(messages::ENTRIES.iter().map(entry(false)));
    all.extend(stats::ENTRIES.iter().map(entry(false)));
    all
}

fn entry(msdb: bool) -> impl Fn(&Def) -> Entry {
    move |(name, params, run)| Entry {
        name,
        msdb,
        params,
        run: *run,
    }
}

/// The database part of a procedure's name as written (`msdb.dbo.x`, `msdb..x`, `[msdb].[dbo].[x]`).
fn database_part(written: &str) -> Option<String> {
    let parts: Vec<&str> = written.split('.').collect();
    (parts.len() == 3).then(|| {
        parts[0]
            .trim_matches(|c| c == '[' || c == ']' || c == '"')
            .to_owned()
    })
}

/// Runs a system procedure; None when the emulator has no procedure of that name there.
pub fn call(c: &Call<'_>, inst: &mut Instance) -> Option<Result<Done, ServerMessage>> {
    let lower = c.name.to_ascii_lowercase();
    let registry = registry();
    let e = registry.iter().find(|e| e.name == lower)?;
    if e.msdb {
        let db = database_part(c.written).unwrap_or_else(|| c.s.database.to_owned());
        if !db.eq_ignore_ascii_case("msdb") {
            return None;
        }
    }
    Some(run(e, c, inst))
}

fn run(e: &Entry, c: &Call<'_>, inst: &mut Instance) -> Result<Done, ServerMessage> {
    let params = Params::bind(e.name, e.params, c.args, c.values)?;
    let mut ctx = Ctx {
        p: params,
        inst,
        s: c.s,
        proc_name: e.name,
    };
    let out = (e.run)(&mut ctx).map_err(|mut m| {
        m.procedure = e.name.to_owned();
        m
    })?;
    Ok(Done {
        out,
        outputs: ctx.p.outputs(),
    })
}
