//! From the backup files in the container to the database ONLINE on the MI: the MI's
//! credential, the restore (started once, followed after a restart), the check and the
//! credentials dropped.

use std::time::Duration;

use ferry_sdk::prelude::*;
use ferry_sdk::{OperationState, mi_limits};

use crate::checks;
use crate::config::{Config, Mode};
use crate::job::{
    Fail, Job, Side, State, Step, drop_credentials, owns_credential, put_owned_credential,
    server_stop, stop, url_failure,
};
use crate::server;

/// How often a restore the plugin follows (after ferry restarted) is polled: MI restores take
/// minutes, so a few seconds costs nothing and keeps the view live.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// Decides whether ferry owns the MI's credential and journals it before anything is made.
pub fn ready_to_restore(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    let mi = cx.sql(&cx.config().target.clone())?;
    if let Some(next) = restore_found(cx, mi, &job)? {
        return Ok(Outcome::Next(next(job)));
    }
    if !job.target_credential_owned {
        let url = job.credential_url.clone();
        job.target_credential_owned = owns_credential(cx, mi, Side::Target, &url)?;
    }
    Ok(Outcome::Next(State::RestoreDue { job }))
}

/// Makes the MI credential ferry owns (if it is missing), then starts the restore, unless a
/// call cut short started it already.
pub fn restore_due(cx: &mut Context<'_, Config>, job: Job) -> Step {
    let mi = cx.sql(&cx.config().target.clone())?;
    if let Some(next) = restore_found(cx, mi, &job)? {
        return Ok(Outcome::Next(next(job)));
    }
    // From here on the MI may hold a credential ferry owns: any failure drops it.
    let made = job.clone();
    let started = if job.target_credential_owned {
        put_owned_credential(cx, Side::Target, &job).and_then(|()| check_and_restore(cx, job))
    } else {
        check_and_restore(cx, job)
    };
    started.inspect_err(|_| drop_credentials(cx, &made))
}

/// The state a job found on the MI goes on in.
type Found = fn(Job) -> State;

/// Where a job goes when the MI shows its restore already: one running is followed; after a
/// call cut short (attempt > 1) any restore of the name, or the database itself, is this
/// job's. A database of the name that appeared otherwise is someone else's.
fn restore_found(
    cx: &mut Context<'_, Config>,
    mi: ferry_sdk::SqlConnection,
    job: &Job,
) -> std::result::Result<Option<Found>, Fail> {
    if let Some((state, ..)) = server::restore_status(cx, mi, &job.target)?
        && (state <= 1 || cx.attempt() > 1)
    {
        return Ok(Some(|job| State::Restoring { job, op: None }));
    }
    let existing = server::target_state(cx, mi, &job.target)?;
    if existing.is_empty() {
        return Ok(None);
    }
    if cx.attempt() > 1 {
        return Ok(Some(|job| State::Verifying { job }));
    }
    Err(stop(
        "name-collision",
        format!(
            "a database named [{}] appeared on the Managed Instance ({existing}) after the \
             checks; drop it or set target_name, then run `ferry apply --retry-failed`",
            job.target
        ),
    ))
}

/// Checks backups from a share (one full backup the MI can take), then starts the restore.
fn check_and_restore(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    let cfg = cx.config().clone();
    let mi = cx.sql(&cfg.target)?;
    if cfg.mode == Mode::Share && !cx.planning() {
        check_share_backup(cx, mi, &job)?;
    }
    job.phases.begin("restore");
    let statement = checks::restore_statement(&job.target, &job.urls);
    let op = cx.start_statement(
        mi,
        &statement,
        &[],
        &format!("RESTORE DATABASE [{}]", job.target),
    )?;
    cx.phase(
        "restore",
        Some(0.0),
        Some(&format!("{} file(s)", job.urls.len())),
    );
    Ok(Outcome::wait_operation(
        op.clone(),
        State::Restoring { job, op: Some(op) },
        "restoring on the Managed Instance",
    ))
}

/// What the MI reads from a backup found on a share (`RESTORE HEADERONLY`, `FILELISTONLY`),
/// checked as the source's database is in BACKUP TO URL mode.
fn check_share_backup(
    cx: &mut Context<'_, Config>,
    mi: ferry_sdk::SqlConnection,
    job: &Job,
) -> std::result::Result<(), Fail> {
    let db = cx.item().to_owned();
    let as_stop = |what: &'static str| {
        move |e: Error| match e {
            Error::Failed(f) => server_stop(what, &f.message, f.code),
            other => Fail::Host(other),
        }
    };
    let headers = server::headers(cx, mi, &job.urls).map_err(as_stop("RESTORE HEADERONLY"))?;
    let target = server::target_facts(cx, mi)?;
    let (refused, warning) = checks::share_backup_stop(&db, &headers, target.policy);
    if let Some(s) = refused {
        return Err(Fail::Stop(s));
    }
    if let Some(w) = warning {
        cx.warn(&w);
    }
    let layout = server::file_list(cx, mi, &job.urls).map_err(as_stop("RESTORE FILELISTONLY"))?;
    let tier = target.instance.tier();
    match mi_limits::layout_stop(&db, &layout, tier)
        .or_else(|| mi_limits::capacity_stop(&db, &layout, &target.instance))
    {
        Some(s) => Err(Fail::Stop(s)),
        None => Ok(()),
    }
}

