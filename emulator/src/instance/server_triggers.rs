//! Server-level DDL and logon triggers: `sys.server_triggers`, `sys.server_trigger_events` and
//! `sys.server_sql_modules` (their "(Transact-SQL)" pages). `sys.server_event_notifications` is
//! there with its documented columns and stays empty: the emulator has no Service Broker, so
//! CREATE EVENT NOTIFICATION is not among its statements. The emulator keeps a trigger's
//! definition and events only: it never runs a trigger body when an event happens, so a
//! trigger that would roll back a CREATE LOGIN, or refuse a logon, has no effect here.

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::now_text;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.server_triggers" (
    name nvarchar(128), object_id int, parent_class tinyint, parent_class_desc nvarchar(60),
    parent_id int, type char(2), type_desc nvarchar(60), create_date datetime,
    modify_date datetime, is_ms_shipped bit, is_disabled bit
);
CREATE TABLE IF NOT EXISTS "sys.server_trigger_events" (
    object_id int, type int, type_desc nvarchar(60), is_trigger_event bit, event_group_type int,
    event_group_type_desc nvarchar(60), is_first bit, is_last bit
);
CREATE TABLE IF NOT EXISTS "sys.server_event_notifications" (
    name nvarchar(128), object_id int, parent_class tinyint, parent_class_desc nvarchar(60),
    parent_id int, create_date datetime, modify_date datetime, service_name nvarchar(256),
    broker_instance nvarchar(128), creator_sid varbinary(85), principal_id int
);
CREATE TABLE IF NOT EXISTS "sys.server_sql_modules" (
    object_id int, definition nvarchar(-1), uses_ansi_nulls bit, uses_quoted_identifier bit,
    execute_as_principal_id int
);
"#;

const TABLES: [&str; 3] = [
    "sys.server_triggers",
    "sys.server_trigger_events",
    "sys.server_sql_modules",
];

/// One row of `sys.server_trigger_events`: the event's type number (None where Microsoft's
/// event list gives none: LOGON), its name, and the group the trigger named, if it named one.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerEvent {
    pub event_type: Option<i64>,
    pub name: &'static str,
    pub group: Option<(i64, &'static str)>,
}

/// What CREATE TRIGGER … ON ALL SERVER stores.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTrigger {
    pub name: String,
    pub events: Vec<TriggerEvent>,
    /// The whole batch, as sent: the module's text as `sys.server_sql_modules` shows it;
    /// None for WITH ENCRYPTION.
    pub definition: Option<String>,
    /// EXECUTE AS: None for CALLER (the default), else the login's principal id.
    pub execute_as: Option<i64>,
}

impl Instance {
    fn server_trigger_id(&self, name: &str) -> Option<i64> {
        self.conn
            .query_row(
                r#"SELECT object_id FROM "sys.server_triggers" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .ok()
    }

    /// Inside a transaction, the trigger tables are set aside for a rollback: SQL Server's
    /// catalog is transactional.
    fn note_trigger_write(&mut self) -> Result<(), ServerMessage> {
        if self.in_transaction() {
            for t in TABLES {
                self.before_write("main", t)?;
            }
        }
        Ok(())
    }

    pub fn create_server_trigger(&mut self, t: &ServerTrigger) -> Result<(), ServerMessage> {
        if self.server_trigger_id(&t.name).is_some() {
            // SQL Server error 2714 (severity 16).
            return Err(ServerMessage::error(
                2714,
                16,
                format!(
                    "There is already an object named '{}' in the database.",
                    t.name
                ),
            ));
        }
        self.note_trigger_write()?;
        // Object ids of server triggers are the emulator's own counter; SQL Server's are
        // arbitrary positive numbers too.
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(object_id), 1000000000) + 1 FROM "sys.server_triggers""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        let now = now_text();
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_triggers" VALUES (?1, ?2, 100, 'SERVER', 0, 'TR', 'SQL_TRIGGER', ?3, ?3, 0, 0)"#,
                rusqlite::params![t.name, id, now],
            )
            .map_err(sqlite_error)?;
        for e in &t.events {
            self.conn
                .execute(
                    r#"INSERT INTO "sys.server_trigger_events" VALUES (?1, ?2, ?3, 1, ?4, ?5, 0, 0)"#,
                    rusqlite::params![
                        id,
                        e.event_type,
                        e.name,
                        e.group.map(|g| g.0),
                        e.group.map(|g| g.1)
                    ],
                )
                .map_err(sqlite_error)?;
        }
        // The emulator does not track SET ANSI_NULLS / QUOTED_IDENTIFIER; both are ON for every
        // client driver's connection unless the client turns them off.
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_sql_modules" VALUES (?1, ?2, 1, 1, ?3)"#,
                rusqlite::params![id, t.definition, t.execute_as],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Every server trigger's name (ENABLE / DISABLE TRIGGER ALL ON ALL SERVER).
    pub fn server_trigger_names(&self) -> Result<Vec<String>, ServerMessage> {
        let mut stmt = self
            .conn
            .prepare(r#"SELECT name FROM "sys.server_triggers" ORDER BY object_id"#)
            .map_err(sqlite_error)?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .map_err(sqlite_error)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(sqlite_error)?;
        Ok(names)
    }

    /// ENABLE / DISABLE TRIGGER … ON ALL SERVER.
    pub fn set_server_trigger_disabled(
        &mut self,
        name: &str,
        disabled: bool,
    ) -> Result<(), ServerMessage> {
        if self.server_trigger_id(name).is_none() {
            // SQL Server error 1088 (severity 15 in the error list).
            return Err(ServerMessage::error(
                1088,
                15,
                format!(
                    "Cannot find the object \"{name}\" because it does not exist or you do not have permissions."
                ),
            ));
        }
        self.note_trigger_write()?;
        self.conn
            .execute(
                r#"UPDATE "sys.server_triggers" SET is_disabled = ?2, modify_date = ?3 WHERE name = ?1 COLLATE NOCASE"#,
                rusqlite::params![name, disabled, now_text()],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// DROP TRIGGER … ON ALL SERVER; `if_exists`: DROP TRIGGER IF EXISTS.
    pub fn drop_server_trigger(
        &mut self,
        name: &str,
        if_exists: bool,
    ) -> Result<(), ServerMessage> {
        let Some(id) = self.server_trigger_id(name) else {
            if if_exists {
                return Ok(());
            }
            // SQL Server error 3701 (severity 11).
            return Err(ServerMessage::error(
                3701,
                11,
                format!(
                    "Cannot drop the trigger '{name}', because it does not exist or you do not have permission."
                ),
            ));
        };
        self.note_trigger_write()?;
        for t in TABLES {
            self.conn
                .execute(&format!(r#"DELETE FROM "{t}" WHERE object_id = ?1"#), [id])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }
}
