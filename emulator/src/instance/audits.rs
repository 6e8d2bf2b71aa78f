//! Server audits and server audit specifications: `sys.server_audits`,
//! `sys.server_file_audits`, `sys.server_audit_specifications` and
//! `sys.server_audit_specification_details` (their "(Transact-SQL)" pages). The emulator keeps
//! the definitions; it writes no audit records.

use super::{Instance, guid_text, sqlite_error, unique_bytes};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::now_text;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.server_audits" (
    audit_id int, name nvarchar(128), audit_guid uniqueidentifier, create_date datetime,
    modify_date datetime, principal_id int, type char(2), type_desc nvarchar(60),
    on_failure tinyint, on_failure_desc nvarchar(60), is_state_enabled tinyint, queue_delay int,
    predicate nvarchar(3000)
);
CREATE TABLE IF NOT EXISTS "sys.server_file_audits" (
    audit_id int, name nvarchar(128), audit_guid uniqueidentifier, create_date datetime,
    modify_date datetime, principal_id int, type char(2), type_desc nvarchar(60),
    on_failure tinyint, on_failure_desc nvarchar(60), is_state_enabled tinyint, queue_delay int,
    predicate nvarchar(3000), max_file_size bigint, max_rollover_files int, max_files int,
    reserved_disk_space int, log_file_path nvarchar(260), log_file_name nvarchar(260)
);
CREATE TABLE IF NOT EXISTS "sys.server_audit_specifications" (
    server_specification_id int, name nvarchar(128), create_date datetime, modify_date datetime,
    audit_guid uniqueidentifier, is_state_enabled bit
);
CREATE TABLE IF NOT EXISTS "sys.server_audit_specification_details" (
    server_specification_id int, audit_action_id int, audit_action_name nvarchar(128),
    class tinyint, class_desc nvarchar(60), major_id int, minor_id int,
    audited_principal_id int, audited_result nvarchar(60), is_group bit
);
"#;

const AUDIT_TABLES: [&str; 2] = ["sys.server_audits", "sys.server_file_audits"];

/// Where an audit writes.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditTarget {
    File {
        path: String,
        /// MB; 0 = UNLIMITED.
        max_size_mb: i64,
        max_rollover_files: i64,
        max_files: i64,
        reserve_disk_space: bool,
    },
    ApplicationLog,
    SecurityLog,
    Url {
        path: String,
    },
    ExternalMonitor,
}

impl AuditTarget {
    /// `type` and `type_desc`. The page lists SL, AL and FL; URL and EXTERNAL_MONITOR, the
    /// Managed Instance's targets, are named here as the page names the others (a guess).
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            AuditTarget::File { .. } => ("FL", "FILE"),
            AuditTarget::ApplicationLog => ("AL", "APPLICATION LOG"),
            AuditTarget::SecurityLog => ("SL", "SECURITY LOG"),
            AuditTarget::Url { .. } => ("UL", "URL"),
            AuditTarget::ExternalMonitor => ("EM", "EXTERNAL_MONITOR"),
        }
    }
}

/// CREATE SERVER AUDIT.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerAudit {
    pub name: String,
    pub target: AuditTarget,
    pub queue_delay: i64,
    /// 0 CONTINUE, 1 SHUTDOWN, 2 FAIL_OPERATION.
    pub on_failure: u8,
    pub guid: Option<String>,
    pub predicate: Option<String>,
}

/// What an ALTER SERVER AUDIT changes besides its state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditChange {
    pub target: Option<AuditTarget>,
    pub queue_delay: Option<i64>,
    pub on_failure: Option<u8>,
    /// Some(None): REMOVE WHERE.
    pub predicate: Option<Option<String>>,
    pub new_name: Option<String>,
}

fn on_failure_desc(v: u8) -> &'static str {
    match v {
        1 => "SHUTDOWN SERVER INSTANCE",
        2 => "FAIL_OPERATION",
        _ => "CONTINUE",
    }
}

/// SQL Server error 15151 (severity 16) for a missing audit or specification.
pub(super) fn missing(verb: &str, what: &str, name: &str) -> ServerMessage {
    ServerMessage::error(
        15151,
        16,
        format!(
            "Cannot {verb} the {what} '{name}', because it does not exist or you do not have permission."
        ),
    )
}

