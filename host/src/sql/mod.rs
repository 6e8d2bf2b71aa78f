//! The T-SQL backend behind the `tsql` capability: one pool of tiberius connections per SQL
//! label, capped by a semaphore, following the MI redirect once and reconnecting after a
//! dropped connection. The plugin sends text and parameters; credentials, TLS and retries are
//! the host's.

mod params;
mod values;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::bindings::ferry::plugin::tsql::{QueryLimits, QueryResult};
use crate::bindings::types::{Failure, PluginError};
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

fn report_error(reporter: &crate::operations::Reporter, e: PluginError) {
    match e {
        PluginError::Failed(f) | PluginError::Transient(f) => reporter.failed(f.message, f.code),
        other => reporter.failed(format!("{other:?}"), None),
    }
}

/// How often a running operation's progress is read: often enough for a live view, rare enough
/// to cost the server nothing.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Reads `percent_complete` of the operation's session until it ends.
async fn poll_progress(pool: &Pool, spid: i64, reporter: &crate::operations::Reporter) {
    let sql = "SELECT percent_complete, command FROM sys.dm_exec_requests WHERE session_id = @spid";
    while reporter.is_running() {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let Ok(p) = Prepared::new(
            sql,
            vec![BoundParam::Value {
                name: "spid".into(),
                value: crate::bindings::ferry::plugin::tsql::SqlValue::Int(spid),
            }],
        ) else {
            return;
        };
        let limits = QueryLimits {
            max_rows: 1,
            max_bytes: 4096,
        };
        if let Ok(r) = pool.query(&p, limits, false).await {
            let row = r.sets.first().and_then(|s| s.rows.first());
            if let Some(row) = row {
                use crate::bindings::ferry::plugin::tsql::SqlValue as V;
                let pct = match row.first() {
                    Some(V::Float(f)) => Some(*f as f32),
                    Some(V::Int(i)) => Some(*i as f32),
                    Some(V::Decimal(d)) => d.parse().ok(),
                    _ => None,
                };
                let command = match row.get(1) {
                    Some(V::Text(t)) => Some(t.clone()),
                    _ => None,
                };
                reporter.progress(pct.map(|p| (p / 100.0).clamp(0.0, 1.0)), command);
            }
        }
    }
}

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
                    redactor: redactor.clone(),
                    idle: Mutex::default(),
                    permits: Arc::new(Semaphore::new(max as usize)),
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
    redactor: Redactor,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
}

fn failed(message: String, code: Option<i32>) -> PluginError {
    PluginError::Failed(Failure { message, code })
}

fn transient(message: String) -> PluginError {
    PluginError::Transient(Failure {
        message,
        code: None,
    })
}

/// A connection failure is worth retrying; a server error is not (it would fail again).
fn classify(label: &str, e: tiberius::error::Error) -> (PluginError, bool) {
    match e {
        tiberius::error::Error::Server(t) => {
            (failed(t.message().to_owned(), Some(t.code() as i32)), false)
        }
        tiberius::error::Error::Io { .. } | tiberius::error::Error::Tls(_) => (
            transient(format!("sql label `{label}`: connection lost: {e}")),
            true,
        ),
        other => (failed(format!("sql label `{label}`: {other}"), None), false),
    }
}

impl Pool {
    fn secret(&self, r: &Option<crate::config::SecretRef>) -> Result<Option<String>, PluginError> {
        match r {
            None => Ok(None),
            Some(r) => {
                let v = r
                    .resolve()
                    .map_err(|e| failed(format!("sql label `{}`: {e}", self.label), None))?;
                self.redactor.register(&v);
                Ok(Some(v))
            }
        }
    }

