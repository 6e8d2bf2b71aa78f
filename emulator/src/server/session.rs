//! A connection after its LOGIN7: the login's answer (accepted, refused, or sent on to another
//! host), then the request loop until the client goes away.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::operations::run_operation;
use super::requests::{DONE, DONEPROC, Session, batch_text, operation_end, rpc, sql_batch};
use super::shared::Shared;
use super::transaction_manager::transaction_manager;
use crate::control::FaultAction;
use crate::protocol::login7::Login;
use crate::protocol::packet::{
    DEFAULT_PACKET, MAX_PACKET, Message, PacketType, read_message, write_message,
};
use crate::protocol::prelogin::ClientPrelogin;
use crate::protocol::tokens::{DONE_ATTN, DONE_ERROR, DONE_FINAL, Reply, ServerMessage};
use crate::protocol::{ProtocolError, malformed};

/// Answers the login, then serves requests until the client closes the connection.
pub(super) async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    s: &Arc<Shared>,
    spid: u16,
    pre: &ClientPrelogin,
    login: Login,
) -> Result<(), ProtocolError> {
    let Some(mut session) = accept_login(io, s, spid, pre, login).await? else {
        return Ok(());
    };
    loop {
        let msg = read_message(io, session.packet_size).await?;
        let mut hold = None;
        let reply = match msg.kind {
            PacketType::SqlBatch | PacketType::Rpc => match injected_fault(&msg, s) {
                Some(action) => {
                    if let FaultAction::DelayAfter(d) = action {
                        hold = Some(d);
                    }
                    let Some(reply) = faulted(action, &msg, s, &mut session).await? else {
                        return Err(malformed("connection dropped by an injected fault"));
                    };
                    reply
                }
                None => request(&msg, s, &mut session)?,
            },
            PacketType::Attention => {
                let mut r = Reply::default();
                r.done(DONE_ATTN, 0);
                r
            }
            PacketType::TransactionManager => transaction_manager(&msg.payload, s, &mut session)?,
            other => {
                return Err(malformed(format!(
                    "unexpected {other:?} message after login"
                )));
            }
        };
        // A restore on MI runs in its own task, so it finishes even if this client goes away;
        // the reply waits for it, as the RESTORE statement does, and gets its end (messages or
        // errors, then DONE) where the statement stood. Later ends first, so earlier offsets
        // stay right.
        let mut reply = reply;
        for p in session.pending.drain(..).rev() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let shared = s.clone();
            let op = p.op.clone();
            s.spawn(async move {
                let result = run_operation(&shared, op, None).await;
                let _ = tx.send(result);
            });
            // The server stopped before the restore ended: the connection drops unanswered.
            let Some(result) = rx.await.ok().flatten() else {
                return Err(ProtocolError::Io(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "the server stopped during a restore",
                )));
            };
            let end = operation_end(result, &p, s.server_name());
            reply.buf.splice(p.at..p.at, end);
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
        if session.terminate {
            return Err(malformed(
                "the session ended after an error of severity 20 or more",
            ));
        }
    }
}

