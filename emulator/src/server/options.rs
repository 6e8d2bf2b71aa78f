//! How a server is started, and what it records of each statement.

use std::collections::HashMap;
use std::time::SystemTime;

use crate::personality::Personality;

/// How the server treats TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS at all (PRELOGIN answers ENCRYPT_NOT_SUP). Only for tests of clients that refuse.
    Off,
    /// Like a server without "force encryption": a client that asks for encryption gets TLS for
    /// the whole connection; one that says "off" gets TLS for the login packet only.
    Optional,
    /// Like "force encryption": TLS for the whole connection, wrapped in PRELOGIN (TDS 7.4).
    Required,
    /// Like "force strict encryption": TDS 8.0 only — TLS before PRELOGIN.
    Strict,
}

/// One statement as received, for tests and the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecord {
    pub spid: u16,
    pub user: String,
    pub at: SystemTime,
    pub text: String,
}

/// How to start a server.
#[derive(Clone)]
pub struct ServerOptions {
    pub personality: Personality,
    pub tls: TlsMode,
    /// SQL logins: name → password. Created at the first start; at later starts on the same
    /// data directory a login whose password differs is given this one.
    pub logins: HashMap<String, String>,
    /// Entra access tokens the server accepts, with the login name each stands for.
    pub access_tokens: HashMap<String, String>,
    /// Send clients on to this host and port after login (the MI gateway redirect).
    pub redirect: Option<(String, u16)>,
    /// Where the instance lives: its catalog, system databases and database files. A server
    /// started again on the same directory comes back as it was.
    pub data_dir: std::path::PathBuf,
}

impl ServerOptions {
    /// A server as tests and rehearsals usually want one: TLS required, one `sa` login with
    /// `sa_password`, no tokens, no redirect.
    pub fn local(personality: Personality, data_dir: &std::path::Path, sa_password: &str) -> Self {
        ServerOptions {
            personality,
            tls: TlsMode::Required,
            logins: HashMap::from([("sa".to_owned(), sa_password.to_owned())]),
            access_tokens: HashMap::new(),
            redirect: None,
            data_dir: data_dir.to_owned(),
        }
    }
}
