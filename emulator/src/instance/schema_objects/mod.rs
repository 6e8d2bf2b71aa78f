//! A user database's schema objects: tables, modules, indexes, constraints and schemas, kept
//! in tables inside the database's own file (`"ferry.objects"`, …) with the `sys.*` catalog
//! views over them ([`catalog_sql`]). Every change goes through [`Instance::catalog_write`]:
//! it is kept for a rollback while a transaction is open, and written to the database's change
//! log so differential and log backups carry it.

mod alter;
mod catalog_sql;
mod constraints;
mod indexes;
mod lookup;
mod modules;
mod names;
mod schemas;
mod shared;
mod stats;
mod tables;
mod type_name_fn;
mod types;
pub(crate) use type_name_fn::register_type_name;

use super::Instance;
use super::change_log::DB_MARKER;
use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;
use crate::statement::ObjectName;

pub use lookup::object_property_types;
use shared::FoundTable;

/// The catalog tables a DDL statement may change.
const CATALOG_TABLES: &[&str] = &[
    "ferry.objects",
    "ferry.tables",
    "ferry.columns",
    "ferry.modules",
    "ferry.indexes",
    "ferry.index_columns",
    "ferry.constraints",
    "ferry.foreign_key_columns",
    "ferry.schemas",
];

/// The first object id a database hands out. Docs are silent on how SQL Server picks ids;
/// they are just unique in the database, so the emulator counts up from here.
const FIRST_OBJECT_ID: i64 = 1_000_000;

impl Instance {
    /// Creates the catalog tables and views in a database (at every attach), and records the
    /// tables a file from before the catalog existed already has (in a system database, as
    /// objects that ship with SQL Server: msdb's tables are).
    pub(super) fn ensure_object_catalog(
        &self,
        db: &str,
        system: bool,
    ) -> Result<(), ServerMessage> {
        let d = q(db);
        self.conn
            .execute_batch(&catalog_sql::TABLES.replace("{d}", &d))
            .map_err(sqlite_error)?;
        self.conn
            .execute_batch(&catalog_sql::views(&d, db))
            .map_err(sqlite_error)?;
        self.seed_schemas_and_types(db)?;
        self.adopt_unrecorded_tables(db, system)
    }

    /// Runs catalog statements on `db` (`{db}` in them stands for the database): the tables
    /// are set aside first inside a transaction, and the statements go to the change log.
    pub(super) fn catalog_write(
        &mut self,
        db: &str,
        statements: &[String],
    ) -> Result<(), ServerMessage> {
        for t in CATALOG_TABLES {
            self.before_write(db, t)?;
        }
        let logged = self.database(db).is_some_and(|i| !i.system);
        for s in statements {
            self.conn
                .execute_batch(&s.replace("{db}", &q(db)))
                .map_err(sqlite_error)?;
            if logged {
                self.log_change(db, &s.replace("{db}", DB_MARKER))?;
            }
        }
        Ok(())
    }

    /// Writes the catalog rows CREATE TABLE or DROP TABLE planned ([`Instance::plan_new_table`],
    /// [`Instance::plan_drop_table`]) once SQLite has made the change.
    pub(crate) fn record_catalog(
        &mut self,
        db: &str,
        rows: &[String],
    ) -> Result<(), ServerMessage> {
        self.catalog_write(db, rows)
    }

    /// Records tables made outside CREATE TABLE's path (a FileTable) in the catalog.
    pub(crate) fn record_new_tables(&self, db: &str) -> Result<(), ServerMessage> {
        self.adopt_unrecorded_tables(db, false)
    }

    /// The next object id of a database.
    pub(super) fn next_object_id(&self, db: &str) -> Result<i64, ServerMessage> {
        let sql = format!(
            r#"SELECT COALESCE(MAX(object_id), 0) + 1 FROM {}."ferry.objects""#,
            q(db)
        );
        let n: i64 = self
            .conn
            .query_row(&sql, [], |r| r.get(0))
            .map_err(sqlite_error)?;
        Ok(n.max(FIRST_OBJECT_ID))
    }

    /// The database a name is in: its own part, or the session's.
    pub(super) fn database_of(
        &self,
        current: &str,
        name: &ObjectName,
    ) -> Result<String, ServerMessage> {
        let db = name.db.as_deref().unwrap_or(current);
        let Some(info) = self.database(db) else {
            // SQL Server error 911 (class 16).
            return Err(ServerMessage::error(
                911,
                16,
                format!(
                    "Database '{db}' does not exist. Make sure that the name is entered correctly."
                ),
            ));
        };
        info.usable()?;
        Ok(info.name.clone())
    }

    /// An object's id by schema and name, of any type.
    pub(super) fn object_in_schema(
        &self,
        db: &str,
        schema_id: i64,
        name: &str,
    ) -> Option<(i64, String)> {
        let sql = format!(
            r#"SELECT object_id, type FROM {}."sys.objects" WHERE schema_id = ?1 AND name = ?2 COLLATE NOCASE"#,
            q(db)
        );
        self.conn
            .query_row(&sql, rusqlite::params![schema_id, name], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ok()
    }

    /// A user table by name.
    pub(super) fn find_table(
        &self,
        current: &str,
        name: &ObjectName,
    ) -> Result<Option<FoundTable>, ServerMessage> {
        let db = self.database_of(current, name)?;
        let Some(schema_id) = self.schema_id(&db, name.schema.as_deref().unwrap_or("dbo")) else {
            return Ok(None);
        };
        let sql = format!(
            r#"SELECT o.object_id, o.name, o.name FROM {}."sys.objects" o WHERE o.type = 'U' AND o.schema_id = ?1 AND o.name = ?2 COLLATE NOCASE"#,
            q(&db)
        );
        Ok(self
            .conn
            .query_row(&sql, rusqlite::params![schema_id, name.name], |r| {
                Ok(FoundTable {
                    db: db.clone(),
                    object_id: r.get(0)?,
                    schema_id,
                    name: r.get(2)?,
                })
            })
            .ok())
    }

    /// A table's columns: (column_id, name), in order.
    pub(super) fn table_columns(&self, db: &str, object_id: i64) -> Vec<(i64, String)> {
        let sql = format!(
            r#"SELECT column_id, name FROM {}."ferry.columns" WHERE object_id = ?1 ORDER BY column_id"#,
            q(db)
        );
        let Ok(mut stmt) = self.conn.prepare(&sql) else {
            return vec![];
        };
        stmt.query_map([object_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }
}
