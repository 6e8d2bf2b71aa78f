//! Cutover (methods.md §3.5; "Perform migration cutover", learn.microsoft.com): on `ferry
//! cutover` or the gate, the tail-log backup into the share's folder when asked, then wait
//! until every file of the active set is Restored and no log backup is pending (and the tail
//! itself restored), POST `cutover` with the operation id, follow `Completing` → `Succeeded`.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::text;
use ferry_sdk::tsql_text::{quote_name, quote_text};

use crate::arm::{self, View, dms, migration_path, operation_body};
use crate::config::Config;
use crate::dms_errors::{self, explain};
use crate::observe::{failure, observe};
use crate::report;
use crate::rules::{cutover_ms, join_unc};
use crate::sql::{exec, p, rows};
use crate::state::{Migration, State, ended, wait};

/// Times DMS may answer MigrationNotReadyForCutoverError before the item stops.
const NOT_READY_TRIES: u32 = 5;

/// `ferry cutover` was given, or the gate has passed.
pub fn requested(cx: &mut Context<'_, Config>) -> bool {
    let gate = cx
        .config()
        .cutover_after
        .as_deref()
        .and_then(|at| cutover_ms(at).ok());
    cx.signal_requested("cutover") || gate.is_some_and(|t| now_ms() >= t)
}

/// Cutover asked for: the tail, then the readiness rule, then the POST.
pub fn prepare(cx: &mut Context<'_, Config>, mut m: Migration, v: &View) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    if m.cutover_requested_ms == 0 {
        m.cutover_requested_ms = now_ms();
        m.phases.begin("cutover");
        cx.info(&format!("[{}]: cutover asked for", m.db));
    }
    if cfg.tail_log_backup && m.tail_file.is_none() {
        if let Some(taken) = tail_taken(cx, &m.db)? {
            cx.info(&format!(
                "[{}]: the source is RESTORING: the tail-log backup {taken} was taken already",
                m.db
            ));
            m.tail_file = Some(taken);
            return wait(
                cx,
                State::Monitoring { m },
                "DMS picks up the tail-log backup",
            );
        }
        let (file, path) = tail_file(&cfg, &m.db)?;
        if let Some(when) = backed_up_to(cx, &path)? {
            return Err(Error::failed(format!(
                "[{}]: a backup was written to {path} before ({when}), and the database is \
                 online again: the tail-log backup would be appended to it, and DMS takes one \
                 backup per file. Move that file out of the folder, then `ferry cutover` again",
                m.db
            )));
        }
        take_tail(cx, &m.db, &path)?;
        cx.info(&format!("[{}]: tail-log backup taken to {path}", m.db));
        m.tail_file = Some(file);
        return wait(
            cx,
            State::Monitoring { m },
            "DMS picks up the tail-log backup",
        );
    }
    if !v.details.present && !m.no_details_said {
        m.no_details_said = true;
        cx.warn(&format!(
            "[{}]: DMS gave no migrationStatusDetails though ferry asked with `{}`: cutover \
             goes ahead on migrationStatus ReadyForCutover alone, without seeing each file \
             Restored",
            m.db,
            arm::EXPAND
        ));
    }
    let ready = if v.details.present {
        let tail_restored = m.tail_file.as_deref().is_none_or(|t| v.details.restored(t));
        v.details.ready_for_cutover() && tail_restored
    } else {
        v.migration_status == "ReadyForCutover"
    };
    let Some(op_id) = m.operation_id.clone() else {
        return wait(
            cx,
            State::Monitoring { m },
            "DMS gives the migration's operation id",
        );
    };
    if !ready {
        return wait(
            cx,
            State::Monitoring { m },
            "every file Restored and no log backup pending before cutover",
        );
    }
    if v.operation_id.as_deref().is_none_or(|o| o != op_id) {
        return wait(
            cx,
            State::Monitoring { m },
            "DMS shows the migration's operation id",
        );
    }
    match send(cx, &m.target) {
        Ok(id) => {
            m.cutover_sent_ms = now_ms();
            cx.phase("cutover", None, Some("DMS completes the cutover"));
            Ok(Outcome::wait_operation(
                id.clone(),
                State::CuttingOver { m, op: Some(id) },
                "DMS completes the cutover",
            ))
        }
        Err(e) => not_ready(cx, m, e),
    }
}

/// The cutover's calls while planning, made by the functions cutover itself uses: the
/// tail-log backup (when asked) and the POST. `ferry apply plan.json` runs only what its plan
/// lists, so these must be in it; the operation id is read when the POST is sent.
pub fn plan(cx: &mut Context<'_, Config>, m: &Migration) -> Result<()> {
    let cfg = cx.config().clone();
    if cfg.tail_log_backup {
        let (_, path) = tail_file(&cfg, &m.db)?;
        take_tail(cx, &m.db, &path)?;
    }
    send(cx, &m.target)?;
    Ok(())
}

/// POST `cutover` with the migration's operation id, which the host reads from DMS as it
/// sends (sqlmigration.json `DatabaseMigrationsSqlMi_cutover`).
fn send(cx: &mut Context<'_, Config>, target: &str) -> Result<String> {
    let cfg = cx.config().clone();
    let post = dms(
        "POST",
        &format!("{}/cutover", migration_path(target)),
        &cfg,
        Some(operation_body("{{operation_id}}")),
    );
    cx.azure_begin_with_references(
        &cfg.azure,
        &post,
        &[],
        &[arm::operation_id_reference(&cfg, target)],
    )
}

