//! While LRS restores: the start's operation and `restoreDetails` read every `poll_seconds`,
//! shown as progress, new backups on a share uploaded, log backups taken elsewhere caught, the
//! 30-day limit warned about, and cutover begun on request. The job has ended when the
//! database's own `status` is `Online` (`ManagedDatabases.json`), not on a `restoreDetails`
//! status the API does not document.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;

use crate::config::{BackupsFrom, Config, Mode};
use crate::job::{Job, State, wait};
use crate::mi::{self, LRS_MAX_DAYS, Look};
use crate::preflight::{in_folder, log_elsewhere_refusal};
use crate::source::recorded;
use crate::{cutover, launch, log_backups, share};

/// `ferry cutover` was run for this database, or the migration file's `cutover_after` passed.
fn cutover_requested(cx: &mut Context<'_, Config>, cfg: &Config) -> bool {
    let gate = cfg
        .cutover_after
        .as_deref()
        .and_then(|at| crate::config::cutover_ms(at).ok())
        .is_some_and(|at| now_ms() >= at);
    if gate {
        cx.info("cutover_after has passed: cutting over");
        return true;
    }
    cx.signal_requested("cutover")
}

pub fn monitoring(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let start_running = launch::follow(cx, &mut job)?;
    let status = mi::database_status(cx, &job.target)?;
    if status.as_deref() == Some("Online") {
        return cutover::finish(cx, job);
    }
    let d = match mi::look(cx, &job)? {
        Look::Running(d) => d,
        Look::Passing(why) => {
            cx.phase(
                "restoring",
                None,
                Some(&format!("LRS retries by itself: {why}")),
            );
            return wait(cx, State::Monitoring { job }, "LRS retries by itself");
        }
        Look::Gone if status.is_some() => {
            return Err(Error::transient(format!(
                "[{}] is {} on the MI but LRS shows no restore details for it yet",
                job.target,
                status.unwrap_or_default()
            )));
        }
        // ARM has not finished starting LRS: its operation will say how the start ended.
        Look::Gone if start_running => {
            return wait(cx, State::Monitoring { job }, "ARM is still starting LRS");
        }
        Look::Gone => return Err(mi::gone(&job.target)),
    };
    if let Some(why) = d.blocked()
        && job.block_warned.as_deref() != Some(why)
    {
        cx.warn(&format!("LRS is blocked for [{}]: {why}", job.target));
        job.block_warned = Some(why.to_owned());
    }
    let age_days = now_ms().saturating_sub(job.started_ms) / 86_400_000;
    if !job.warned && age_days >= u64::from(cfg.warn_days) {
        cx.warn(&format!(
            "LRS for [{}] has run {age_days} days; Azure cancels it after {LRS_MAX_DAYS}: cut over soon",
            job.target
        ));
        job.warned = true;
    }
    cx.phase("restoring", None, Some(&d.progress_line()));
    if cfg.backups_from == BackupsFrom::Ferry
        && let Some(device) = log_elsewhere(cx, &job)?
    {
        return Err(Error::failed(log_elsewhere_refusal(cx.item(), &device)));
    }
    if cfg.mode == Mode::Continuous && cutover_requested(cx, &cfg) {
        return cutover::begin(cx, job);
    }
    if log_backups::due(&cfg, &job) {
        return log_backups::take(cx, job);
    }
    if cfg.mode == Mode::Continuous && cfg.backups_from == BackupsFrom::Share {
        let new = share::new_backups(cx, &mut job)?;
        if !new.is_empty() {
            return share::start_upload(cx, job, &new);
        }
    }
    wait(cx, State::Monitoring { job }, "LRS restores the chain")
}

/// A log backup of the database msdb records outside the folder since the job began: another
/// job took it, and the chain in the folder cannot go on past it.
fn log_elsewhere(cx: &mut Context<'_, Config>, job: &Job) -> Result<Option<String>> {
    let db = cx.item().to_owned();
    Ok(recorded(cx, &db, job.tail_after)?
        .into_iter()
        .find(|r| r.kind == 'L' && !in_folder(&job.folder_url, &r.device))
        .map(|r| r.device))
}
