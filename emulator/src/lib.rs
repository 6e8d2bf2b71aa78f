//! # ferry-emulator
//!
//! A stand-in for SQL Server and Azure SQL Managed Instance that speaks real TDS on loopback, so
//! ferry's plugins, CLI and failure paths are tested for real, and users can rehearse a
//! migration without Azure. Every emulated behaviour cites the documented behaviour it imitates;
//! where it guesses, the code says so.
//!
//! This is the first slice: the protocol (PRELOGIN, LOGIN7 with SQL and Entra-token logins, TLS
//! in TDS 7.4 wrapped, login-only and TDS 8.0 strict modes, packet splitting, attention, the MI
//! redirect), the two personalities, and the statements a client sends before touching data.
//! Data, catalog views, backups, restores, the virtual clock and the control API come next.

pub mod arm;
pub mod azurite;
pub mod backup;
pub mod blob;
pub mod blob_proxy;
pub mod control;
pub mod control_http;
pub mod hadr;
pub mod instance;
pub mod lrs;
pub mod personality;
pub mod protocol;
pub mod seed;
pub mod seed_assess;
pub mod server;
pub mod sql;
pub mod statement;
pub mod syntax;

pub use control::{Fault, FaultAction, FaultPoint, FaultRule};
pub use personality::{Edition, Personality, Release};
pub use protocol::tls::ServerTls;
pub use server::{Server, ServerOptions, StatementRecord, TlsMode};
