//! DB_NAME(id) and DB_ID(name) inside queries, as SQLite functions: they read the instance's
//! databases from a map shared with the instance, which keeps it current. (A subquery on
//! sys.databases cannot stand in: `DB_NAME(database_id)` in a query of sys.databases would
//! read the subquery's own column.)

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};

/// Database ids and names.
pub(super) type Names = Arc<parking_lot::RwLock<BTreeMap<i64, String>>>;

/// Registers `ferry_db_name(id)` and `ferry_db_id(name)`.
pub(super) fn register(conn: &Connection, names: &Names) -> rusqlite::Result<()> {
    let by_id = names.clone();
    conn.create_scalar_function(
        "ferry_db_name",
        1,
        FunctionFlags::SQLITE_UTF8,
        move |ctx: &Context<'_>| {
            let id: Option<i64> = ctx.get(0)?;
            Ok(id.and_then(|id| by_id.read().get(&id).cloned()))
        },
    )?;
    let by_name = names.clone();
    conn.create_scalar_function(
        "ferry_db_id",
        1,
        FunctionFlags::SQLITE_UTF8,
        move |ctx: &Context<'_>| {
            let name: Option<String> = ctx.get(0)?;
            Ok(name.and_then(|n| {
                by_name
                    .read()
                    .iter()
                    .find(|(_, d)| d.eq_ignore_ascii_case(&n))
                    .map(|(id, _)| *id)
            }))
        },
    )
}
