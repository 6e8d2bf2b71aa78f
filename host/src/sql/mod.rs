//! The T-SQL backend behind the `tsql` capability: one pool of tiberius connections per SQL
//! label, capped by a semaphore, following the MI redirect once and reconnecting after a
//! dropped connection. The plugin sends text and parameters; credentials, TLS and retries are
//! the host's.

mod operation;
mod params;
mod values;

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::bindings::ferry::plugin::tsql::{QueryLimits, QueryResult};
use crate::bindings::types::PluginError;
use crate::bindings::{failed_with, transient};
use crate::config::{Environment, SqlLabel, TlsMode};
use crate::redact::Redactor;

pub use params::{BoundParam, Prepared};

type Conn = Client<Compat<TcpStream>>;

/// Connections opened at once through one label unless `max_connections` says otherwise: a
/// migration runs a handful of statements per database in flight; eight keeps a busy wave from
/// exhausting a server's worker threads.
const DEFAULT_MAX_CONNECTIONS: u32 = 8;
/// Host ceilings on what one query may return, whatever the plugin asks for.
pub const MAX_ROWS: u32 = 1_000_000;
pub const MAX_BYTES: u32 = 64 << 20;
/// How often an idempotent statement is retried after a dropped connection, and the first pause.
const RETRIES: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(200);

/// Every SQL label's pool, built from environment.toml.
#[derive(Default)]
pub struct SqlPools {
    pools: BTreeMap<String, Arc<Pool>>,
}

impl SqlPools {
    pub fn new(env: &Environment, redactor: &Redactor) -> SqlPools {
        let pools = env
            .sql
            .iter()
            .map(|(label, cfg)| {
                let max = cfg
                    .max_connections
                    .unwrap_or(DEFAULT_MAX_CONNECTIONS)
                    .max(1);
                let pool = Pool {
                    label: label.clone(),
                    config: cfg.clone(),
                    trust_ca: cfg
                        .trust_ca_file
                        .as_deref()
                        .map(crate::config::read_trust_ca),
                    redactor: redactor.clone(),
                    idle: Mutex::default(),
                    permits: Arc::new(Semaphore::new(max as usize)),
                    entra: cfg.entra.map(|source| {
                        crate::entra::EntraToken::new(
                            source,
                            cfg.entra_client_id.as_deref(),
                            crate::entra::SQL_SCOPE,
                            redactor,
                        )
                    }),
                };
                (label.clone(), Arc::new(pool))
            })
            .collect();
        SqlPools { pools }
    }

    pub fn get(&self, label: &str) -> Option<Arc<Pool>> {
        self.pools.get(label).cloned()
    }
}

/// One label's connections.
pub struct Pool {
    label: String,
    config: SqlLabel,
    /// The certificates of the label's `trust_ca_file`, read once (the environment check read
    /// them too), or why they cannot be used: a config error, never retried.
    trust_ca: Option<Result<Vec<rustls::pki_types::CertificateDer<'static>>, String>>,
    redactor: Redactor,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    /// The label's Entra token source, when it signs in with `entra`; or why it cannot.
    entra: Option<Result<crate::entra::EntraToken, String>>,
}

/// Server errors a retry can outlive: failovers, throttling, deadlocks, a database not yet
/// available. The baseline list of Microsoft.Data.SqlClient's retry logic
/// (`SqlConfigurableRetryFactory.BaselineTransientErrors`, learn.microsoft.com), which covers
/// the Azure SQL transient errors of "Troubleshoot transient connection errors" (40197, 40501,
/// 40613, 49918–49920…).
const TRANSIENT_SERVER_ERRORS: &[u32] = &[
    233, 997, 1204, 1205, 1222, 4060, 4221, 10053, 10054, 10060, 10928, 10929, 40143, 40197, 40501,
    40540, 40613, 49918, 49919, 49920,
];

/// A connection failure or a transient server error is worth retrying; any other server error
/// is not (it would fail again).
fn classify(label: &str, e: tiberius::error::Error) -> (PluginError, bool) {
    match e {
        tiberius::error::Error::Server(t) if TRANSIENT_SERVER_ERRORS.contains(&t.code()) => (
            PluginError::Transient(crate::bindings::types::Failure {
                message: format!(
                    "sql label `{label}`: {} (error {}, transient)",
                    t.message(),
                    t.code()
                ),
                code: Some(t.code() as i32),
            }),
            true,
        ),
        tiberius::error::Error::Server(t) => (
            failed_with(t.message().to_owned(), Some(t.code() as i32)),
            false,
        ),
        tiberius::error::Error::Io { .. } | tiberius::error::Error::Tls(_) => (
            transient(format!("sql label `{label}`: connection lost: {e}")),
            true,
        ),
        other => (
            failed_with(format!("sql label `{label}`: {other}"), None),
            false,
        ),
    }
}

impl Pool {
    fn secret(&self, r: &Option<crate::config::SecretRef>) -> Result<Option<String>, PluginError> {
        match r {
            None => Ok(None),
            Some(r) => {
                let v = r
                    .resolve()
                    .map_err(|e| failed_with(format!("sql label `{}`: {e}", self.label), None))?;
                self.redactor.register(&v);
                Ok(Some(v))
            }
        }
    }