/// The tail-log backup's file name and its path as the source writes it. The name is the same
/// in a plan and its apply (a plan lists the exact statement); a second tail of one database
/// cannot happen while the first left it RESTORING.
fn tail_file(cfg: &Config, db: &str) -> Result<(String, String)> {
    let Some(share) = cfg.share.as_ref() else {
        return Err(Error::invalid_config(
            Some("tail_log_backup"),
            "the tail-log backup goes into the share's folder: it needs `share`",
        ));
    };
    let file = format!("{db}_tail.trn");
    let folder = join_unc(
        share.source_path.as_deref().unwrap_or(&share.path),
        &share.folder.replace("{db}", db),
    );
    let path = join_unc(&folder, &file);
    Ok((file, path))
}

/// `BACKUP LOG … WITH NORECOVERY`: the source is left RESTORING, so no write can follow the
/// last backup.
fn take_tail(cx: &mut Context<'_, Config>, db: &str, path: &str) -> Result<()> {
    let source = cx.config().source.clone();
    let stmt = format!(
        "BACKUP LOG {} TO DISK = {} WITH NORECOVERY, CHECKSUM",
        quote_name(db),
        quote_text(path)
    );
    exec(cx, &source, &stmt, &[], "the tail-log backup")
}

/// When msdb last saw a backup written to `path`, if ever.
fn backed_up_to(cx: &mut Context<'_, Config>, path: &str) -> Result<Option<String>> {
    let source = cx.config().source.clone();
    let found = rows(
        cx,
        &source,
        "SELECT TOP 1 b.backup_finish_date FROM msdb.dbo.backupset b \
         JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id \
         WHERE m.physical_device_name = @path ORDER BY b.backup_finish_date DESC",
        &[p("path", path)],
    )?;
    Ok(found.first().map(|r| text(r.first())))
}

/// A source left RESTORING by a tail-log backup a cut-short call took: its file, the newest
/// log backup msdb shows (its name after the last `\\` or `/`).
fn tail_taken(cx: &mut Context<'_, Config>, db: &str) -> Result<Option<String>> {
    let source = cx.config().source.clone();
    let state = rows(
        cx,
        &source,
        "SELECT state_desc FROM sys.databases WHERE name = @db",
        &[p("db", db)],
    )?;
    if state.first().is_none_or(|r| text(r.first()) != "RESTORING") {
        return Ok(None);
    }
    let newest = rows(
        cx,
        &source,
        "SELECT TOP 1 m.physical_device_name FROM msdb.dbo.backupset b \
         JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id \
         WHERE b.database_name = @db AND b.type = 'L' ORDER BY b.backup_finish_date DESC",
        &[p("db", db)],
    )?;
    Ok(newest.first().map(|r| {
        let device = text(r.first());
        device
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&device)
            .to_owned()
    }))
}

/// MigrationNotReadyForCutoverError sends the database back to waiting, a few times.
fn not_ready(cx: &mut Context<'_, Config>, mut m: Migration, e: Error) -> Result<Outcome<State>> {
    let is_not_ready = match &e {
        Error::Failed(f) => {
            dms_errors::find(ferry_sdk::arm_errors::arm_code(&f.message), &f.message)
                .is_some_and(|x| x.key == "not-ready-for-cutover")
        }
        _ => false,
    };
    if !is_not_ready {
        return Err(explain(&m.db, e));
    }
    if m.not_ready + 1 >= NOT_READY_TRIES {
        // ferry only posts once its view shows the database ready: DMS deciding otherwise
        // this often means the view lags what DMS does, which waiting here will not mend.
        return Err(Error::failed(format!(
            "{} — DMS refused the cutover {NOT_READY_TRIES} times although its \
             migrationStatusDetails showed every file Restored and no log backup pending. \
             The migration goes on and is not started again: look at it in the portal (or \
             `az datamigration sql-managed-instance show --expand MigrationStatusDetails`), \
             then run `ferry apply --retry-failed`, which cuts over once DMS is ready",
            explain(&m.db, e).describe()
        )));
    }
    m.not_ready += 1;
    cx.warn(&format!(
        "[{}]: DMS is not ready for cutover yet ({}); waiting",
        m.db,
        e.describe()
    ));
    wait(cx, State::Monitoring { m }, "DMS to be ready for cutover")
}

/// The cutover's POST runs as `op`; then GET until Succeeded.
pub fn cutting_over(
    cx: &mut Context<'_, Config>,
    mut m: Migration,
    op: Option<String>,
) -> Result<Outcome<State>> {
    if let Some(id) = &op {
        match ended(cx, id, "the cutover") {
            Ok(None) => {
                return wait(
                    cx,
                    State::CuttingOver { m, op },
                    "DMS completes the cutover",
                );
            }
            Ok(Some(_)) => {}
            Err(e) => return not_ready(cx, m, e),
        }
    }
    let Some(v) = arm::migration(cx, &m.target)? else {
        return Err(Error::failed(format!(
            "[{}]: the migration disappeared during cutover; check [{}] on the MI",
            m.db, m.target
        )));
    };
    observe(cx, &mut m, &v);
    match v.migration_status.as_str() {
        "Succeeded" => Ok(report::finish(cx, m)),
        "Failed" | "Canceled" | "Cancelled" => Err(failure(&m, &v)),
        _ => wait(
            cx,
            State::CuttingOver { m, op: None },
            "DMS completes the cutover (Completing)",
        ),
    }
}
