//! While LRS restores: `restoreDetails` read every `poll_seconds`, shown as progress, new
//! backups on a share uploaded, the 30-day limit warned about, and cutover begun on request.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;

use crate::config::{BackupsFrom, Config, Mode};
use crate::job::{Job, State, wait};
use crate::mi::{LRS_MAX_DAYS, details, progress_line};
use crate::{cutover, log_backups, share};

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
    let d = details(cx, &job)?;
    if d["status"] == "Completed" {
        return cutover::finish(cx, job);
    }
    let age_days = now_ms().saturating_sub(job.started_ms) / 86_400_000;
    if !job.warned && age_days >= u64::from(cfg.warn_days) {
        cx.warn(&format!(
            "LRS for [{}] has run {age_days} days; Azure cancels it after {LRS_MAX_DAYS}: cut over soon",
            job.target
        ));
        job.warned = true;
    }
    cx.phase("restoring", None, Some(&progress_line(&d)));
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
