//! Constraints and the indexes that enforce keys, as catalog rows: PRIMARY KEY and UNIQUE
//! ("sys.key_constraints", with their index in "sys.indexes"), FOREIGN KEY ("sys.foreign_keys",
//! "sys.foreign_key_columns"), CHECK ("sys.check_constraints") and DEFAULT
//! ("sys.default_constraints"), from CREATE TABLE and ALTER TABLE … ADD.

use super::names::{key_name, other_name};
use super::shared::{already_exists, lit};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::statement::{ConstraintDef, ConstraintKind, IndexDef};

/// What adding objects to a table needs to know and hands out.
pub(super) struct TableCtx {
    pub db: String,
    pub object_id: i64,
    pub schema_id: i64,
    pub name: String,
    /// (column_id, name)
    pub columns: Vec<(i64, String)>,
    pub next_id: i64,
    pub next_index_id: i64,
    pub has_clustered: bool,
    pub has_primary_key: bool,
    pub now: String,
    /// Names given out in this statement (not yet in the catalog).
    pub taken: Vec<String>,
    /// The table's unique indexes, those this statement adds included: (index_id,
    /// is_primary_key, key column ids), so a foreign key can reference a key of its own table.
    pub keys: Vec<(i64, bool, Vec<i64>)>,
}

impl TableCtx {
    pub fn column_id(&self, name: &str) -> Result<i64, ServerMessage> {
        self.columns
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(id, _)| *id)
            // SQL Server error 1911 (severity 16).
            .ok_or_else(|| {
                ServerMessage::error(
                    1911,
                    16,
                    format!("Column name '{name}' does not exist in the target table or view."),
                )
            })
    }

    fn take_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The sys.objects row of an object that belongs to the table.
    fn object_row(&self, id: i64, name: &str, ty: &str, desc: &str) -> String {
        format!(
            r#"INSERT INTO {{db}}."ferry.objects" VALUES ({}, {id}, NULL, {}, {}, '{ty}', '{desc}', {now}, {now}, 0, 0, 0, NULL)"#,
            lit(name),
            self.schema_id,
            self.object_id,
            now = lit(&self.now)
        )
    }
}

