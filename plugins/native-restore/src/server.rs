//! What the plugin reads from the servers, as small typed answers.

use ferry_sdk::sql_value::{int, text};
use ferry_sdk::{Context, Param, QueryLimits, Result, SqlConnection, SqlValue};

use crate::checks::SourceFacts;
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

/// Everything the prerequisites need from the source, in a few read-only queries.
pub fn source_facts(cx: Cx<'_, '_>, src: SqlConnection, db: &str) -> Result<SourceFacts> {
    let mut f = SourceFacts::default();
    let server = rows(
        cx,
        src,
        "SELECT SERVERPROPERTY('ProductMajorVersion') AS major, SERVERPROPERTY('Edition') AS edition",
        &[],
    )?;
    if let Some(r) = server.first() {
        f.major_version = int(r.first()) as u32;
        f.edition = text(r.get(1));
    }
    let d = rows(
        cx,
        src,
        "SELECT state_desc, recovery_model_desc, is_encrypted, database_id FROM sys.databases WHERE name = @db",
        &db_param(db),
    )?;
    let Some(d) = d.first() else {
        return Ok(f);
    };
    f.state = text(d.first());
    f.recovery = text(d.get(1));
    f.encrypted = int(d.get(2)) != 0;
    let database_id = int(d.get(3));
    let q = crate::checks::quote_name(db);
    let files = rows(
        cx,
        src,
        &format!("SELECT type, size FROM {q}.sys.database_files"),
        &[],
    )?;
    for file in &files {
        match int(file.first()) {
            1 => f.log_files += 1,
            2 => f.filestream_files += 1,
            _ => {}
        }
        // `size` is in 8 KiB pages.
        f.size_bytes += int(file.get(1)).max(0) as u64 * 8192;
    }
    if f.encrypted {
        let cert = rows(
            cx,
            src,
            "SELECT c.name, c.thumbprint FROM sys.dm_database_encryption_keys k JOIN master.sys.certificates c ON c.thumbprint = k.encryptor_thumbprint WHERE k.database_id = @id",
            &[Param::value("id", SqlValue::Int(database_id))],
        )?;
        f.tde_certificate = cert.first().map(|r| (text(r.first()), text(r.get(1))));
    }
    Ok(f)
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

/// `RESTORE HEADERONLY` of a backup in the container: (BackupType, DatabaseName,
/// HasBackupChecksums) per backup set.
pub fn headers(
    cx: Cx<'_, '_>,
    mi: SqlConnection,
    urls: &[String],
) -> Result<Vec<(i64, String, bool)>> {
    let from = urls
        .iter()
        .map(|u| format!("URL = {}", crate::checks::quote_text(u)))
        .collect::<Vec<_>>()
        .join(", ");
    let r = cx.query(mi, &format!("RESTORE HEADERONLY FROM {from}"), &[], LIMITS)?;
    let Some(set) = r.sets.into_iter().next() else {
        return Ok(vec![]);
    };
    let col = |name: &str| {
        set.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    };
    let (t, n, c) = (
        col("BackupType"),
        col("DatabaseName"),
        col("HasBackupChecksums"),
    );
    Ok(set
        .rows
        .iter()
        .map(|r| {
            (
                t.map_or(0, |i| int(r.get(i))),
                n.map(|i| text(r.get(i))).unwrap_or_default(),
                c.is_some_and(|i| int(r.get(i)) != 0),
            )
        })
        .collect())
}
