//! What every phase works on: the [`State`] journaled after each step call, the [`Job`] it
//! carries, how a call ends the item ([`Fail`]), and the credentials ferry owns.

use ferry_sdk::prelude::*;
use ferry_sdk::{SasPermission, SqlConnection};
use serde::{Deserialize, Serialize};

use crate::checks::{self, Stop};
use crate::config::Config;

/// What one database has reached; journaled after every call.
#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    /// Nothing checked or changed yet.
    #[default]
    Start,
    /// Checked, and whether ferry owns the source credential is journaled: the credential is
    /// made if ferry owns it and it is missing, then the BACKUP starts.
    Prepared { job: Job },
    /// The source's BACKUP TO URL runs as operation `op`.
    BackingUp { job: Job, op: String },
    /// Backups from the share are being uploaded by operation `op`.
    Uploading { job: Job, op: String },
    /// The backup files are in the container; whether ferry owns the MI's credential is
    /// decided next.
    ReadyToRestore { job: Job },
    /// Whether ferry owns the MI's credential is journaled: the credential is made if ferry
    /// owns it and it is missing, then the restore starts.
    RestoreDue { job: Job },
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
    /// msdb's newest backup set of the database when the job was planned: a full backup above
    /// it written to the first stripe is this job's, found again after a restart.
    #[serde(default)]
    pub backup_after: i64,
    /// ferry makes (or made) the source's credential and drops it: journaled before it is
    /// made, so a call cut short after making it still knows the credential is ferry's.
    #[serde(alias = "source_credential_created")]
    pub source_credential_owned: bool,
    /// The same for the MI's credential.
    #[serde(alias = "target_credential_created")]
    pub target_credential_owned: bool,
    pub phases: ferry_sdk::Phases,
    /// BACKUPs whose connection was lost before SQL Server answered: each is looked for in
    /// msdb and taken again if it did not finish, up to [`MAX_LOST_BACKUPS`].
    #[serde(default)]
    pub lost_backups: u32,
}

/// Lost BACKUP connections in a row before the item stops: an outage that keeps cutting the
/// one statement that runs for minutes is a network problem a person should look at.
pub const MAX_LOST_BACKUPS: u32 = 5;

/// Why a call ends the item: a reason for the report, or an error from the host (transient
/// ones are retried by the host).
pub enum Fail {
    Stop(Stop),
    Host(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Host(e)
    }
}

pub type Step = std::result::Result<Outcome<State>, Fail>;

pub fn stop(code: &'static str, reason: String) -> Fail {
    Fail::Stop(Stop { code, reason })
}

/// A server error as a stop: the number, its text and what it means.
pub fn server_stop(what: &str, message: &str, code: Option<i32>) -> Fail {
    match code {
        Some(c) => stop(
            "server-error",
            format!(
                "{what} failed with error {c}: {} — {}",
                message.trim_end_matches('.'),
                checks::hint(c, message)
            ),
        ),
        None => stop("failed", format!("{what} failed: {message}")),
    }
}

/// Which server a credential is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

impl Side {
    pub fn label(self, cfg: &Config) -> &str {
        match self {
            Side::Source => &cfg.source,
            Side::Target => &cfg.target,
        }
    }

    fn owned(self, job: &Job) -> bool {
        match self {
            Side::Source => job.source_credential_owned,
            Side::Target => job.target_credential_owned,
        }
    }

    /// Minutes the SAS of a credential for `job` must last: the source's through the backup,
    /// the MI's through the whole restore, which it runs on after the statement's client is
    /// gone (methods.md §4.4). `sas_minutes` is the least.
    fn sas_minutes(self, cfg: &Config, job: &Job) -> u32 {
        let cap = match self {
            Side::Source => checks::MAX_WRITE_SAS_MINUTES,
            Side::Target => checks::MAX_READ_SAS_MINUTES,
        };
        checks::sas_minutes(job.size_bytes, cfg.sas_minutes, cap)
    }

    /// What the credential must let the server do: the source writes the backup (FORMAT
    /// replaces a blob, so Delete too), the MI only reads it (methods.md §4.1).
    fn permissions(self) -> &'static [SasPermission] {
        match self {
            Side::Source => &[
                SasPermission::Read,
                SasPermission::Add,
                SasPermission::Create,
                SasPermission::Write,
                SasPermission::Delete,
                SasPermission::List,
            ],
            Side::Target => &[SasPermission::Read, SasPermission::List],
        }
    }
}