impl Instance {
    /// The catalog statements for one constraint; `trusted` is false for WITH NOCHECK.
    pub(super) fn constraint_rows(
        &self,
        ctx: &mut TableCtx,
        c: &ConstraintDef,
        trusted: bool,
    ) -> Result<Vec<String>, ServerMessage> {
        let id = ctx.take_id();
        let column_written = c.column.as_deref();
        let name = match (&c.name, &c.kind) {
            (Some(n), _) => n.clone(),
            (None, ConstraintKind::Key { primary, .. }) => key_name(*primary, &ctx.name, id),
            (None, ConstraintKind::Check { .. }) => {
                other_name("CK", &ctx.name, column_written.unwrap_or(""), id)
            }
            (None, ConstraintKind::Default { column, .. }) => {
                other_name("DF", &ctx.name, column, id)
            }
            (None, ConstraintKind::Foreign { table, .. }) => {
                other_name("FK", &ctx.name, &table.name, id)
            }
        };
        if self
            .object_in_schema(&ctx.db, ctx.schema_id, &name)
            .is_some()
            || ctx.taken.iter().any(|t| t.eq_ignore_ascii_case(&name))
        {
            return Err(already_exists(&name));
        }
        ctx.taken.push(name.clone());
        let system_named = i64::from(c.name.is_none());
        let parent_column = match column_written {
            Some(col) => ctx.column_id(col)?,
            None => 0,
        };
        let mut out = Vec::new();
        match &c.kind {
            ConstraintKind::Key {
                primary,
                clustered,
                columns,
            } => {
                if *primary && ctx.has_primary_key {
                    // SQL Server error 1779 (severity 16).
                    return Err(ServerMessage::error(
                        1779,
                        16,
                        format!(
                            "Table '{}' already has a primary key defined on it.",
                            ctx.name
                        ),
                    ));
                }
                // "CREATE TABLE": PRIMARY KEY is CLUSTERED and UNIQUE NONCLUSTERED unless
                // written otherwise (a PRIMARY KEY is NONCLUSTERED when a clustered index
                // exists already).
                let clustered = clustered.unwrap_or(*primary && !ctx.has_clustered);
                let index = IndexDef {
                    name: name.clone(),
                    unique: true,
                    clustered,
                    columns: columns.clone(),
                    include: vec![],
                    filter: None,
                };
                let (index_id, rows) = self.index_rows(ctx, &index, Some(*primary))?;
                out.extend(rows);
                if *primary {
                    ctx.has_primary_key = true;
                    // Key columns are NOT NULL.
                    for k in columns {
                        let col = ctx.column_id(&k.name)?;
                        out.push(format!(
                            r#"UPDATE {{db}}."ferry.columns" SET is_nullable = 0 WHERE object_id = {} AND column_id = {col}"#,
                            ctx.object_id
                        ));
                    }
                }
                let (ty, desc) = if *primary {
                    ("PK", "PRIMARY_KEY_CONSTRAINT")
                } else {
                    ("UQ", "UNIQUE_CONSTRAINT")
                };
                out.push(ctx.object_row(id, &name, ty, desc));
                out.push(format!(
                    r#"INSERT INTO {{db}}."ferry.constraints" (object_id, unique_index_id, is_system_named, is_enforced, parent_column_id, is_disabled, is_not_trusted, is_not_for_replication) VALUES ({id}, {index_id}, {system_named}, 1, 0, 0, 0, 0)"#
                ));
            }
            ConstraintKind::Check {
                definition,
                not_for_replication,
            } => {
                out.push(ctx.object_row(id, &name, "C", "CHECK_CONSTRAINT"));
                out.push(format!(
                    r#"INSERT INTO {{db}}."ferry.constraints" (object_id, is_system_named, is_enforced, definition, parent_column_id, is_disabled, is_not_trusted, is_not_for_replication, uses_database_collation) VALUES ({id}, {system_named}, 1, {}, {parent_column}, 0, {}, {}, 1)"#,
                    lit(definition),
                    i64::from(!trusted || *not_for_replication),
                    i64::from(*not_for_replication)
                ));
            }
            ConstraintKind::Default { column, definition } => {
                let col = ctx.column_id(column)?;
                out.push(ctx.object_row(id, &name, "D", "DEFAULT_CONSTRAINT"));
                out.push(format!(
                    r#"INSERT INTO {{db}}."ferry.constraints" (object_id, is_system_named, is_enforced, definition, parent_column_id, is_disabled, is_not_trusted, is_not_for_replication) VALUES ({id}, {system_named}, 1, {}, {col}, 0, 0, 0)"#,
                    lit(definition)
                ));
                out.push(format!(
                    r#"UPDATE {{db}}."ferry.columns" SET default_object_id = {id} WHERE object_id = {} AND column_id = {col}"#,
                    ctx.object_id
                ));
            }
            ConstraintKind::Foreign {
                columns,
                table,
                ref_columns,
                on_delete,
                on_update,
                not_for_replication,
            } => {
                let columns: Vec<String> = if columns.is_empty() {
                    column_written.map(str::to_owned).into_iter().collect()
                } else {
                    columns.clone()
                };
                // The referenced table: this one (its columns are known here even while it is
                // being created) or another in the same database.
                let same = table.name.eq_ignore_ascii_case(&ctx.name)
                    && table
                        .schema
                        .as_deref()
                        .is_none_or(|s| self.schema_id(&ctx.db, s) == Some(ctx.schema_id));
                let (ref_id, ref_cols) = if same {
                    (ctx.object_id, ctx.columns.clone())
                } else {
                    match self.find_table(&ctx.db, table)? {
                        Some(t) => (t.object_id, self.table_columns(&ctx.db, t.object_id)),
                        None => {
                            // SQL Server error 1767 (severity 16), then 1750.
                            return Err(ServerMessage::error(
                                1767,
                                16,
                                format!(
                                    "Foreign key '{name}' references invalid table '{}'.",
                                    table.written()
                                ),
                            ));
                        }
                    }
                };
                let key_index =
                    self.referenced_key(&ctx.db, ref_id, ref_columns, &ref_cols, ctx, same)?;
                let (key_index_id, ref_names) = key_index.ok_or_else(|| {
                    // SQL Server error 1776 (severity 16).
                    ServerMessage::error(
                        1776,
                        16,
                        format!(
                            "There are no primary or candidate keys in the referenced table '{}' that match the referencing column list in the foreign key '{name}'.",
                            table.written()
                        ),
                    )
                })?;
                out.push(ctx.object_row(id, &name, "F", "FOREIGN_KEY_CONSTRAINT"));
                out.push(format!(
                    r#"INSERT INTO {{db}}."ferry.constraints" (object_id, is_system_named, is_enforced, parent_column_id, is_disabled, is_not_trusted, is_not_for_replication, referenced_object_id, key_index_id, delete_referential_action, delete_referential_action_desc, update_referential_action, update_referential_action_desc) VALUES ({id}, {system_named}, 1, 0, 0, {}, {}, {ref_id}, {key_index_id}, {}, '{}', {}, '{}')"#,
                    i64::from(!trusted || *not_for_replication),
                    i64::from(*not_for_replication),
                    on_delete.code(),
                    on_delete.desc(),
                    on_update.code(),
                    on_update.desc()
                ));
                for (i, (col, ref_col)) in columns.iter().zip(&ref_names).enumerate() {
                    let parent = ctx.column_id(col)?;
                    let referenced = ref_cols
                        .iter()
                        .find(|(_, n)| n.eq_ignore_ascii_case(ref_col))
                        .map_or(0, |(c, _)| *c);
                    out.push(format!(
                        r#"INSERT INTO {{db}}."ferry.foreign_key_columns" VALUES ({id}, {}, {}, {parent}, {ref_id}, {referenced})"#,
                        i + 1,
                        ctx.object_id
                    ));
                }
                if columns.len() != ref_names.len() {
                    // SQL Server error 8139 (severity 16).
                    return Err(ServerMessage::error(
                        8139,
                        16,
                        format!(
                            "Number of referencing columns in foreign key differs from number of primary key columns in table '{}'.",
                            table.written()
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The unique index of the referenced table whose key columns are `wanted` (its primary key
    /// when none are named): (index_id, the key's column names).
    fn referenced_key(
        &self,
        db: &str,
        ref_id: i64,
        wanted: &[String],
        ref_cols: &[(i64, String)],
        ctx: &TableCtx,
        same: bool,
    ) -> Result<Option<(i64, Vec<String>)>, ServerMessage> {
        let keys = if same {
            ctx.keys.clone()
        } else {
            self.unique_keys(db, ref_id)
        };
        let name_of = |id: i64| {
            ref_cols
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        for (index_id, primary, cols) in keys {
            let names: Vec<String> = cols.iter().map(|c| name_of(*c)).collect();
            let matches = if wanted.is_empty() {
                primary
            } else {
                names.len() == wanted.len()
                    && names
                        .iter()
                        .zip(wanted)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            };
            if matches {
                return Ok(Some((index_id, names)));
            }
        }
        Ok(None)
    }

    /// A table's unique indexes: (index_id, is_primary_key, key column ids in order).
    pub(super) fn unique_keys(&self, db: &str, object_id: i64) -> Vec<(i64, bool, Vec<i64>)> {
        let sql = format!(
            r#"SELECT i.index_id, i.is_primary_key, group_concat(c.column_id) FROM (SELECT * FROM {d}."ferry.index_columns" WHERE object_id = ?1 AND is_included_column = 0 ORDER BY key_ordinal) c JOIN {d}."ferry.indexes" i ON i.object_id = c.object_id AND i.index_id = c.index_id WHERE i.is_unique = 1 GROUP BY i.index_id ORDER BY i.index_id"#,
            d = crate::instance::query::q(db)
        );
        let Ok(mut stmt) = self.conn.prepare(&sql) else {
            return vec![];
        };
        stmt.query_map([object_id], |r| {
            let cols: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                cols.split(',').filter_map(|c| c.parse().ok()).collect(),
            ))
        })
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
    }
}
