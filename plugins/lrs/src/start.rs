//! Before LRS runs: the checks, the backups into the folder, and the PUT that starts it.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::tsql_text::{quote_name, quote_text};
use ferry_sdk::{SasPermission, mi_limits, now_ms};

use crate::config::{self, BackupsFrom, Config, Mode, StorageIdentity};
use crate::history;
use crate::job::{Job, MAX_LOST_BACKUPS, State, ended, file_stem};
use crate::mi::{arm, arm_get};
use crate::share;
use crate::source::{
    backup_failure, backup_recorded, history_mark, history_rows, query_text, source_credential,
};

pub fn start(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let target = cfg.target_for(&db);
    cx.phase("checking", None, Some("source, folder and target"));
    let container = cx.container(&cfg.backups)?;
    let container_url = cx.url(container, "")?;
    let folder = cfg.folder_for(&db);
    let folder_url = format!("{container_url}/{folder}");
    // The target first: a job already running there is this migration's, started by an
    // earlier run that stopped; it is monitored, not started again.
    if let Some(existing) = arm_get(cx, &format!("databases/{target}"))? {
        if arm_get(cx, &format!("databases/{target}/restoreDetails/Default"))?.is_some() {
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
    check_source(cx, &db)?;
    let tail_after = history_mark(cx, &db)?;
    if let Some(word) = config::reserved_word(&container_url, &folder) {
        return Err(Error::failed(format!(
            "`{word}` is reserved by LRS in the container name and folder path; choose another folder"
        )));
    }
    let mut job = Job {
        target,
        folder_url: folder_url.clone(),
        last_file: format!("{}_log_0001.trn", file_stem(&db)),
        started_ms: now_ms(),
        tail_after,
        ..Job::default()
    };
    if cfg.backups_from == BackupsFrom::Share {
        // The source writes to the share, never to the container: no credential there.
        let (chain, folders) = share::chain(cx, &db)?;
        adopt(cx, &mut job, &chain, "on the share");
        return share::upload_new(cx, job, &chain.files, &folders);
    }
    let src = cx.sql(&cfg.source)?;
    // Journaled before the credential is made (in `Prepared`): a call cut short after making
    // it still knows the credential is ferry's to drop. One there already is the user's.
    if !cx.credential_exists(src, &folder_url)? {
        job.credential_owned = true;
        job.credential_ms = now_ms();
    }
    if cfg.backups_from == BackupsFrom::History {
        let chain = history::chain(&history_rows(cx, &db)?, history::Folder::Blob(&folder_url))
            .map_err(|why| Error::failed(format!("[{db}]: {why}")))?;
        adopt(cx, &mut job, &chain, "in the folder");
    }
    Ok(Outcome::Next(State::Prepared { job }))
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
    let full = format!("{}/{}_full.bak", job.folder_url, file_stem(&db));
    let log = format!("{}/{}", job.folder_url, job.last_file);
    if backup_recorded(cx, &db, job.tail_after, "D", &full)?
        && backup_recorded(cx, &db, job.tail_after, "L", &log)?
    {
        return Ok(Outcome::Next(State::Starting { job }));
    }
    // A normal (not COPY_ONLY) full: LRS's chain starts from it, and the log backup after it
    // continues the chain (methods.md §0.4 rules 2 and 4). Taken again after a restart, FORMAT
    // replaces the blobs with a pair that chains the same way.
    let statement = format!(
        "BACKUP DATABASE {q} TO URL = {} WITH CHECKSUM, FORMAT;\nBACKUP LOG {q} TO URL = {} WITH CHECKSUM, FORMAT",
        quote_text(&full),
        quote_text(&log),
        q = quote_name(&db)
    );
    let src = cx.sql(&cfg.source)?;
    let op = cx.start_statement(
        src,
        &statement,
        &[],
        &format!("BACKUP DATABASE and LOG [{db}]"),
    )?;
    if job.phases.under_way() != Some("backup") {
        job.phases.begin("backup");
    }
    job.last_log_ms = now_ms();
    cx.phase("backup", Some(0.0), Some("full and first log backup"));
    Ok(Outcome::wait_operation(
        op.clone(),
        State::BackingUp { job, op },
        "backing up to URL",
    ))
}

/// Takes the chain msdb shows as the job's: its last file is the one LRS ends with.
fn adopt(cx: &mut Context<'_, Config>, job: &mut Job, chain: &history::Chain, place: &str) {
    for w in &chain.warnings {
        cx.warn(w);
    }
    job.last_file = chain
        .files
        .last()
        .map(|f| f.rsplit('/').next().unwrap_or(f).to_owned())
        .unwrap_or_default();
    cx.info(&format!(
        "[{}]: msdb shows a chain of {} file(s) {place}, ending with {}",
        cx.item(),
        chain.files.len(),
        job.last_file
    ));
}

/// The source's side of methods.md §2.2 and §2.7: a version LRS reads, ONLINE, FULL
/// recovery, one log file, no FILESTREAM, and a TDE certificate already on the MI.
fn check_source(cx: &mut Context<'_, Config>, db: &str) -> Result<()> {
    let rows = query_text(
        cx,
        "SELECT d.state_desc, d.recovery_model_desc, SERVERPROPERTY('ProductMajorVersion'), d.is_encrypted, d.database_id FROM sys.databases d WHERE d.name = @db",
        db,
    )?;
    let Some(row) = rows.first() else {
        return Err(Error::failed(format!(
            "the source has no database named [{db}]; check the name in `databases`"
        )));
    };
    let (state, recovery) = (text(row.first()), text(row.get(1)));
    let major = int(row.get(2));
    if major < 10 {
        return Err(Error::failed(format!(
            "LRS restores backups of SQL Server 2008 (10) and later; the source is version {major}"
        )));
    }
    if !state.eq_ignore_ascii_case("ONLINE") {
        return Err(Error::failed(format!(
            "[{db}] is {state} on the source; bring it ONLINE, then run `ferry apply --retry-failed`"
        )));
    }
    if !recovery.eq_ignore_ascii_case("FULL") {
        return Err(Error::failed(format!(
            "[{db}] uses the {recovery} recovery model; LRS needs FULL (ALTER DATABASE {} SET RECOVERY FULL, then a full backup)",
            quote_name(db)
        )));
    }
    let files = query_text(
        cx,
        &format!("SELECT type FROM {}.sys.database_files", quote_name(db)),
        db,
    )?;
    let count = |t: &str| files.iter().filter(|r| text(r.first()) == t).count() as u32;
    if let Some((_, why)) = mi_limits::physical_layout_stop(db, count("1"), count("2")) {
        return Err(Error::failed(why));
    }
    let encrypted = int(row.get(3)) != 0;
    if encrypted && !cx.config().tde_certificates_migrated {
        let id = int(row.get(4));
        let cert = query_text(
            cx,
            &format!(
                "SELECT c.name, c.thumbprint FROM sys.dm_database_encryption_keys k \
                 JOIN master.sys.certificates c ON c.thumbprint = k.encryptor_thumbprint \
                 WHERE k.database_id = {id}"
            ),
            db,
        )?;
        let cert = cert.first().map(|r| (text(r.first()), text(r.get(1))));
        let (_, why) =
            mi_limits::tde_stop(db, cert.as_ref().map(|(n, t)| (n.as_str(), t.as_str())));
        return Err(Error::failed(why));
    }
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
        Err(Error::Failed(f)) if f.code.is_none() && job.lost_backups < MAX_LOST_BACKUPS => {
            let mut job = job;
            job.lost_backups += 1;
            Ok(Outcome::wait_for(
                std::time::Duration::from_secs(2u64 << job.lost_backups.min(4)),
                State::Prepared { job },
                format!("{}; looking in msdb", f.message),
            ))
        }
        Err(e) => Err(backup_failure(cx, &job, e)),
    }
}

pub fn starting(cx: &mut Context<'_, Config>, job: Job) -> Result<Outcome<State>> {
    // A call cut short after its PUT reached ARM is made again: LRS runs already (a second
    // PUT would be refused with ManagedDatabaseNameInUse), so it is monitored.
    if cx.attempt() > 1
        && arm_get(
            cx,
            &format!("databases/{}/restoreDetails/Default", job.target),
        )?
        .is_some()
    {
        cx.info(&format!(
            "LRS was started for [{}] before ferry stopped; monitoring it",
            job.target
        ));
        return Ok(lrs_started(cx, job));
    }
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let collation = query_text(
        cx,
        "SELECT collation_name FROM sys.databases WHERE name = @db",
        &db,
    )?
    .first()
    .map(|r| text(r.first()))
    .unwrap_or_else(|| "SQL_Latin1_General_CP1_CI_AS".into());
    let location = arm_get(cx, "")?
        .and_then(|mi| mi["location"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut props = serde_json::json!({
        "createMode": "RestoreExternalBackup",
        "collation": collation,
        "storageContainerUri": job.folder_url,
        "autoCompleteRestore": cfg.mode == Mode::Autocomplete,
    });
    if cfg.mode == Mode::Autocomplete {
        props["lastBackupName"] = serde_json::json!(job.last_file);
    }
    let sas = match (cfg.storage_identity, &cfg.sas_secret) {
        (StorageIdentity::ManagedIdentity, _) => {
            props["storageContainerIdentity"] = "ManagedIdentity".into();
            None
        }
        (StorageIdentity::Sas, Some(label)) => Some(cx.secret(label)?),
        (StorageIdentity::Sas, None) => {
            let container = cx.container(&cfg.backups)?;
            Some(cx.create_sas(
                container,
                "",
                &[SasPermission::Read, SasPermission::List],
                cfg.sas_minutes,
            )?)
        }
    };
    if sas.is_some() {
        props["storageContainerIdentity"] = "SharedAccessSignature".into();
        props["storageContainerSasToken"] = "{{sas}}".into();
    }
    let body = serde_json::json!({ "location": location, "properties": props });
    let put = arm(
        "PUT",
        &format!("databases/{}", job.target),
        &cfg,
        Some(body),
    );
    let sent = match sas {
        Some(sas) => cx.azure_sealed(&cfg.azure, &put, &[("sas", sas)]),
        None => cx.azure(&cfg.azure, &put),
    };
    if let Err(e) = sent {
        return Err(refused(&cfg, &job.target, e));
    }
    if cx.planning() {
        return Ok(Outcome::Done(
            serde_json::json!({ "method": "lrs", "planned": true }),
        ));
    }
    Ok(lrs_started(cx, job))
}

fn lrs_started(cx: &mut Context<'_, Config>, mut job: Job) -> Outcome<State> {
    job.lrs_started = true;
    job.phases.begin("restoring");
    cx.phase("restoring", Some(0.0), Some("LRS started"));
    Outcome::Next(State::Monitoring { job })
}

/// LRS's refusal to start, with what to change for the SAS refusals users meet most.
fn refused(cfg: &Config, target: &str, e: Error) -> Error {
    let Error::Failed(f) = e else { return e };
    let hint = if f.message.contains("SasToken") {
        match &cfg.sas_secret {
            Some(label) => format!(
                "; the SAS in secret `{label}` must be for the container and grant Read and List \
                 only (sp=rl): make a new one, or drop `sas_secret` to let ferry sign it"
            ),
            None => "; ferry signs a Read+List SAS from the storage label's account key".into(),
        }
    } else {
        String::new()
    };
    Error::Failed(ferry_sdk::Failure {
        message: format!(
            "LRS refused to start for [{target}]: {}{hint}",
            f.message.trim_end_matches('.')
        ),
        code: f.code,
    })
}
