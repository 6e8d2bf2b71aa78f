//! Writing and reading backup sets in the layout [`super`] documents.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::header::{BackupDetails, BackupHeader};

const MAGIC: &[u8; 8] = b"FERRYBAK";
const VERSION: u16 = 2;

/// The header as stored: both halves in one JSON object.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    header: BackupHeader,
    #[serde(flatten)]
    details: BackupDetails,
}

/// Why a file is not a usable backup: SQL Server error 3241 ("The media family on device '…' is
/// incorrectly formed") or 3189/3183 for a checksum mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    Malformed(String),
    ChecksumMismatch,
}

/// Encodes one stripe of one backup set into one buffer (small backups and tests).
pub fn encode(header: &BackupHeader, payload_part: &[u8]) -> Vec<u8> {
    encode_set(header, &BackupDetails::default(), payload_part)
}

/// Encodes one stripe of one backup set, with its details.
pub fn encode_set(header: &BackupHeader, details: &BackupDetails, payload_part: &[u8]) -> Vec<u8> {
    let mut out = prefix(header, details, payload_part.len());
    let tail = trailer(header, &out, payload_part);
    out.extend_from_slice(payload_part);
    out.extend_from_slice(&tail);
    out
}

/// Everything before a stripe's payload: magic, version, header, payload length. Writing the
/// prefix, the payload and the [`trailer`] one after the other gives the same bytes as
/// [`encode_set`] without copying a large payload.
pub fn prefix(header: &BackupHeader, details: &BackupDetails, payload_len: usize) -> Vec<u8> {
    let stored = Stored {
        header: header.clone(),
        details: details.clone(),
    };
    let h = serde_json::to_vec(&stored).unwrap_or_default();
    let mut out = Vec::with_capacity(8 + 2 + 4 + h.len() + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&(payload_len as u64).to_le_bytes());
    out
}

/// What follows the payload: the SHA-256 of prefix and payload when the backup has CHECKSUM.
pub fn trailer(header: &BackupHeader, prefix: &[u8], payload_part: &[u8]) -> Vec<u8> {
    if !header.checksum {
        return Vec::new();
    }
    let mut h = Sha256::new();
    h.update(prefix);
    h.update(payload_part);
    h.finalize().to_vec()
}

fn bad(m: &str) -> FormatError {
    FormatError::Malformed(m.to_owned())
}

/// Reads the prefix of the backup set at the start of `bytes`: its header, details, and where
/// its payload starts and ends (a reader that has only the start of a file can look at a set
/// this way before reading its payload).
pub fn read_prefix(
    bytes: &[u8],
) -> Result<(BackupHeader, BackupDetails, usize, usize), FormatError> {
    if bytes.len() < 14 || &bytes[..8] != MAGIC {
        return Err(bad("not a ferry-emulator backup"));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(FormatError::Malformed(format!(
            "backup format version {version} is not supported"
        )));
    }
    let hl = u32::from_le_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]) as usize;
    let h = bytes
        .get(14..14usize.saturating_add(hl))
        .ok_or_else(|| bad("header is truncated"))?;
    let stored: Stored = serde_json::from_slice(h)
        .map_err(|e| FormatError::Malformed(format!("header is not valid: {e}")))?;
    let at = 14 + hl;
    let pl = bytes
        .get(at..at + 8)
        .ok_or_else(|| bad("payload length is truncated"))?;
    let pl = u64::from_le_bytes(pl.try_into().unwrap_or([0; 8]));
    let pl = usize::try_from(pl).map_err(|_| bad("payload length is not possible"))?;
    let start = at + 8;
    let end = start
        .checked_add(pl)
        .ok_or_else(|| bad("payload length is not possible"))?;
    Ok((stored.header, stored.details, start, end))
}

/// How many bytes the backup set at the start of `bytes` takes, read from its prefix alone
/// (so a reader of a blob can tell whether another set follows); None when the prefix is not
/// all there.
pub fn set_length(bytes: &[u8]) -> Option<usize> {
    let (h, _, _, end) = read_prefix(bytes).ok()?;
    Some(end + if h.checksum { 32 } else { 0 })
}

/// Decodes the backup set at the start of `bytes`: header, details, its share of the payload,
/// and the bytes it took. Every length is checked; a checksum, when present, is verified.
fn decode_one(bytes: &[u8]) -> Result<(BackupHeader, BackupDetails, Vec<u8>, usize), FormatError> {
    let (header, details, start, end) = read_prefix(bytes)?;
    let payload = bytes
        .get(start..end)
        .ok_or_else(|| bad("payload is truncated"))?;
    let mut used = end;
    if header.checksum {
        let digest = bytes
            .get(end..end + 32)
            .ok_or_else(|| bad("checksum is missing"))?;
        if Sha256::digest(&bytes[..end]).as_slice() != digest {
            return Err(FormatError::ChecksumMismatch);
        }
        used += 32;
    }
    Ok((header, details, payload.to_vec(), used))
}

