//! TDS packets: an 8-byte header (type, status, big-endian length, spid, packet id, window)
//! and a payload. A message is one or more packets, the last with status EOM (MS-TDS 2.2.3.1).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{ProtocolError, malformed};

pub const HEADER_LEN: usize = 8;
/// The largest packet TDS allows (MS-TDS 2.2.6.4, PacketSize ≤ 32767).
pub const MAX_PACKET: usize = 32_767;
/// The packet size before login negotiates one (MS-TDS: 4096 is the default).
pub const DEFAULT_PACKET: usize = 4_096;
/// A request of a logged-in client larger than this closes the connection: the biggest real
/// request (a batch with a long script, an RPC with a large varbinary) is far smaller, and the
/// cap stops a client from making the emulator buffer without end. Before login the much
/// smaller caps of [`super::login_phase`] apply.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Status bit: end of message.
pub const STATUS_EOM: u8 = 0x01;

/// Packet types the server reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    SqlBatch,
    Rpc,
    TabularResult,
    Attention,
    TransactionManager,
    Login7,
    FedAuthToken,
    PreLogin,
    Other(u8),
}

impl PacketType {
    pub fn from_u8(b: u8) -> Self {
        match b {
            0x01 => PacketType::SqlBatch,
            0x03 => PacketType::Rpc,
            0x04 => PacketType::TabularResult,
            0x06 => PacketType::Attention,
            0x0E => PacketType::TransactionManager,
            0x10 => PacketType::Login7,
            0x08 => PacketType::FedAuthToken,
            0x12 => PacketType::PreLogin,
            other => PacketType::Other(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            PacketType::SqlBatch => 0x01,
            PacketType::Rpc => 0x03,
            PacketType::TabularResult => 0x04,
            PacketType::Attention => 0x06,
            PacketType::TransactionManager => 0x0E,
            PacketType::Login7 => 0x10,
            PacketType::FedAuthToken => 0x08,
            PacketType::PreLogin => 0x12,
            PacketType::Other(b) => b,
        }
    }
}

/// A whole request message.
#[derive(Debug)]
pub struct Message {
    pub kind: PacketType,
    pub payload: Vec<u8>,
}

/// A packet header as read: its type, status and the length of the payload it announces.
#[derive(Debug, Clone, Copy)]
pub struct PacketHeader {
    pub kind: PacketType,
    pub status: u8,
    pub payload_len: usize,
}

impl PacketHeader {
    pub fn end_of_message(&self) -> bool {
        self.status & STATUS_EOM != 0
    }
}

/// Reads a packet header, checking its length against `max_packet`. End of stream before the
/// first byte of a message's first header is [`ProtocolError::Closed`].
pub async fn read_header<R: AsyncRead + Unpin>(
    r: &mut R,
    max_packet: usize,
    first: bool,
) -> Result<PacketHeader, ProtocolError> {
    let mut header = [0u8; HEADER_LEN];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && first => {
            return Err(ProtocolError::Closed);
        }
        Err(e) => return Err(e.into()),
    }
    let len = u16::from_be_bytes([header[2], header[3]]) as usize;
    if len < HEADER_LEN {
        return Err(malformed(format!(
            "packet length {len} is shorter than its header"
        )));
    }
    if len > max_packet.max(DEFAULT_PACKET) {
        return Err(malformed(format!(
            "packet length {len} exceeds the packet size {max_packet}"
        )));
    }
    Ok(PacketHeader {
        kind: PacketType::from_u8(header[0]),
        status: header[1],
        payload_len: len - HEADER_LEN,
    })
}

/// Refuses a packet whose type differs from the message's first.
pub fn same_kind(first: PacketType, next: PacketType) -> Result<(), ProtocolError> {
    if first != next {
        return Err(malformed(format!(
            "packet type changed from {first:?} to {next:?} inside a message"
        )));
    }
    Ok(())
}

/// Reads one message. `max_packet` is the negotiated packet size; a packet claiming more, a
/// header claiming less than itself, or packets of different types in one message close the
/// connection.
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max_packet: usize,
) -> Result<Message, ProtocolError> {
    let mut payload = Vec::new();
    let first = read_header(r, max_packet, true).await?;
    let mut header = first;
    loop {
        same_kind(first.kind, header.kind)?;
        if payload.len() + header.payload_len > MAX_MESSAGE {
            return Err(malformed(format!("message exceeds {MAX_MESSAGE} bytes")));
        }
        let start = payload.len();
        payload.resize(start + header.payload_len, 0);
        r.read_exact(&mut payload[start..]).await?;
        if header.end_of_message() {
            return Ok(Message {
                kind: first.kind,
                payload,
            });
        }
        header = read_header(r, max_packet, false).await?;
    }
}

/// Writes `payload` as one message of `kind`, split at `packet_size`, EOM on the last packet.
pub async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    kind: PacketType,
    payload: &[u8],
    packet_size: usize,
    spid: u16,
) -> std::io::Result<()> {
    let chunk = packet_size.clamp(512, MAX_PACKET) - HEADER_LEN;
    let mut out = Vec::with_capacity(payload.len() + (payload.len() / chunk + 1) * HEADER_LEN);
    let mut id: u8 = 1;
    let mut chunks = payload.chunks(chunk).peekable();
    if chunks.peek().is_none() {
        push_header(&mut out, kind, STATUS_EOM, HEADER_LEN, spid, id);
    }
    while let Some(c) = chunks.next() {
        let status = if chunks.peek().is_none() {
            STATUS_EOM
        } else {
            0
        };
        push_header(&mut out, kind, status, HEADER_LEN + c.len(), spid, id);
        out.extend_from_slice(c);
        id = id.wrapping_add(1);
    }
    w.write_all(&out).await?;
    w.flush().await
}

fn push_header(out: &mut Vec<u8>, kind: PacketType, status: u8, len: usize, spid: u16, id: u8) {
    out.push(kind.to_u8());
    out.push(status);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&spid.to_be_bytes());
    out.push(id);
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn split_and_reassemble() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut wire = Vec::new();
        write_message(&mut wire, PacketType::TabularResult, &payload, 4096, 52)
            .await
            .unwrap();
        assert_eq!(wire.len(), payload.len() + 3 * HEADER_LEN);
        assert_eq!(wire[1], 0, "not EOM on the first packet");
        let msg = read_message(&mut &wire[..], 4096).await.unwrap();
        assert_eq!(msg.kind, PacketType::TabularResult);
        assert_eq!(msg.payload, payload);
    }

    #[tokio::test]
    async fn lying_lengths_are_refused() {
        let short = [0x01u8, 0x01, 0x00, 0x04, 0, 0, 1, 0];
        assert!(matches!(
            read_message(&mut &short[..], 4096).await,
            Err(ProtocolError::Malformed(_))
        ));
        let long = [0x01u8, 0x01, 0xFF, 0xFF, 0, 0, 1, 0];
        assert!(matches!(
            read_message(&mut &long[..], 4096).await,
            Err(ProtocolError::Malformed(_))
        ));
        let truncated = [0x01u8, 0x01, 0x00, 0x20, 0, 0, 1, 0, 1, 2];
        assert!(read_message(&mut &truncated[..], 4096).await.is_err());
    }
}
