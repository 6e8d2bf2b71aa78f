//! `native-restore`: moves each database to Azure SQL Managed Instance with a full backup in
//! blob storage and `RESTORE … FROM URL` (methods.md §4).
//!
//! Per database: check every prerequisite on the source and the MI before changing anything;
//! back the database up to the container (or upload its backups from a share); put a SAS
//! credential on the MI; restore as a host operation; check the database is ONLINE; drop the
//! credentials ferry made. Every phase is resumable: a restore already running or finished on
//! the MI is recognised from `sys.dm_operation_status` and followed, never started twice.

pub mod checks;
pub mod config;
mod server;

use std::time::Duration;

use ferry_sdk::prelude::*;
use ferry_sdk::{OperationState, Param, SasPermission, StatementOptions};
use serde::{Deserialize, Serialize};

use checks::Stop;
use config::{Config, Mode, SourceCredential};

/// How often a restore the plugin follows (after ferry restarted) is polled: MI restores take
/// minutes, so a few seconds costs nothing and keeps the view live.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// What one database has reached; journaled after every call.
#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    /// Nothing checked or changed yet.
    #[default]
    Start,
    /// The source's BACKUP TO URL runs as operation `op`.
    BackingUp { job: Job, op: String },
    /// Backups from the share are being uploaded by operation `op`.
    Uploading { job: Job, op: String },
    /// The backup files are in the container; the restore is next.
    ReadyToRestore { job: Job },
    /// The restore runs: as this run's operation, or (None) followed on the MI after a restart.
    Restoring { job: Job, op: Option<String> },
    /// The restore finished; the database's state is checked.
    Verifying { job: Job },
}

/// What the steps of one database share.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Job {
    pub target: String,
    /// What the credentials are named after: the database's folder URL. SQL Server and MI pick
    /// the credential with the longest matching prefix, so a credential per database never
    /// races another database's (creating the same name twice fails with 15025) and dropping
    /// it cannot pull a SAS from under a backup still running.
    pub credential_url: String,
    /// Whether the source's edition can compress backups.
    #[serde(default)]
    pub compress: bool,
    /// Blob names of the backup files, relative to the container label.
    pub files: Vec<String>,
    /// Their URLs, as the servers name them.
    pub urls: Vec<String>,
    pub size_bytes: u64,
    pub source_credential_created: bool,
    pub target_credential_created: bool,
    pub phases: ferry_sdk::Phases,
}

pub struct NativeRestore;

impl Plugin for NativeRestore {
    const NAME: &'static str = "native-restore";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Migrates databases to Managed Instance: BACKUP TO URL (or backups on a share), RESTORE FROM URL";
    type Config = Config;
    type State = State;

    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Write,
                "reads the database's shape; creates a credential and runs BACKUP TO URL",
            ),
            need(
                CapabilityKind::Sql,
                "target",
                Access::Write,
                "creates a SAS credential and runs RESTORE FROM URL on the Managed Instance",
            ),
            need(
                CapabilityKind::Storage,
                "backups",
                Access::Write,
                "the blob container the backups go through; signs SAS for the credentials",
            ),
        ]
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        if config.mode == Mode::Share && config.share.is_none() {
            return Err(Error::invalid_config(
                Some("share"),
                "mode = \"share\" needs `share`, the storage label of the share holding the backups",
            ));
        }
        if !config.folder.contains("{db}") {
            return Ok(vec![Warning {
                key: Some("folder".into()),
                message: "without {db} in `folder`, every database shares one folder".into(),
            }]);
        }
        Ok(vec![])
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        let result = match state {
            State::Start => start(cx),
            State::BackingUp { job, op } => backing_up(cx, job, op),
            State::Uploading { job, op } => uploading(cx, job, op),
            State::ReadyToRestore { job } => ready_to_restore(cx, job),
            State::Restoring { job, op } => restoring(cx, job, op),
            State::Verifying { job } => verifying(cx, job),
        };
        result.map_err(|e| match e {
            Fail::Stop(s) => {
                let db = cx.item().to_owned();
                cx.report(ObjectRow {
                    object_type: "database".into(),
                    name: db,
                    status: ObjectStatus::Failed,
                    reason_code: Some(s.code.to_owned()),
                    notes: Some(s.reason.clone()),
                });
                Error::failed(s.reason)
            }
            Fail::Host(e) => e,
        })
    }

    fn cleanup(cx: &mut Context<'_, Config>, state: State) {
        let job = match state {
            State::BackingUp { job, .. }
            | State::Uploading { job, .. }
            | State::ReadyToRestore { job }
            | State::Restoring { job, .. }
            | State::Verifying { job } => job,
            State::Start => return,
        };
        drop_credentials(cx, &job);
    }
}

