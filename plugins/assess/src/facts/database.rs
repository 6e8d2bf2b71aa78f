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
/// A database that is not ONLINE, or whose catalog cannot be read, is described from
/// `sys.databases` and `sys.master_files` only, with why in `not_read`.
pub fn read<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    db: &str,
) -> Result<Option<DatabaseFacts>> {
    let by_name = [Param::value("db", SqlValue::Text(db.to_owned()))];
    // "sys.databases": the state decides what else can be read.
    let row = cx
        .rows_if_present(
            conn,
            "SELECT state_desc, recovery_model_desc, collation_name, compatibility_level \
             FROM sys.databases WHERE name = @db",
            &by_name,
        )?
        .and_then(|r| r.into_iter().next());
    let Some(r) = row else {
        return Ok(None);
    };
    let base = DatabaseFacts {
        name: db.to_owned(),
        state: text(r.first()),
        recovery_model: text(r.get(1)),
        collation: text(r.get(2)),
        compatibility_level: int(r.get(3)),
        ..DatabaseFacts::default()
    };
    if !base.state.eq_ignore_ascii_case("ONLINE") {
        let why = format!("the database is {}", base.state);
        return Ok(Some(from_master_files(cx, conn, base, why)?));
    }
    match online(cx, conn, base.clone()) {
        Ok(f) => Ok(Some(f)),
        // A catalog the login cannot read (error 916, 229…): what the instance says, and why.
        Err(Error::Failed(e)) => Ok(Some(from_master_files(cx, conn, base, e.message)?)),
        Err(e) => Err(e),
    }
}

/// A database whose own catalog was not read: its files from "sys.master_files" (readable
/// whatever the database's state).
fn from_master_files<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    mut f: DatabaseFacts,
    why: String,
) -> Result<DatabaseFacts> {
    let by_name = [Param::value("db", SqlValue::Text(f.name.clone()))];
    let files = cx
        .rows_if_present(
            conn,
            "SELECT type, size FROM sys.master_files WHERE database_id = DB_ID(@db)",
            &by_name,
        )?
        .unwrap_or_default();
    f.file_sizes = files
        .iter()
        .map(|r| (int(r.first()) == 1, int(r.get(1)).max(0) as u64 * 8192))
        .collect();
    f.size_bytes = f.file_sizes.iter().map(|(_, s)| s).sum();
    f.files = f.file_sizes.len() as u64;
    f.log_files = f.file_sizes.iter().filter(|(log, _)| *log).count() as u64;
    f.not_read = Some(why);
    Ok(f)
}

/// An ONLINE database, from the SDK's `source_database` and its own catalog views.
fn online<C>(
    cx: &mut Context<'_, C>,
    conn: SqlConnection,
    base: DatabaseFacts,
) -> Result<DatabaseFacts> {
    let db = base.name.clone();
    let db = db.as_str();
    let Some(src) = cx.source_database(conn, db)? else {
        return Err(Error::failed(format!("[{db}] went away while it was read")));
    };
    let layout = &src.layout;
    let count = |k: FileKind| layout.files.iter().filter(|f| f.kind == k).count() as u64;
    let fx = layout.filegroups.contains(&FilegroupKind::MemoryOptimized);
    let mut f = DatabaseFacts {
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
        ..base
    };
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
    // "sys.columns" and "sys.types": text, ntext and image columns, deprecated ("Deprecated
    // Database Engine features": use varchar(max), nvarchar(max), varbinary(max)).
    f.deprecated_columns = rows(
        cx,
        conn,
        &format!(
            "SELECT s.name, t.name, c.name, ty.name FROM {q}.sys.columns c \
             JOIN {q}.sys.tables t ON t.object_id = c.object_id \
             JOIN {q}.sys.schemas s ON s.schema_id = t.schema_id \
             JOIN {q}.sys.types ty ON ty.user_type_id = c.user_type_id \
             WHERE ty.name IN (N'text', N'ntext', N'image') AND t.is_ms_shipped = 0"
        ),
    )?
    .iter()
    .map(|r| {
        let column = format!("{}.{}.{}", text(r.first()), text(r.get(1)), text(r.get(2)));
        (column, text(r.get(3)).to_ascii_lowercase())
    })
    .collect();
    f.modules = modules(cx, conn, db, &q)?;
    Ok(f)
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
