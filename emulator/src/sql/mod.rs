//! The T-SQL the emulator understands: statements without semicolons, IF … ELSE and BEGIN …
//! END, variables, expressions, transactions, RAISERROR and THROW, EXEC of text,
//! sp_executesql and sp_who, statements on tables (through SQLite), and the administrative
//! statements (databases, logins, credentials, BACKUP, RESTORE). Anything else gets the error
//! SQL Server gives for a statement it cannot resolve, naming what was not understood.

mod audit_ddl;
mod audit_groups;
mod audit_target;
pub mod backup;
mod batch;
mod call;
mod case_kind;
mod cast_binary;
mod certificate;
mod compat_levels;
pub(crate) mod convert;
mod convert_calls;
mod date_calls;
mod ddl_events;
mod divisor;
mod dmv_calls;
mod env;
mod event_session_options;
mod event_sessions;
mod expr;
mod facts_ddl;
mod facts_filetable;
mod facts_route;
mod file_change;
mod file_size;
mod functions;
mod hadr_procs;
mod hash_calls;
mod hash_functions;
mod linked_login_mask;
mod linked_servers;
mod logins;
mod maintenance;
mod objects_ddl;
mod offset_fetch;
mod outcome;
mod permissions;
mod plan;
mod principal_functions;
mod principal_statement;
mod principals;
mod proc_args;
mod procedures;
mod query_store_ddl;
mod raise;
mod resource_governor;
mod result_types;
pub mod rewrite;
mod scalar;
mod script;
pub mod security;
mod select_alias;
mod server_ddl;
mod server_facts;
mod session;
pub(crate) mod statistics;
mod system_procs;
mod table;
mod users;
mod variables;

pub use batch::execute_batch;
pub use outcome::Outcome;
pub use procedures::not_found;
pub use session::{SessionOptions, SessionView};
pub use variables::{Variable, Variables};
