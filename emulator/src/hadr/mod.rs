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
