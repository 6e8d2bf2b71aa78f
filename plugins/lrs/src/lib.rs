//! `lrs`: migrates each database to Azure SQL Managed Instance with the Log Replay Service
//! (methods.md §2): a full and a log backup taken TO URL into the database's own flat folder,
//! LRS started through ARM with a Read+List SAS ferry signs, the restore monitored through
//! `restoreDetails`, and — in continuous mode — a cutover on `ferry cutover`: a tail-log
//! backup, then `completeRestore` once LRS has restored it.
//!
//! Resumable at every step: a restore from external backup already running on the MI is
//! recognised and monitored, never started twice; the plugin never deletes a database.

pub mod config;
pub mod history;

use std::time::Duration;

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{
    credential_statement, drop_credential_statement, quote_name, quote_text,
};
use ferry_sdk::{
    ArmRequest, OperationState, Param, QueryLimits, SasPermission, SqlValue, StatementOptions,
};
use serde::{Deserialize, Serialize};

use config::{BackupsFrom, Config, Mode, TailLog};

/// LRS cancels a job after 30 days (methods.md §2.7).
const LRS_MAX_DAYS: u64 = 30;

#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    #[default]
    Start,
    /// The full and first log backup run on the source as operation `op`.
    BackingUp { job: Job, op: String },
    /// Backups are in the folder; LRS is started next.
    Starting { job: Job },
    /// LRS runs; the plugin watches `restoreDetails`.
    Monitoring { job: Job },
    /// Cutover: the tail-log backup runs as `op`.
    TailLog { job: Job, op: String },
    /// Cutover: waiting for LRS to restore the tail, then `completeRestore` as `op`.
    Completing { job: Job, op: Option<String> },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Job {
    pub target: String,
    /// The folder URL LRS reads, and the source credential's name.
    pub folder_url: String,
    /// The last file the chain holds (the first log, then the tail).
    pub last_file: String,
    pub credential_created: bool,
    pub started_ms: u64,
    pub warned: bool,
    /// `completeRestore` was sent; from then on the plugin only waits for the outcome.
    #[serde(default)]
    pub completion_requested: bool,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub struct Lrs;

impl Plugin for Lrs {
    const NAME: &'static str = "lrs";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Migrates databases to Managed Instance with the Log Replay Service, cutover on `ferry cutover`";
    type Config = Config;
    type State = State;

    fn config_schema() -> serde_json::Value {
        config::schema()
    }

    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Write,
                "checks the database; runs BACKUP DATABASE/LOG TO URL",
            ),
            need(
                CapabilityKind::Azure,
                "mi",
                Access::Write,
                "starts, monitors and completes LRS on the Managed Instance",
            ),
            need(
                CapabilityKind::Storage,
                "backups",
                Access::Write,
                "the container of the backups; signs the Read+List SAS LRS reads with",
            ),
        ]
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start => start(cx),
            State::BackingUp { job, op } => backing_up(cx, job, op),
            State::Starting { job } => starting(cx, job),
            State::Monitoring { job } => monitoring(cx, job),
            State::TailLog { job, op } => tail_log(cx, job, op),
            State::Completing { job, op } => completing(cx, job, op),
        }
    }

    fn cleanup(cx: &mut Context<'_, Config>, state: State) {
        if let State::BackingUp { job, .. }
        | State::Starting { job }
        | State::Monitoring { job }
        | State::TailLog { job, .. }
        | State::Completing { job, .. } = state
        {
            drop_credential(cx, &job);
        }
    }
}

ferry_sdk::register!(Lrs);

fn arm(method: &str, path: &str, cfg: &Config, body: Option<serde_json::Value>) -> ArmRequest {
    ArmRequest {
        method: method.into(),
        path: path.into(),
        api_version: cfg.api_version.clone(),
        body: body.map(|b| b.to_string()),
    }
}

