//! The source SQL Server's side every phase shares: queries bound to a database, msdb's
//! backup history, and the credential the source backs up TO URL with.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::tsql_text::{credential_statement, drop_credential_statement};
use ferry_sdk::{Param, QueryLimits, SasPermission, SqlValue, StatementOptions};

use crate::config::Config;
use crate::history::HistoryRow;
use crate::job::Job;

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

/// Drops the source credential, if this job made it.
pub fn drop_credential(cx: &mut Context<'_, Config>, job: &Job) {
    if job.credential_created {
        let source = cx.config().source.clone();
        cx.drop_credential(&source, &job.folder_url);
    }
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
