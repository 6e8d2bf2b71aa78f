//! The control API over HTTP (JSON on loopback), for rehearsals and for tests in languages
//! other than Rust: one router per emulated server ([`router`]), one for the ARM front end
//! ([`arm_router`]), one for its Database Migration Service ([`dms_router`]) and one for the
//! blob fault proxy ([`blob_router`]). `serve` nests them
//! under `/source`, `/target`, `/arm` and `/blob`.

mod arm;
mod blob;
mod dms;
mod entra;
mod link;
mod network;
mod reply;
mod resources;
mod server;
mod tables;

pub use arm::arm_router;
pub use blob::blob_router;
pub use dms::dms_router;
pub use link::{link_router, workload_router};
pub use network::network_router;
pub use server::router;
