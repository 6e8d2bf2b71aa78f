//! Server audit specifications: which action groups an audit records
//! ("CREATE SERVER AUDIT SPECIFICATION (Transact-SQL)" and its ALTER and DROP pages).

use super::audits::{exists, missing};
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::now_text;

const SPEC_TABLES: [&str; 2] = [
    "sys.server_audit_specifications",
    "sys.server_audit_specification_details",
];

/// An ALTER SERVER AUDIT SPECIFICATION.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecChange {
    /// FOR SERVER AUDIT: the audit it now belongs to.
    pub audit: Option<String>,
    pub add: Vec<String>,
    pub drop: Vec<String>,
    pub state: Option<bool>,
}

/// SQL Server error 33229 (severity 16).
fn requires_disabled() -> ServerMessage {
    ServerMessage::error(
        33229,
        16,
        "Changes to an audit specification must be done while the audit specification is disabled.",
    )
}

impl Instance {
    fn audit_spec(&self, name: &str) -> Option<(i64, bool)> {
        self.conn
            .query_row(
                r#"SELECT server_specification_id, is_state_enabled FROM "sys.server_audit_specifications" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
    }

    /// The GUID of audit `audit`, which must exist (33073) and have no specification yet
    /// (33230), both severity 16.
    fn audit_for_spec(&self, audit: &str, except: Option<i64>) -> Result<String, ServerMessage> {
        let (_, guid, _) = self.server_audit(audit).ok_or_else(|| {
            ServerMessage::error(
                33073,
                16,
                format!("Cannot find audit '{audit}' or you do not have the required permissions."),
            )
        })?;
        let taken: Option<i64> = self
            .conn
            .query_row(
                r#"SELECT server_specification_id FROM "sys.server_audit_specifications" WHERE audit_guid = ?1"#,
                [&guid],
                |r| r.get(0),
            )
            .ok();
        if taken.is_some() && taken != except {
            return Err(ServerMessage::error(
                33230,
                16,
                format!("An audit specification for audit '{audit}' already exists."),
            ));
        }
        Ok(guid)
    }

    fn add_spec_groups(&mut self, id: i64, groups: &[String]) -> Result<(), ServerMessage> {
        for g in groups {
            self.conn
                .execute(
                    r#"DELETE FROM "sys.server_audit_specification_details" WHERE server_specification_id = ?1 AND audit_action_name = ?2"#,
                    rusqlite::params![id, g],
                )
                .map_err(sqlite_error)?;
            // audit_action_id is the action's id in sys.dm_audit_actions, which the emulator does
            // not have: NULL. class/class_desc are "Reserved" on the page; a server
            // specification's actions are at server scope (class 100, SERVER).
            self.conn
                .execute(
                    r#"INSERT INTO "sys.server_audit_specification_details" VALUES (?1, NULL, ?2, 100, 'SERVER', 0, 0, 0, 'SUCCESS AND FAILURE', 1)"#,
                    rusqlite::params![id, g],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// CREATE SERVER AUDIT SPECIFICATION.
    pub fn create_audit_spec(
        &mut self,
        name: &str,
        audit: &str,
        groups: &[String],
        on: bool,
    ) -> Result<(), ServerMessage> {
        if self.audit_spec(name).is_some() {
            return Err(exists("server audit specification", name));
        }
        let guid = self.audit_for_spec(audit, None)?;
        self.note_audit_write(&SPEC_TABLES)?;
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(server_specification_id), 65535) + 1 FROM "sys.server_audit_specifications""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_audit_specifications" VALUES (?1, ?2, ?3, ?3, ?4, ?5)"#,
                rusqlite::params![id, name, now_text(), guid, on],
            )
            .map_err(sqlite_error)?;
        self.add_spec_groups(id, groups)
    }

    /// ALTER SERVER AUDIT SPECIFICATION: anything but STATE only while it is off (33229).
    pub fn alter_audit_spec(&mut self, name: &str, c: &SpecChange) -> Result<(), ServerMessage> {
        let (id, on) = self
            .audit_spec(name)
            .ok_or_else(|| missing("alter", "server audit specification", name))?;
        let changes = c.audit.is_some() || !c.add.is_empty() || !c.drop.is_empty();
        if changes && on && c.state != Some(false) {
            return Err(requires_disabled());
        }
        let guid = c
            .audit
            .as_deref()
            .map(|a| self.audit_for_spec(a, Some(id)))
            .transpose()?;
        self.note_audit_write(&SPEC_TABLES)?;
        let now = now_text();
        if let Some(g) = guid {
            self.conn
                .execute(
                    r#"UPDATE "sys.server_audit_specifications" SET audit_guid = ?2 WHERE server_specification_id = ?1"#,
                    rusqlite::params![id, g],
                )
                .map_err(sqlite_error)?;
        }
        self.add_spec_groups(id, &c.add)?;
        for g in &c.drop {
            self.conn
                .execute(
                    r#"DELETE FROM "sys.server_audit_specification_details" WHERE server_specification_id = ?1 AND audit_action_name = ?2"#,
                    rusqlite::params![id, g],
                )
                .map_err(sqlite_error)?;
        }
        self.conn
            .execute(
                r#"UPDATE "sys.server_audit_specifications" SET modify_date = ?2, is_state_enabled = COALESCE(?3, is_state_enabled) WHERE server_specification_id = ?1"#,
                rusqlite::params![id, now, c.state],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// DROP SERVER AUDIT SPECIFICATION: while it is off, as every other change (the page
    /// does not say; the stricter reading).
    pub fn drop_audit_spec(&mut self, name: &str) -> Result<(), ServerMessage> {
        let (id, on) = self
            .audit_spec(name)
            .ok_or_else(|| missing("drop", "server audit specification", name))?;
        if on {
            return Err(requires_disabled());
        }
        self.note_audit_write(&SPEC_TABLES)?;
        for t in SPEC_TABLES {
            self.conn
                .execute(
                    &format!(r#"DELETE FROM "{t}" WHERE server_specification_id = ?1"#),
                    [id],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }
}
