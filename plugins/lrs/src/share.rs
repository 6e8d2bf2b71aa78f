//! `backups_from = "share"`: the database's own backups, taken TO DISK onto a share, uploaded
//! into its blob folder. Which files to upload comes from msdb, not from the share's listing:
//! msdb records a backup only once it has finished, so a file SQL Server is still writing is
//! never uploaded half-done.

use std::collections::BTreeMap;

use ferry_sdk::prelude::*;
use ferry_sdk::{BlockChecksum, Container, UploadOptions};

use crate::config::Config;
use crate::history::{self, Chain, Folder};
use crate::job::{Job, State, ended};
use crate::source::history_rows;

/// The share's label (validated at `ferry check`).
fn share_label(cfg: &Config) -> String {
    cfg.share.clone().unwrap_or_default()
}

/// Every object directly in `prefix/` (not in a sub-folder) by file name, with its size.
fn listing(
    cx: &mut Context<'_, Config>,
    c: Container,
    prefix: &str,
) -> Result<BTreeMap<String, u64>> {
    let folder = format!("{prefix}/");
    Ok(cx
        .list_all(c, &folder)?
        .into_iter()
        .filter_map(|o| {
            let name = o.name.strip_prefix(&folder)?;
            (!name.contains('/')).then(|| (name.to_owned(), o.size))
        })
        .collect())
}

/// What the database's folder holds on the share and in the container, by file name with its
/// size: listed once per look, for both the chain and what is left to upload.
pub struct Folders {
    on_share: BTreeMap<String, u64>,
    in_folder: BTreeMap<String, u64>,
}

impl Folders {
    pub fn look(cx: &mut Context<'_, Config>, db: &str) -> Result<Folders> {
        let cfg = cx.config().clone();
        let path = cfg.folder_for(db);
        let share = cx.container(&share_label(&cfg))?;
        let container = cx.container(&cfg.backups)?;
        Ok(Folders {
            on_share: listing(cx, share, &path)?,
            in_folder: listing(cx, container, &path)?,
        })
    }

    /// The share paths among `files` the blob folder does not hold yet, or holds with another
    /// size than the share's copy (an upload cut short).
    fn missing(&self, files: &[String]) -> Vec<String> {
        files
            .iter()
            .filter(|f| {
                let name = f.rsplit('/').next().unwrap_or(f);
                match (self.on_share.get(name), self.in_folder.get(name)) {
                    (_, None) => true,
                    (Some(a), Some(b)) => a != b,
                    (None, Some(_)) => false,
                }
            })
            .cloned()
            .collect()
    }
}

/// The chain msdb shows for `db`, as paths on the share, and the folders it was found in.
pub fn chain(cx: &mut Context<'_, Config>, db: &str) -> Result<(Chain, Folders)> {
    let folders = Folders::look(cx, db)?;
    Ok((chain_in(cx, db, &folders)?, folders))
}

/// The chain in `folders`. A file already uploaded counts as found even when the share's
/// retention has deleted it since (an old full backup).
fn chain_in(cx: &mut Context<'_, Config>, db: &str, folders: &Folders) -> Result<Chain> {
    let cfg = cx.config().clone();
    let label = share_label(&cfg);
    let path = cfg.folder_for(db);
    let names: Vec<String> = folders
        .on_share
        .keys()
        .chain(folders.in_folder.keys())
        .cloned()
        .collect();
    let rows = history_rows(cx, db)?;
    history::chain(
        &rows,
        Folder::Share {
            label: &label,
            path: &path,
            names: &names,
        },
    )
    .map_err(|why| Error::failed(format!("[{db}]: {why}")))
}

/// Uploads the files of `files` not in the blob folder yet, then goes on as far as the job
/// has got.
pub fn upload_new(
    cx: &mut Context<'_, Config>,
    job: Job,
    files: &[String],
    folders: &Folders,
) -> Result<Outcome<State>> {
    let new = folders.missing(files);
    if new.is_empty() {
        return Ok(Outcome::Next(after_upload(job)));
    }
    start_upload(cx, job, &new)
}

pub fn start_upload(
    cx: &mut Context<'_, Config>,
    mut job: Job,
    files: &[String],
) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let container = cx.container(&cfg.backups)?;
    let folder = cfg.folder_for(cx.item());
    let op = cx.upload_from_share(
        container,
        &share_label(&cfg),
        files,
        &format!("{folder}/"),
        UploadOptions {
            block_size: None,
            concurrency: None,
            checksum: BlockChecksum::Md5,
        },
    )?;
    let names: Vec<&str> = files
        .iter()
        .map(|f| f.rsplit('/').next().unwrap_or(f))
        .collect();
    cx.info(&format!("uploading {} from the share", names.join(", ")));
    if !job.lrs_started {
        job.phases.begin("upload");
    }
    cx.phase("upload", None, Some(&format!("{} file(s)", files.len())));
    Ok(Outcome::wait_operation(
        op.clone(),
        State::Uploading { job, op },
        "uploading backups from the share",
    ))
}

/// Where a job goes once its files are in the folder.
fn after_upload(job: Job) -> State {
    if job.cutover {
        State::Completing { job, op: None }
    } else if job.lrs_started {
        State::Monitoring { job }
    } else {
        State::Starting { job }
    }
}

pub fn uploading(cx: &mut Context<'_, Config>, job: Job, op: String) -> Result<Outcome<State>> {
    if ended(cx, &op, "the upload from the share")? {
        return Ok(Outcome::Next(after_upload(job)));
    }
    // ferry restarted mid-upload: the files still missing are uploaded again (blocks already
    // staged are kept by the host).
    let db = cx.item().to_owned();
    let (files, folders) = if job.cutover {
        let tail = format!("{}/{}", cx.config().folder_for(&db), job.last_file);
        (vec![tail], Folders::look(cx, &db)?)
    } else {
        let (chain, folders) = chain(cx, &db)?;
        (chain.files, folders)
    };
    upload_new(cx, job, &files, &folders)
}

/// Continuous mode: the backups msdb recorded since the last look, still to upload. A chain
/// that cannot continue (a log backup taken elsewhere) is warned about once; LRS keeps
/// restoring what it has.
pub fn new_backups(cx: &mut Context<'_, Config>, job: &mut Job) -> Result<Vec<String>> {
    let db = cx.item().to_owned();
    let folders = Folders::look(cx, &db)?;
    match chain_in(cx, &db, &folders) {
        Ok(c) => Ok(folders.missing(&c.files)),
        Err(Error::Failed(f)) => {
            if job.chain_warning.as_deref() != Some(f.message.as_str()) {
                cx.warn(&format!(
                    "{}; LRS cannot restore past it until it is fixed",
                    f.message
                ));
                job.chain_warning = Some(f.message);
            }
            Ok(vec![])
        }
        Err(e) => Err(e),
    }
}
