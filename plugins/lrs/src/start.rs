//! Before LRS runs: the checks on both sides, and the backups into the folder.

use ferry_sdk::prelude::*;
use ferry_sdk::striping::{self, Backup, Device};
use ferry_sdk::{blob_names, mi_limits, now_ms};

use crate::config::{self, BackupsFrom, Config, Mode};
use crate::history;
use crate::job::{Job, State, backup_lost, ended, file_stem, look_in_msdb};
use crate::mi::{self, Look, arm_get};
use crate::preflight::{self, Mi};
use crate::source::{
    backup_failure, backup_recorded, history_mark, history_rows, recorded, source_credential,
};
use crate::{share, target};

pub fn start(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let target = cfg.target_for(&db);
    cx.phase("checking", None, Some("source, folder and target"));
    let container = cx.container(&cfg.backups)?;
    let container_url = cx.url(container, "")?;
    let folder = cfg.folder_for(&db);
    let folder_url = blob_names::url_in(&container_url, &folder);
    // The target first: a job already running there is this migration's, started by an
    // earlier run that stopped; it is monitored, not started again.
    if let Some(existing) = arm_get(cx, &format!("databases/{target}"))? {
        let probe = Job {
            target: target.clone(),
            ..Job::default()
        };
        if !matches!(mi::look(cx, &probe)?, Look::Gone) {
            cx.info(&format!(
                "LRS already runs for [{target}] on the MI; monitoring it"
            ));
            let job = Job {
                target,
                folder_url,
                started_ms: now_ms(),
                tail_after: history_mark(cx, &db)?,
                lrs_started: true,
                ..Job::default()
            };
            return Ok(Outcome::Next(State::Monitoring { job }));
        }
        return Err(Error::failed(format!(
            "the Managed Instance already has a database named [{target}] ({}); ferry never \
             deletes a database it did not create: drop it yourself or set target_name, then run \
             `ferry apply --retry-failed`",
            existing["properties"]["status"]
                .as_str()
                .unwrap_or("unknown state")
        )));
    }
    if let Some(word) = config::reserved_word(&container_url, &folder) {
        return Err(Error::failed(format!(
            "`{word}` is reserved by LRS in the container name and folder path; choose another folder"
        )));
    }
    if let Some(nested) = nested_blob(cx, container, &folder)? {
        return Err(Error::failed(format!(
            "the folder `{folder}/` holds `{nested}` in a sub-folder: LRS reads one flat folder \
             per database and does not support folders nested in it (Log Replay Service \
             overview, limitations); move or delete what is in the sub-folder, or set `folder` \
             to an empty one, then run `ferry apply --retry-failed`"
        )));
    }
    let mi = instance(cx)?;
    let src = cx.sql(&cfg.source)?;
    let Some(facts) = cx.source_database(src, &db)? else {
        return Err(Error::failed(format!(
            "the source has no database named [{db}]; check the name in `databases`"
        )));
    };
    // A plan is made before the steps ahead of this one have run: a TDE certificate an
    // `instance-objects` step will upload is not on the MI yet, so planning does not stop on
    // it; apply checks it again when the database's turn comes.
    let mut checked = cfg.clone();
    checked.tde_certificates_migrated |= cx.planning();
    if let Some(why) = preflight::source_refusal(&db, &facts, &checked, &mi) {
        return Err(Error::failed(why));
    }
    if let Some(note) = mi_limits::layout_note(&db, &facts.layout, mi.instance.tier()) {
        cx.info(&note);
    }
    let mut job = Job {
        target,
        folder_url: folder_url.clone(),
        last_file: format!("{}_log_0001.trn", file_stem(&db)),
        started_ms: now_ms(),
        tail_after: history_mark(cx, &db)?,
        location: mi.location,
        compress: striping::edition_compresses(&facts.edition),
        ..Job::default()
    };
    match cfg.backups_from {
        BackupsFrom::Share => {
            // The source writes to the share, never to the container: no credential there.
            let (chain, folders) = share::chain(cx, &db)?;
            adopt(cx, &mut job, &chain, "on the share")?;
            job.first_set = chain.files[..chain.first_set]
                .iter()
                .map(|f| blob_names::url_in(&container_url, f))
                .collect();
            return share::upload_new(cx, job, &chain.files, &folders);
        }
        BackupsFrom::History => {
            let chain = history::chain(&history_rows(cx, &db)?, history::Folder::Blob(&folder_url))
                .map_err(|why| Error::failed(format!("[{db}]: {why}")))?;
            adopt(cx, &mut job, &chain, "in the folder")?;
            job.first_set = chain.files[..chain.first_set].to_vec();
        }
        BackupsFrom::Ferry => {
            plan_backups(cx, &mut job, facts.layout.size_bytes())?;
        }
    }
    // Journaled before the credential is made (in `Prepared`): a call cut short after making
    // it still knows the credential is ferry's to drop. One there already is the user's.
    if !cx.credential_exists(src, &folder_url)? {
        job.credential_owned = true;
        job.credential_ms = now_ms();
    }
    Ok(Outcome::Next(State::Prepared { job }))
}

/// The first blob in a sub-folder of `folder`, which would make LRS fail the job: checked
/// before anything starts (Azure documents no code for it, so waiting for LRS to fail would
/// leave only its generic failure).
fn nested_blob(
    cx: &mut Context<'_, Config>,
    container: ferry_sdk::Container,
    folder: &str,
) -> Result<Option<String>> {
    let prefix = format!("{folder}/");
    Ok(cx
        .list_all(container, &prefix)?
        .into_iter()
        .find(|o| {
            o.name
                .strip_prefix(&prefix)
                .is_some_and(|rest| rest.contains('/'))
        })
        .map(|o| o.name))
}

