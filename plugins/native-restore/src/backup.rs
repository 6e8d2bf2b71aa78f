//! Until the backup files are in the container: the checks on both servers, the source's
//! BACKUP TO URL (with the credential it writes through) or the upload from a share.

use ferry_sdk::prelude::*;
use ferry_sdk::{OperationState, blob_names, mi_limits, striping};

use crate::checks;
use crate::config::{Config, Mode, SourceCredential};
use crate::job::{
    Job, MAX_LOST_BACKUPS, Side, State, Step, drop_credentials, owns_credential,
    put_owned_credential, stop, url_failure,
};
use crate::server;

pub fn start(cx: &mut Context<'_, Config>) -> Step {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let target = cfg.target_for(&db);
    cx.phase("checking", None, Some("prerequisites on source and target"));

    let mi = cx.sql(&cfg.target)?;
    let edition = server::engine_edition(cx, mi)?;
    if edition != 8 {
        return Err(stop(
            "target-not-mi",
            format!(
                "sql label `{}` is not a Managed Instance (EngineEdition {edition}, MI is 8)",
                cfg.target
            ),
        ));
    }
    if let Some((state, ..)) = server::restore_status(cx, mi, &target)?
        && state <= 1
    {
        // A restore of this name already runs on the MI: a run before this one started it.
        cx.info(&format!(
            "a restore of [{target}] is already running on the MI; following it"
        ));
        let job = Job {
            target,
            ..Job::default()
        };
        return Ok(Outcome::Next(State::Restoring { job, op: None }));
    }
    let existing = server::target_state(cx, mi, &target)?;
    if !existing.is_empty() {
        return Err(stop(
            "name-collision",
            format!(
                "the Managed Instance already has a database named [{target}] ({existing}); drop \
                 it, or set target_name to restore under another name"
            ),
        ));
    }

    let target_facts = server::target_facts(cx, mi)?;
    if let Some(what) = target_facts.instance.unchecked() {
        cx.warn(&format!(
            "the Managed Instance (`{}`) did not say {what} (sys.server_resource_stats, \
             sys.master_files): the checks that need it are skipped, and an unknown tier gets \
             General Purpose's limits",
            cfg.target
        ));
    }

    let container = cx.container(&cfg.backups)?;
    let container_url = cx.url(container, "")?;
    let folder = cfg.folder_for(&db);
    let credential_url = blob_names::url_in(&container_url, &folder);
    let mut job = Job {
        target,
        credential_url: credential_url.clone(),
        ..Job::default()
    };
    match cfg.mode {
        Mode::BackupToUrl => {
            let src = cx.sql(&cfg.source)?;
            let Some(facts) = cx.source_database(src, &db)? else {
                return Err(stop(
                    "not-found",
                    format!("the source has no database named [{db}]"),
                ));
            };
            if let Some(s) =
                // A plan is made before the steps ahead of this one ran: a TDE certificate an
                // `instance-objects` step will upload is not on the MI yet, so planning does
                // not stop on it; apply checks it again.
                checks::source_stop(
                    &db,
                    &facts,
                    cfg.tde_certificates_migrated || cx.planning(),
                    &target_facts,
                )
            {
                return Err(crate::job::Fail::Stop(s));
            }
            let tier = target_facts.instance.tier();
            if let Some(note) = mi_limits::layout_note(&db, &facts.layout, tier) {
                cx.info(&note);
            }
            if !facts.recovery.eq_ignore_ascii_case("FULL") {
                cx.info(&format!(
                    "[{db}] uses the {} recovery model; the MI sets FULL on restore",
                    facts.recovery
                ));
            }
            job.size_bytes = facts.layout.size_bytes();
            let n = striping::stripes(job.size_bytes, cfg.stripe_bytes);
            job.compress = striping::edition_compresses(&facts.edition);
            job.files = striping::stripe_names(&folder, &striping::file_stem(&db), n);
            job.urls = job
                .files
                .iter()
                .map(|f| blob_names::url_in(&container_url, f))
                .collect();
            job.backup_after = server::backup_mark(cx, src, &db)?;
            job.source_credential_owned = owns_credential(cx, src, Side::Source, &credential_url)?;
            if job.source_credential_owned && cfg.source_credential == SourceCredential::Existing {
                return Err(stop(
                    "missing-credential",
                    format!(
                        "the source has no credential for [{credential_url}] and \
                         source_credential = \"existing\"; create it (CREATE CREDENTIAL \
                         [{credential_url}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = \
                         '<sas>') or set source_credential = \"create\""
                    ),
                ));
            }
            // Journaled before the credential is made: a call cut short after making it still
            // knows the credential is ferry's to drop.
            Ok(Outcome::Next(State::Prepared { job }))
        }
        Mode::Share => {
            let share_label = cfg.share.clone().unwrap_or_default();
            let share = cx.container(&share_label)?;
            let listed = cx.list(share, &format!("{folder}/"), None, 5000)?;
            let names: Vec<String> = listed.objects.iter().map(|o| o.name.clone()).collect();
            let files = checks::backup_files(&names);
            if files.is_empty() {
                return Err(stop(
                    "no-backups",
                    format!(
                        "share `{share_label}` has no .bak file under `{folder}/`; put the \
                         database's full backup there, or check `folder`"
                    ),
                ));
            }
            job.size_bytes = listed
                .objects
                .iter()
                .filter(|o| files.contains(&o.name))
                .map(|o| o.size)
                .sum();
            job.files = files.clone();
            job.urls = files
                .iter()
                .map(|f| blob_names::url_in(&container_url, f))
                .collect();
            job.phases.begin("upload");
            cx.phase(
                "upload",
                Some(0.0),
                Some(&format!("{} file(s)", files.len())),
            );
            start_upload(cx, job)
        }
    }
}