/// Checks the login and answers it; the session to serve, or None when the login was refused
/// or sent on to another host.
async fn accept_login<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    s: &Shared,
    spid: u16,
    pre: &ClientPrelogin,
    login: Login,
) -> Result<Option<Session>, ProtocolError> {
    let server = s.server_name().to_owned();
    match s.faults.take_login(&login.user_name) {
        Some(FaultAction::Error(number)) => {
            refuse_login(io, &[crate::control::error_message(number)], &server, spid).await?;
            return Ok(None);
        }
        Some(FaultAction::Disconnect | FaultAction::DisconnectDuring) => {
            return Err(malformed("login dropped by an injected fault"));
        }
        Some(FaultAction::Delay(d) | FaultAction::DelayAfter(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let user = match &login.access_token {
        Some(token) => s.options.access_tokens.get(token).cloned(),
        None => s
            .with_instance(|i| i.authenticate(&login.user_name, &login.password))
            .map_err(|_| malformed("the server stopped during the login"))?,
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
        refuse_login(io, &[failed], &server, spid).await?;
        return Ok(None);
    };
    // A right password is not the end of it: a disabled login, one that must change its
    // password or one denied CONNECT SQL is refused (instance/principals.rs).
    let refusal = if login.access_token.is_none() {
        s.with_instance(|i| i.login_refusal(&user))
            .map_err(|_| malformed("the server stopped during the login"))?
    } else {
        None
    };
    if let Some(m) = refusal {
        tracing::info!(spid, user = %user, number = m.number, "login refused");
        refuse_login(io, &[m], &server, spid).await?;
        return Ok(None);
    }
    if pre.fed_auth_required && login.access_token.is_none() && login.fed_auth_echo {
        return Err(malformed("FEDAUTH echoed without a token"));
    }

    let database = if login.database.is_empty() {
        "master".to_owned()
    } else {
        login.database.clone()
    };
    let known = s
        .with_instance(|i| i.database(&database).map(|d| d.name.clone()))
        .map_err(|_| malformed("the server stopped during the login"))?;
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
        refuse_login(io, &messages, &server, spid).await?;
        return Ok(None);
    };
    let packet_size = (login.packet_size as usize).clamp(512, MAX_PACKET);
    let mut reply = Reply::default();
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
        send_login_reply(io, &reply, spid).await?;
        return Ok(None);
    }
    reply.done(DONE_FINAL, 0);
    write_message(io, PacketType::TabularResult, &reply.buf, packet_size, spid).await?;
    let info = crate::instance::SessionInfo {
        spid,
        login: user.clone(),
        host: login.host_name.clone(),
        program: login.app_name.clone(),
        login_time: crate::protocol::types::now_text(),
        database: database.clone(),
    };
    let _ = s.with_instance(|i| i.session_opened(info));
    Ok(Some(Session {
        spid,
        user,
        database,
        packet_size,
        options: Default::default(),
        pending: Vec::new(),
        terminate: false,
    }))
}

/// Runs a SQL batch or an RPC.
fn request(msg: &Message, s: &Shared, session: &mut Session) -> Result<Reply, ProtocolError> {
    if msg.kind == PacketType::Rpc {
        rpc(&msg.payload, s, session)
    } else {
        sql_batch(&msg.payload, s, session)
    }
}

/// What an injected fault makes of a request: the reply to send, or None to drop the
/// connection without one.
async fn faulted(
    action: FaultAction,
    msg: &Message,
    s: &Arc<Shared>,
    session: &mut Session,
) -> Result<Option<Reply>, ProtocolError> {
    match action {
        FaultAction::Disconnect => Ok(None),
        FaultAction::DisconnectDuring => {
            request(msg, s, session)?;
            // What the statement started in the background (an MI restore) carries on.
            for p in session.pending.drain(..) {
                let shared = s.clone();
                s.spawn(async move {
                    let _ = run_operation(&shared, p.op, None).await;
                });
            }
            Ok(None)
        }
        FaultAction::Delay(d) => {
            tokio::time::sleep(d).await;
            request(msg, s, session).map(Some)
        }
        // Held after the statement ran (see the session loop): the change is made while the
        // client still waits, as when a client dies between a commit and its reply.
        FaultAction::DelayAfter(_) => request(msg, s, session).map(Some),
        FaultAction::Error(number) => {
            let mut r = Reply::default();
            r.server_message(&crate::control::error_message(number), s.server_name());
            let done = if msg.kind == PacketType::Rpc {
                DONEPROC
            } else {
                DONE
            };
            r.done_token(done, DONE_ERROR, 0);
            Ok(Some(r))
        }
    }
}

/// The fault for a request, if one matches its statement text (the batch, or the statement
/// of an sp_executesql call, or the procedure name).
fn injected_fault(msg: &Message, s: &Shared) -> Option<FaultAction> {
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

/// Answers a LOGIN7 with its error messages and DONE with the error flag: the client's login
/// fails and the connection closes.
async fn refuse_login<W: AsyncWrite + Unpin>(
    io: &mut W,
    messages: &[ServerMessage],
    server: &str,
    spid: u16,
) -> Result<(), ProtocolError> {
    let mut reply = Reply::default();
    for m in messages {
        reply.server_message(m, server);
    }
    reply.done(DONE_ERROR, 0);
    send_login_reply(io, &reply, spid).await
}

/// A reply to LOGIN7 that ends the connection's login, in packets of the pre-login size.
async fn send_login_reply<W: AsyncWrite + Unpin>(
    io: &mut W,
    reply: &Reply,
    spid: u16,
) -> Result<(), ProtocolError> {
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
