//! The TDS server: a listener, one task per connection, the handshake in every TLS mode, login,
//! and the request loop. A connection that breaks the protocol is closed with a logged reason;
//! the listener and every other connection carry on. A server can be stopped and started
//! again on the same port and data directory, as a restarted SQL Server comes back.

mod handle;
mod handshake;
mod operations;
mod options;
mod query_workload;
mod requests;
mod session;
mod shared;
mod transaction_manager;

pub use handle::Server;
pub use options::{ServerOptions, StatementRecord, TlsMode};