pub fn restoring(cx: &mut Context<'_, Config>, job: Job, op: Option<String>) -> Step {
    let what = format!("RESTORE of [{}]", job.target);
    if let Some(id) = &op {
        match cx.operation(id) {
            Ok(s) => match s.state {
                OperationState::Succeeded => return Ok(Outcome::Next(State::Verifying { job })),
                // No error number: the connection to the MI was lost, and an MI restore goes on
                // without its client (methods.md §4.4): follow it on the MI, below.
                OperationState::Failed(f) if f.code.is_none() => {
                    cx.info(&format!(
                        "{what} lost its connection ({}); following it on the MI",
                        f.message
                    ));
                }
                OperationState::Failed(f) => {
                    let failure = url_failure(cx, Side::Target, &job, &what, &f.message, f.code);
                    drop_credentials(cx, &job);
                    return Err(failure);
                }
                OperationState::Cancelled => {
                    return Err(stop(
                        "cancelled",
                        "the restore was cancelled; drop what it left on the MI and run `ferry \
                         apply --retry-failed`"
                            .into(),
                    ));
                }
                OperationState::Running => {
                    return Ok(Outcome::wait_operation(
                        id.clone(),
                        State::Restoring { job, op },
                        "restoring on the Managed Instance",
                    ));
                }
            },
            // ferry restarted: the restore goes on on the MI; follow it there.
            Err(_) => {
                cx.info(&format!(
                    "ferry restarted during the restore of [{}]; following it on the MI",
                    job.target
                ));
            }
        }
    }
    let mi = cx.sql(&cx.config().target.clone())?;
    match server::restore_status(cx, mi, &job.target)? {
        Some((0 | 1, pct, ..)) => {
            cx.phase(
                "restore",
                Some(pct as f32 / 100.0),
                Some("following the restore on the MI"),
            );
            Ok(Outcome::wait_for(
                FOLLOW_EVERY,
                State::Restoring { job, op: None },
                "following the restore on the MI",
            ))
        }
        Some((2, ..)) => Ok(Outcome::Next(State::Verifying { job })),
        Some((_, _, code, text)) => {
            let code = (code != 0).then_some(code as i32);
            let failure = url_failure(cx, Side::Target, &job, &what, &text, code);
            drop_credentials(cx, &job);
            Err(failure)
        }
        None if !server::target_state(cx, mi, &job.target)?.is_empty() => {
            Ok(Outcome::Next(State::Verifying { job }))
        }
        // No restore ever started (ferry stopped before it could): start it now.
        None => Ok(Outcome::Next(State::RestoreDue { job })),
    }
}

pub fn verifying(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    let db = cx.item().to_owned();
    let cfg = cx.config().clone();
    if job.phases.under_way() != Some("verify") {
        job.phases.begin("verify");
    }
    let planning = cx.planning();
    if !planning {
        let mi = cx.sql(&cfg.target)?;
        let state = server::target_state(cx, mi, &job.target)?;
        // While it restores, the MI may list the database under a GUID and rename it at the
        // end (methods.md §4.4): a name not listed yet, with its restore still running in
        // sys.dm_operation_status (keyed by the target name), is waited for.
        let still_restoring = state.eq_ignore_ascii_case("RESTORING")
            || (state.is_empty()
                && matches!(
                    server::restore_status(cx, mi, &job.target)?,
                    Some((0 | 1, ..))
                ));
        if still_restoring {
            return Ok(Outcome::wait_for(
                FOLLOW_EVERY,
                State::Verifying { job },
                "waiting for the database to come online",
            ));
        }
        if !state.eq_ignore_ascii_case("ONLINE") {
            drop_credentials(cx, &job);
            return Err(stop(
                "not-online",
                format!(
                    "after the restore, [{}] is {} on the Managed Instance, not ONLINE; look at \
                     the MI's error log and sys.dm_operation_status for why",
                    job.target,
                    if state.is_empty() { "missing" } else { &state }
                ),
            ));
        }
    }
    // Dropped again when this call is made again after a kill: one already gone is fine.
    if job.target_credential_owned {
        cx.drop_owned_credential(&cfg.target, &job.credential_url)?;
    }
    job.phases.end();
    cx.phase(
        "done",
        Some(1.0),
        Some(if planning { "planned" } else { "ONLINE" }),
    );
    cx.report(ObjectRow {
        object_type: "database".into(),
        name: db.clone(),
        status: if planning {
            ObjectStatus::Unchanged
        } else {
            ObjectStatus::Migrated
        },
        reason_code: None,
        notes: Some(format!(
            "{} → [{}] on the MI, {} file(s), {} MiB",
            db,
            job.target,
            job.urls.len(),
            job.size_bytes >> 20
        )),
    });
    Ok(Outcome::Done(serde_json::json!({
        "method": "native-restore",
        "mode": match cfg.mode { Mode::BackupToUrl => "backup-to-url", Mode::Share => "share" },
        "database": db,
        "target": job.target,
        "size_bytes": job.size_bytes,
        "files": job.urls,
        "phases": job.phases.to_output(),
        "planned": planning,
    })))
}