/// Decodes the first backup set of a stripe: its header and its share of the payload.
pub fn decode(bytes: &[u8]) -> Result<(BackupHeader, Vec<u8>), FormatError> {
    decode_one(bytes).map(|(h, _, p, _)| (h, p))
}

/// Decodes every backup set of a stripe, in order (HEADERONLY's Position 1, 2, …).
pub fn decode_all(
    bytes: &[u8],
) -> Result<Vec<(BackupHeader, BackupDetails, Vec<u8>)>, FormatError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (h, d, p, used) = decode_one(&bytes[at..])?;
        out.push((h, d, p));
        at += used;
    }
    if out.is_empty() {
        return Err(bad("not a ferry-emulator backup"));
    }
    Ok(out)
}

/// Splits a payload into `n` contiguous parts, in stripe order.
pub fn split(payload: &[u8], n: usize) -> Vec<&[u8]> {
    let n = n.max(1);
    let chunk = payload.len().div_ceil(n).max(1);
    let mut parts: Vec<&[u8]> = payload.chunks(chunk).collect();
    while parts.len() < n {
        parts.push(&[]);
    }
    parts
}

/// WITH COMPRESSION: the payload deflated (RFC 1951, through the flate2 library).
pub fn compress(payload: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(payload);
    e.finish().unwrap_or_default()
}

/// A compressed payload expanded; it must come to exactly `size` bytes (the header's
/// BackupSize), which also bounds what a hostile file can make the reader allocate.
pub fn expand(stored: &[u8], size: u64) -> Result<Vec<u8>, FormatError> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(stored)
        .take(size.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| FormatError::Malformed(format!("the compressed payload is damaged: {e}")))?;
    if out.len() as u64 != size {
        return Err(bad(
            "the compressed payload does not expand to its BackupSize",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::BackupType;

    fn header(checksum: bool) -> BackupHeader {
        BackupHeader {
            database: "Sales".into(),
            backup_type: BackupType::Full,
            first_lsn: 1,
            last_lsn: 7,
            checkpoint_lsn: 7,
            database_backup_lsn: 0,
            differential_base_guid: None,
            backup_set_guid: "g".into(),
            family_guid: "f".into(),
            copy_only: true,
            checksum,
            compressed: true,
            stripe_index: 1,
            stripe_count: 2,
            tde_thumbprint: None,
            server_name: "S".into(),
            recovery_model: "FULL".into(),
            compatibility_level: 150,
            software_version: "15.0.4312".into(),
            backup_start: "t0".into(),
            backup_finish: "t1".into(),
            backup_size: 10,
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let bytes = encode(&header(true), b"hello");
        let (h, p) = decode(&bytes).unwrap();
        assert_eq!((h, p), (header(true), b"hello".to_vec()));
        assert_eq!(set_length(&bytes), Some(bytes.len()));
        let mut damaged = bytes.clone();
        let n = damaged.len();
        damaged[n - 35] ^= 1; // inside the payload, before the 32-byte digest
        assert_eq!(decode(&damaged).unwrap_err(), FormatError::ChecksumMismatch);
        assert!(matches!(
            decode(&bytes[..bytes.len() - 40]),
            Err(FormatError::Malformed(_))
        ));
        assert!(matches!(decode(b"garbage"), Err(FormatError::Malformed(_))));
        let plain = encode(&header(false), b"x");
        assert_eq!(decode(&plain).unwrap().1, b"x");
    }

    #[test]
    fn appended_sets_are_read_in_order() {
        let mut bytes = encode(&header(true), b"first");
        let mut second = header(false);
        second.backup_set_guid = "g2".into();
        bytes.extend(encode(&second, b"second"));
        let sets = decode_all(&bytes).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[1].0.backup_set_guid, "g2");
        assert_eq!(sets[1].2, b"second");
    }

    #[test]
    fn compression_round_trips_and_is_bounded() {
        let data = vec![7u8; 100_000];
        let c = compress(&data);
        assert!(c.len() < data.len() / 10);
        assert_eq!(expand(&c, data.len() as u64).unwrap(), data);
        assert!(expand(&c, 10).is_err());
        assert!(expand(b"not deflate", 5).is_err());
    }

    #[test]
    fn stripes_cover_the_payload_in_order() {
        let parts = split(b"abcdefg", 3);
        assert_eq!(parts.concat(), b"abcdefg");
        assert_eq!(parts.len(), 3);
        assert_eq!(split(b"", 2).len(), 2);
    }
}
