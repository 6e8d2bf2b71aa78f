//! A connection up to its login: PRELOGIN, TLS in the mode the server runs, and LOGIN7, with
//! every pre-login byte counted against the server's login budget and the whole phase bounded
//! in time.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::options::TlsMode;
use super::session::session;
use super::shared::Shared;
use crate::protocol::login_phase::{Held, read_login_message};
use crate::protocol::login7::{self, Login};
use crate::protocol::packet::{DEFAULT_PACKET, PacketType, write_message};
use crate::protocol::prelogin::{self, ClientPrelogin, Encryption, ServerPrelogin};
use crate::protocol::tls::PreloginWrapped;
use crate::protocol::{ProtocolError, malformed};

pub(super) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The TLS handshake must finish within this; a client that stalls in it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// From connect to a parsed LOGIN7. Guess: SQL Server's own limit on a client that never
/// finishes logging in is not documented; a minute is far more than any client takes, and
/// keeps a stalled client from holding its pre-login buffers for ever.
const LOGIN_PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one connection: the login phase, then the session.
pub(super) async fn serve(tcp: TcpStream, s: Arc<Shared>, spid: u16) -> Result<(), ProtocolError> {
    tcp.set_nodelay(true)?;
    let (mut io, pre, login) =
        match tokio::time::timeout(LOGIN_PHASE_TIMEOUT, handshake(tcp, &s, spid)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(malformed(format!(
                    "the client did not log in within {} s",
                    LOGIN_PHASE_TIMEOUT.as_secs()
                )));
            }
        };
    let result = session(&mut io, &s, spid, &pre, login).await;
    // However the session ended, its open transaction is rolled back and it leaves the
    // session views, as SQL Server does when a connection closes.
    let _ = tokio::task::block_in_place(|| s.with_instance(|i| i.end_session(spid)));
    result
}

/// PRELOGIN, TLS and LOGIN7; returns the stream the session continues on.
async fn handshake(
    tcp: TcpStream,
    s: &Shared,
    spid: u16,
) -> Result<(Box<dyn Io>, ClientPrelogin, Login), ProtocolError> {
    let mut held = s.login_budget.hold();
    let mut first = [0u8; 1];
    if tcp.peek(&mut first).await? == 0 {
        return Err(ProtocolError::Closed);
    }
    let mode = s.options.tls;
    if first[0] == 0x16 {
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
        let pre = read_prelogin(&mut io, &mut held).await?;
        // Guess: the ENCRYPTION value in a strict-mode PRELOGIN reply is not used by clients
        // (tiberius ignores it); NOT_SUP says "no further TLS negotiation".
        reply_prelogin(&mut io, s, &pre, Encryption::NotSupported, spid).await?;
        let login = read_login(&mut io, &mut held).await?;
        return Ok((io, pre, login));
    }
    let mut tcp = tcp;
    let pre = read_prelogin(&mut tcp, &mut held).await?;
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
        let login = read_login(&mut tcp, &mut held).await?;
        return Ok((Box::new(tcp), pre, login));
    }
    let acceptor = TlsAcceptor::from(s.tls.wrapped.clone());
    let mut tls = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        acceptor.accept(PreloginWrapped::new(tcp)),
    )
    .await
    .map_err(|_| malformed("TLS handshake timed out"))??;
    tls.get_mut().0.handshake_done();
    let login = read_login(&mut tls, &mut held).await?;
    if answer == Encryption::Off {
        // Login-only encryption: LOGIN7 arrives inside TLS, everything after in the clear
        // (MS-TDS 3.2.5.3: "encryption of the login packet only").
        let (wrapper, _) = tls.into_inner();
        return Ok((Box::new(wrapper.into_inner()), pre, login));
    }
    Ok((Box::new(tls), pre, login))
}

async fn read_prelogin<R: AsyncRead + Unpin>(
    r: &mut R,
    held: &mut Held<'_>,
) -> Result<ClientPrelogin, ProtocolError> {
    let msg = read_login_message(r, PacketType::PreLogin, held).await?;
    prelogin::parse(&msg.payload)
}

async fn read_login<R: AsyncRead + Unpin>(
    r: &mut R,
    held: &mut Held<'_>,
) -> Result<Login, ProtocolError> {
    let msg = read_login_message(r, PacketType::Login7, held).await?;
    login7::parse(&msg.payload)
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
