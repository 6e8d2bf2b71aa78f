//! What the catalog's files share: SQL literals for the statements they log, a found table,
//! and error 2714.

use crate::protocol::tokens::ServerMessage;

/// A value as a SQL literal for catalog statements (these are logged with their values).
pub(super) fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An optional text as a literal or NULL.
pub(super) fn lit_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "NULL".to_owned(), lit)
}

/// A table the statement names, found: its database, object id, schema id and SQLite name.
#[derive(Debug, Clone)]
pub(crate) struct FoundTable {
    pub db: String,
    pub object_id: i64,
    pub schema_id: i64,
    pub name: String,
}

/// SQL Server error 2714 (severity 16).
pub(super) fn already_exists(name: &str) -> ServerMessage {
    ServerMessage::error(
        2714,
        16,
        format!("There is already an object named '{name}' in the database."),
    )
}