/// The instance through ARM, with what a `target` label adds; what could not be read is said.
fn instance(cx: &mut Context<'_, Config>) -> Result<Mi> {
    let mut mi = mi::instance(cx)?;
    target::add_facts(cx, &mut mi)?;
    if let Some(what) = mi.instance.unchecked() {
        cx.warn(&format!(
            "the Managed Instance did not say {what} (through ARM, or `target` when set): the \
             checks that need it are skipped, and an unknown tier gets General Purpose's limits"
        ));
    }
    Ok(mi)
}

/// `backups_from = "ferry"`: no other job may take log backups elsewhere, and the full is
/// striped to fit Azure's block limit and COPY_ONLY, unless no full has started a log chain.
fn plan_backups(cx: &mut Context<'_, Config>, job: &mut Job, size: u64) -> Result<()> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let history = recorded(cx, &db, 0)?;
    let elsewhere = preflight::logs_elsewhere(&history, &job.folder_url);
    if let Some(why) = preflight::other_job_refusal(&db, &elsewhere, cfg.log_backup_job_paused) {
        return Err(Error::failed(why));
    }
    job.full_copy_only = preflight::has_normal_full(&history);
    if !job.full_copy_only {
        cx.info(&format!(
            "msdb shows no full backup of [{db}] that starts a log chain: ferry's full backup is \
             a normal one (not COPY_ONLY), so that log backups can follow it"
        ));
    }
    let stem = file_stem(&db);
    let n = striping::stripes(size, cfg.stripe_bytes);
    let folder = cfg.folder_for(&db);
    let container = cx.container(&cfg.backups)?;
    let container_url = cx.url(container, "")?;
    job.full_urls = striping::stripe_names(&folder, &format!("{stem}_full"), n)
        .iter()
        .map(|f| blob_names::url_in(&container_url, f))
        .collect();
    job.first_set = job.full_urls.clone();
    Ok(())
}

/// Makes the source credential ferry owns (if it is missing), then takes the full and first
/// log backup into the folder, unless msdb shows both taken already (by a call cut short).
/// With `backups_from = "history"` the backups are there: LRS is started next.
pub fn prepared(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    if job.credential_owned {
        source_credential(cx, &job.folder_url, false)?;
    }
    if cfg.backups_from == BackupsFrom::History {
        return Ok(Outcome::Next(State::Starting { job }));
    }
    if job.full_urls.is_empty() {
        // Journaled by a ferry before striping: its one full backup blob.
        job.full_urls = vec![format!("{}/{}_full.bak", job.folder_url, file_stem(&db))];
    }
    let log = format!("{}/{}", job.folder_url, job.last_file);
    if backup_recorded(cx, &db, job.tail_after, "D", &job.full_urls[0])?
        && backup_recorded(cx, &db, job.tail_after, "L", &log)?
    {
        return Ok(Outcome::Next(State::Starting { job }));
    }
    // The full is LRS's base and the log after it continues the chain (methods.md §0.4 rules
    // 2 and 4). Taken again after a restart, FORMAT replaces the blobs with a pair that chains
    // the same way.
    let full = striping::backup_statement(
        &db,
        Backup::Full {
            copy_only: job.full_copy_only,
        },
        Device::Url(&job.full_urls),
        job.compress,
    );
    let first_log = striping::backup_statement(
        &db,
        Backup::Log { norecovery: false },
        Device::Url(std::slice::from_ref(&log)),
        job.compress,
    );
    let src = cx.sql(&cfg.source)?;
    let op = cx.start_statement(
        src,
        &format!("{full};\n{first_log}"),
        &[],
        &format!("BACKUP DATABASE and LOG [{db}]"),
    )?;
    if job.phases.under_way() != Some("backup") {
        job.phases.begin("backup");
    }
    job.last_log_ms = now_ms();
    cx.phase(
        "backup",
        Some(0.0),
        Some(&format!(
            "full backup ({} stripe(s)) and first log backup",
            job.full_urls.len()
        )),
    );
    Ok(Outcome::wait_operation(
        op.clone(),
        State::BackingUp { job, op },
        "backing up to URL",
    ))
}

/// Takes the chain msdb shows as the job's: its last file is the one LRS ends with, a name
/// LRS must take as `lastBackupName` in autocomplete mode.
fn adopt(
    cx: &mut Context<'_, Config>,
    job: &mut Job,
    chain: &history::Chain,
    place: &str,
) -> Result<()> {
    for w in &chain.warnings {
        cx.warn(w);
    }
    job.last_file = chain
        .files
        .last()
        .map(|f| blob_names::file_name(f))
        .unwrap_or_default();
    if cx.config().mode == Mode::Autocomplete
        && let Some(why) = preflight::backup_name_refusal(&job.last_file)
    {
        return Err(Error::failed(why));
    }
    cx.info(&format!(
        "[{}]: msdb shows a chain of {} file(s) {place}, ending with {}",
        cx.item(),
        chain.files.len(),
        job.last_file
    ));
    Ok(())
}

pub fn backing_up(cx: &mut Context<'_, Config>, job: Job, op: String) -> Result<Outcome<State>> {
    match ended(cx, &op, "the full and first log backup") {
        Ok(true) => Ok(Outcome::Next(State::Starting { job })),
        // ferry restarted mid-backup: msdb tells whether it finished; if not, it is taken
        // again, its credential made again first if it is gone.
        Ok(false) => Ok(Outcome::Next(State::Prepared { job })),
        // No error number: SQL Server never answered (the connection was lost), so the
        // backups may or may not have finished: msdb tells, after a pause.
        Err(Error::Failed(f)) if backup_lost(&f, &job) => {
            Ok(look_in_msdb(job, &f.message, |job| State::Prepared { job }))
        }
        Err(e) => Err(backup_failure(cx, &job, e)),
    }
}
