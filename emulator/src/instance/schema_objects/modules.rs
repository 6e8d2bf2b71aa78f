//! Modules: views, procedures, functions and DML triggers ("CREATE VIEW", "CREATE PROCEDURE",
//! "CREATE FUNCTION", "CREATE TRIGGER", their ALTER and DROP pages, "sys.sql_modules",
//! "sys.triggers"). The emulator keeps their text and catalog rows; it does not run them (a
//! view is not selectable, a procedure not executable, a trigger does not fire).

use super::shared::{already_exists, lit};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::statement::{FunctionKind, ModuleDef, ModuleKind, ObjectName};

/// sys.objects type and type_desc of a module ("sys.objects": V VIEW, P SQL_STORED_PROCEDURE,
/// FN SQL_SCALAR_FUNCTION, IF SQL_INLINE_TABLE_VALUED_FUNCTION, TF SQL_TABLE_VALUED_FUNCTION,
/// TR SQL_TRIGGER).
fn type_of(kind: ModuleKind) -> (&'static str, &'static str) {
    match kind {
        ModuleKind::View => ("V", "VIEW"),
        ModuleKind::Procedure => ("P", "SQL_STORED_PROCEDURE"),
        ModuleKind::Function(FunctionKind::Scalar) => ("FN", "SQL_SCALAR_FUNCTION"),
        ModuleKind::Function(FunctionKind::InlineTable) => {
            ("IF", "SQL_INLINE_TABLE_VALUED_FUNCTION")
        }
        ModuleKind::Function(FunctionKind::Table) => ("TF", "SQL_TABLE_VALUED_FUNCTION"),
        ModuleKind::Trigger => ("TR", "SQL_TRIGGER"),
    }
}

/// The sys.objects types a kind of module covers (ALTER FUNCTION may change FN to IF).
fn types_of(kind: ModuleKind) -> &'static [&'static str] {
    match kind {
        ModuleKind::View => &["V"],
        ModuleKind::Procedure => &["P"],
        ModuleKind::Function(_) => &["FN", "IF", "TF"],
        ModuleKind::Trigger => &["TR"],
    }
}

/// SQL Server error 208 (severity 16).
fn invalid_object(name: &str) -> ServerMessage {
    ServerMessage::error(208, 16, format!("Invalid object name '{name}'."))
}

