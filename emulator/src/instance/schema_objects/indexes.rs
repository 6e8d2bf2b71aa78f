//! Indexes as catalog rows ("sys.indexes", "sys.index_columns"): the heap (index_id 0) or the
//! clustered index (1) every table has, and nonclustered ones (2 and up), from CREATE TABLE,
//! key constraints and CREATE / DROP INDEX ("CREATE INDEX", "DROP INDEX"). The emulator keeps
//! the catalog only: SQLite does not build these indexes (keys declared in CREATE TABLE are
//! enforced by SQLite's own, see sql/table_def.rs).

use super::constraints::TableCtx;
use super::shared::{FoundTable, lit, lit_opt};
use crate::instance::Instance;
use crate::instance::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{IndexDef, ObjectName};

/// The heap row of a table without a clustered index.
pub(super) fn heap_row(object_id: i64) -> String {
    format!(
        r#"INSERT INTO {{db}}."ferry.indexes" VALUES ({object_id}, NULL, 0, 0, 'HEAP', 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, NULL)"#
    )
}

fn cannot_find(name: &str) -> ServerMessage {
    // SQL Server error 1088 (severity 16).
    ServerMessage::error(
        1088,
        16,
        format!(
            "Cannot find the object \"{name}\" because it does not exist or you do not have permissions."
        ),
    )
}

impl Instance {
    /// The rows of one index; `key` is Some(is_primary_key) for a key constraint's index.
    pub(super) fn index_rows(
        &self,
        ctx: &mut TableCtx,
        index: &IndexDef,
        key: Option<bool>,
    ) -> Result<(i64, Vec<String>), ServerMessage> {
        let mut out = Vec::new();
        let index_id = if index.clustered {
            if ctx.has_clustered {
                let existing = self
                    .index_name(&ctx.db, ctx.object_id, 1)
                    .unwrap_or_default();
                // SQL Server error 1902 (severity 16).
                return Err(ServerMessage::error(
                    1902,
                    16,
                    format!(
                        "Cannot create more than one clustered index on table '{}'. Drop the existing clustered index '{existing}' before creating another.",
                        ctx.name
                    ),
                ));
            }
            ctx.has_clustered = true;
            out.push(format!(
                r#"DELETE FROM {{db}}."ferry.indexes" WHERE object_id = {} AND index_id = 0"#,
                ctx.object_id
            ));
            1
        } else {
            let id = ctx.next_index_id;
            ctx.next_index_id += 1;
            id
        };
        let (ty, desc) = if index.clustered {
            (1, "CLUSTERED")
        } else {
            (2, "NONCLUSTERED")
        };
        let primary = key == Some(true);
        let unique_constraint = key == Some(false);
        out.push(format!(
            r#"INSERT INTO {{db}}."ferry.indexes" VALUES ({}, {}, {index_id}, {ty}, '{desc}', {}, 1, 0, {}, {}, 0, 0, 0, 0, 1, 1, {}, {})"#,
            ctx.object_id,
            lit(&index.name),
            i64::from(index.unique),
            i64::from(primary),
            i64::from(unique_constraint),
            i64::from(index.filter.is_some()),
            lit_opt(index.filter.as_deref())
        ));
        let mut ids = Vec::new();
        for (i, k) in index.columns.iter().enumerate() {
            let col = ctx.column_id(&k.name)?;
            ids.push(col);
            out.push(format!(
                r#"INSERT INTO {{db}}."ferry.index_columns" VALUES ({}, {index_id}, {}, {col}, {}, 0, {}, 0)"#,
                ctx.object_id,
                i + 1,
                i + 1,
                i64::from(k.descending)
            ));
        }
        for (i, name) in index.include.iter().enumerate() {
            let col = ctx.column_id(name)?;
            out.push(format!(
                r#"INSERT INTO {{db}}."ferry.index_columns" VALUES ({}, {index_id}, {}, {col}, 0, 0, 0, 1)"#,
                ctx.object_id,
                index.columns.len() + i + 1
            ));
        }
        if index.unique {
            ctx.keys.push((index_id, primary, ids));
        }
        Ok((index_id, out))
    }

    fn index_name(&self, db: &str, object_id: i64, index_id: i64) -> Option<String> {
        let sql = format!(
            r#"SELECT name FROM {}."ferry.indexes" WHERE object_id = ?1 AND index_id = ?2"#,
            q(db)
        );
        self.conn
            .query_row(&sql, [object_id, index_id], |r| r.get(0))
            .ok()
    }

