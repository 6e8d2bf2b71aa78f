//! TLS for TDS: the certificate the emulator generates at start, and the stream adapter that
//! carries the TDS 7.x handshake inside PRELOGIN packets.
//!
//! In TDS 7.x the TLS handshake records travel as the payload of PRELOGIN (0x12) packets; once
//! the handshake is done, TLS records flow raw and the TDS packets travel inside them (MS-TDS
//! 3.2.5.3). In TDS 8.0 ("strict") TLS starts on the bare socket, before PRELOGIN.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::packet::{HEADER_LEN, STATUS_EOM};

/// The ALPN protocol a TDS 8.0 client offers.
pub const TDS8_ALPN: &[u8] = b"tds/8.0";

/// The emulator's certificate authority and server certificate, made fresh at every start.
pub struct ServerTls {
    /// The CA certificate clients trust (PEM), written out for them.
    pub ca_pem: String,
    /// For TDS 7.x wrapped handshakes: TLS 1.2 only, as SQL Server does in TDS 7.x. It also
    /// avoids the TLS 1.3 trap where the client finishes first and sends LOGIN7 as a raw TLS
    /// record while the server still expects a PRELOGIN frame (tds.md §3).
    pub wrapped: Arc<rustls::ServerConfig>,
    /// For TDS 8.0 strict: TLS 1.2 or 1.3, ALPN `tds/8.0`.
    pub strict: Arc<rustls::ServerConfig>,
}

impl ServerTls {
    /// A CA and a server certificate for `localhost` and 127.0.0.1 (plus any extra names).
    pub fn generate(extra_names: &[String]) -> anyhow::Result<ServerTls> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ferry emulator test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        names.extend(extra_names.iter().cloned());
        let mut leaf_params = CertificateParams::new(names)?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let leaf_key = KeyPair::generate()?;
        let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
        let key = || PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let wrapped = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key())?;
        let mut strict = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(chain, key())?;
        strict.alpn_protocols = vec![TDS8_ALPN.to_vec()];
        Ok(ServerTls {
            ca_pem: ca.pem(),
            wrapped: Arc::new(wrapped),
            strict: Arc::new(strict),
        })
    }
}

/// Carries TLS records in PRELOGIN packets until [`PreloginWrapped::handshake_done`], then
/// passes bytes through untouched.
pub struct PreloginWrapped<S> {
    inner: S,
    wrapping: bool,
    header: [u8; HEADER_LEN],
    header_filled: usize,
    payload_left: usize,
    pending: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
}

impl<S> PreloginWrapped<S> {
    pub fn new(inner: S) -> Self {
        PreloginWrapped {
            inner,
            wrapping: true,
            header: [0; HEADER_LEN],
            header_filled: 0,
            payload_left: 0,
            pending: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Stops wrapping: from now on TLS records flow raw.
    pub fn handshake_done(&mut self) {
        self.wrapping = false;
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Frames buffered handshake bytes as PRELOGIN packets.
    fn frame_pending(&mut self) {
        for chunk in self.pending.chunks(4096 - HEADER_LEN) {
            let len = (chunk.len() + HEADER_LEN) as u16;
            self.out.extend_from_slice(&[0x12, STATUS_EOM]);
            self.out.extend_from_slice(&len.to_be_bytes());
            self.out.extend_from_slice(&[0, 0, 1, 0]);
            self.out.extend_from_slice(chunk);
        }
        self.pending.clear();
    }
}

impl<S: AsyncWrite + Unpin> PreloginWrapped<S> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.out_pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        self.out.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PreloginWrapped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.wrapping {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        loop {
            if this.payload_left > 0 {
                let want = this.payload_left.min(buf.remaining());
                let mut limited = ReadBuf::new(buf.initialize_unfilled_to(want));
                ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
                let n = limited.filled().len();
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                }
                buf.advance(n);
                this.payload_left -= n;
                return Poll::Ready(Ok(()));
            }
            let mut hb = ReadBuf::new(&mut this.header[this.header_filled..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut hb))?;
            let n = hb.filled().len();
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            this.header_filled += n;
            if this.header_filled < HEADER_LEN {
                continue;
            }
            this.header_filled = 0;
            if this.header[0] != 0x12 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "expected a PRELOGIN packet carrying TLS, got type 0x{:02x}",
                        this.header[0]
                    ),
                )));
            }
            let len = u16::from_be_bytes([this.header[2], this.header[3]]) as usize;
            if len < HEADER_LEN {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "PRELOGIN packet shorter than its header",
                )));
            }
            this.payload_left = len - HEADER_LEN;
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PreloginWrapped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.wrapping {
            ready!(this.poll_drain(cx))?;
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        this.pending.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.pending.is_empty() {
            this.frame_pending();
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