ferry_sdk::register!(NativeRestore);

/// Why a call ends the item: a reason for the report, or an error from the host (transient
/// ones are retried by the host).
enum Fail {
    Stop(Stop),
    Host(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Host(e)
    }
}

type Step = std::result::Result<Outcome<State>, Fail>;

fn stop(code: &'static str, reason: String) -> Fail {
    Fail::Stop(Stop { code, reason })
}

/// A server error as a stop: the number, its text and what it means.
fn server_stop(what: &str, message: &str, code: Option<i32>) -> Fail {
    match code {
        Some(c) => stop(
            "server-error",
            format!(
                "{what} failed with error {c}: {message} — {}",
                checks::hint(c)
            ),
        ),
        None => stop("failed", format!("{what} failed: {message}")),
    }
}

fn start(cx: &mut Context<'_, Config>) -> Step {
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

    let container = cx.container(&cfg.backups)?;
    let folder = cfg.folder_for(&db);
    let credential_url = format!("{}/{folder}", cx.url(container, "")?);
    let mut job = Job {
        target,
        credential_url: credential_url.clone(),
        ..Job::default()
    };
    match cfg.mode {
        Mode::BackupToUrl => {
            let src = cx.sql(&cfg.source)?;
            let facts = server::source_facts(cx, src, &db)?;
            if let Some(s) = checks::source_stop(&db, &facts, cfg.tde_certificates_migrated) {
                return Err(Fail::Stop(s));
            }
            if !facts.recovery.eq_ignore_ascii_case("FULL") {
                cx.info(&format!(
                    "[{db}] uses the {} recovery model; the MI sets FULL on restore",
                    facts.recovery
                ));
            }
            let n = checks::stripes(facts.size_bytes, cfg.stripe_bytes);
            job.size_bytes = facts.size_bytes;
            job.compress = checks::edition_compresses(&facts.edition);
            job.files = checks::stripe_names(&folder, &db, n);
            job.urls = job
                .files
                .iter()
                .map(|f| cx.url(container, f))
                .collect::<Result<_>>()?;
            job.source_credential_created = ensure_credential(
                cx,
                src,
                &credential_url,
                cfg.source_credential == SourceCredential::Existing,
                &[
                    SasPermission::Read,
                    SasPermission::Add,
                    SasPermission::Create,
                    SasPermission::Write,
                    SasPermission::Delete,
                    SasPermission::List,
                ],
                "source",
            )?;
            job.phases.begin("backup");
            cx.phase("backup", Some(0.0), Some(&format!("{n} stripe(s)")));
            let made = job.clone();
            start_backup(cx, job).inspect_err(|_| drop_credentials(cx, &made))
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
                    format!("share `{share_label}` has no .bak file under `{folder}/`"),
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
                .map(|f| cx.url(container, f))
                .collect::<Result<_>>()?;
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

/// Makes sure `conn` has a SAS credential for the database's folder; returns whether ferry
/// created it (and so must drop it).
fn ensure_credential(
    cx: &mut Context<'_, Config>,
    conn: ferry_sdk::SqlConnection,
    credential_url: &str,
    existing_only: bool,
    permissions: &[SasPermission],
    side: &str,
) -> std::result::Result<bool, Fail> {
    if let Some(name) = server::covering_credential(cx, conn, credential_url)? {
        cx.debug(&format!(
            "the {side} already has credential [{name}] for {credential_url}; using it"
        ));
        return Ok(false);
    }
    if existing_only {
        return Err(stop(
            "missing-credential",
            format!(
                "the {side} has no credential for [{credential_url}] and source_credential = \
                 \"existing\"; create it (CREATE CREDENTIAL [{credential_url}] WITH IDENTITY = \
                 'SHARED ACCESS SIGNATURE', SECRET = '<sas>') or set source_credential = \"create\""
            ),
        ));
    }
    let cfg = cx.config().clone();
    let sas = match &cfg.sas_secret {
        Some(label) => cx.secret(label)?,
        None => {
            let c = cx.container(&cfg.backups)?;
            cx.create_sas(c, "", permissions, cfg.sas_minutes)?
        }
    };
    let conn_label = if side == "source" {
        &cfg.source
    } else {
        &cfg.target
    };
    let statement = checks::credential_statement(credential_url);
    cx.execute(
        conn,
        &statement,
        &[Param::sealed("sas", sas)],
        StatementOptions {
            idempotent: false,
            timeout_ms: None,
        },
    )
    .map_err(|e| match e {
        Error::Failed(f) => server_stop(
            &format!("creating the credential on `{conn_label}`"),
            &f.message,
            f.code,
        ),
        other => Fail::Host(other),
    })?;
    Ok(true)
}

fn drop_credentials(cx: &mut Context<'_, Config>, job: &Job) {
    let cfg = cx.config().clone();
    if job.source_credential_created {
        cx.drop_credential(&cfg.source, &job.credential_url);
    }
    if job.target_credential_created {
        cx.drop_credential(&cfg.target, &job.credential_url);
    }
}

fn backing_up(cx: &mut Context<'_, Config>, mut job: Job, op: String) -> Step {
    let db = cx.item().to_owned();
    match cx.operation(&op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => {
                if job.source_credential_created {
                    let (label, url) = (cx.config().source.clone(), job.credential_url.clone());
                    cx.drop_credential(&label, &url);
                    job.source_credential_created = false;
                }
                Ok(Outcome::Next(State::ReadyToRestore { job }))
            }
            OperationState::Failed(f) => {
                drop_credentials(cx, &job);
                Err(server_stop(
                    &format!("BACKUP of [{db}]"),
                    &f.message,
                    f.code,
                ))
            }
            OperationState::Cancelled => Err(stop("cancelled", "the backup was cancelled".into())),
            OperationState::Running => Ok(Outcome::wait_operation(
                op.clone(),
                State::BackingUp { job, op },
                "backing up to URL",
            )),
        },
        // ferry restarted while the backup ran: run it again (FORMAT replaces a partial one).
        Err(_) => {
            cx.info(&format!(
                "the backup of [{db}] was under way when ferry stopped; running it again"
            ));
            start_backup(cx, job)
        }
    }
}

fn uploading(cx: &mut Context<'_, Config>, job: Job, op: String) -> Step {
    match cx.operation(&op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => Ok(Outcome::Next(State::ReadyToRestore { job })),
            OperationState::Failed(f) => {
                Err(stop("upload", format!("the upload failed: {}", f.message)))
            }
            OperationState::Cancelled => Err(stop("cancelled", "the upload was cancelled".into())),
            OperationState::Running => Ok(Outcome::wait_operation(
                op.clone(),
                State::Uploading { job, op },
                "uploading backups from the share",
            )),
        },
        // The upload resumes where it stopped: staged blocks are committed, not sent again.
        Err(_) => start_upload(cx, job),
    }
}

/// Starts the source's BACKUP TO URL of the item's database into `job.urls`.
fn start_backup(cx: &mut Context<'_, Config>, job: Job) -> Step {
    let db = cx.item().to_owned();
    let src = cx.sql(&cx.config().source.clone())?;
    let statement = checks::backup_statement(&db, &job.urls, job.compress);
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

fn ready_to_restore(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    let cfg = cx.config().clone();
    let mi = cx.sql(&cfg.target)?;
    // A call cut short after it started the restore is made again: find that restore rather
    // than start a second one.
    if let Some((state, ..)) = server::restore_status(cx, mi, &job.target)?
        && (state <= 1 || cx.attempt() > 1)
    {
        return Ok(Outcome::Next(State::Restoring { job, op: None }));
    }
    let existing = server::target_state(cx, mi, &job.target)?;
    if !existing.is_empty() {
        if cx.attempt() > 1 {
            return Ok(Outcome::Next(State::Verifying { job }));
        }
        return Err(stop(
            "name-collision",
            format!(
                "a database named [{}] appeared on the Managed Instance ({existing}) after the \
                 checks; drop it or set target_name",
                job.target
            ),
        ));
    }
    if !job.target_credential_created {
        job.target_credential_created = ensure_credential(
            cx,
            mi,
            &job.credential_url.clone(),
            false,
            &[SasPermission::Read, SasPermission::List],
            "target",
        )?;
    }
    // From here on the MI holds a credential ferry may have made: any failure drops it.
    let made = job.clone();
    check_and_restore(cx, job).inspect_err(|_| drop_credentials(cx, &made))
}

/// Checks backups from a share (one full backup WITH CHECKSUM), then starts the restore.
fn check_and_restore(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let mi = cx.sql(&cfg.target)?;
    if cfg.mode == Mode::Share && !cx.planning() {
        let headers = server::headers(cx, mi, &job.urls).map_err(|e| match e {
            Error::Failed(f) => server_stop("RESTORE HEADERONLY", &f.message, f.code),
            other => Fail::Host(other),
        })?;
        if let Some(s) = share_backup_stop(&db, &headers) {
            return Err(Fail::Stop(s));
        }
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

/// Backups found on a share must be one full backup of this database, taken WITH CHECKSUM.
fn share_backup_stop(db: &str, headers: &[(i64, String, bool)]) -> Option<Stop> {
    let bad = |reason: String| {
        Some(Stop {
            code: "backup-file",
            reason,
        })
    };
    match headers {
        [] => bad(format!("the backups of [{db}] have no backup set")),
        [(1, name, true)] if name.eq_ignore_ascii_case(db) => None,
        [(1, name, _)] if !name.eq_ignore_ascii_case(db) => bad(format!(
            "the backup on the share is of database [{name}], not [{db}]"
        )),
        [(1, _, false)] => bad(format!(
            "the backup of [{db}] was taken without CHECKSUM; take it again WITH CHECKSUM"
        )),
        [(t, ..)] => bad(format!(
            "the backup of [{db}] is not a full database backup (BackupType {t}); a Managed Instance restores only full backups"
        )),
        _ => bad(format!(
            "the backup of [{db}] holds {} backup sets; a Managed Instance restores a file with one",
            headers.len()
        )),
    }
}

fn restoring(cx: &mut Context<'_, Config>, job: Job, op: Option<String>) -> Step {
    if let Some(id) = &op {
        match cx.operation(id) {
            Ok(s) => match s.state {
                OperationState::Succeeded => return Ok(Outcome::Next(State::Verifying { job })),
                OperationState::Failed(f) => {
                    drop_credentials(cx, &job);
                    return Err(server_stop(
                        &format!("RESTORE of [{}]", job.target),
                        &f.message,
                        f.code,
                    ));
                }
                OperationState::Cancelled => {
                    return Err(stop("cancelled", "the restore was cancelled".into()));
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
            drop_credentials(cx, &job);
            Err(server_stop(
                &format!("RESTORE of [{}]", job.target),
                &text,
                (code != 0).then_some(code as i32),
            ))
        }
        None if !server::target_state(cx, mi, &job.target)?.is_empty() => {
            Ok(Outcome::Next(State::Verifying { job }))
        }
        // No restore ever started (ferry stopped before it could): start it now.
        None => Ok(Outcome::Next(State::ReadyToRestore { job })),
    }
}

fn verifying(cx: &mut Context<'_, Config>, mut job: Job) -> Step {
    let db = cx.item().to_owned();
    let cfg = cx.config().clone();
    job.phases.begin("verify");
    let planning = cx.planning();
    if !planning {
        let mi = cx.sql(&cfg.target)?;
        let state = server::target_state(cx, mi, &job.target)?;
        if state.eq_ignore_ascii_case("RESTORING") {
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
                    "after the restore, [{}] is {} on the Managed Instance, not ONLINE",
                    job.target,
                    if state.is_empty() { "missing" } else { &state }
                ),
            ));
        }
    }
    if job.target_credential_created {
        cx.drop_credential(&cfg.target, &job.credential_url);
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

#[cfg(test)]
mod tests {
    use super::share_backup_stop;

    #[test]
    fn share_backups_must_be_one_full_backup_of_the_database_with_checksum() {
        let h = |t: i64, n: &str, c: bool| (t, n.to_owned(), c);
        assert_eq!(share_backup_stop("Sales", &[h(1, "Sales", true)]), None);
        for (headers, needle) in [
            (vec![], "no backup set"),
            (vec![h(1, "HR", true)], "of database [HR]"),
            (vec![h(1, "Sales", false)], "without CHECKSUM"),
            (vec![h(5, "Sales", true)], "BackupType 5"),
            (
                vec![h(1, "Sales", true), h(2, "Sales", true)],
                "2 backup sets",
            ),
        ] {
            let s = share_backup_stop("Sales", &headers).expect("stops");
            assert!(s.reason.contains(needle), "{}", s.reason);
        }
    }
}