    /// What adding to an existing table starts from.
    pub(super) fn table_ctx(&self, t: &FoundTable, now: &str) -> Result<TableCtx, ServerMessage> {
        let d = q(&t.db);
        let (max_index, clustered, primary): (i64, i64, i64) = self
            .conn
            .query_row(
                &format!(r#"SELECT COALESCE(MAX(index_id), 1), COUNT(CASE WHEN index_id = 1 THEN 1 END), COUNT(CASE WHEN is_primary_key = 1 THEN 1 END) FROM {d}."ferry.indexes" WHERE object_id = ?1"#),
                [t.object_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(sqlite_error)?;
        Ok(TableCtx {
            db: t.db.clone(),
            object_id: t.object_id,
            schema_id: t.schema_id,
            name: t.name.clone(),
            columns: self.table_columns(&t.db, t.object_id),
            next_id: self.next_object_id(&t.db)?,
            next_index_id: max_index.max(1) + 1,
            has_clustered: clustered > 0,
            has_primary_key: primary > 0,
            now: now.to_owned(),
            taken: vec![],
            keys: self.unique_keys(&t.db, t.object_id),
        })
    }

    /// CREATE [UNIQUE] [CLUSTERED | NONCLUSTERED] INDEX name ON table (…) [INCLUDE (…)]
    /// [WHERE …].
    pub fn create_index(
        &mut self,
        current: &str,
        table: &ObjectName,
        index: &IndexDef,
        now: &str,
    ) -> Result<(), ServerMessage> {
        let Some(t) = self.find_table(current, table)? else {
            return Err(cannot_find(&table.written()));
        };
        if self.index_id_by_name(&t, &index.name).is_some() {
            // SQL Server error 1913 (severity 16).
            return Err(ServerMessage::error(
                1913,
                16,
                format!(
                    "The operation failed because an index or statistics with name '{}' already exists on table '{}'.",
                    index.name,
                    table.written()
                ),
            ));
        }
        let mut ctx = self.table_ctx(&t, now)?;
        let (_, rows) = self.index_rows(&mut ctx, index, None)?;
        self.catalog_write(&t.db, &rows)
    }

    fn index_id_by_name(&self, t: &FoundTable, name: &str) -> Option<(i64, bool, bool)> {
        let sql = format!(
            r#"SELECT index_id, is_primary_key, is_unique_constraint FROM {}."ferry.indexes" WHERE object_id = ?1 AND name = ?2 COLLATE NOCASE"#,
            q(&t.db)
        );
        self.conn
            .query_row(&sql, rusqlite::params![t.object_id, name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .ok()
    }

    /// DROP INDEX [IF EXISTS] name ON table: 3701 when missing; 3723 for a constraint's index.
    pub fn drop_index(
        &mut self,
        current: &str,
        index: &str,
        table: &ObjectName,
        if_exists: bool,
    ) -> Result<(), ServerMessage> {
        let written = format!("{}.{index}", table.written());
        let found = self.find_table(current, table)?;
        let Some((t, (index_id, primary, unique))) =
            found.and_then(|t| self.index_id_by_name(&t, index).map(|i| (t, i)))
        else {
            if if_exists {
                return Ok(());
            }
            // SQL Server error 3701 (severity 11).
            return Err(ServerMessage::error(
                3701,
                11,
                format!(
                    "Cannot drop the index '{written}', because it does not exist or you do not have permission."
                ),
            ));
        };
        if primary || unique {
            // SQL Server error 3723 (severity 16).
            return Err(ServerMessage::error(
                3723,
                16,
                format!(
                    "An explicit DROP INDEX is not allowed on index '{written}'. It is being used for {} constraint enforcement.",
                    if primary { "PRIMARY KEY" } else { "UNIQUE KEY" }
                ),
            ));
        }
        let mut rows = vec![
            format!(
                r#"DELETE FROM {{db}}."ferry.indexes" WHERE object_id = {} AND index_id = {index_id}"#,
                t.object_id
            ),
            format!(
                r#"DELETE FROM {{db}}."ferry.index_columns" WHERE object_id = {} AND index_id = {index_id}"#,
                t.object_id
            ),
        ];
        if index_id == 1 {
            rows.push(heap_row(t.object_id));
        }
        self.catalog_write(&t.db, &rows)
    }
}
