//! What the plugin reads from the servers, as small typed answers.

use ferry_sdk::mi_limits::{DbFile, FileKind, FileLayout};
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::{Context, Param, QueryLimits, Result, SqlConnection, SqlValue};

use crate::checks::{BackupHeader, Target};
use crate::config::Config;

type Cx<'a, 'h> = &'a mut Context<'h, Config>;

const LIMITS: QueryLimits = QueryLimits {
    max_rows: 1000,
    max_bytes: 1 << 20,
};

/// The first result set's rows.
pub fn rows(
    cx: Cx<'_, '_>,
    conn: SqlConnection,
    sql: &str,
    params: &[Param],
) -> Result<Vec<Vec<SqlValue>>> {
    Ok(cx.query(conn, sql, params, LIMITS)?.into_first_rows())
}

fn db_param(db: &str) -> Vec<Param> {
    vec![Param::value("db", SqlValue::Text(db.to_owned()))]
}

/// What the checks need from the Managed Instance (see `Context::managed_instance`).
pub fn target_facts(cx: Cx<'_, '_>, mi: SqlConnection) -> Result<Target> {
    let (policy, instance) = cx.managed_instance(mi)?;
    Ok(Target { policy, instance })
}

/// msdb's newest backup set of `db` on the source now (0 when it has none): a backup set
/// above it is newer than this moment.
pub fn backup_mark(cx: Cx<'_, '_>, src: SqlConnection, db: &str) -> Result<i64> {
    Ok(rows(
        cx,
        src,
        "SELECT MAX(backup_set_id) FROM msdb.dbo.backupset WHERE database_name = @db",
        &db_param(db),
    )?
    .first()
    .map_or(0, |r| int(r.first())))
}

/// Whether msdb records a full backup of `db` above `after` written to `url`: SQL Server
/// records a backup there only once it has finished (methods.md §0.4).
pub fn backup_finished(
    cx: Cx<'_, '_>,
    src: SqlConnection,
    db: &str,
    after: i64,
    url: &str,
) -> Result<bool> {
    let found = rows(
        cx,
        src,
        "SELECT COUNT(*) FROM msdb.dbo.backupset b JOIN msdb.dbo.backupmediafamily m \
         ON m.media_set_id = b.media_set_id \
         WHERE b.database_name = @db AND b.type = 'D' AND b.backup_set_id > @after \
         AND m.physical_device_name = @url",
        &[
            Param::value("db", SqlValue::Text(db.to_owned())),
            Param::value("after", SqlValue::Int(after)),
            Param::value("url", SqlValue::Text(url.to_owned())),
        ],
    )?;
    Ok(found.first().is_some_and(|r| int(r.first()) > 0))
}

/// The target database's `state_desc`, or empty when there is none.
pub fn target_state(cx: Cx<'_, '_>, mi: SqlConnection, target: &str) -> Result<String> {
    Ok(rows(
        cx,
        mi,
        "SELECT state_desc FROM sys.databases WHERE name = @db",
        &db_param(target),
    )?
    .first()
    .map(|r| text(r.first()))
    .unwrap_or_default())
}

/// The newest restore of `target` in `sys.dm_operation_status`: (state, percent, error code,
/// error text). MI keeps finished operations' rows, so this also tells how a restore ended.
pub fn restore_status(
    cx: Cx<'_, '_>,
    mi: SqlConnection,
    target: &str,
) -> Result<Option<(i64, i64, i64, String)>> {
    Ok(rows(
        cx,
        mi,
        "SELECT TOP 1 state, percent_complete, error_code, error_desc FROM sys.dm_operation_status WHERE major_resource_id = @db AND operation = 'RESTORE DATABASE' ORDER BY start_time DESC",
        &db_param(target),
    )?
    .first()
    .map(|r| (int(r.first()), int(r.get(1)), int(r.get(2)), text(r.get(3)))))
}

/// `SERVERPROPERTY('EngineEdition')`: 8 is a Managed Instance.
pub fn engine_edition(cx: Cx<'_, '_>, conn: SqlConnection) -> Result<i64> {
    Ok(
        rows(cx, conn, "SELECT SERVERPROPERTY('EngineEdition') AS e", &[])?
            .first()
            .map(|r| int(r.first()))
            .unwrap_or_default(),
    )
}

/// The first result set of `RESTORE {what}` of `urls` on the MI: its rows, and its columns'
/// names in lower case (columns differ between versions, so cells are read by name).
fn restore_only(
    cx: Cx<'_, '_>,
    mi: SqlConnection,
    what: &str,
    urls: &[String],
) -> Result<(Vec<Vec<SqlValue>>, Columns)> {
    let from = urls
        .iter()
        .map(|u| format!("URL = {}", crate::checks::quote_text(u)))
        .collect::<Vec<_>>()
        .join(", ");
    let r = cx.query(mi, &format!("RESTORE {what} FROM {from}"), &[], LIMITS)?;
    let set = r.sets.into_iter().next().unwrap_or(ferry_sdk::RowSet {
        columns: vec![],
        rows: vec![],
        truncated: false,
    });
    let names = set
        .columns
        .iter()
        .map(|c| c.name.to_ascii_lowercase())
        .collect();
    Ok((set.rows, Columns(names)))
}

/// A result set's column names, lower case.
struct Columns(Vec<String>);

impl Columns {
    /// The cell of column `name` in `row`.
    fn cell<'r>(&self, row: &'r [SqlValue], name: &str) -> Option<&'r SqlValue> {
        let at = self
            .0
            .iter()
            .position(|c| *c == name.to_ascii_lowercase())?;
        row.get(at)
    }
}

/// `RESTORE HEADERONLY` of a backup in the container: one header per backup set.
pub fn headers(cx: Cx<'_, '_>, mi: SqlConnection, urls: &[String]) -> Result<Vec<BackupHeader>> {
    let (rows, columns) = restore_only(cx, mi, "HEADERONLY", urls)?;
    Ok(rows
        .iter()
        .map(|r| BackupHeader {
            backup_type: int(columns.cell(r, "BackupType")),
            database: text(columns.cell(r, "DatabaseName")),
            checksums: int(columns.cell(r, "HasBackupChecksums")) != 0,
            software_major: int(columns.cell(r, "SoftwareVersionMajor")).max(0) as u32,
            // Containment: 1 PARTIAL (SQL Server 2012 and later write the column).
            partially_contained: int(columns.cell(r, "Containment")) == 1,
        })
        .collect())
}

/// `RESTORE FILELISTONLY` of a backup in the container, as the database's file layout.
/// `Type` D, L, S (FILESTREAM or memory-optimized container), F (full-text); the list says
/// nothing of filegroup types, so a container is taken for FILESTREAM, the stricter reading.
pub fn file_list(cx: Cx<'_, '_>, mi: SqlConnection, urls: &[String]) -> Result<FileLayout> {
    let (rows, columns) = restore_only(cx, mi, "FILELISTONLY", urls)?;
    Ok(FileLayout {
        files: rows
            .iter()
            .map(|r| DbFile {
                kind: match text(columns.cell(r, "Type")).trim() {
                    "D" => FileKind::Rows,
                    "L" => FileKind::Log,
                    "S" => FileKind::Container,
                    _ => FileKind::Other,
                },
                size_bytes: int(columns.cell(r, "Size")).max(0) as u64,
            })
            .collect(),
        ..FileLayout::default()
    })
}
