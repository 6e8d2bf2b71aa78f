//! The TDS protocol, server side: packets, PRELOGIN, LOGIN7, TLS wrapping and response tokens.
//! Nothing here knows SQL. Facts follow MS-TDS and `shared/reference/tds.md` §3.

pub mod headers;
pub mod login7;
pub mod login_phase;
pub mod packet;
pub mod prelogin;
pub mod rpc;
pub mod tls;
pub mod tokens;
pub mod transaction_manager;
pub mod types;

/// Why a connection was closed: the peer broke the protocol. Logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{0}")]
    Malformed(String),
    #[error("connection closed by the client")]
    Closed,
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) fn malformed(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed(msg.into())
}