/// SQL Server error 15530 (severity 16), "The %S_MSG with name "%.*ls" already exists."; the
/// object word it fills in is the emulator's reading.
pub(super) fn exists(what: &str, name: &str) -> ServerMessage {
    ServerMessage::error(
        15530,
        16,
        format!("The {what} with name \"{name}\" already exists."),
    )
}

impl Instance {
    pub(super) fn note_audit_write(&mut self, tables: &[&str]) -> Result<(), ServerMessage> {
        // "The CREATE SERVER AUDIT statement is in a transaction's scope."
        if self.in_transaction() {
            for t in tables {
                self.before_write("main", t)?;
            }
        }
        Ok(())
    }

    fn one_value<T: rusqlite::types::FromSql>(&self, sql: &str, name: &str) -> Option<T> {
        self.conn.query_row(sql, [name], |r| r.get(0)).ok()
    }

    /// An audit's id, GUID and whether it is on.
    pub fn server_audit(&self, name: &str) -> Option<(i64, String, bool)> {
        self.conn
            .query_row(
                r#"SELECT audit_id, audit_guid, is_state_enabled FROM "sys.server_audits" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0)),
            )
            .ok()
    }

    /// The URL a TO URL audit writes to.
    pub fn server_audit_url(&self, name: &str) -> Option<String> {
        self.one_value(
            r#"SELECT log_file_path FROM "sys.server_file_audits" WHERE type = 'UL' AND name = ?1 COLLATE NOCASE"#,
            name,
        )
    }