    async fn tiberius_config(&self) -> Result<Config, PluginError> {
        let c = &self.config;
        let mut config = match &c.connection_string {
            Some(cs) => Config::from_ado_string(cs).map_err(|e| {
                failed_with(
                    format!("sql label `{}`: connection string: {e}", self.label),
                    None,
                )
            })?,
            None => Config::new(),
        };
        if let Some(server) = &c.server {
            config.host(server);
        }
        if let Some(port) = c.port {
            config.port(port);
        }
        if let Some(db) = &c.database {
            config.database(db);
        }
        config.encryption(match c.tls {
            TlsMode::Strict => EncryptionLevel::Strict,
            TlsMode::Required => EncryptionLevel::Required,
            TlsMode::Off => EncryptionLevel::NotSupported,
        });
        if let Some(ca) = &self.trust_ca {
            let certs = ca
                .as_ref()
                .map_err(|e| failed_with(format!("sql label `{}`: {e}", self.label), None))?;
            for cert in certs {
                config.trust_cert_ca_bundle(cert.as_ref());
            }
        }
        let password = self.secret(&c.password)?;
        let mut token = self.secret(&c.access_token)?;
        if let Some(entra) = &self.entra {
            let fetched = match entra {
                Ok(e) => e.get().await,
                Err(e) => Err(e.clone()),
            };
            // A token that cannot be fetched now may be fetchable after `az login` or once
            // the identity endpoint answers, so the item can be retried.
            token =
                Some(fetched.map_err(|e| transient(format!("sql label `{}`: {e}", self.label)))?);
        }
        match (token, &c.user, password) {
            (Some(t), _, _) => config.authentication(AuthMethod::aad_token(t)),
            (None, Some(u), Some(p)) => config.authentication(AuthMethod::sql_server(u, p)),
            (None, Some(_), None) => {
                return Err(failed_with(
                    format!("sql label `{}` has a user but no `password`", self.label),
                    None,
                ));
            }
            (None, None, _) => {
                return Err(failed_with(
                    format!(
                        "sql label `{}` needs `user` and `password`, `access_token` or `entra`",
                        self.label
                    ),
                    None,
                ));
            }
        }
        config.application_name("ferry");
        Ok(config)
    }

    /// A new connection for statements, with tiberius's per-round-trip command timeout.
    async fn connect(&self) -> Result<Conn, PluginError> {
        self.connect_with(self.tiberius_config().await?).await
    }

    /// A connection for a host operation: without the command timeout, since a RESTORE is
    /// silent for its whole length (tds.md gotcha 1).
    async fn connect_for_operation(&self) -> Result<Conn, PluginError> {
        let mut config = self.tiberius_config().await?;
        config.command_timeout(None);
        self.connect_with(config).await
    }

    /// Connects with `config`, following one MI redirect (tds.md: at most one hop).
    async fn connect_with(&self, mut config: Config) -> Result<Conn, PluginError> {
        for hop in 0..2 {
            let addr = config.get_addr();
            let tcp = TcpStream::connect(&addr).await.map_err(|e| {
                transient(format!(
                    "sql label `{}`: cannot reach {addr}: {e}",
                    self.label
                ))
            })?;
            tcp.set_nodelay(true).ok();
            match Client::connect(config.clone(), tcp.compat_write()).await {
                Ok(c) => return Ok(c),
                Err(tiberius::error::Error::Routing { host, port }) if hop == 0 => {
                    tracing::debug!(label = %self.label, %host, port, "following the server's redirect");
                    config.host(&host);
                    config.port(port);
                }
                Err(e) => return Err(classify(&self.label, e).0),
            }
        }
        Err(failed_with(
            format!("sql label `{}`: the server redirected twice", self.label),
            None,
        ))
    }

    async fn checkout(&self) -> Result<(OwnedSemaphorePermit, Conn), PluginError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| failed_with("the connection pool is closed", None))?;
        let idle = self.idle.lock().pop();
        let conn = match idle {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok((permit, conn))
    }

    fn checkin(&self, conn: Conn) {
        self.idle.lock().push(conn);
    }

    /// Runs a query within the limits; rows past them are read and dropped so the connection
    /// stays in step, and the result says it was truncated.
    pub async fn query(
        &self,
        p: &Prepared,
        limits: QueryLimits,
        idempotent: bool,
    ) -> Result<QueryResult, PluginError> {
        let limits = QueryLimits {
            max_rows: limits.max_rows.min(MAX_ROWS),
            max_bytes: limits.max_bytes.min(MAX_BYTES),
        };
        self.with_retry(p, idempotent, |conn, p| {
            Box::pin(async move { values::collect(conn, p, limits).await })
        })
        .await
    }

    /// Runs a statement; returns rows affected.
    pub async fn execute(&self, p: &Prepared, idempotent: bool) -> Result<u64, PluginError> {
        self.with_retry(p, idempotent, |conn, p| {
            Box::pin(async move {
                let r = p.query().execute(conn).await?;
                Ok(r.total())
            })
        })
        .await
    }

    async fn with_retry<T>(
        &self,
        p: &Prepared,
        idempotent: bool,
        run: impl for<'a> Fn(
            &'a mut Conn,
            &'a Prepared,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, tiberius::error::Error>> + Send + 'a>,
        >,
    ) -> Result<T, PluginError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (_permit, mut conn) = self.checkout().await?;
            let t = Instant::now();
            let result = run(&mut conn, p).await;
            tracing::debug!(label = %self.label, ms = t.elapsed().as_millis() as u64, statement = %p.for_log(), "tsql");
            match result {
                Ok(v) => {
                    self.checkin(conn);
                    return Ok(v);
                }
                Err(e) => {
                    let (err, retryable) = classify(&self.label, e);
                    // A connection that failed is dropped, never reused.
                    if !retryable {
                        self.checkin(conn);
                    }
                    if retryable && idempotent && attempt <= RETRIES {
                        tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }
}