/// A GET that may answer 404: the body, or None.
fn arm_get(cx: &mut Context<'_, Config>, path: &str) -> Result<Option<serde_json::Value>> {
    let cfg = cx.config().clone();
    match cx.azure(&cfg.azure, &arm("GET", path, &cfg, None)) {
        Ok(r) => Ok(Some(serde_json::from_str(&r.body).unwrap_or_default())),
        Err(Error::Failed(f)) if f.code == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

fn query_text(cx: &mut Context<'_, Config>, sql: &str, db: &str) -> Result<Vec<Vec<SqlValue>>> {
    let src = cx.sql(&cx.config().source.clone())?;
    let r = cx.query(
        src,
        sql,
        &[Param::value("db", SqlValue::Text(db.to_owned()))],
        QueryLimits {
            max_rows: 10_000,
            max_bytes: 4 << 20,
        },
    )?;
    Ok(r.sets
        .into_iter()
        .next()
        .map(|s| s.rows)
        .unwrap_or_default())
}

fn text(v: Option<&SqlValue>) -> String {
    match v {
        Some(SqlValue::Text(t) | SqlValue::Decimal(t) | SqlValue::Guid(t)) => t.clone(),
        Some(SqlValue::Int(i)) => i.to_string(),
        _ => String::new(),
    }
}

fn start(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let target = cfg.target_for(&db);
    cx.phase("checking", None, Some("source, folder and target"));
    // The target first: a job already running there is this migration's, started by an
    // earlier run that stopped; it is monitored, not started again.
    if let Some(existing) = arm_get(cx, &format!("databases/{target}"))? {
        if arm_get(cx, &format!("databases/{target}/restoreDetails/Default"))?.is_some() {
            cx.info(&format!(
                "LRS already runs for [{target}] on the MI; monitoring it"
            ));
            // The folder is needed again for the tail-log backup at cutover.
            let container = cx.container(&cfg.backups)?;
            let job = Job {
                target,
                folder_url: format!("{}/{}", cx.url(container, "")?, cfg.folder_for(&db)),
                started_ms: now_ms(),
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
    let rows = query_text(
        cx,
        "SELECT d.state_desc, d.recovery_model_desc, SERVERPROPERTY('ProductMajorVersion') FROM sys.databases d WHERE d.name = @db",
        &db,
    )?;
    let Some(row) = rows.first() else {
        return Err(Error::failed(format!(
            "the source has no database named [{db}]"
        )));
    };
    let (state, recovery) = (text(row.first()), text(row.get(1)));
    let major: u32 = text(row.get(2)).parse().unwrap_or(0);
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
            quote_name(&db)
        )));
    }
    let container = cx.container(&cfg.backups)?;
    let container_url = cx.url(container, "")?;
    let folder = cfg.folder_for(&db);
    if let Some(word) = config::reserved_word(&container_url, &folder) {
        return Err(Error::failed(format!(
            "`{word}` is reserved by LRS in the container name and folder path; choose another folder"
        )));
    }
    let folder_url = format!("{container_url}/{folder}");
    let mut job = Job {
        target,
        folder_url: folder_url.clone(),
        last_file: format!("{}_log_0001.trn", safe(&db)),
        started_ms: now_ms(),
        ..Job::default()
    };
    let src = cx.sql(&cfg.source)?;
    let exists = query_text(
        cx,
        "SELECT name FROM sys.credentials WHERE name = @db",
        &folder_url,
    )?;
    if exists.is_empty() {
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
            cfg.sas_minutes,
        )?;
        cx.execute(
            src,
            &credential_statement(&folder_url),
            &[Param::sealed("sas", sas)],
            StatementOptions {
                idempotent: false,
                timeout_ms: None,
            },
        )?;
        job.credential_created = true;
    }
    if cfg.backups_from == BackupsFrom::History {
        let chain = history::chain(&history_rows(cx, &db)?, &folder_url)
            .map_err(|why| Error::failed(format!("[{db}]: {why}")))?;
        for w in &chain.warnings {
            cx.warn(w);
        }
        job.last_file = chain
            .files
            .last()
            .map(|f| f.rsplit('/').next().unwrap_or(f).to_owned())
            .unwrap_or_default();
        cx.info(&format!(
            "[{db}]: msdb shows a chain of {} file(s) in the folder, ending with {}",
            chain.files.len(),
            job.last_file
        ));
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
    cx.phase("backup", Some(0.0), Some("full and first log backup"));
    Ok(Outcome::wait_operation(
        op.clone(),
        State::BackingUp { job, op },
        "backing up to URL",
    ))
}

/// The database's backups as msdb records them, one row per stripe.
fn history_rows(cx: &mut Context<'_, Config>, db: &str) -> Result<Vec<history::HistoryRow>> {
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
            checksum: matches!(r.get(4), Some(SqlValue::Bit(true)) | Some(SqlValue::Int(1))),
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

fn safe(db: &str) -> String {
    db.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What an operation ended as: Ok(true) succeeded, Ok(false) unknown (ferry restarted).
fn ended(cx: &mut Context<'_, Config>, op: &str, what: &str) -> Result<bool> {
    match cx.operation(op) {
        Ok(s) => match s.state {
            OperationState::Succeeded => Ok(true),
            OperationState::Failed(f) => {
                Err(Error::failed(format!("{what} failed: {}", f.message)))
            }
            OperationState::Cancelled => Err(Error::failed(format!("{what} was cancelled"))),
            OperationState::Running => Err(Error::transient(format!("{what} is still running"))),
        },
        Err(_) => Ok(false),
    }
}

fn backing_up(cx: &mut Context<'_, Config>, job: Job, op: String) -> Result<Outcome<State>> {
    if !ended(cx, &op, "the backup")? {
        // ferry restarted mid-backup: take it again (FORMAT replaces a partial blob).
        return Ok(Outcome::Next(State::Start));
    }
    Ok(Outcome::Next(State::Starting { job }))
}

fn starting(cx: &mut Context<'_, Config>, job: Job) -> Result<Outcome<State>> {
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
    let container = cx.container(&cfg.backups)?;
    let sas = cx.create_sas(
        container,
        "",
        &[SasPermission::Read, SasPermission::List],
        cfg.sas_minutes,
    )?;
    let mut props = serde_json::json!({
        "createMode": "RestoreExternalBackup",
        "collation": collation,
        "storageContainerUri": job.folder_url,
        "storageContainerIdentity": "SharedAccessSignature",
        "storageContainerSasToken": "{{sas}}",
        "autoCompleteRestore": cfg.mode == Mode::Autocomplete,
    });
    if cfg.mode == Mode::Autocomplete {
        props["lastBackupName"] = serde_json::json!(job.last_file);
    }
    let body = serde_json::json!({ "location": location, "properties": props });
    cx.azure_sealed(
        &cfg.azure,
        &arm(
            "PUT",
            &format!("databases/{}", job.target),
            &cfg,
            Some(body),
        ),
        &[("sas", sas)],
    )?;
    if cx.planning() {
        return Ok(Outcome::Done(
            serde_json::json!({ "method": "lrs", "planned": true }),
        ));
    }
    cx.phase("restoring", Some(0.0), Some("LRS started"));
    Ok(Outcome::Next(State::Monitoring { job }))
}

/// `restoreDetails` properties, or an error for a failed job.
fn details(cx: &mut Context<'_, Config>, job: &Job) -> Result<serde_json::Value> {
    let Some(d) = arm_get(
        cx,
        &format!("databases/{}/restoreDetails/Default", job.target),
    )?
    .map(|d| d["properties"].clone()) else {
        return Err(Error::failed(format!(
            "the MI has no restore details for [{}] any more: the LRS job was stopped, expired \
             after {LRS_MAX_DAYS} days, or its database was deleted",
            job.target
        )));
    };
    if d["status"] == "Failed" {
        return Err(Error::failed(format!(
            "LRS stopped: {}",
            d["blockReason"]
                .as_str()
                .or(d["errorCode"].as_str())
                .unwrap_or("no reason given")
        )));
    }
    Ok(d)
}

fn wait(cx: &mut Context<'_, Config>, state: State, why: &str) -> Result<Outcome<State>> {
    let secs = u64::from(cx.config().poll_seconds);
    Ok(Outcome::wait_for(Duration::from_secs(secs), state, why))
}

fn monitoring(cx: &mut Context<'_, Config>, mut job: Job) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let d = details(cx, &job)?;
    if d["status"] == "Completed" {
        return finish(cx, job);
    }
    let age_days = now_ms().saturating_sub(job.started_ms) / 86_400_000;
    if !job.warned && age_days >= u64::from(cfg.warn_days) {
        cx.warn(&format!(
            "LRS for [{}] has run {age_days} days; Azure cancels it after {LRS_MAX_DAYS}: cut over soon",
            job.target
        ));
        job.warned = true;
    }
    let message = format!(
        "restored {}, restoring {}, {} file(s) in the folder",
        d["lastRestoredFileName"].as_str().unwrap_or("nothing yet"),
        d["currentRestoringFileName"].as_str().unwrap_or("nothing"),
        d["numberOfFilesDetected"].as_u64().unwrap_or(0)
    );
    cx.phase("restoring", None, Some(&message));
    if cfg.mode == Mode::Continuous && cx.signal_requested("cutover") {
        let db = cx.item().to_owned();
        job.last_file = format!("{}_tail.trn", safe(&db));
        let src = cx.sql(&cfg.source)?;
        let norecovery = if cfg.tail_log == TailLog::Norecovery {
            ", NORECOVERY"
        } else {
            ""
        };
        let statement = format!(
            "BACKUP LOG {} TO URL = {} WITH CHECKSUM, FORMAT{norecovery}",
            quote_name(&db),
            quote_text(&format!("{}/{}", job.folder_url, job.last_file))
        );
        let op = cx.start_statement(src, &statement, &[], &format!("tail-log backup of [{db}]"))?;
        cx.phase("cutover", None, Some("tail-log backup"));
        return Ok(Outcome::wait_operation(
            op.clone(),
            State::TailLog { job, op },
            "taking the tail-log backup",
        ));
    }
    wait(cx, State::Monitoring { job }, "LRS restores the chain")
}

fn tail_log(cx: &mut Context<'_, Config>, job: Job, op: String) -> Result<Outcome<State>> {
    if !ended(cx, &op, "the tail-log backup")? {
        return Err(Error::failed(
            "ferry stopped during the tail-log backup; check the source's last log backup, then run `ferry apply` again",
        ));
    }
    Ok(Outcome::Next(State::Completing { job, op: None }))
}

fn completing(
    cx: &mut Context<'_, Config>,
    mut job: Job,
    op: Option<String>,
) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    if let Some(id) = &op {
        match ended(cx, id, "completeRestore") {
            Ok(true) => return finish(cx, job),
            // An earlier call (before ferry restarted) already asked: wait for the outcome.
            Err(Error::Failed(f)) if f.message.contains("LRSCutoverAlreadyInitiated") => {
                job.completion_requested = true;
                return wait(
                    cx,
                    State::Completing { job, op: None },
                    "the restore completes",
                );
            }
            Err(e) => return Err(e),
            Ok(false) => {}
        }
    }
    let d = details(cx, &job)?;
    if d["status"] == "Completed" {
        return finish(cx, job);
    }
    if job.completion_requested {
        return wait(
            cx,
            State::Completing { job, op: None },
            "the restore completes",
        );
    }
    if d["lastRestoredFileName"].as_str() != Some(job.last_file.as_str()) {
        cx.phase(
            "cutover",
            None,
            Some(&format!("waiting for LRS to restore {}", job.last_file)),
        );
        return wait(
            cx,
            State::Completing { job, op: None },
            "LRS restores the tail-log backup",
        );
    }
    let body = serde_json::json!({ "lastBackupName": job.last_file });
    let id = cx.azure_begin(
        &cfg.azure,
        &arm(
            "POST",
            &format!("databases/{}/completeRestore", job.target),
            &cfg,
            Some(body),
        ),
    )?;
    cx.phase("cutover", None, Some("completing the restore"));
    job.completion_requested = true;
    Ok(Outcome::wait_operation(
        id.clone(),
        State::Completing { job, op: Some(id) },
        "completing the restore",
    ))
}

fn drop_credential(cx: &mut Context<'_, Config>, job: &Job) {
    if !job.credential_created {
        return;
    }
    let Ok(src) = cx.sql(&cx.config().source.clone()) else {
        return;
    };
    if let Err(e) = cx.execute(
        src,
        &drop_credential_statement(&job.folder_url),
        &[],
        StatementOptions {
            idempotent: true,
            timeout_ms: None,
        },
    ) {
        cx.warn(&format!(
            "could not drop the source credential ferry made: {}",
            e.describe()
        ));
    }
}

fn finish(cx: &mut Context<'_, Config>, job: Job) -> Result<Outcome<State>> {
    let status = arm_get(cx, &format!("databases/{}", job.target))?
        .and_then(|d| d["properties"]["status"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if status != "Online" {
        return wait(
            cx,
            State::Completing { job, op: None },
            "waiting for the database to come online",
        );
    }
    drop_credential(cx, &job);
    let db = cx.item().to_owned();
    cx.phase("done", Some(1.0), Some("Online"));
    cx.report(ObjectRow {
        object_type: "database".into(),
        name: db.clone(),
        status: ObjectStatus::Migrated,
        reason_code: None,
        notes: Some(format!(
            "{db} → [{}] on the MI with LRS, last file {}",
            job.target, job.last_file
        )),
    });
    Ok(Outcome::Done(serde_json::json!({
        "method": "lrs",
        "database": db,
        "target": job.target,
        "last_file": job.last_file,
    })))
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
