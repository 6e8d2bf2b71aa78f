//! The instance's data: one SQLite file per user database, all attached to one connection so a
//! statement can join across databases as T-SQL's three-part names allow. A table
//! `[db].[schema].[name]` lives in the file of `db` as the SQLite table `"schema.name"`, with the
//! T-SQL column types kept as SQLite declared types so results come back typed exactly.
//! Server-level catalog views (`sys.databases`, …) live in the connection's `main` schema.

mod backup_devices;
mod backup_rows;
mod backups;
mod catalog;
mod change_log;
mod checksum;
mod database_names;
mod database_options;
mod databases;
mod db_users;
mod division;
mod entra;
mod login_access;
mod login_changes;
mod mi_restore;
mod objects;
mod operations;
mod permissions;
mod principal_basics;
mod principal_setup;
mod principals;
mod query;
mod resource_views;
mod restores;
mod security;
mod server_roles;
mod session_state;
mod sessions;
mod state;
mod tde;
mod transactions;
mod undo;

pub(crate) use backup_devices::{blob_error, os_error};
pub use backups::Report;
pub use change_log::DB_MARKER;
pub use db_users::{UserChange, UserSource};
pub use entra::{DEFAULT_GROUPS, DEFAULT_USERS};
pub use operations::{OperationProgress, OperationStart};
pub use permissions::{Action, PermissionChange, Securable, is_server_permission};
pub use principals::{LoginKind, LoginOptions, Password};
pub(crate) use query::sqlite_error;
pub use resource_views::COMPUTED_VIEWS;
pub use security::password_hash;
pub(crate) use security::{guid_text, unique_bytes};
pub use server_roles::RoleChange;
pub use session_state::{Descriptor, SessionInfo};
pub use state::{DatabaseInfo, Instance, Recovery};
