//! ALTER TABLE on constraints ("ALTER TABLE (Transact-SQL)"): ADD with WITH CHECK | WITH
//! NOCHECK, CHECK | NOCHECK CONSTRAINT, DROP CONSTRAINT. The catalog changes; the emulator does
//! not enforce constraints added this way, nor check existing rows for WITH CHECK (a guess
//! that data the tests load already satisfies them).

use super::indexes::heap_row;
use crate::instance::Instance;
use crate::instance::query::q;
use crate::protocol::tokens::ServerMessage;
use crate::statement::{ConstraintDef, ObjectName};

/// SQL Server error 4902 (severity 16).
fn no_table(name: &str) -> ServerMessage {
    ServerMessage::error(
        4902,
        16,
        format!(
            "Cannot find the object \"{name}\" because it does not exist or you do not have permissions."
        ),
    )
}

/// A constraint of a table: (object_id, type, is_disabled, parent_column_id, unique_index_id).
type Constraint = (i64, String, bool, i64, Option<i64>);

impl Instance {
    fn table_or_4902(
        &self,
        current: &str,
        table: &ObjectName,
    ) -> Result<super::shared::FoundTable, ServerMessage> {
        self.find_table(current, table)?
            .ok_or_else(|| no_table(&table.written()))
    }

    fn constraints_of(&self, db: &str, object_id: i64) -> Vec<(String, Constraint)> {
        let sql = format!(
            r#"SELECT o.name, o.object_id, o.type, c.is_disabled, c.parent_column_id, c.unique_index_id FROM {d}."ferry.objects" o JOIN {d}."ferry.constraints" c ON c.object_id = o.object_id WHERE o.parent_object_id = ?1 ORDER BY o.object_id"#,
            d = q(db)
        );
        let Ok(mut stmt) = self.conn.prepare(&sql) else {
            return vec![];
        };
        stmt.query_map([object_id], |r| {
            Ok((
                r.get(0)?,
                (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
            ))
        })
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
    }

    /// ALTER TABLE … [WITH CHECK | WITH NOCHECK] ADD constraint, …: new CHECK and FOREIGN KEY
    /// constraints are trusted unless WITH NOCHECK ("WITH CHECK is assumed for new
    /// constraints").
    pub fn add_constraints(
        &mut self,
        current: &str,
        table: &ObjectName,
        with_check: Option<bool>,
        constraints: &[ConstraintDef],
        now: &str,
    ) -> Result<(), ServerMessage> {
        let t = self.table_or_4902(current, table)?;
        let mut ctx = self.table_ctx(&t, now)?;
        let mut rows = Vec::new();
        for c in constraints {
            rows.extend(self.constraint_rows(&mut ctx, c, with_check != Some(false))?);
        }
        self.catalog_write(&t.db, &rows)
    }

    /// ALTER TABLE … [WITH CHECK | WITH NOCHECK] {CHECK | NOCHECK} CONSTRAINT {ALL | name, …}:
    /// NOCHECK disables (and so un-trusts) CHECK and FOREIGN KEY constraints; CHECK enables
    /// them, trusted again only WITH CHECK ("WITH NOCHECK is assumed for re-enabled
    /// constraints"). 4917 for a name that is not one of the table's constraints.
    pub fn set_constraints_checked(
        &mut self,
        current: &str,
        table: &ObjectName,
        with_check: Option<bool>,
        enable: bool,
        names: Option<&[String]>,
    ) -> Result<(), ServerMessage> {
        let t = self.table_or_4902(current, table)?;
        let all: Vec<(String, Constraint)> = self
            .constraints_of(&t.db, t.object_id)
            .into_iter()
            .filter(|(_, c)| c.1 == "C" || c.1 == "F")
            .collect();
        let chosen: Vec<&(String, Constraint)> = match names {
            None => all.iter().collect(),
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    match all.iter().find(|(name, _)| name.eq_ignore_ascii_case(n)) {
                        Some(c) => out.push(c),
                        // SQL Server error 4917 (severity 16).
                        None => {
                            return Err(ServerMessage::error(
                                4917,
                                16,
                                format!("Constraint '{n}' does not exist."),
                            ));
                        }
                    }
                }
                out
            }
        };
        let mut rows = Vec::new();
        for (_, (id, _, disabled, _, _)) in chosen {
            let change = if !enable {
                "is_disabled = 1, is_not_trusted = 1".to_owned()
            } else if with_check == Some(true) {
                "is_disabled = 0, is_not_trusted = is_not_for_replication".to_owned()
            } else if *disabled || with_check == Some(false) {
                "is_disabled = 0, is_not_trusted = 1".to_owned()
            } else {
                continue;
            };
            rows.push(format!(
                r#"UPDATE {{db}}."ferry.constraints" SET {change} WHERE object_id = {id}"#
            ));
        }
        self.catalog_write(&t.db, &rows)
    }

    /// ALTER TABLE … DROP CONSTRAINT [IF EXISTS] name, …: 3728 for a name that is not one of
    /// the table's constraints; 3725 for a key another table's FOREIGN KEY references.
    pub fn drop_constraints(
        &mut self,
        current: &str,
        table: &ObjectName,
        names: &[String],
        if_exists: bool,
    ) -> Result<(), ServerMessage> {
        let t = self.table_or_4902(current, table)?;
        let all = self.constraints_of(&t.db, t.object_id);
        let mut rows = Vec::new();
        for n in names {
            let Some((name, (id, ty, _, column, index))) =
                all.iter().find(|(name, _)| name.eq_ignore_ascii_case(n))
            else {
                if if_exists {
                    continue;
                }
                // SQL Server error 3728 (severity 16).
                return Err(ServerMessage::error(
                    3728,
                    16,
                    format!("'{n}' is not a constraint."),
                ));
            };
            if let Some(index) = index {
                let sql = format!(
                    r#"SELECT p.name, o.name FROM {d}."sys.foreign_keys" o JOIN {d}."ferry.objects" p ON p.object_id = o.parent_object_id WHERE o.referenced_object_id = ?1 AND o.key_index_id = ?2 AND o.parent_object_id <> ?1"#,
                    d = q(&t.db)
                );
                if let Ok((table_name, fk)) =
                    self.conn.query_row(&sql, [t.object_id, *index], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                {
                    // SQL Server error 3725 (severity 16).
                    return Err(ServerMessage::error(
                        3725,
                        16,
                        format!(
                            "The constraint '{name}' is being referenced by table '{table_name}', foreign key constraint '{fk}'."
                        ),
                    ));
                }
                rows.push(format!(r#"DELETE FROM {{db}}."ferry.indexes" WHERE object_id = {} AND index_id = {index}"#, t.object_id));
                rows.push(format!(r#"DELETE FROM {{db}}."ferry.index_columns" WHERE object_id = {} AND index_id = {index}"#, t.object_id));
                if *index == 1 {
                    rows.push(heap_row(t.object_id));
                }
            }
            if ty == "D" {
                rows.push(format!(
                    r#"UPDATE {{db}}."ferry.columns" SET default_object_id = 0 WHERE object_id = {} AND column_id = {column}"#,
                    t.object_id
                ));
            }
            rows.push(format!(r#"DELETE FROM {{db}}."ferry.foreign_key_columns" WHERE constraint_object_id = {id}"#));
            rows.push(format!(
                r#"DELETE FROM {{db}}."ferry.constraints" WHERE object_id = {id}"#
            ));
            rows.push(format!(
                r#"DELETE FROM {{db}}."ferry.objects" WHERE object_id = {id}"#
            ));
        }
        self.catalog_write(&t.db, &rows)
    }
}