/// Makes the source credential ferry owns (if it is missing), then starts the BACKUP, unless
/// msdb shows this job's backup finished already (started by a call cut short).
pub fn prepared(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    if job.source_credential_owned {
        put_owned_credential(cx, Side::Source, &job)?;
    }
    let db = cx.item().to_owned();
    let src = cx.sql(&cx.config().source.clone())?;
    if backup_finished(cx, src, &db, &job)? {
        return backed_up(cx, job);
    }
    // A backup taken again after a restart stays one phase.
    if job.phases.under_way() != Some("backup") {
        job.phases.begin("backup");
    }
    cx.phase(
        "backup",
        Some(0.0),
        Some(&format!("{} stripe(s)", job.urls.len())),
    );
    let made = job.clone();
    start_backup(cx, job).inspect_err(|_| drop_credentials(cx, &made))
}

/// Whether msdb records this job's backup: a full backup newer than the job to its first
/// stripe (a backup is recorded only once all its stripes are written).
fn backup_finished(
    cx: &mut Context<'_, Config>,
    src: ferry_sdk::SqlConnection,
    db: &str,
    job: &Job,
) -> Result<bool> {
    match job.urls.first() {
        Some(url) => server::backup_finished(cx, src, db, job.backup_after, url),
        None => Ok(false),
    }
}

/// The backup is in the container: the source credential ferry owns is dropped (a drop
/// repeated after a kill finds it gone, which is fine) and the restore is next.
fn backed_up(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    if job.source_credential_owned {
        let (label, url) = (cx.config().source.clone(), job.credential_url.clone());
        cx.drop_owned_credential(&label, &url)?;
        job.source_credential_owned = false;
    }
    Ok(Outcome::Next(State::ReadyToRestore { job }))
}

