//! `backups_from = "ferry"` in continuous mode: while LRS runs, ferry takes a log backup into
//! the folder every `log_backup_seconds`, so the tail-log backup at cutover — the downtime —
//! carries only the last few minutes of changes, not everything since the start.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use ferry_sdk::striping::{self, Backup, Device};

use crate::config::{BackupsFrom, Config, Mode};
use crate::job::{Job, State, ended, file_stem};
use crate::source::{backup_failure, source_credential};

/// The source credential's SAS lasts 7 days; it is renewed a day before.
const RENEW_CREDENTIAL_AFTER_MS: u64 = 6 * 86_400_000;

/// Whether a log backup is due now.
pub fn due(cfg: &Config, job: &Job) -> bool {
    cfg.mode == Mode::Continuous
        && cfg.backups_from == BackupsFrom::Ferry
        && cfg.log_backup_seconds > 0
        && now_ms().saturating_sub(job.last_log_ms) >= u64::from(cfg.log_backup_seconds) * 1000
}

/// Takes the next log backup as an operation. Each has its own name (its time in
/// milliseconds), so a backup repeated after a kill never replaces one LRS may already have
/// restored: a second log backup continues the chain from where the first ended.
pub fn take(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let now = now_ms();
    if job.credential_owned && now.saturating_sub(job.credential_ms) >= RENEW_CREDENTIAL_AFTER_MS {
        source_credential(cx, &job.folder_url, true)?;
        job.credential_ms = now;
    }
    let db = cx.item().to_owned();
    let name = format!("{}_log_{now}.trn", file_stem(&db));
    let url = [format!("{}/{name}", job.folder_url)];
    let statement = striping::backup_statement(
        &db,
        Backup::Log { norecovery: false },
        Device::Url(&url),
        job.compress,
    );
    let src = cx.sql(&cx.config().source.clone())?;
    let op = cx.start_statement(src, &statement, &[], &format!("log backup of [{db}]"))?;
    job.last_log_ms = now;
    Ok(Outcome::wait_operation(
        op.clone(),
        State::LogBackup { job, op },
        "taking a log backup",
    ))
}

/// After a log backup: back to monitoring. A failed one is warned about, not fatal: LRS keeps
/// what it has, and the next one continues the chain from where the last good one ended.
pub fn log_backup(cx: &mut Context<'_, Config>, job: Job, op: String) -> Result<Outcome<State>> {
    match ended(cx, &op, "a log backup") {
        Ok(_) => {}
        Err(e @ Error::Failed(_)) => {
            let why = match backup_failure(cx, &job, e) {
                Error::Failed(f) => f.message,
                other => other.describe(),
            };
            let next = cx.config().log_backup_seconds;
            cx.warn(&format!("{why}; the next log backup is in {next} s"));
        }
        Err(e) => return Err(e),
    }
    Ok(Outcome::Next(State::Monitoring { job }))
}
