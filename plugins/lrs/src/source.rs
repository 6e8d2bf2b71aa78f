//! The source SQL Server's side every phase shares: queries bound to a database, msdb's
//! backup history, and the credential the source backs up TO URL with.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::{Param, QueryLimits, SasPermission, SqlValue};

use crate::config::Config;
use crate::history::HistoryRow;
use crate::job::Job;
use crate::preflight::Recorded;

/// Rows of a query on the source with `@db` bound to `db`.
pub fn query_text(cx: &mut Context<'_, Config>, sql: &str, db: &str) -> Result<Vec<Vec<SqlValue>>> {
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
    Ok(r.into_first_rows())
}

/// The database's backups as msdb records them, one row per stripe.
pub fn history_rows(cx: &mut Context<'_, Config>, db: &str) -> Result<Vec<HistoryRow>> {
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
        .map(|r| HistoryRow {
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

/// The backups msdb records of `db` above backup set `after`, one row per stripe, oldest
/// first: what the log-chain checks read.
pub fn recorded(cx: &mut Context<'_, Config>, db: &str, after: i64) -> Result<Vec<Recorded>> {
    let src = cx.sql(&cx.config().source.clone())?;
    let rows = cx
        .query(
            src,
            "SELECT s.backup_set_id, s.type, s.is_copy_only, f.physical_device_name \
             FROM msdb.dbo.backupset s JOIN msdb.dbo.backupmediafamily f \
             ON f.media_set_id = s.media_set_id \
             WHERE s.database_name = @db AND s.backup_set_id > @after ORDER BY s.backup_set_id",
            &[
                Param::value("db", SqlValue::Text(db.to_owned())),
                Param::value("after", SqlValue::Int(after)),
            ],
            QueryLimits {
                max_rows: 100_000,
                max_bytes: 16 << 20,
            },
        )?
        .into_first_rows();
    Ok(rows
        .iter()
        .map(|r| Recorded {
            id: int(r.first()),
            kind: text(r.get(1)).chars().next().unwrap_or(' '),
            copy_only: int(r.get(2)) != 0,
            device: text(r.get(3)),
        })
        .collect())
}

/// msdb's newest backup set of `db` now: a set above it is newer than this moment.
pub fn history_mark(cx: &mut Context<'_, Config>, db: &str) -> Result<i64> {
    Ok(query_text(
        cx,
        "SELECT MAX(backup_set_id) FROM msdb.dbo.backupset WHERE database_name = @db",
        db,
    )?
    .first()
    .map_or(0, |r| int(r.first())))
}

/// How long the source's credential SAS (it writes) stays valid: the host's limit for a SAS
/// that can write. It is renewed before the tail-log backup, which may come weeks later.
const WRITE_SAS_MINUTES: u32 = 7 * 24 * 60;

/// The source's credential for the folder, made when it is missing; `replace` makes it again
/// with a fresh read/write SAS. Safe to repeat after a kill at any point (see
/// `Context::put_credential`).
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
    let src = cx.sql(&cfg.source)?;
    cx.put_credential(src, folder_url, sas, replace)
}

/// Drops the source credential, if this job owns it, on the way to done: one already gone is
/// fine; a transient failure is returned so the drop is made again.
pub fn drop_credential(cx: &mut Context<'_, Config>, job: &Job) -> Result<()> {
    if job.credential_owned {
        let source = cx.config().source.clone();
        cx.drop_owned_credential(&source, &job.folder_url)?;
    }
    Ok(())
}

/// The same, best effort, for cleanup after a failure.
pub fn drop_credential_best_effort(cx: &mut Context<'_, Config>, job: &Job) {
    if job.credential_owned {
        let source = cx.config().source.clone();
        cx.drop_credential(&source, &job.folder_url);
    }
}

/// Whether msdb records a backup of `db` of `kind` (`D` full, `L` log) above backup set
/// `after`, written to `device`: SQL Server records a backup only once it has finished
/// (methods.md §0.4).
pub fn backup_recorded(
    cx: &mut Context<'_, Config>,
    db: &str,
    after: i64,
    kind: &str,
    device: &str,
) -> Result<bool> {
    let src = cx.sql(&cx.config().source.clone())?;
    let text = |v: &str| SqlValue::Text(v.to_owned());
    let rows = cx
        .query(
            src,
            "SELECT COUNT(*) FROM msdb.dbo.backupset b JOIN msdb.dbo.backupmediafamily m \
             ON m.media_set_id = b.media_set_id \
             WHERE b.database_name = @db AND b.type = @kind AND b.backup_set_id > @after \
             AND m.physical_device_name = @device",
            &[
                Param::value("db", text(db)),
                Param::value("kind", text(kind)),
                Param::value("after", SqlValue::Int(after)),
                Param::value("device", text(device)),
            ],
            QueryLimits {
                max_rows: 1,
                max_bytes: 1024,
            },
        )?
        .into_first_rows();
    Ok(rows.first().is_some_and(|r| int(r.first()) > 0))
}

/// Whether a BACKUP LOG of `db` runs on the source now: `sys.dm_exec_requests.command` is
/// `BACKUP LOG` while one does (sql-docs, sys.dm_exec_requests). One started by a ferry that
/// was killed goes on without it; a second log backup beside it would wait for it (one log
/// backup of a database at a time, KB 2979636) and could then replace its blob.
pub fn log_backup_running(cx: &mut Context<'_, Config>, db: &str) -> Result<bool> {
    let rows = query_text(
        cx,
        "SELECT COUNT(*) FROM sys.dm_exec_requests r JOIN sys.databases d \
         ON d.database_id = r.database_id WHERE d.name = @db AND r.command = 'BACKUP LOG'",
        db,
    )?;
    Ok(rows.first().is_some_and(|r| int(r.first()) > 0))
}

/// SQL Server's "BACKUP LOG cannot be performed because there is no current database backup".
const NO_CURRENT_DATABASE_BACKUP: i32 = 4214;

/// A backup on the source that failed, with its real cause: for 3201 (the server could not
/// open the blob) a folder no credential covers any more is said as such, with what to do.
pub fn backup_failure(cx: &mut Context<'_, Config>, job: &Job, e: Error) -> Error {
    let Error::Failed(f) = e else { return e };
    if f.code == Some(NO_CURRENT_DATABASE_BACKUP) {
        return Error::Failed(ferry_sdk::Failure {
            message: format!(
                "{} — the database has no full backup that starts a log chain (a COPY_ONLY full \
                 does not): take a normal full backup, or let ferry take one, and run `ferry \
                 apply --retry-failed`",
                f.message.trim_end_matches('.')
            ),
            code: f.code,
        });
    }
    if f.code != Some(3201) {
        return Error::Failed(f);
    }
    let source = cx.config().source.clone();
    let covered = cx
        .sql(&source)
        .and_then(|conn| cx.covering_credential(conn, &job.folder_url));
    let cause = match covered {
        Ok(None) if job.credential_owned => format!(
            "`{source}` has no credential for {} any more: ferry made it for this database, and \
             something dropped it while the backup ran (another run of ferry using the same \
             folder, or a person); make sure nothing else uses the folder, then run `ferry \
             apply --retry-failed`",
            job.folder_url
        ),
        Ok(None) => format!(
            "`{source}` has no credential for {} any more: the one that covered it when ferry \
             checked is gone; create it again (CREATE CREDENTIAL [<folder or container URL>] \
             WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '<sas>') and run `ferry apply \
             --retry-failed`",
            job.folder_url
        ),
        _ => ferry_sdk::url_errors::hint_3201(&f.message).to_owned(),
    };
    Error::Failed(ferry_sdk::Failure {
        message: format!("{} — {cause}", f.message.trim_end_matches('.')),
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