/// Makes the credential ferry owns on `side` exist, with a fresh SAS when it is made. Safe to
/// repeat: one already there (made by a call cut short) is kept.
pub fn put_owned_credential(
    cx: &mut Context<'_, Config>,
    side: Side,
    job: &Job,
) -> std::result::Result<(), Fail> {
    let cfg = cx.config().clone();
    let label = side.label(&cfg).to_owned();
    let conn = cx.sql(&label)?;
    let sas = match &cfg.sas_secret {
        Some(secret) => cx.secret(secret)?,
        None => {
            let c = cx.container(&cfg.backups)?;
            cx.create_sas(c, "", side.permissions(), side.sas_minutes(&cfg, job))?
        }
    };
    cx.put_credential(conn, &job.credential_url, sas, false)
        .map_err(|e| match e {
            Error::Failed(f) => server_stop(
                &format!("creating the credential on `{label}`"),
                &f.message,
                f.code,
            ),
            other => Fail::Host(other),
        })
}

/// Whether ferry owns the credential for `job` on `side`: no credential covers the folder
/// there yet (one that does is the user's, used and never dropped).
pub fn owns_credential(
    cx: &mut Context<'_, Config>,
    conn: SqlConnection,
    side: Side,
    url: &str,
) -> Result<bool> {
    match cx.covering_credential(conn, url)? {
        Some(name) => {
            let label = side.label(cx.config()).to_owned();
            cx.debug(&format!(
                "`{label}` already has credential [{name}] for {url}; using it"
            ));
            Ok(false)
        }
        None => Ok(true),
    }
}

/// Drops the credentials ferry owns; each drop is safe to repeat. The MI's is kept while a
/// restore of the database still runs there: the MI reads the blobs through it until the
/// restore ends, whatever became of the statement that started it.
pub fn drop_credentials(cx: &mut Context<'_, Config>, job: &Job) {
    let cfg = cx.config().clone();
    if job.source_credential_owned {
        cx.drop_credential(&cfg.source, &job.credential_url);
    }
    if !job.target_credential_owned {
        return;
    }
    let running = cx
        .sql(&cfg.target)
        .and_then(|mi| crate::server::restore_status(cx, mi, &job.target));
    let why = match running {
        Ok(Some((0 | 1, ..))) => "a restore of it still runs there and reads through it".to_owned(),
        Err(e) => format!(
            "ferry could not tell whether a restore of it still runs there ({})",
            e.describe()
        ),
        Ok(_) => return cx.drop_credential(&cfg.target, &job.credential_url),
    };
    cx.warn(&format!(
        "ferry leaves its credential [{}] on the Managed Instance for [{}]: {why}; drop it once \
         no restore of [{}] runs (DROP CREDENTIAL [{}])",
        job.credential_url, job.target, job.target, job.credential_url
    ));
}

/// A BACKUP or RESTORE on `side` that failed, with its real cause. For 3201 (the server could
/// not open a blob) the credentials are looked at: none covering the folder any more is said
/// as such — who made it, and what to do — rather than blamed on the SAS.
pub fn url_failure(
    cx: &mut Context<'_, Config>,
    side: Side,
    job: &Job,
    what: &str,
    message: &str,
    code: Option<i32>,
) -> Fail {
    if code != Some(3201) {
        return server_stop(what, message, code);
    }
    let label = side.label(cx.config()).to_owned();
    let covered = cx
        .sql(&label)
        .and_then(|conn| cx.covering_credential(conn, &job.credential_url));
    let Ok(None) = covered else {
        return server_stop(what, message, code);
    };
    let why = match (side.owned(job), side) {
        (true, _) => {
            "ferry made that credential for this database just before the statement, and \
             something dropped it while the statement ran (another run of ferry using the same \
             folder, or a person): make sure nothing else uses the folder, then run `ferry apply \
             --retry-failed`"
        }
        (false, Side::Source) => {
            "the credential that covered it when ferry checked is gone: create it again (CREATE \
             CREDENTIAL [<folder or container URL>] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', \
             SECRET = '<sas>') and run `ferry apply --retry-failed`; with source_credential = \"create\" \
             ferry makes its own on that run instead"
        }
        (false, Side::Target) => {
            "the credential that covered it when ferry checked is gone: run `ferry apply \
             --retry-failed` and ferry makes its own, or create that credential again first"
        }
    };
    stop(
        "missing-credential",
        format!(
            "{what} failed with error 3201 because `{label}` has no credential for {} any more, \
             so the server had no SAS to reach the container ({}); {why}",
            job.credential_url,
            message.trim_end_matches('.')
        ),
    )
}
