//! The TDS server: a listener, one task per connection, the handshake in every TLS mode, login,
//! and the request loop. A connection that breaks the protocol is closed with a logged reason;
//! the listener and every other connection carry on.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::control::FaultAction;
use crate::instance::Instance;
use crate::personality::Personality;
use crate::protocol::packet::{
    DEFAULT_PACKET, MAX_PACKET, PacketType, read_message, write_message,
};
use crate::protocol::prelogin::{self, ClientPrelogin, Encryption, ServerPrelogin};
use crate::protocol::tls::{PreloginWrapped, ServerTls};
use crate::protocol::tokens::{
    DONE_ATTN, DONE_COUNT, DONE_ERROR, DONE_FINAL, DONE_MORE, Reply, ServerMessage,
};
use crate::protocol::types::{SqlType, Value};
use crate::protocol::{ProtocolError, login7, malformed};
use crate::sql::{Outcome, SessionView, execute_batch};

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
    /// SQL logins: name → password.
    pub logins: HashMap<String, String>,
    /// Entra access tokens the server accepts, with the login name each stands for.
    pub access_tokens: HashMap<String, String>,
    /// Send clients on to this host and port after login (the MI gateway redirect).
    pub redirect: Option<(String, u16)>,
    /// Where the database files live.
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

struct Shared {
    options: ServerOptions,
    tls: Arc<ServerTls>,
    next_spid: AtomicU16,
    statements: Mutex<Vec<StatementRecord>>,
    instance: Mutex<Instance>,
    faults: crate::control::Faults,
    clock: crate::control::VirtualClock,
    /// Overrides the virtual duration of background restores.
    restore_time: Mutex<Option<Duration>>,
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds `addr` (use port 0 for any free port) and starts serving.
    pub async fn start(
        addr: SocketAddr,
        options: ServerOptions,
        tls: Arc<ServerTls>,
    ) -> std::io::Result<Server> {
        let mut instance =
            Instance::new(&options.data_dir, options.personality.compatibility_level()).map_err(
                |e| std::io::Error::other(format!("cannot create the instance's databases: {e:#}")),
            )?;
        for (name, password) in &options.logins {
            let kind = crate::instance::LoginKind::Sql {
                password: Some(password.clone()),
                hash: None,
            };
            instance
                .create_login(
                    name,
                    kind,
                    None,
                    None,
                    options.personality.is_managed_instance(),
                )
                .map_err(|e| {
                    std::io::Error::other(format!("cannot create login {name}: {}", e.text))
                })?;
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // SPIDs 1–50 are system sessions on SQL Server; user sessions start above them.
        let shared = Arc::new(Shared {
            options,
            tls,
            next_spid: AtomicU16::new(51),
            statements: Mutex::default(),
            instance: Mutex::new(instance),
            faults: Default::default(),
            clock: Default::default(),
            restore_time: Mutex::new(None),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let spid = s.next_spid.fetch_add(1, Ordering::Relaxed);
                    match serve(tcp, s.clone(), spid).await {
                        Ok(()) | Err(ProtocolError::Closed) => {
                            tracing::debug!(%peer, spid, "session ended")
                        }
                        Err(e) => tracing::info!(%peer, spid, "closing connection: {e}"),
                    }
                });
            }
        });
        Ok(Server { addr, shared, task })
    }

    /// The CA certificate (PEM) clients should trust.
    pub fn ca_pem(&self) -> &str {
        &self.shared.tls.ca_pem
    }

    /// Every statement received so far.
    pub fn statements(&self) -> Vec<StatementRecord> {
        self.shared.statements.lock().clone()
    }

    /// Injects a fault for statements matching its pattern.
    pub fn inject(&self, fault: crate::control::Fault) {
        self.shared.faults.add(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// A credential's identity and secret, to check what a client stored (tests and rehearsals;
    /// no catalog view shows the secret).
    pub fn credential(&self, name: &str) -> Option<(String, Option<String>)> {
        self.shared.instance.lock().credential(name)
    }

    /// Sets how long (in virtual time) a background restore takes; None restores the default.
    pub fn set_restore_time(&self, t: Option<Duration>) {
        *self.shared.restore_time.lock() = t;
    }

    /// Runs `f` on the instance under its lock (the LRS job applies backups this way).
    pub(crate) fn with_instance<T>(&self, f: impl FnOnce(&mut Instance) -> T) -> T {
        let mut inst = self.shared.instance.lock();
        f(&mut inst)
    }

    /// The virtual clock long operations follow.
    pub fn clock(&self) -> &crate::control::VirtualClock {
        &self.shared.clock
    }

    /// Runs a batch as the server itself (to seed databases and rows); errors come back with
    /// their SQL Server numbers.
    pub fn run_sql(&self, sql: &str) -> Result<Vec<Outcome>, ServerMessage> {
        let view = SessionView {
            personality: &self.shared.options.personality,
            database: "master",
            spid: 1,
            user: "sa",
            vars: &[],
        };
        let mut inst = self.shared.instance.lock();
        let outcomes = execute_batch(sql, &view, &mut inst);
        match outcomes.iter().find_map(|o| {
            if let Outcome::Error(e) = o {
                Some(e.clone())
            } else {
                None
            }
        }) {
            Some(e) => Err(e),
            None => Ok(outcomes),
        }
    }

    pub fn personality(&self) -> &Personality {
        &self.shared.options.personality
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The TLS handshake must finish within this; a client that stalls in it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

async fn serve(tcp: TcpStream, s: Arc<Shared>, spid: u16) -> Result<(), ProtocolError> {
    let s = &s;
    tcp.set_nodelay(true)?;
    let mut first = [0u8; 1];
    if tcp.peek(&mut first).await? == 0 {
        return Err(ProtocolError::Closed);
    }
    let mode = s.options.tls;
    let (mut io, prelogin): (Box<dyn Io>, ClientPrelogin) = if first[0] == 0x16 {
        // A TLS ClientHello on the bare socket: TDS 8.0 strict (MS-TDS 3.3.5.1, TDS 8.0).
        if mode == TlsMode::Off {
            return Err(malformed(
                "TDS 8.0 strict TLS attempted, but this server has TLS off",
            ));
        }
        let acceptor = TlsAcceptor::from(s.tls.strict.clone());
        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
            .await
            .map_err(|_| malformed("TLS handshake timed out"))??;
        let mut io: Box<dyn Io> = Box::new(tls);
        let msg = read_message(&mut io, DEFAULT_PACKET).await?;
        if msg.kind != PacketType::PreLogin {
            return Err(malformed(format!("expected PRELOGIN, got {:?}", msg.kind)));
        }
        let pre = prelogin::parse(&msg.payload)?;
        // Guess: the ENCRYPTION value in a strict-mode PRELOGIN reply is not used by clients
        // (tiberius ignores it); NOT_SUP says "no further TLS negotiation".
        reply_prelogin(&mut io, s, &pre, Encryption::NotSupported, spid).await?;
        (io, pre)
    } else {
        let mut tcp = tcp;
        let msg = read_message(&mut tcp, DEFAULT_PACKET).await?;
        if msg.kind != PacketType::PreLogin {
            return Err(malformed(format!("expected PRELOGIN, got {:?}", msg.kind)));
        }
        let pre = prelogin::parse(&msg.payload)?;
        let answer = match (mode, pre.encryption) {
            (TlsMode::Off, _) => Encryption::NotSupported,
            (TlsMode::Optional, Encryption::NotSupported) => Encryption::NotSupported,
            (TlsMode::Optional, Encryption::Off) => Encryption::Off,
            (TlsMode::Optional, _) => Encryption::On,
            (TlsMode::Required | TlsMode::Strict, _) => Encryption::Required,
        };
        reply_prelogin(&mut tcp, s, &pre, answer, spid).await?;
        if mode == TlsMode::Strict {
            return Err(malformed(
                "client did not use TDS 8.0 strict TLS, which this server requires",
            ));
        }
        if answer == Encryption::NotSupported || pre.encryption == Encryption::NotSupported {
            if mode == TlsMode::Required {
                return Err(malformed(
                    "client does not support TLS, which this server requires",
                ));
            }
            (Box::new(tcp), pre)
        } else {
            let acceptor = TlsAcceptor::from(s.tls.wrapped.clone());
            let mut tls = tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                acceptor.accept(PreloginWrapped::new(tcp)),
            )
            .await
            .map_err(|_| malformed("TLS handshake timed out"))??;
            tls.get_mut().0.handshake_done();
            if answer == Encryption::Off {
                // Login-only encryption: LOGIN7 arrives inside TLS, everything after in the clear
                // (MS-TDS 3.2.5.3: "encryption of the login packet only").
                let msg = read_message(&mut tls, DEFAULT_PACKET).await?;
                let (wrapper, _) = tls.into_inner();
                let mut tcp = wrapper.into_inner();
                return session(&mut tcp, s, spid, &pre, msg).await;
            }
            (Box::new(tls), pre)
        }
    };
    let msg = read_message(&mut io, DEFAULT_PACKET).await?;
    session(&mut io, s, spid, &prelogin, msg).await
}

async fn reply_prelogin<W: AsyncWrite + Unpin>(
    w: &mut W,
    s: &Shared,
    pre: &ClientPrelogin,
    encryption: Encryption,
    spid: u16,
) -> Result<(), ProtocolError> {
    let reply = prelogin::encode(&ServerPrelogin {
        version: s.options.personality.version(),
        encryption,
        fed_auth_required: pre.fed_auth_required.then_some(true),
    });
    write_message(w, PacketType::TabularResult, &reply, DEFAULT_PACKET, spid).await?;
    Ok(())
}

/// Answers a LOGIN7 with its error messages and DONE with the error flag: the client's login
/// fails and the connection closes.
async fn refuse_login<W: AsyncWrite + Unpin>(
    io: &mut W,
    mut reply: Reply,
    messages: &[ServerMessage],
    server: &str,
    spid: u16,
) -> Result<(), ProtocolError> {
    for m in messages {
        reply.server_message(m, server);
    }
    reply.done(DONE_ERROR, 0);
    write_message(
        io,
        PacketType::TabularResult,
        &reply.buf,
        DEFAULT_PACKET,
        spid,
    )
    .await?;
    Ok(())
}

struct Session {
    spid: u16,
    user: String,
    database: String,
    packet_size: usize,
    /// Background operations the last request started; the reply waits for them.
    pending: Vec<crate::instance::OperationStart>,
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    s: &Arc<Shared>,
    spid: u16,
    pre: &ClientPrelogin,
    login_msg: crate::protocol::packet::Message,
) -> Result<(), ProtocolError> {
    if login_msg.kind != PacketType::Login7 {
        return Err(malformed(format!(
            "expected LOGIN7, got {:?}",
            login_msg.kind
        )));
    }
    let login = login7::parse(&login_msg.payload)?;
    let server = s.options.personality.server_name().to_owned();
    let mut reply = Reply::default();

    let user = match &login.access_token {
        Some(token) => s.options.access_tokens.get(token).cloned(),
        None => s
            .instance
            .lock()
            .authenticate(&login.user_name, &login.password),
    };
    let Some(user) = user else {
        // SQL Server error 18456 (class 14, state 1 to the client): the reason stays in the
        // server's log, never in the reply.
        let name = if login.access_token.is_some() {
            "<token-identified principal>"
        } else {
            login.user_name.as_str()
        };
        tracing::info!(spid, user = name, "login failed");
        let failed = ServerMessage::error(18456, 14, format!("Login failed for user '{name}'."));
        return refuse_login(io, reply, &[failed], &server, spid).await;
    };
    if pre.fed_auth_required && login.access_token.is_none() && login.fed_auth_echo {
        return Err(malformed("FEDAUTH echoed without a token"));
    }

    let database = if login.database.is_empty() {
        "master".to_owned()
    } else {
        login.database.clone()
    };
    let known = s
        .instance
        .lock()
        .database(&database)
        .map(|d| d.name.clone());
    let Some(database) = known else {
        // SQL Server error 4060 (class 11), then 18456.
        let messages = [
            ServerMessage::error(
                4060,
                11,
                format!(
                    "Cannot open database \"{database}\" requested by the login. The login failed."
                ),
            ),
            ServerMessage::error(18456, 14, format!("Login failed for user '{user}'.")),
        ];
        return refuse_login(io, reply, &messages, &server, spid).await;
    };
    let packet_size = (login.packet_size as usize).clamp(512, MAX_PACKET);
    reply.env_database(&database, "master");
    reply.server_message(
        &ServerMessage::info(5701, format!("Changed database context to '{database}'.")),
        &server,
    );
    reply.env_collation();
    reply.env_packet_size(packet_size, DEFAULT_PACKET);
    reply.login_ack("Microsoft SQL Server", s.options.personality.version());
    if login.access_token.is_some() {
        reply.feature_ext_ack_fedauth();
    }
    if let Some((host, port)) = &s.options.redirect {
        reply.env_routing(host, *port);
        reply.done(DONE_FINAL, 0);
        write_message(
            io,
            PacketType::TabularResult,
            &reply.buf,
            DEFAULT_PACKET,
            spid,
        )
        .await?;
        return Ok(());
    }
    reply.done(DONE_FINAL, 0);
    write_message(io, PacketType::TabularResult, &reply.buf, packet_size, spid).await?;

    let mut session = Session {
        spid,
        user,
        database,
        packet_size,
        pending: Vec::new(),
    };
    loop {
        let msg = read_message(io, session.packet_size).await?;
        let mut hold = None;
        let reply = match msg.kind {
            PacketType::SqlBatch | PacketType::Rpc
                if let Some(action) = injected_fault(&msg, s) =>
            {
                match action {
                    FaultAction::Disconnect => {
                        return Err(malformed("connection dropped by an injected fault"));
                    }
                    FaultAction::DisconnectDuring => {
                        if msg.kind == PacketType::Rpc {
                            rpc(&msg.payload, s, &mut session)?;
                        } else {
                            sql_batch(&msg.payload, s, &mut session)?;
                        }
                        for op in session.pending.drain(..) {
                            let shared = s.clone();
                            tokio::spawn(async move { run_operation(&shared, op).await });
                        }
                        return Err(malformed(
                            "connection dropped mid-statement by an injected fault",
                        ));
                    }
                    FaultAction::Delay(d) => {
                        tokio::time::sleep(d).await;
                        if msg.kind == PacketType::Rpc {
                            rpc(&msg.payload, s, &mut session)?
                        } else {
                            sql_batch(&msg.payload, s, &mut session)?
                        }
                    }
                    FaultAction::DelayAfter(d) => {
                        hold = Some(d);
                        if msg.kind == PacketType::Rpc {
                            rpc(&msg.payload, s, &mut session)?
                        } else {
                            sql_batch(&msg.payload, s, &mut session)?
                        }
                    }
                    FaultAction::Error(number) => {
                        let mut r = Reply::default();
                        r.server_message(&crate::control::error_message(number), &server);
                        r.done_token(
                            if msg.kind == PacketType::Rpc {
                                DONEPROC
                            } else {
                                DONE
                            },
                            DONE_ERROR,
                            0,
                        );
                        r
                    }
                }
            }
            PacketType::SqlBatch => sql_batch(&msg.payload, s, &mut session)?,
            PacketType::Attention => {
                let mut r = Reply::default();
                r.done(DONE_ATTN, 0);
                r
            }
            PacketType::Rpc => rpc(&msg.payload, s, &mut session)?,
            PacketType::TransactionManager => {
                let mut r = Reply::default();
                // Honest refusal: ferry's tools do not use client-driven transactions.
                r.server_message(
                    &ServerMessage::error(
                        50000,
                        16,
                        "ferry-emulator does not support transaction manager requests",
                    ),
                    &server,
                );
                r.done(DONE_ERROR, 0);
                r
            }
            other => {
                return Err(malformed(format!(
                    "unexpected {other:?} message after login"
                )));
            }
        };
        // A restore on MI runs in its own task, so it finishes even if this client goes away;
        // the reply (its completion messages) waits for it, as the RESTORE statement does.
        for op in session.pending.drain(..) {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let shared = s.clone();
            tokio::spawn(async move {
                run_operation(&shared, op).await;
                let _ = tx.send(());
            });
            let _ = rx.await;
        }
        if let Some(d) = hold {
            tokio::time::sleep(d).await;
        }
        write_message(
            io,
            PacketType::TabularResult,
            &reply.buf,
            session.packet_size,
            spid,
        )
        .await?;
    }
}

/// Drives a background operation over virtual time: a restore of `size` bytes takes 10 virtual
/// seconds plus one per 100 MiB (a guess at a small MI's pace), with progress written every
/// 50 ms of real time.
async fn run_operation(s: &Shared, op: crate::instance::OperationStart) {
    let total =
        Duration::from_secs(10) + Duration::from_secs_f64(op.size as f64 / (100.0 * 1_048_576.0));
    let total = s.restore_time.lock().unwrap_or(total);
    let start = s.clock.now();
    loop {
        let elapsed = s.clock.now().duration_since(start).unwrap_or_default();
        let fraction = (elapsed.as_secs_f64() / total.as_secs_f64().max(0.001)).min(1.0);
        let now = crate::protocol::types::now_text();
        {
            let mut inst = s.instance.lock();
            if fraction >= 1.0 {
                inst.operation_done(&op, &now);
                return;
            }
            let remaining = total.saturating_sub(elapsed).as_millis() as i64;
            inst.operation_progress(&op, fraction, remaining, elapsed.as_millis() as i64, &now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// ALL_HEADERS (MS-TDS 2.2.5.3) precede the SQL text: a total length, then the headers.
fn batch_text(payload: &[u8]) -> Result<String, ProtocolError> {
    let total = payload
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| malformed("SQL batch is empty"))?;
    let text = payload
        .get(total..)
        .ok_or_else(|| malformed("SQL batch headers run past the message"))?;
    if text.len() % 2 != 0 {
        return Err(malformed("SQL batch text is not UTF-16"));
    }
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| malformed("SQL batch text is not valid UTF-16"))
}

/// The fault for a request, if one matches its statement text (the batch, or the statement
/// of an sp_executesql call, or the procedure name).
fn injected_fault(msg: &crate::protocol::packet::Message, s: &Shared) -> Option<FaultAction> {
    let text = match msg.kind {
        PacketType::SqlBatch => batch_text(&msg.payload).ok()?,
        _ => {
            let req = crate::protocol::rpc::parse(&msg.payload).ok()?;
            match req.params.first() {
                Some(p) if req.proc.is_executesql() => crate::protocol::types::text(&p.value),
                _ => req.proc.name(),
            }
        }
    };
    s.faults.take(&text)
}

fn record(s: &Shared, session: &Session, text: &str) {
    s.statements.lock().push(StatementRecord {
        spid: session.spid,
        user: session.user.clone(),
        at: SystemTime::now(),
        text: crate::sql::security::mask_secrets(text),
    });
}

fn sql_batch(payload: &[u8], s: &Shared, session: &mut Session) -> Result<Reply, ProtocolError> {
    let text = batch_text(payload)?;
    record(s, session, &text);
    let mut r = Reply::default();
    run_statements(&text, &[], s, session, &mut r, DONE);
    Ok(r)
}

/// Token bytes that end a statement: DONE in a batch, DONEINPROC inside an RPC, DONEPROC
/// at the end of an RPC (MS-TDS 2.2.7.6–8).
const DONE: u8 = 0xFD;
const DONEINPROC: u8 = 0xFF;
const DONEPROC: u8 = 0xFE;

type Vars = [(String, SqlType, Value)];

/// An RPC: sp_executesql runs its statement with the parameters bound; other procedures are
/// unknown (SQL Server error 2812) until the emulator implements them.
fn rpc(payload: &[u8], s: &Shared, session: &mut Session) -> Result<Reply, ProtocolError> {
    let server = s.options.personality.server_name().to_owned();
    let mut r = Reply::default();
    let req = match crate::protocol::rpc::parse(payload) {
        Ok(req) => req,
        // A well-framed request with a parameter type we do not decode: refuse the request but
        // keep the connection (the whole message was read, so the stream is still in step).
        Err(ProtocolError::Malformed(m)) if m.contains("not supported") => {
            r.server_message(
                &ServerMessage::error(50000, 16, format!("ferry-emulator: {m}")),
                &server,
            );
            r.done_token(DONEPROC, DONE_ERROR, 0);
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    if !req.proc.is_executesql() {
        record(s, session, &format!("EXEC {}", req.proc.name()));
        let text = format!("Could not find stored procedure '{}'.", req.proc.name());
        r.server_message(&ServerMessage::error(2812, 16, text), &server);
        r.done_token(DONEPROC, DONE_ERROR, 0);
        return Ok(r);
    }
    let mut params = req.params.into_iter();
    let Some(Value::Text(statement)) = params.next().map(|p| p.value) else {
        // SQL Server error 214 (class 16).
        let text = "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.";
        r.server_message(&ServerMessage::error(214, 16, text), &server);
        r.done_token(DONEPROC, DONE_ERROR, 0);
        return Ok(r);
    };
    let _declarations = params.next();
    let vars: Vec<(String, SqlType, Value)> = params.map(|p| (p.name, p.ty, p.value)).collect();
    record(s, session, &statement);
    run_statements(&statement, &vars, s, session, &mut r, DONEINPROC);
    r.return_status(0);
    r.done_token(DONEPROC, DONE_FINAL, 0);
    Ok(r)
}

/// Runs statements and writes their results, each ended by `done`.
fn run_statements(
    text: &str,
    vars: &Vars,
    s: &Shared,
    session: &mut Session,
    r: &mut Reply,
    done: u8,
) {
    let server = s.options.personality.server_name().to_owned();
    let view = SessionView {
        personality: &s.options.personality,
        database: &session.database,
        spid: session.spid,
        user: &session.user,
        vars,
    };
    // The instance lock may be held across blob I/O (BACKUP/RESTORE … URL block on it), so a
    // session waiting for the lock must not pin a runtime worker: with every worker parked on
    // the lock, nothing would drive the I/O the holder waits for. `block_in_place` hands this
    // worker's other tasks to a fresh one while it waits.
    let outcomes = tokio::task::block_in_place(|| {
        let mut inst = s.instance.lock();
        execute_batch(text, &view, &mut inst)
    });
    let n = outcomes.len();
    for (i, o) in outcomes.into_iter().enumerate() {
        // In a batch the last DONE is final; inside an RPC every DONEINPROC says MORE and
        // the DONEPROC after them ends the reply.
        let more = if i + 1 < n || done == DONEINPROC {
            DONE_MORE
        } else {
            DONE_FINAL
        };
        match o {
            Outcome::Rows { columns, rows } => {
                r.columns(&columns);
                for row in &rows {
                    r.row(&columns, row);
                }
                r.done_token(done, more | DONE_COUNT, rows.len() as u64);
            }
            Outcome::Done(count) => {
                let status = more | if count.is_some() { DONE_COUNT } else { 0 };
                r.done_token(done, status, count.unwrap_or(0));
            }
            Outcome::Info(m) => r.server_message(&m, &server),
            Outcome::Error(m) => {
                r.server_message(&m, &server);
                r.done_token(done, more | DONE_ERROR, 0);
            }
            Outcome::Operation(op) => session.pending.push(op),
            Outcome::Errors(list) => {
                for m in &list {
                    r.server_message(m, &server);
                }
                r.done_token(done, more | DONE_ERROR, 0);
            }
            Outcome::DatabaseChanged { old, new } => {
                r.env_database(&new, &old);
                let text = format!("Changed database context to '{new}'.");
                r.server_message(&ServerMessage::info(5701, text), &server);
                r.done_token(done, more, 0);
                session.database = new;
            }
        }
    }
    if n == 0 && done == DONE {
        r.done(DONE_FINAL, 0);
    }
}
