//! Tables in the catalog: what CREATE TABLE records ("sys.tables", "sys.columns", its
//! constraints and indexes), what DROP TABLE removes with it ("DROP TABLE": a table's indexes,
//! constraints and triggers go with it; one a FOREIGN KEY of another table references cannot
//! be dropped), and tables a file from before the catalog already had.

use super::constraints::TableCtx;
use super::indexes::heap_row;
use super::shared::{already_exists, lit, lit_opt};
use super::types::{DEFAULT_COLLATION, column_type};
use crate::instance::Instance;
use crate::instance::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{ColumnDef, TableDef};

/// `"schema.name"` → (schema, name).
pub(super) fn split_sqlite_name(sqlite_name: &str) -> (&str, &str) {
    sqlite_name.split_once('.').unwrap_or(("dbo", sqlite_name))
}

/// A declared type as SQLite keeps it (`nvarchar(100)`, `decimal(10,2)`, `varbinary(-1)`):
/// its name and arguments (None for max).
fn parse_decl(decl: &str) -> (String, Vec<Option<i64>>) {
    let (name, rest) = decl.split_once('(').unwrap_or((decl, ""));
    let args = rest
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| match a.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => None,
        })
        .collect();
    (name.trim().to_ascii_lowercase(), args)
}

impl Instance {
    /// The catalog rows of a table CREATE TABLE is about to make, checked before SQLite makes
    /// it: the schema must exist (2760), the name be free (2714), each type be known (2715).
    pub(crate) fn plan_new_table(
        &self,
        db: &str,
        sqlite_name: &str,
        def: &TableDef,
        now: &str,
    ) -> Result<Vec<String>, ServerMessage> {
        let (schema, name) = split_sqlite_name(sqlite_name);
        let schema_id = self.existing_schema(db, schema)?;
        if self.object_in_schema(db, schema_id, name).is_some() {
            return Err(already_exists(name));
        }
        let object_id = self.next_object_id(db)?;
        let mut out = vec![
            format!(
                r#"INSERT INTO {{db}}."ferry.objects" VALUES ({}, {object_id}, NULL, {schema_id}, 0, 'U', 'USER_TABLE', {now}, {now}, 0, 0, 0, {})"#,
                lit(name),
                lit(sqlite_name),
                now = lit(now)
            ),
            format!(
                r#"INSERT INTO {{db}}."ferry.tables" VALUES ({object_id}, {}, {}, '{}', 0, 'NON_TEMPORAL_TABLE', 0)"#,
                i64::from(def.memory_optimized),
                i64::from(def.schema_only),
                if def.schema_only {
                    "SCHEMA_ONLY"
                } else {
                    "SCHEMA_AND_DATA"
                }
            ),
        ];
        for (i, c) in def.columns.iter().enumerate() {
            out.push(column_row(object_id, i as i64 + 1, c)?);
        }
        let mut ctx = TableCtx {
            db: db.to_owned(),
            object_id,
            schema_id,
            name: name.to_owned(),
            columns: def
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (i as i64 + 1, c.name.clone()))
                .collect(),
            next_id: object_id + 1,
            next_index_id: 2,
            has_clustered: false,
            has_primary_key: false,
            now: now.to_owned(),
            taken: vec![],
            keys: vec![],
        };
        // Indexes first (their ids come in the order SQL Server gives them: the clustered
        // one is 1 whatever its place), then constraints in the order written; foreign keys
        // last, so one can reference a key of this table declared after it.
        let (foreign, others): (Vec<_>, Vec<_>) = def
            .constraints
            .iter()
            .partition(|c| matches!(c.kind, crate::statement::ConstraintKind::Foreign { .. }));
        for c in others.into_iter().chain(foreign) {
            out.extend(self.constraint_rows(&mut ctx, c, true)?);
        }
        for index in &def.indexes {
            let (_, rows) = self.index_rows(&mut ctx, index, None)?;
            out.extend(rows);
        }
        if !ctx.has_clustered {
            out.insert(2, heap_row(object_id));
        }
        Ok(out)
    }

    /// The catalog rows DROP TABLE removes with the table; 3726 while another table's
    /// FOREIGN KEY references it.
    pub(crate) fn plan_drop_table(
        &self,
        db: &str,
        sqlite_name: &str,
        written: &str,
    ) -> Result<Vec<String>, ServerMessage> {
        let d = q(db);
        let sql = format!(
            r#"SELECT object_id FROM {d}."ferry.objects" WHERE type = 'U' AND sqlite_name = ?1 COLLATE NOCASE"#
        );
        let Ok(id) = self
            .conn
            .query_row(&sql, [sqlite_name], |r| r.get::<_, i64>(0))
        else {
            return Ok(vec![]);
        };
        let sql = format!(
            r#"SELECT COUNT(*) FROM {d}."sys.foreign_keys" WHERE referenced_object_id = ?1 AND parent_object_id <> ?1"#
        );
        let referenced: i64 = self
            .conn
            .query_row(&sql, [id], |r| r.get(0))
            .map_err(sqlite_error)?;
        if referenced > 0 {
            // SQL Server error 3726 (severity 16).
            return Err(ServerMessage::error(
                3726,
                16,
                format!(
                    "Could not drop object '{written}' because it is referenced by a FOREIGN KEY constraint."
                ),
            ));
        }
        let owned = format!(
            r#"(SELECT object_id FROM {{db}}."ferry.objects" WHERE object_id = {id} OR parent_object_id = {id})"#
        );
        Ok(vec![
            format!(r#"DELETE FROM {{db}}."ferry.constraints" WHERE object_id IN {owned}"#),
            format!(r#"DELETE FROM {{db}}."ferry.modules" WHERE object_id IN {owned}"#),
            format!(
                r#"DELETE FROM {{db}}."ferry.foreign_key_columns" WHERE parent_object_id = {id}"#
            ),
            format!(r#"DELETE FROM {{db}}."ferry.tables" WHERE object_id = {id}"#),
            format!(r#"DELETE FROM {{db}}."ferry.columns" WHERE object_id = {id}"#),
            format!(r#"DELETE FROM {{db}}."ferry.indexes" WHERE object_id = {id}"#),
            format!(r#"DELETE FROM {{db}}."ferry.index_columns" WHERE object_id = {id}"#),
            format!(
                r#"DELETE FROM {{db}}."ferry.objects" WHERE object_id = {id} OR parent_object_id = {id}"#
            ),
        ])
    }

    /// Records the user tables SQLite has and the catalog does not (a file written before the
    /// catalog existed): columns from their declared types, no constraints.
    pub(super) fn adopt_unrecorded_tables(
        &self,
        db: &str,
        system: bool,
    ) -> Result<(), ServerMessage> {
        let d = q(db);
        let sql = format!(
            r#"SELECT m.name FROM {d}.sqlite_master m WHERE m.type = 'table' AND m.name LIKE '%.%' AND m.name NOT LIKE 'sys.%' AND m.name NOT LIKE 'ferry.%' AND NOT EXISTS (SELECT 1 FROM {d}."ferry.objects" o WHERE o.sqlite_name = m.name)"#
        );
        let names: Vec<String> = {
            let mut stmt = self.conn.prepare(&sql).map_err(sqlite_error)?;
            stmt.query_map([], |r| r.get(0))
                .map_err(sqlite_error)?
                .filter_map(Result::ok)
                .collect()
        };
        for name in names {
            let sql = format!("PRAGMA {d}.table_info({})", q(&name));
            let columns: Vec<ColumnDef> = {
                let mut stmt = self.conn.prepare(&sql).map_err(sqlite_error)?;
                stmt.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .map_err(sqlite_error)?
                .filter_map(Result::ok)
                .map(|(n, decl, notnull)| {
                    let (type_name, args) = parse_decl(&decl);
                    let known = column_type(&type_name, &args).is_some();
                    ColumnDef {
                        name: n,
                        // A type the catalog does not know reads as sql_variant.
                        type_name: if known {
                            type_name
                        } else {
                            "sql_variant".into()
                        },
                        args: if known { args } else { vec![] },
                        nullable: Some(notnull == 0),
                        identity: false,
                        collation: None,
                        computed: false,
                    }
                })
                .collect()
            };
            let memory: i64 = self
                .conn
                .query_row(
                    &format!(r#"SELECT COUNT(*) FROM {d}."ferry.memory_optimized" WHERE name = ?1 COLLATE NOCASE"#),
                    [&name],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            let def = TableDef {
                columns,
                memory_optimized: memory > 0,
                ..TableDef::default()
            };
            let (schema, _) = split_sqlite_name(&name);
            if self.schema_id(db, schema).is_none() {
                continue;
            }
            let rows = self.plan_new_table(db, &name, &def, "2026-01-01 00:00:00.0000000")?;
            for r in rows {
                self.conn
                    .execute_batch(&r.replace("{db}", &d))
                    .map_err(sqlite_error)?;
            }
            // A FileTable (instance/filetables.rs) is one in sys.tables.is_filetable.
            self.conn
                .execute(
                    &format!(r#"UPDATE {d}."ferry.tables" SET is_filetable = 1 WHERE object_id = (SELECT object_id FROM {d}."ferry.objects" WHERE sqlite_name = ?1) AND EXISTS (SELECT 1 FROM {d}."ferry.filetables" WHERE table_name = ?1)"#),
                    [&name],
                )
                .map_err(sqlite_error)?;
            if system {
                self.conn
                    .execute(
                        &format!(r#"UPDATE {d}."ferry.objects" SET is_ms_shipped = 1 WHERE sqlite_name = ?1 OR parent_object_id IN (SELECT object_id FROM {d}."ferry.objects" WHERE sqlite_name = ?1)"#),
                        [&name],
                    )
                    .map_err(sqlite_error)?;
            }
        }
        Ok(())
    }
}

/// A column's sys.columns row; 2715 for a type the emulator does not know.
fn column_row(object_id: i64, column_id: i64, c: &ColumnDef) -> Result<String, ServerMessage> {
    let Some(t) = column_type(&c.type_name, &c.args) else {
        // SQL Server error 2715 (severity 16).
        return Err(ServerMessage::error(
            2715,
            16,
            format!(
                "Column, parameter, or variable #{column_id}: Cannot find data type {}.",
                c.type_name
            ),
        ));
    };
    let collation = t.collatable.then(|| {
        c.collation
            .clone()
            .unwrap_or_else(|| DEFAULT_COLLATION.into())
    });
    Ok(format!(
        r#"INSERT INTO {{db}}."ferry.columns" VALUES ({object_id}, {}, {column_id}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0)"#,
        lit(&c.name),
        t.system_type_id,
        t.user_type_id,
        t.max_length,
        t.precision,
        t.scale,
        lit_opt(collation.as_deref()),
        i64::from(c.nullable.unwrap_or(!c.identity)),
        i64::from(c.identity),
        i64::from(c.computed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_read_back() {
        assert_eq!(
            parse_decl("nvarchar(100)"),
            ("nvarchar".into(), vec![Some(100)])
        );
        assert_eq!(
            parse_decl("varbinary(-1)"),
            ("varbinary".into(), vec![None])
        );
        assert_eq!(
            parse_decl("decimal(10, 2)"),
            ("decimal".into(), vec![Some(10), Some(2)])
        );
        assert_eq!(parse_decl("INT"), ("int".into(), vec![]));
    }
}
