//! The two messages a client sends before it has logged in — PRELOGIN and LOGIN7 — read with
//! their sizes capped, and with every byte they hold counted in a budget shared by all the
//! connections not logged in yet, so that clients which never finish a login cannot make the
//! server buffer without end.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::login7;
use super::packet::{DEFAULT_PACKET, HEADER_LEN, Message, PacketType, read_header, same_kind};
use super::{ProtocolError, malformed};

/// The largest PRELOGIN payload read. MS-TDS 2.2.6.5 sets no maximum; every option it defines
/// fits in a few dozen bytes and clients send one packet, so (choosing the stricter rule where
/// the document is silent) the emulator reads one packet of the pre-login packet size.
pub const PRELOGIN_MAX: usize = DEFAULT_PACKET - HEADER_LEN;

/// The total of pre-login bytes the server buffers across all connections unless told
/// otherwise: room for 64 LOGIN7 messages of the largest size MS-TDS allows.
pub const DEFAULT_BUDGET: usize = 64 * (login7::MAX_LEN + 1);

/// Bytes held for connections that have not logged in, against a cap. Tests read `used` and
/// `peak` to see the bound hold.
#[derive(Debug)]
pub struct LoginBudget {
    used: AtomicUsize,
    peak: AtomicUsize,
    cap: AtomicUsize,
}

impl Default for LoginBudget {
    fn default() -> Self {
        LoginBudget {
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            cap: AtomicUsize::new(DEFAULT_BUDGET),
        }
    }
}

impl LoginBudget {
    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    /// The most ever held at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    pub fn cap(&self) -> usize {
        self.cap.load(Ordering::SeqCst)
    }

    pub fn set_cap(&self, bytes: usize) {
        self.cap.store(bytes, Ordering::SeqCst);
    }

    /// A holder for one connection's bytes, returned to the budget when dropped.
    pub fn hold(&self) -> Held<'_> {
        Held {
            budget: self,
            bytes: 0,
        }
    }
}

/// One connection's share of a [`LoginBudget`].
#[derive(Debug)]
pub struct Held<'a> {
    budget: &'a LoginBudget,
    bytes: usize,
}

impl Held<'_> {
    /// Takes `n` more bytes, or refuses when that would pass the cap.
    pub fn grow(&mut self, n: usize) -> Result<(), ProtocolError> {
        let b = self.budget;
        let cap = b.cap();
        b.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(n).filter(|total| *total <= cap)
            })
            .map_err(|used| {
                malformed(format!(
                    "the buffers of connections not logged in are full ({used} of {cap} bytes); \
                     refusing {n} more"
                ))
            })?;
        b.peak.fetch_max(b.used(), Ordering::SeqCst);
        self.bytes += n;
        Ok(())
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// Reads the PRELOGIN or LOGIN7 message `expected`, in packets of at most the pre-login
/// packet size, counting every payload byte in `held` before it is buffered. A message of
/// another type, past its cap, or (LOGIN7) past the length its first packet announces closes
/// the connection before the excess is read.
pub async fn read_login_message<R: AsyncRead + Unpin>(
    r: &mut R,
    expected: PacketType,
    held: &mut Held<'_>,
) -> Result<Message, ProtocolError> {
    let cap = match expected {
        PacketType::PreLogin => PRELOGIN_MAX,
        PacketType::Login7 => login7::MAX_LEN,
        other => return Err(malformed(format!("{other:?} is not a login message"))),
    };
    let mut header = read_header(r, DEFAULT_PACKET, true).await?;
    if header.kind != expected {
        return Err(malformed(format!(
            "expected {expected:?}, got {:?}",
            header.kind
        )));
    }
    let mut limit = cap;
    let mut payload = Vec::new();
    loop {
        same_kind(expected, header.kind)?;
        let total = payload.len() + header.payload_len;
        if total > limit {
            return Err(malformed(format!(
                "{expected:?} of more than {limit} bytes (MS-TDS 2.2.6.4/2.2.6.5; the emulator reads at most {cap})"
            )));
        }
        held.grow(header.payload_len)?;
        let start = payload.len();
        // Exactly what arrived, so the budget counts the memory held.
        payload.reserve_exact(header.payload_len);
        payload.resize(total, 0);
        r.read_exact(&mut payload[start..]).await?;
        if expected == PacketType::Login7
            && let Some(announced) = login7::announced_length(&payload)
        {
            if announced > login7::MAX_LEN || announced < payload.len() {
                return Err(malformed(format!(
                    "LOGIN7 announces {announced} bytes; MS-TDS 2.2.6.4 allows at most {} and {} have arrived",
                    login7::MAX_LEN,
                    payload.len()
                )));
            }
            limit = announced;
        }
        if header.end_of_message() {
            return Ok(Message {
                kind: expected,
                payload,
            });
        }
        header = read_header(r, DEFAULT_PACKET, false).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_past_its_cap_and_returns_bytes_on_drop() {
        let budget = LoginBudget::default();
        budget.set_cap(100);
        let mut a = budget.hold();
        a.grow(60).unwrap();
        let mut b = budget.hold();
        assert!(b.grow(50).is_err());
        b.grow(40).unwrap();
        assert_eq!((budget.used(), budget.peak()), (100, 100));
        drop(a);
        assert_eq!(budget.used(), 40);
        drop(b);
        assert_eq!((budget.used(), budget.peak()), (0, 100));
    }
}
