//! Server-scoped extended event sessions: `sys.server_event_sessions`,
//! `sys.server_event_session_events`, `_actions`, `_targets` and `_fields` (their
//! "(Transact-SQL)" pages), and `sys.dm_xe_sessions` listing the running ones. The emulator
//! keeps the definitions; it collects no events.

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.server_event_sessions" (
    event_session_id int, name nvarchar(128), event_retention_mode nchar(1),
    event_retention_mode_desc nvarchar(60), max_dispatch_latency int, max_memory int,
    max_event_size int, memory_partition_mode nchar(1), memory_partition_mode_desc nvarchar(60),
    track_causality bit, startup_state bit
);
CREATE TABLE IF NOT EXISTS "sys.server_event_session_events" (
    event_session_id int, event_id int, name nvarchar(128), package nvarchar(128),
    module nvarchar(128), predicate nvarchar(3000), predicate_xml nvarchar(3000)
);
CREATE TABLE IF NOT EXISTS "sys.server_event_session_actions" (
    event_session_id int, event_id int, name nvarchar(128), package nvarchar(128),
    module nvarchar(128)
);
CREATE TABLE IF NOT EXISTS "sys.server_event_session_targets" (
    event_session_id int, target_id int, name nvarchar(128), package nvarchar(128),
    module nvarchar(128)
);
CREATE TABLE IF NOT EXISTS "sys.server_event_session_fields" (
    event_session_id int, object_id int, name nvarchar(128), value sql_variant
);
CREATE TABLE IF NOT EXISTS "sys.dm_xe_sessions" (
    address varbinary(8), name nvarchar(256), create_time datetime
);
"#;

const TABLES: [&str; 6] = [
    "sys.server_event_sessions",
    "sys.server_event_session_events",
    "sys.server_event_session_actions",
    "sys.server_event_session_targets",
    "sys.server_event_session_fields",
    "sys.dm_xe_sessions",
];

/// A `SET name = value` of an event or target; the value a string or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    Number(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct XeEvent {
    pub package: String,
    pub name: String,
    pub actions: Vec<(String, String)>,
    pub fields: Vec<(String, FieldValue)>,
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct XeTarget {
    pub package: String,
    pub name: String,
    pub fields: Vec<(String, FieldValue)>,
}

/// The session options, as `sys.server_event_sessions` stores them (KB, milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct XeOptions {
    /// S ALLOW_SINGLE_EVENT_LOSS, M ALLOW_MULTIPLE_EVENT_LOSS, N NO_EVENT_LOSS.
    pub retention: char,
    pub max_dispatch_latency: i64,
    pub max_memory: i64,
    pub max_event_size: i64,
    /// G NONE, P PER_NODE, C PER_CPU.
    pub partition: char,
    pub track_causality: bool,
    pub startup_state: bool,
}

impl Default for XeOptions {
    /// The defaults "CREATE EVENT SESSION (Transact-SQL)" gives: 4 MB, single event loss,
    /// 30 seconds, no partitioning, causality and startup off.
    fn default() -> Self {
        XeOptions {
            retention: 'S',
            max_dispatch_latency: 30_000,
            max_memory: 4096,
            max_event_size: 0,
            partition: 'G',
            track_causality: false,
            startup_state: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventSession {
    pub name: String,
    pub events: Vec<XeEvent>,
    pub targets: Vec<XeTarget>,
    pub options: XeOptions,
}

fn retention_desc(c: char) -> &'static str {
    match c {
        'M' => "ALLOW_MULTIPLE_EVENT_LOSS",
        'N' => "NO_EVENT_LOSS",
        _ => "ALLOW_SINGLE_EVENT_LOSS",
    }
}

fn partition_desc(c: char) -> &'static str {
    match c {
        'P' => "PER_NODE",
        'C' => "PER_CPU",
        _ => "NONE",
    }
}

/// SQL Server error 15151 (severity 16) for a session that is not there.
pub fn missing_session(verb: &str, name: &str) -> ServerMessage {
    ServerMessage::error(
        15151,
        16,
        format!(
            "Cannot {verb} the event session '{name}', because it does not exist or you do not have permission."
        ),
    )
}

impl Instance {
    /// A session's id, and whether it is running.
    pub fn event_session(&self, name: &str) -> Option<(i64, bool)> {
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT event_session_id FROM "sys.server_event_sessions" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .ok()?;
        let running = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.dm_xe_sessions" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |_| Ok(()),
            )
            .is_ok();
        Some((id, running))
    }