    pub fn create_server_audit(&mut self, a: &ServerAudit) -> Result<(), ServerMessage> {
        if self.server_audit(&a.name).is_some() {
            return Err(exists("server audit", &a.name));
        }
        self.note_audit_write(&AUDIT_TABLES)?;
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(audit_id), 65535) + 1 FROM "sys.server_audits""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        let guid = a
            .guid
            .clone()
            .unwrap_or_else(|| guid_text(&unique_bytes(&a.name, 16)));
        let (ty, desc) = a.target.kind();
        let now = now_text();
        // "When a server audit is created, it is in a disabled state."
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_audits" VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5, ?6, ?7, ?8, 0, ?9, ?10)"#,
                rusqlite::params![
                    id,
                    a.name,
                    guid,
                    now,
                    ty,
                    desc,
                    a.on_failure,
                    on_failure_desc(a.on_failure),
                    a.queue_delay,
                    a.predicate
                ],
            )
            .map_err(sqlite_error)?;
        self.write_file_audit(id, &a.target)
    }

    /// The `sys.server_file_audits` row of a FILE audit (and of a URL one, whose container
    /// is its log path: a guess, the page describing file audits only), from its main row.
    fn write_file_audit(&mut self, id: i64, target: &AuditTarget) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"DELETE FROM "sys.server_file_audits" WHERE audit_id = ?1"#,
                [id],
            )
            .map_err(sqlite_error)?;
        let (size, rollover, files, reserve, path) = match target {
            AuditTarget::File {
                path,
                max_size_mb,
                max_rollover_files,
                max_files,
                reserve_disk_space,
            } => (
                *max_size_mb,
                *max_rollover_files,
                *max_files,
                i64::from(*reserve_disk_space),
                path.clone(),
            ),
            AuditTarget::Url { path } => (0, 0, 0, 0, path.clone()),
            _ => return Ok(()),
        };
        // "The file name is generated based on the audit name and audit GUID" (CREATE SERVER
        // AUDIT, FILEPATH).
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_file_audits" SELECT audit_id, name, audit_guid, create_date,
                   modify_date, principal_id, type, type_desc, on_failure, on_failure_desc,
                   is_state_enabled, queue_delay, predicate, ?2, ?3, ?4, ?5, ?6,
                   name || '_' || audit_guid || '.sqlaudit' FROM "sys.server_audits" WHERE audit_id = ?1"#,
                rusqlite::params![id, size, rollover, files, reserve, path],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Copies the shared columns of an audit's main row to its file row, if it has one.
    fn sync_file_audit(&mut self, id: i64) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"UPDATE "sys.server_file_audits" SET (name, modify_date, type, type_desc, on_failure,
                   on_failure_desc, is_state_enabled, queue_delay, predicate) =
                   (SELECT name, modify_date, type, type_desc, on_failure, on_failure_desc,
                   is_state_enabled, queue_delay, predicate FROM "sys.server_audits" a
                   WHERE a.audit_id = "sys.server_file_audits".audit_id) WHERE audit_id = ?1"#,
                [id],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// ALTER SERVER AUDIT … WITH (STATE = ON | OFF).
    pub fn set_server_audit_state(&mut self, name: &str, on: bool) -> Result<(), ServerMessage> {
        let (id, _, _) = self
            .server_audit(name)
            .ok_or_else(|| missing("alter", "server audit", name))?;
        self.note_audit_write(&AUDIT_TABLES)?;
        self.conn
            .execute(
                r#"UPDATE "sys.server_audits" SET is_state_enabled = ?2, modify_date = ?3 WHERE audit_id = ?1"#,
                rusqlite::params![id, on, now_text()],
            )
            .map_err(sqlite_error)?;
        self.sync_file_audit(id)
    }

    /// ALTER SERVER AUDIT with anything but STATE: only while the audit is off (error 33071,
    /// severity 16; "You must set the State of an audit to the OFF option in order to make
    /// changes to an audit", ALTER SERVER AUDIT).
    pub fn alter_server_audit(&mut self, name: &str, c: &AuditChange) -> Result<(), ServerMessage> {
        let (id, _, on) = self
            .server_audit(name)
            .ok_or_else(|| missing("alter", "server audit", name))?;
        if on {
            return Err(requires_disabled());
        }
        if let Some(new) = &c.new_name
            && !new.eq_ignore_ascii_case(name)
            && self.server_audit(new).is_some()
        {
            return Err(exists("server audit", new));
        }
        self.note_audit_write(&AUDIT_TABLES)?;
        let now = now_text();
        let set = |column: &str, v: rusqlite::types::Value| {
            self.conn
                .execute(
                    &format!(r#"UPDATE "sys.server_audits" SET {column} = ?2, modify_date = ?3 WHERE audit_id = ?1"#),
                    rusqlite::params![id, v, now],
                )
                .map_err(sqlite_error)
        };
        use rusqlite::types::Value as V;
        if let Some(q) = c.queue_delay {
            set("queue_delay", V::Integer(q))?;
        }
        if let Some(f) = c.on_failure {
            set("on_failure", V::Integer(i64::from(f)))?;
            set("on_failure_desc", V::Text(on_failure_desc(f).into()))?;
        }
        if let Some(p) = &c.predicate {
            set("predicate", p.clone().map_or(V::Null, V::Text))?;
        }
        if let Some(n) = &c.new_name {
            set("name", V::Text(n.clone()))?;
        }
        if let Some(t) = &c.target {
            let (ty, desc) = t.kind();
            set("type", V::Text(ty.into()))?;
            set("type_desc", V::Text(desc.into()))?;
            self.write_file_audit(id, t)?;
        }
        self.sync_file_audit(id)
    }

    /// DROP SERVER AUDIT. The emulator asks for the audit to be off first, as for every other
    /// change (the page does not say; the stricter reading).
    pub fn drop_server_audit(&mut self, name: &str) -> Result<(), ServerMessage> {
        let (id, _, on) = self
            .server_audit(name)
            .ok_or_else(|| missing("drop", "server audit", name))?;
        if on {
            return Err(requires_disabled());
        }
        self.note_audit_write(&AUDIT_TABLES)?;
        for t in AUDIT_TABLES {
            self.conn
                .execute(&format!(r#"DELETE FROM "{t}" WHERE audit_id = ?1"#), [id])
                .map_err(sqlite_error)?;
        }
        Ok(())
    }
}

/// SQL Server error 33071 (severity 16).
fn requires_disabled() -> ServerMessage {
    ServerMessage::error(
        33071,
        16,
        "This command requires audit to be disabled. Disable the audit and rerun this command.",
    )
}
