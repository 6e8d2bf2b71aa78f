//! Schema objects in user databases: modules, indexes, constraints (ALTER TABLE) and schemas,
//! read when the batch is read and carried out by the instance (instance/schema_objects);
//! CREATE TABLE's definition for the catalog ([`table_def`]); partition figures refreshed
//! before a statement reads them.

mod constraint;
mod ddl;
mod functions;
mod modules;
mod table_def;
mod words;

pub use functions::rewrite_object_functions;
pub use modules::is_module_statement;
pub use table_def::read as read_table;

use super::session::SessionView;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types;
use crate::statement::{AlterTable, ModuleKind, ObjectDdl};
use crate::syntax::Token;

/// A statement this module reads, or None.
pub fn parse(st: &[Token]) -> Option<Result<ObjectDdl, ServerMessage>> {
    modules::parse(st)
        .or_else(|| modules::parse_drop(st))
        .or_else(|| ddl::create_index(st))
        .or_else(|| ddl::drop_index(st))
        .or_else(|| ddl::alter_table(st))
        .or_else(|| ddl::schema(st))
}

/// A statement that must start its batch: a module's CREATE / ALTER.
pub fn starts_batch(ddl: &ObjectDdl) -> bool {
    matches!(ddl, ObjectDdl::Module(_))
}

/// SQL Server error 111 (severity 15) for a module's CREATE that is not first in its batch.
pub fn not_first_in_batch(ddl: &ObjectDdl) -> ServerMessage {
    let what = match ddl {
        ObjectDdl::Module(m) => match m.kind {
            ModuleKind::Procedure => "CREATE/ALTER PROCEDURE",
            ModuleKind::View => "CREATE VIEW",
            ModuleKind::Function(_) => "CREATE FUNCTION",
            ModuleKind::Trigger => "CREATE TRIGGER",
        },
        _ => "CREATE SCHEMA",
    };
    ServerMessage::error(
        111,
        15,
        format!("'{what}' must be the first statement in a query batch."),
    )
}

/// SQL Server error 1750 (severity 16) after the reason a constraint or index failed.
fn could_not_create() -> ServerMessage {
    ServerMessage::error(
        1750,
        16,
        "Could not create constraint or index. See previous errors.",
    )
}

/// SQL Server error 3727 (severity 16) after the reason a constraint could not be dropped.
fn could_not_drop() -> ServerMessage {
    ServerMessage::error(3727, 16, "Could not drop constraint. See previous errors.")
}

/// Carries a statement out; `batch` is the batch's text (a module's definition).
pub fn apply(
    ddl: &ObjectDdl,
    batch: &str,
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<(), Vec<ServerMessage>> {
    let one = |e: ServerMessage| vec![e];
    let now = types::now_text();
    let db = s.database;
    match ddl {
        ObjectDdl::Module(m) => {
            let mut m = m.clone();
            m.definition = modules::definition(batch);
            inst.create_module(db, &m, &now).map_err(one)
        }
        ObjectDdl::DropModules {
            kind,
            names,
            if_exists,
        } => inst.drop_modules(db, *kind, names, *if_exists).map_err(one),
        ObjectDdl::CreateIndex { table, index } => {
            inst.create_index(db, table, index, &now).map_err(one)
        }
        ObjectDdl::DropIndexes { items, if_exists } => {
            for (index, table) in items {
                inst.drop_index(db, index, table, *if_exists).map_err(one)?;
            }
            Ok(())
        }
        ObjectDdl::AlterTable { table, change } => match change {
            AlterTable::AddConstraints {
                with_check,
                constraints,
            } => inst
                .add_constraints(db, table, *with_check, constraints, &now)
                .map_err(|e| {
                    if e.number == 4902 {
                        vec![e]
                    } else {
                        vec![e, could_not_create()]
                    }
                }),
            AlterTable::SetChecked {
                with_check,
                enable,
                names,
            } => inst
                .set_constraints_checked(db, table, *with_check, *enable, names.as_deref())
                .map_err(one),
            AlterTable::DropConstraints { names, if_exists } => inst
                .drop_constraints(db, table, names, *if_exists)
                .map_err(|e| {
                    if e.number == 4902 {
                        vec![e]
                    } else {
                        vec![e, could_not_drop()]
                    }
                }),
        },
        ObjectDdl::CreateSchema { name, owner } => {
            inst.create_schema(db, name, owner.as_deref()).map_err(one)
        }
        ObjectDdl::DropSchema { name, if_exists } => {
            inst.drop_schema(db, name, *if_exists).map_err(one)
        }
    }
}

/// The views whose figures are computed when read.
const STATS_VIEWS: &[&str] = &["partitions", "dm_db_partition_stats", "allocation_units"];

/// Before a statement reads sys.partitions, sys.dm_db_partition_stats or sys.allocation_units
/// (of its database or `[db].sys.…`), their figures are computed.
pub fn refresh_stats(
    tokens: &[Token],
    current: &str,
    inst: &mut Instance,
) -> Result<(), ServerMessage> {
    let word = |t: Option<&Token>| match t {
        Some(Token::Word(w) | Token::Quoted(w)) => Some(w.clone()),
        _ => None,
    };
    let mut dbs: Vec<String> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let Some(w) = word(Some(t)) else { continue };
        if !STATS_VIEWS.iter().any(|v| v.eq_ignore_ascii_case(&w)) {
            continue;
        }
        let qualified = i >= 4
            && tokens[i - 1].is_punct(".")
            && word(tokens.get(i - 2)).is_some_and(|s| s.eq_ignore_ascii_case("sys"))
            && tokens[i - 3].is_punct(".");
        let db = if qualified {
            word(tokens.get(i - 4)).unwrap_or_else(|| current.to_owned())
        } else {
            current.to_owned()
        };
        if !dbs.iter().any(|d| d.eq_ignore_ascii_case(&db)) {
            dbs.push(db);
        }
    }
    for db in dbs {
        if let Some(name) = inst
            .database(&db)
            .filter(|d| !d.restoring)
            .map(|d| d.name.clone())
        {
            inst.refresh_object_stats(&name)?;
        }
    }
    Ok(())
}