    fn note_xe_write(&mut self) -> Result<(), ServerMessage> {
        if self.in_transaction() {
            for t in TABLES {
                self.before_write("main", t)?;
            }
        }
        Ok(())
    }

    pub fn create_event_session(&mut self, s: &EventSession) -> Result<(), ServerMessage> {
        if self.event_session(&s.name).is_some() {
            // Message 25631: "The %S_MSG, "%.*ls", already exists. Choose a unique name for
            // the event session."
            return Err(ServerMessage::error(
                25631,
                16,
                format!(
                    "The event session, \"{}\", already exists. Choose a unique name for the event session.",
                    s.name
                ),
            ));
        }
        self.note_xe_write()?;
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(event_session_id), 65535) + 1 FROM "sys.server_event_sessions""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        let o = &s.options;
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_event_sessions" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"#,
                rusqlite::params![
                    id,
                    s.name,
                    o.retention.to_string(),
                    retention_desc(o.retention),
                    o.max_dispatch_latency,
                    o.max_memory,
                    o.max_event_size,
                    o.partition.to_string(),
                    partition_desc(o.partition),
                    o.track_causality,
                    o.startup_state
                ],
            )
            .map_err(sqlite_error)?;
        self.add_xe_objects(id, &s.events, &s.targets)
    }

    /// Events and targets share one numbering within the session (the pages call both
    /// "object_id" in `_fields`; the numbering itself is the emulator's).
    pub fn add_xe_objects(
        &mut self,
        id: i64,
        events: &[XeEvent],
        targets: &[XeTarget],
    ) -> Result<(), ServerMessage> {
        self.note_xe_write()?;
        let mut next: i64 = self
            .conn
            .query_row(
                r#"SELECT MAX(COALESCE((SELECT MAX(event_id) FROM "sys.server_event_session_events" WHERE event_session_id = ?1), 0),
                           COALESCE((SELECT MAX(target_id) FROM "sys.server_event_session_targets" WHERE event_session_id = ?1), 0)) + 1"#,
                [id],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        for e in events {
            self.conn
                .execute(
                    r#"INSERT INTO "sys.server_event_session_events" VALUES (?1, ?2, ?3, ?4, ?4, ?5, NULL)"#,
                    rusqlite::params![id, next, e.name, e.package, e.predicate],
                )
                .map_err(sqlite_error)?;
            for (p, a) in &e.actions {
                self.conn
                    .execute(
                        r#"INSERT INTO "sys.server_event_session_actions" VALUES (?1, ?2, ?3, ?4, ?4)"#,
                        rusqlite::params![id, next, a, p],
                    )
                    .map_err(sqlite_error)?;
            }
            self.write_fields(id, next, &e.fields)?;
            next += 1;
        }
        for t in targets {
            self.conn
                .execute(
                    r#"INSERT INTO "sys.server_event_session_targets" VALUES (?1, ?2, ?3, ?4, ?4)"#,
                    rusqlite::params![id, next, t.name, t.package],
                )
                .map_err(sqlite_error)?;
            self.write_fields(id, next, &t.fields)?;
            next += 1;
        }
        Ok(())
    }

    fn write_fields(
        &mut self,
        id: i64,
        object: i64,
        fields: &[(String, FieldValue)],
    ) -> Result<(), ServerMessage> {
        for (n, v) in fields {
            let value = match v {
                FieldValue::Text(t) => rusqlite::types::Value::Text(t.clone()),
                FieldValue::Number(x) => rusqlite::types::Value::Integer(*x),
            };
            self.conn
                .execute(
                    r#"INSERT INTO "sys.server_event_session_fields" VALUES (?1, ?2, ?3, ?4)"#,
                    rusqlite::params![id, object, n.to_ascii_lowercase(), value],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// DROP EVENT / DROP TARGET of an ALTER: the object named `package.name` of the kind,
    /// or message 25653 when the session does not hold it.
    pub fn drop_xe_object(
        &mut self,
        id: i64,
        target: bool,
        package: &str,
        name: &str,
    ) -> Result<(), ServerMessage> {
        let (table, col, word) = if target {
            ("sys.server_event_session_targets", "target_id", "target")
        } else {
            ("sys.server_event_session_events", "event_id", "event")
        };
        let object: Option<i64> = self
            .conn
            .query_row(
                &format!(
                    r#"SELECT {col} FROM "{table}" WHERE event_session_id = ?1 AND package = ?2 COLLATE NOCASE AND name = ?3 COLLATE NOCASE"#
                ),
                rusqlite::params![id, package, name],
                |r| r.get(0),
            )
            .ok();
        let Some(object) = object else {
            return Err(ServerMessage::error(
                25653,
                16,
                format!(
                    "The {word}, \"{package}.{name}\", does not exist in the event session. Object cannot be dropped from the event session."
                ),
            ));
        };
        self.note_xe_write()?;
        for (t, c) in [
            (table, col),
            ("sys.server_event_session_actions", "event_id"),
            ("sys.server_event_session_fields", "object_id"),
        ] {
            if target && t == "sys.server_event_session_actions" {
                continue;
            }
            self.conn
                .execute(
                    &format!(r#"DELETE FROM "{t}" WHERE event_session_id = ?1 AND {c} = ?2"#),
                    [id, object],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// STATE = START | STOP: messages 25705 / 25704 when already so.
    pub fn set_event_session_state(
        &mut self,
        name: &str,
        start: bool,
    ) -> Result<(), ServerMessage> {
        let (_, running) = self
            .event_session(name)
            .ok_or_else(|| missing_session("alter", name))?;
        match (start, running) {
            (true, true) => Err(ServerMessage::error(
                25705,
                16,
                "The event session has already been started.",
            )),
            (false, false) => Err(ServerMessage::error(
                25704,
                16,
                "The event session has already been stopped.",
            )),
            _ => {
                self.note_xe_write()?;
                let sql = if start {
                    r#"INSERT INTO "sys.dm_xe_sessions" VALUES (randomblob(8), ?1, datetime('now'))"#
                } else {
                    r#"DELETE FROM "sys.dm_xe_sessions" WHERE name = ?1 COLLATE NOCASE"#
                };
                let stored: String = self
                    .conn
                    .query_row(
                        r#"SELECT name FROM "sys.server_event_sessions" WHERE name = ?1 COLLATE NOCASE"#,
                        [name],
                        |r| r.get(0),
                    )
                    .map_err(sqlite_error)?;
                self.conn.execute(sql, [stored]).map_err(sqlite_error)?;
                Ok(())
            }
        }
    }

    /// DROP EVENT SESSION; a running session stops with it.
    pub fn drop_event_session(&mut self, name: &str) -> Result<(), ServerMessage> {
        let (id, _) = self
            .event_session(name)
            .ok_or_else(|| missing_session("drop", name))?;
        self.note_xe_write()?;
        for t in &TABLES[..5] {
            self.conn
                .execute(
                    &format!(r#"DELETE FROM "{t}" WHERE event_session_id = ?1"#),
                    [id],
                )
                .map_err(sqlite_error)?;
        }
        self.conn
            .execute(
                r#"DELETE FROM "sys.dm_xe_sessions" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
