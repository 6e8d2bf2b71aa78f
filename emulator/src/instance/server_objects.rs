//! The server-level objects a migration carries besides logins: linked servers, server DDL
//! triggers and server audits. Their catalog tables are created in every instance directory,
//! new or reopened (the tables are added with IF NOT EXISTS, so a directory written before
//! they existed gains them without a new catalog layout).

use rusqlite::Connection;

/// Their catalog views, in the connection's `main` schema.
pub const SERVER_OBJECT_VIEWS: &[&str] = &[
    "servers",
    "linked_logins",
    "server_triggers",
    "server_trigger_events",
    "server_sql_modules",
    "server_event_notifications",
    "server_audits",
    "server_file_audits",
    "server_audit_specifications",
    "server_audit_specification_details",
    "server_event_sessions",
    "server_event_session_events",
    "server_event_session_actions",
    "server_event_session_targets",
    "server_event_session_fields",
    "dm_xe_sessions",
    "resource_governor_configuration",
    "resource_governor_resource_pools",
    "resource_governor_workload_groups",
];

pub(super) fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(super::linked_servers::SCHEMA)?;
    conn.execute_batch(super::server_triggers::SCHEMA)?;
    conn.execute_batch(super::audits::SCHEMA)?;
    conn.execute_batch(super::event_sessions::SCHEMA)?;
    conn.execute_batch(super::resource_governor::SCHEMA)
}
