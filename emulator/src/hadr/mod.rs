//! Always On as the MI link uses it: the DATABASE_MIRRORING endpoint, availability groups and
//! distributed availability groups, their catalog views and DMVs, the Managed Instance's
//! endpoint certificate, and the emulated network between servers. The T-SQL surface lives in
//! `hadr::ddl*`; the link engine (hadr::link*, hadr::engine*) acts on the model through
//! [`crate::server::Server`]'s methods in `server_api`.

mod endpoint_cert;
pub mod errors;
pub mod fabric;
mod membership;
pub mod model;
pub mod network;
mod requests;
mod runtime;
pub mod schema;
mod server_api;
mod store;
mod string_functions;

pub use model::{
    AvailabilityGroup, AvailabilityMode, DatabaseRuntime, Endpoint, HadrRequest, Replica,
    ReplicaRole, ReplicaRuntime, SeedingRuntime,
};
pub use network::{Network, Unreachable};

pub mod ddl;
mod ddl_endpoint;
mod ddl_group;
mod endpoint_options;
mod group_checks;
pub mod procs;
pub mod statements;
pub mod tnc;

// The MI link engine: trust certificates, links, seeding and redo (hadr::link*,
// hadr::engine*), and the write workload.
mod engine;
mod engine_base;
mod engine_checks;
mod engine_dmv;
mod engine_requests;
mod engine_seed;
mod engine_sync;
pub mod link;
mod link_create;
mod link_errors;
mod link_roles;
mod link_state;
mod link_status;
mod link_store;
mod link_types;
pub mod workload;
