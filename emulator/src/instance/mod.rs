//! The instance's data: one SQLite file per user database, all attached to one connection so a
//! statement can join across databases as T-SQL's three-part names allow. A table
//! `[db].[schema].[name]` lives in the file of `db` as the SQLite table `"schema.name"`, with the
//! T-SQL column types kept as SQLite declared types so results come back typed exactly.
//! Server-level catalog views (`sys.databases`, …) live in the connection's `main` schema.

mod audit_specs;
mod audits;
mod backup_devices;
mod backup_rows;
mod backups;
mod catalog;
mod certificates;
mod change_log;
mod checksum;
mod config_options;
mod convert_fn;
mod database_names;
mod database_options;
mod databases;
mod db_users;
mod division;
mod effective_permissions;
mod entra;
mod event_sessions;
mod link_replica;
mod linked_servers;
mod login_access;
mod login_changes;
pub(crate) mod master_key;
mod mi_restore;
mod msdb_agent;
mod msdb_mail;
mod objects;
mod operations;
mod permissions;
mod principal_basics;
mod principal_setup;
mod principals;
mod query;
mod query_hash;
mod query_stats;
mod query_store;
mod query_store_record;
mod query_store_schema;
mod query_workload;
mod read_views;
mod resource_dmvs;
mod resource_governor;
mod resource_model;
mod resource_views;
mod restores;
mod security;
mod server_objects;
mod server_roles;
mod server_triggers;
mod session_state;
mod sessions;
mod state;
mod system_objects;
mod tde;
mod transactions;
mod undo;
mod wait_types;
mod windows_groups;
mod workload_groups;

pub use audit_specs::SpecChange;
pub use audits::{AuditChange, AuditTarget, ServerAudit};
pub(crate) use backup_devices::{blob_error, os_error};
pub use backups::Report;
pub(crate) use certificates::function_error as certificate_function_error;
pub use certificates::{CertificateStatement, PrivateKeyBinary, TdeCertificate, TdeUploadError};
pub use change_log::DB_MARKER;
pub use db_users::{UserChange, UserSource};
pub use entra::{DEFAULT_GROUPS, DEFAULT_USERS};
pub use event_sessions::{EventSession, FieldValue, XeEvent, XeOptions, XeTarget, missing_session};
pub use link_replica::SeedingImage;
pub use linked_servers::{LinkedServer, ServerOption, no_such_server};
pub use operations::{OperationProgress, OperationStart};
pub use permissions::{Action, PermissionChange, Securable, is_server_permission};
pub use principals::{LoginKind, LoginOptions, Password};
pub(crate) use query::sqlite_error;
pub use query_store::{
    CaptureMode, QUERY_STORE_VIEWS, StoreChange, StoreOptions, StoreState, query_store_available,
};
pub use query_workload::{QueryWorkload, WorkloadQuery, WorkloadReport};
pub use resource_dmvs::RESOURCE_DMVS;
pub use resource_governor::PoolOptions;
pub use resource_model::{ResourceChange, Resources};
pub use resource_views::COMPUTED_VIEWS;
pub use security::password_hash;
pub(crate) use security::{guid_text, unique_bytes};
pub use server_objects::SERVER_OBJECT_VIEWS;
pub use server_roles::RoleChange;
pub use server_triggers::{ServerTrigger, TriggerEvent};
pub use session_state::{Descriptor, SessionInfo};
pub use state::{DatabaseInfo, Instance, Recovery};
pub use workload_groups::GroupOptions;
