//! Before LRS runs: the checks, the backups into the folder, and the PUT that starts it.

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{
    credential_statement, drop_credential_statement, quote_name, quote_text,
};
use ferry_sdk::{Param, SasPermission, StatementOptions, mi_limits};

use crate::config::{self, BackupsFrom, Config, Mode, StorageIdentity};
use crate::{Job, State, arm, arm_get, ended, history, int, now_ms, query_text, safe, share, text};

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
                tail_after: crate::cutover::history_mark(cx, &db)?,
                lrs_started: true,
                ..Job::default()
            };
            return Ok(Outcome::Next(State::Monitoring { job }));
        }
        return Err(Error::failed(format!(
            "the Managed Instance already has a database named [{target}] ({}); ferry never \
             deletes a database it did not create: drop it yourself or set target_name",
            existing["properties"]["status"]
                .as_str()
                .unwrap_or("unknown state")
        )));
    }
    check_source(cx, &db)?;
    let tail_after = crate::cutover::history_mark(cx, &db)?;
    if let Some(word) = config::reserved_word(&container_url, &folder) {
        return Err(Error::failed(format!(
            "`{word}` is reserved by LRS in the container name and folder path; choose another folder"
        )));
    }
    let mut job = Job {
        target,
        folder_url: folder_url.clone(),
        last_file: format!("{}_log_0001.trn", safe(&db)),
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
    let exists = query_text(
        cx,
        "SELECT name FROM sys.credentials WHERE name = @db",
        &folder_url,
    )?;
    if exists.is_empty() {
        source_credential(cx, &folder_url, false)?;
        job.credential_created = true;
        job.credential_ms = now_ms();
    }
    if cfg.backups_from == BackupsFrom::History {
        let chain = history::chain(&history_rows(cx, &db)?, history::Folder::Blob(&folder_url))
            .map_err(|why| Error::failed(format!("[{db}]: {why}")))?;
        adopt(cx, &mut job, &chain, "in the folder");
        return Ok(Outcome::Next(State::Starting { job }));
    }
    let full = format!("{folder_url}/{}_full.bak", safe(&db));
    let log = format!("{folder_url}/{}", job.last_file);
    // A normal (not COPY_ONLY) full: LRS's chain starts from it, and the log backup after it
    // continues the chain (methods.md §0.4 rules 2 and 4).
    let statement = format!(
        "BACKUP DATABASE {q} TO URL = {} WITH CHECKSUM, FORMAT;\nBACKUP LOG {q} TO URL = {} WITH CHECKSUM, FORMAT",
        quote_text(&full),
        quote_text(&log),
        q = quote_name(&db)
    );
    let op = cx.start_statement(
        src,
        &statement,
        &[],
        &format!("BACKUP DATABASE and LOG [{db}]"),
    )?;
    job.phases.begin("backup");
    job.last_log_ms = now_ms();
    cx.phase("backup", Some(0.0), Some("full and first log backup"));
    Ok(Outcome::wait_operation(
        op.clone(),
        State::BackingUp { job, op },
        "backing up to URL",
    ))
}

/// How long the source's credential SAS (it writes) stays valid: the host's limit for a SAS
/// that can write. It is renewed before the tail-log backup, which may come weeks later.
const WRITE_SAS_MINUTES: u32 = 7 * 24 * 60;

/// The source's credential for the folder, with a fresh read/write SAS; `replace` drops the
/// one ferry made before.
pub fn source_credential(
    cx: &mut Context<'_, Config>,
    folder_url: &str,
    replace: bool,
) -> Result<()> {
    let cfg = cx.config().clone();
    let container = cx.container(&cfg.backups)?;
    let sas = cx.create_sas(
        container,
        "",
        &[
            SasPermission::Read,
            SasPermission::Add,
            SasPermission::Create,
            SasPermission::Write,
            SasPermission::List,
        ],
        WRITE_SAS_MINUTES,
    )?;
    let create = credential_statement(folder_url);
    let statement = if replace {
        format!("{};\n{create}", drop_credential_statement(folder_url))
    } else {
        create
    };
    let src = cx.sql(&cfg.source)?;
    cx.execute(
        src,
        &statement,
        &[Param::sealed("sas", sas)],
        StatementOptions {
            idempotent: false,
            timeout_ms: None,
        },
    )?;
    Ok(())
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
            "the source has no database named [{db}]"
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
            "[{db}] is {state} on the source; it must be ONLINE"
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

/// The database's backups as msdb records them, one row per stripe.
pub fn history_rows(cx: &mut Context<'_, Config>, db: &str) -> Result<Vec<history::HistoryRow>> {
    let rows = query_text(
        cx,
        "SELECT b.backup_set_uuid, b.type, b.first_lsn, b.last_lsn, b.has_backup_checksums, \
         b.differential_base_guid, m.physical_device_name \
         FROM msdb.dbo.backupset b JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id \
         WHERE b.database_name = @db ORDER BY b.backup_finish_date",
        db,
    )?;
    Ok(rows
        .iter()
        .map(|r| history::HistoryRow {
            set: text(r.first()),
            kind: text(r.get(1)).chars().next().unwrap_or(' '),
            first_lsn: lsn(&text(r.get(2))),
            last_lsn: lsn(&text(r.get(3))),
            checksum: int(r.get(4)) != 0,
            diff_base: Some(text(r.get(5))).filter(|s| !s.is_empty()),
            device: text(r.get(6)),
        })
        .collect())
}

/// An LSN from msdb's numeric(25,0), as the host renders decimals ("12", or "12.0"): 25
/// digits need an i128, not a float.
fn lsn(text: &str) -> i128 {
    text.split('.')
        .next()
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0)
}

pub fn backing_up(cx: &mut Context<'_, Config>, job: Job, op: String) -> Result<Outcome<State>> {
    if !ended(cx, &op, "the backup")? {
        // ferry restarted mid-backup: take it again (FORMAT replaces a partial blob).
        return Ok(Outcome::Next(State::Start));
    }
    Ok(Outcome::Next(State::Starting { job }))
}

pub fn starting(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
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
    job.lrs_started = true;
    job.phases.begin("restoring");
    cx.phase("restoring", Some(0.0), Some("LRS started"));
    Ok(Outcome::Next(State::Monitoring { job }))
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

#[cfg(test)]
mod tests {
    #[test]
    fn lsns_keep_all_25_digits() {
        assert_eq!(super::lsn("12"), 12);
        assert_eq!(super::lsn("12.0"), 12);
        assert_eq!(
            super::lsn("3700000001234560000100001"),
            3_700_000_001_234_560_000_100_001
        );
        assert_eq!(super::lsn(""), 0);
    }
}