    fn tiberius_config(&self) -> Result<Config, PluginError> {
        let c = &self.config;
        let mut config = match &c.connection_string {
            Some(cs) => Config::from_ado_string(cs).map_err(|e| {
                failed(
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
        if let Some(ca) = &c.trust_ca_file {
            config.trust_cert_ca(ca.display().to_string());
        }
        let password = self.secret(&c.password)?;
        let token = self.secret(&c.access_token)?;
        match (token, &c.user, password) {
            (Some(t), _, _) => config.authentication(AuthMethod::aad_token(t)),
            (None, Some(u), Some(p)) => config.authentication(AuthMethod::sql_server(u, p)),
            (None, Some(_), None) => {
                return Err(failed(
                    format!("sql label `{}` has a user but no `password`", self.label),
                    None,
                ));
            }
            (None, None, _) => {
                return Err(failed(
                    format!(
                        "sql label `{}` needs `user` and `password`, or `access_token`",
                        self.label
                    ),
                    None,
                ));
            }
        }
        config.application_name("ferry");
        Ok(config)
    }

    /// A new connection, following one MI redirect (tds.md: at most one hop).
    async fn connect(&self) -> Result<Conn, PluginError> {
        let mut config = self.tiberius_config()?;
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
        Err(failed(
            format!("sql label `{}`: the server redirected twice", self.label),
            None,
        ))
    }

    /// Runs a long statement (BACKUP, RESTORE) as a host operation: on a connection of its own
    /// with no command timeout (tds.md gotcha 1: a RESTORE is silent for its whole length),
    /// while progress is polled from `sys.dm_exec_requests` on a second connection.
    pub fn start(self: &Arc<Self>, p: Prepared, reporter: crate::operations::Reporter) {
        let pool = self.clone();
        tokio::spawn(async move {
            let permit = match pool.permits.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => return reporter.failed("the connection pool is closed".into(), None),
            };
            let mut conn = match pool.connect_for_operation().await {
                Ok(c) => c,
                Err(e) => return report_error(&reporter, e),
            };
            let spid = match conn.simple_query("SELECT @@SPID").await {
                Ok(s) => s
                    .into_row()
                    .await
                    .ok()
                    .flatten()
                    .and_then(|r| r.get::<i16, _>(0))
                    .map(i64::from),
                Err(_) => None,
            };
            let reporter = Arc::new(reporter);
            if let Some(spid) = spid {
                let (pool, reporter) = (pool.clone(), reporter.clone());
                tokio::spawn(async move { poll_progress(&pool, spid, &reporter).await });
            }
            let t = Instant::now();
            let result = p.query().execute(&mut conn).await;
            tracing::debug!(label = %pool.label, ms = t.elapsed().as_millis() as u64, statement = %p.for_log(), "tsql operation");
            match result {
                Ok(r) => reporter.succeeded(serde_json::json!({ "affected": r.total() })),
                Err(e) => report_error(&reporter, classify(&pool.label, e).0),
            }
            drop(permit);
        });
    }

    async fn connect_for_operation(&self) -> Result<Conn, PluginError> {
        // Same as `connect`, without tiberius's per-round-trip command timeout.
        let mut config = self.tiberius_config()?;
        config.command_timeout(None);
        let addr = config.get_addr();
        let tcp = TcpStream::connect(&addr).await.map_err(|e| {
            transient(format!(
                "sql label `{}`: cannot reach {addr}: {e}",
                self.label
            ))
        })?;
        tcp.set_nodelay(true).ok();
        match Client::connect(config.clone(), tcp.compat_write()).await {
            Ok(c) => Ok(c),
            Err(tiberius::error::Error::Routing { host, port }) => {
                config.host(&host);
                config.port(port);
                let tcp = TcpStream::connect(config.get_addr()).await.map_err(|e| {
                    transient(format!("sql label `{}`: redirect target: {e}", self.label))
                })?;
                Client::connect(config, tcp.compat_write())
                    .await
                    .map_err(|e| classify(&self.label, e).0)
            }
            Err(e) => Err(classify(&self.label, e).0),
        }
    }

    async fn checkout(&self) -> Result<(OwnedSemaphorePermit, Conn), PluginError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| failed("the connection pool is closed".into(), None))?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok((permit, conn))
    }

    fn checkin(&self, conn: Conn) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
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
