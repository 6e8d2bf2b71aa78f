//! One database's facts. What every method reads first (state, recovery model, collation, TDE
//! and its certificate, files and filegroups, containment) comes from the SDK's
//! `source_database`; the rest from the database's own catalog views: `sys.databases`
//! (compatibility_level), `sys.tables` (is_filetable, is_memory_optimized), `sys.assemblies`,
//! `sys.routes` and `sys.sql_modules`.

use ferry_sdk::mi_limits::{FileKind, FilegroupKind};
use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::tsql_text::quote_name;
use ferry_sdk::{Param, QueryLimits, SqlConnection, SqlValue};

use super::instance::rows;
use super::modules::{Module, scan};
use super::{Assembly, DatabaseFacts, Route};

/// Module text can be long: up to 16 MiB of it is read (the host caps it too); a cut answer is
/// said in the log and the output (`ModuleScan::truncated`), the scan covers what came.
const MODULE_LIMITS: QueryLimits = QueryLimits {
    max_rows: 100_000,
    max_bytes: 16 << 20,
};

/// Reads database `db` on the source behind `conn`, or None when there is none of that name.
pub fn read<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    db: &str,
) -> Result<Option<DatabaseFacts>> {
    let Some(src) = cx.source_database(conn, db)? else {
        return Ok(None);
    };
    let layout = &src.layout;
    let count = |k: FileKind| layout.files.iter().filter(|f| f.kind == k).count() as u64;
    let fx = layout.filegroups.contains(&FilegroupKind::MemoryOptimized);
    let mut f = DatabaseFacts {
        name: db.to_owned(),
        collation: src.collation.clone(),
        recovery_model: src.recovery.clone(),
        state: src.state.clone(),
        partially_contained: layout.partially_contained,
        encrypted: src.encrypted,
        tde_certificate: src.tde_certificate.clone(),
        size_bytes: layout.size_bytes(),
        files: layout.files.len() as u64,
        log_files: count(FileKind::Log),
        file_sizes: layout
            .files
            .iter()
            .map(|f| (f.kind.is_log(), f.size_bytes))
            .collect(),
        // A type-2 file outside an FX filegroup is FILESTREAM's (the SDK's layout rule).
        filestream: layout.filegroups.contains(&FilegroupKind::Filestream)
            || (count(FileKind::Container) > 0 && !fx),
        memory_optimized_filegroup: fx,
        ..DatabaseFacts::default()
    };
    let by_name = [Param::value("db", SqlValue::Text(db.to_owned()))];
    // "sys.databases": compatibility_level.
    f.compatibility_level = cx
        .query(
            conn,
            "SELECT compatibility_level FROM sys.databases WHERE name = @db",
            &by_name,
            QueryLimits {
                max_rows: 1,
                max_bytes: 1024,
            },
        )?
        .into_first_rows()
        .first()
        .map(|r| int(r.first()))
        .unwrap_or_default();
    let q = quote_name(db);
    // "sys.tables": is_filetable (2012+), is_memory_optimized (2014+); a server without the
    // column leaves the fact unknown.
    f.filetables = table_names(cx, conn, &q, "is_filetable")?;
    f.memory_optimized_tables = table_names(cx, conn, &q, "is_memory_optimized")?;
    // "sys.assemblies": user assemblies (is_user_defined = 1) and their permission set.
    f.assemblies = rows(
        cx,
        conn,
        &format!(
            "SELECT name, permission_set_desc FROM {q}.sys.assemblies WHERE is_user_defined = 1"
        ),
    )?
    .iter()
    .map(|r| Assembly {
        name: text(r.first()),
        permission_set: text(r.get(1)),
    })
    .collect();
    // "sys.routes": every database has AutoCreatedLocal (address LOCAL); others go elsewhere.
    f.routes = rows(
        cx,
        conn,
        &format!("SELECT name, address FROM {q}.sys.routes WHERE name <> N'AutoCreatedLocal'"),
    )?
    .iter()
    .map(|r| Route {
        name: text(r.first()),
        address: text(r.get(1)),
    })
    .collect();
    f.modules = modules(cx, conn, db, &q)?;
    Ok(Some(f))
}

fn table_names<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    q: &str,
    flag: &str,
) -> Result<Option<Vec<String>>> {
    let sql = format!(
        "SELECT s.name, t.name FROM {q}.sys.tables t JOIN {q}.sys.schemas s \
         ON s.schema_id = t.schema_id WHERE t.{flag} = 1"
    );
    Ok(cx.rows_if_present(conn, &sql, &[])?.map(|rows| {
        rows.iter()
            .map(|r| format!("{}.{}", text(r.first()), text(r.get(1))))
            .collect()
    }))
}

/// "sys.sql_modules": the definition of every module (NULL when encrypted: nothing to scan).
fn modules<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    db: &str,
    q: &str,
) -> Result<super::ModuleScan> {
    let sql = format!(
        "SELECT s.name, o.name, m.definition FROM {q}.sys.sql_modules m \
         JOIN {q}.sys.objects o ON o.object_id = m.object_id \
         JOIN {q}.sys.schemas s ON s.schema_id = o.schema_id \
         WHERE o.is_ms_shipped = 0"
    );
    let result = cx.query(conn, &sql, &[], MODULE_LIMITS)?;
    let truncated = result.sets.iter().any(|s| s.truncated);
    let found: Vec<Module> = result
        .into_first_rows()
        .iter()
        .map(|r| Module {
            name: format!("{}.{}", text(r.first()), text(r.get(1))),
            definition: text(r.get(2)),
        })
        .collect();
    let mut scan = scan(db, &found);
    scan.truncated = truncated;
    Ok(scan)
}