pub fn backing_up(cx: &mut Context<'_, Config>, job: Job, op: String) -> Step {
    let db = cx.item().to_owned();
    match cx.operation(&op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => backed_up(cx, job),
            // No error number: SQL Server never answered (the connection was lost), so the
            // backup may or may not have finished. msdb tells; if it did not, it is taken again.
            OperationState::Failed(f)
                if f.code.is_none() && job.lost_backups < MAX_LOST_BACKUPS =>
            {
                let mut job = job;
                job.lost_backups += 1;
                Ok(Outcome::wait_for(
                    std::time::Duration::from_secs(2u64 << job.lost_backups.min(4)),
                    State::Prepared { job },
                    format!(
                        "the BACKUP of [{db}] lost its connection ({}); looking in msdb",
                        f.message
                    ),
                ))
            }
            OperationState::Failed(f) => {
                let failure = url_failure(
                    cx,
                    Side::Source,
                    &job,
                    &format!("BACKUP of [{db}]"),
                    &f.message,
                    f.code,
                );
                drop_credentials(cx, &job);
                Err(failure)
            }
            OperationState::Cancelled => Err(stop(
                "cancelled",
                "the backup was cancelled; run `ferry apply --retry-failed` to take it again"
                    .into(),
            )),
            OperationState::Running => Ok(Outcome::wait_operation(
                op.clone(),
                State::BackingUp { job, op },
                "backing up to URL",
            )),
        },
        // ferry restarted while the backup ran: msdb tells whether it finished; if not, it is
        // taken again, its credential made again first if it is gone.
        Err(_) => {
            cx.info(&format!(
                "the backup of [{db}] was under way when ferry stopped; checking msdb"
            ));
            Ok(Outcome::Next(State::Prepared { job }))
        }
    }
}

pub fn uploading(cx: &mut Context<'_, Config>, job: Job, op: String) -> Step {
    match cx.operation(&op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => Ok(Outcome::Next(State::ReadyToRestore { job })),
            OperationState::Failed(f) => Err(stop(
                "upload",
                format!(
                    "the upload from the share failed: {}; fix the cause and run `ferry apply \
                     --retry-failed`",
                    f.message.trim_end_matches('.')
                ),
            )),
            OperationState::Cancelled => Err(stop(
                "cancelled",
                "the upload was cancelled; run `ferry apply --retry-failed` to upload again".into(),
            )),
            OperationState::Running => Ok(Outcome::wait_operation(
                op.clone(),
                State::Uploading { job, op },
                "uploading backups from the share",
            )),
        },
        // The upload runs again to the same blob names, replacing each blob whole.
        Err(_) => start_upload(cx, job),
    }
}

/// Starts the source's BACKUP TO URL of the item's database into `job.urls`.
fn start_backup(cx: &mut Context<'_, Config>, job: Job) -> Step {
    let db = cx.item().to_owned();
    let src = cx.sql(&cx.config().source.clone())?;
    let statement = striping::backup_statement(
        &db,
        striping::Backup::Full { copy_only: true },
        striping::Device::Url(&job.urls),
        job.compress,
    );
    let op = cx.start_statement(src, &statement, &[], &format!("BACKUP DATABASE [{db}]"))?;
    Ok(Outcome::wait_operation(
        op.clone(),
        State::BackingUp { job, op },
        "backing up to URL",
    ))
}

/// Starts (or resumes) the upload of `job.files` from the share into the database's folder.
fn start_upload(cx: &mut Context<'_, Config>, job: Job) -> Step {
    let cfg = cx.config().clone();
    let container = cx.container(&cfg.backups)?;
    let folder = cfg.folder_for(cx.item());
    let options = ferry_sdk::UploadOptions {
        block_size: None,
        concurrency: None,
        checksum: ferry_sdk::BlockChecksum::Md5,
    };
    let op = cx.upload_from_share(
        container,
        cfg.share.as_deref().unwrap_or_default(),
        &job.files,
        &format!("{folder}/"),
        options,
    )?;
    Ok(Outcome::wait_operation(
        op.clone(),
        State::Uploading { job, op },
        "uploading backups from the share",
    ))
}
