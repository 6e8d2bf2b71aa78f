//! ALL_HEADERS (MS-TDS 2.2.5.3): what precedes the body of a SQL batch, an RPC and a transaction
//! manager request. Only the transaction descriptor header (type 2, MS-TDS 2.2.5.3.2) matters to
//! the emulator: a client echoes in it the descriptor of the transaction the server last
//! announced with an ENVCHANGE, so the server can tell a request of the current transaction
//! from a stale one.

use super::{ProtocolError, malformed};

/// The transaction descriptor header's type.
const TRANSACTION_DESCRIPTOR: u16 = 2;

/// What the headers of a request say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestHeaders {
    /// The descriptor the client sent (0: no transaction), if it sent the header at all.
    pub transaction_descriptor: Option<u64>,
}

/// Reads the headers at the start of `payload`; returns them and where the body starts.
pub fn parse(payload: &[u8]) -> Result<(RequestHeaders, usize), ProtocolError> {
    let u32_at = |at: usize| {
        payload
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let total = u32_at(0).ok_or_else(|| malformed("the request has no ALL_HEADERS"))?;
    if total < 4 || total > payload.len() {
        return Err(malformed(format!(
            "ALL_HEADERS announces {total} bytes in a request of {}",
            payload.len()
        )));
    }
    let mut headers = RequestHeaders::default();
    let mut at = 4;
    while at < total {
        let len = u32_at(at).ok_or_else(|| malformed("a header length runs past ALL_HEADERS"))?;
        if len < 6 || at + len > total {
            return Err(malformed(format!("a header of {len} bytes does not fit")));
        }
        let kind = u16::from_le_bytes([payload[at + 4], payload[at + 5]]);
        if kind == TRANSACTION_DESCRIPTOR {
            let d = payload
                .get(at + 6..at + 14)
                .filter(|_| len >= 18)
                .ok_or_else(|| malformed("the transaction descriptor header is too short"))?;
            headers.transaction_descriptor =
                Some(u64::from_le_bytes(d.try_into().unwrap_or([0; 8])));
        }
        at += len;
    }
    Ok((headers, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_descriptor(d: u64) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&22u32.to_le_bytes());
        v.extend_from_slice(&18u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&d.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(b"body");
        v
    }

    #[test]
    fn reads_the_transaction_descriptor() {
        let (h, at) = parse(&with_descriptor(0x1234)).unwrap();
        assert_eq!(h.transaction_descriptor, Some(0x1234));
        assert_eq!(at, 22);
    }

    #[test]
    fn lying_lengths_are_refused() {
        let mut v = with_descriptor(1);
        v[4] = 200;
        assert!(parse(&v).is_err());
        assert!(parse(&[1, 0]).is_err());
        let mut v = with_descriptor(1);
        v[0] = 255;
        assert!(parse(&v).is_err());
    }
}