impl Instance {
    /// CREATE [OR ALTER] | ALTER a module: 2714 when CREATE finds the name taken, 208 when
    /// ALTER finds no such module, 8197 for a trigger on a table that does not exist.
    pub fn create_module(
        &mut self,
        current: &str,
        m: &ModuleDef,
        now: &str,
    ) -> Result<(), ServerMessage> {
        let db = self.database_of(current, &m.name)?;
        // A trigger is in its table's schema ("CREATE TRIGGER": schema_name "is the schema to
        // which a DML trigger belongs … limited to the schema of the table or view").
        let (schema_id, parent) = match &m.trigger {
            Some(target) => {
                let table = ObjectName {
                    db: Some(db.clone()),
                    ..target.table.clone()
                };
                let found = self
                    .find_table(&db, &table)?
                    .map(|t| (t.schema_id, t.object_id));
                let view = if found.is_none() && target.instead_of {
                    self.schema_id(&db, table.schema.as_deref().unwrap_or("dbo"))
                        .and_then(|s| {
                            self.object_in_schema(&db, s, &table.name)
                                .filter(|o| o.1 == "V")
                                .map(|o| (s, o.0))
                        })
                } else {
                    None
                };
                let Some(found) = found.or(view) else {
                    // SQL Server error 8197 (severity 16).
                    return Err(ServerMessage::error(
                        8197,
                        16,
                        format!(
                            "The object '{}' does not exist or is invalid for this operation.",
                            target.table.written()
                        ),
                    ));
                };
                found
            }
            None => (
                self.existing_schema(&db, m.name.schema.as_deref().unwrap_or("dbo"))?,
                0,
            ),
        };
        let existing = self.object_in_schema(&db, schema_id, &m.name.name);
        let (ty, desc) = type_of(m.kind);
        let same_kind = existing
            .as_ref()
            .is_some_and(|(_, t)| types_of(m.kind).contains(&t.as_str()));
        let now_lit = lit(now);
        let (instead_of, not_for_replication) = m
            .trigger
            .as_ref()
            .map_or((false, false), |t| (t.instead_of, t.not_for_replication));
        let rows = match existing {
            Some((id, _)) if same_kind && (m.alter || m.or_alter) => vec![
                format!(
                    r#"UPDATE {{db}}."ferry.objects" SET type = '{ty}', type_desc = '{desc}', modify_date = {now_lit}, parent_object_id = {parent} WHERE object_id = {id}"#
                ),
                format!(
                    r#"UPDATE {{db}}."ferry.modules" SET definition = {}, parent_id = {parent}, is_instead_of_trigger = {}, is_not_for_replication = {} WHERE object_id = {id}"#,
                    lit(&m.definition),
                    i64::from(instead_of),
                    i64::from(not_for_replication)
                ),
            ],
            Some(_) if !m.alter => return Err(already_exists(&m.name.name)),
            _ if m.alter => return Err(invalid_object(&m.name.written())),
            _ => {
                let id = self.next_object_id(&db)?;
                vec![
                    format!(
                        r#"INSERT INTO {{db}}."ferry.objects" VALUES ({}, {id}, NULL, {schema_id}, {parent}, '{ty}', '{desc}', {now_lit}, {now_lit}, 0, 0, 0, NULL)"#,
                        lit(&m.name.name)
                    ),
                    // uses_ansi_nulls and uses_quoted_identifier: the SET options at creation,
                    // ON for the drivers' defaults; the emulator does not track them.
                    format!(
                        r#"INSERT INTO {{db}}."ferry.modules" VALUES ({id}, {}, 1, 1, 0, 0, 0, 0, NULL, 0, 1, 'OBJECT_OR_COLUMN', {parent}, 0, {}, {})"#,
                        lit(&m.definition),
                        i64::from(not_for_replication),
                        i64::from(instead_of)
                    ),
                ]
            }
        };
        self.catalog_write(&db, &rows)
    }

    /// DROP VIEW | PROCEDURE | FUNCTION | TRIGGER [IF EXISTS] name, …: 3701 for a name that is
    /// not such a module. A view's triggers go with it.
    pub fn drop_modules(
        &mut self,
        current: &str,
        kind: ModuleKind,
        names: &[ObjectName],
        if_exists: bool,
    ) -> Result<(), ServerMessage> {
        for name in names {
            let db = self.database_of(current, name)?;
            let found = self
                .schema_id(&db, name.schema.as_deref().unwrap_or("dbo"))
                .and_then(|s| self.object_in_schema(&db, s, &name.name))
                .filter(|(_, t)| types_of(kind).contains(&t.as_str()));
            let Some((id, _)) = found else {
                if if_exists {
                    continue;
                }
                // SQL Server error 3701 (severity 11).
                return Err(ServerMessage::error(
                    3701,
                    11,
                    format!(
                        "Cannot drop the {} '{}', because it does not exist or you do not have permission.",
                        kind.word(),
                        name.written()
                    ),
                ));
            };
            let owned = format!(
                r#"(SELECT object_id FROM {{db}}."ferry.objects" WHERE object_id = {id} OR parent_object_id = {id})"#
            );
            self.catalog_write(
                &db,
                &[
                    format!(r#"DELETE FROM {{db}}."ferry.modules" WHERE object_id IN {owned}"#),
                    format!(r#"DELETE FROM {{db}}."ferry.objects" WHERE object_id = {id} OR parent_object_id = {id}"#),
                ],
            )?;
        }
        Ok(())
    }
}
