//! The emulator's backup file format. Real `.bak` files are Microsoft Tape Format; the emulator
//! writes its own, documented here, carrying the same metadata `RESTORE HEADERONLY` shows and
//! the restore-chain rules depend on (reference/methods.md §0.4).
//!
//! A backup file (one per stripe) is:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FERRYBAK` |
//! | 2 | format version, little-endian (1) |
//! | 4 | header length H, little-endian |
//! | H | header, JSON ([`BackupHeader`]) |
//! | 8 | payload length P of this stripe, little-endian |
//! | P | this stripe's share of the payload |
//! | 32 | SHA-256 of everything before it — present only when the backup was taken WITH CHECKSUM |
//!
//! The payload of a full backup is the database's SQLite file; of a differential or log backup,
//! the change-log entries (LSN, statement) it covers, as JSON. Stripes split the payload into
//! contiguous parts in stripe order. `COMPRESSION` is recorded in the header, but the payload is
//! stored as is (a guess that no test depends on compressed sizes).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"FERRYBAK";
const VERSION: u16 = 1;

/// Full, differential or log (HEADERONLY BackupType 1, 5, 2; msdb type D, I, L).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupType {
    Full,
    Differential,
    Log,
}

impl BackupType {
    pub fn header_code(self) -> i64 {
        match self {
            BackupType::Full => 1,
            BackupType::Log => 2,
            BackupType::Differential => 5,
        }
    }

    pub fn msdb_code(self) -> &'static str {
        match self {
            BackupType::Full => "D",
            BackupType::Differential => "I",
            BackupType::Log => "L",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BackupType::Full => "Database",
            BackupType::Differential => "Database Differential",
            BackupType::Log => "Transaction Log",
        }
    }
}

/// What a backup file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupHeader {
    pub database: String,
    pub backup_type: BackupType,
    pub first_lsn: i64,
    pub last_lsn: i64,
    pub checkpoint_lsn: i64,
    pub database_backup_lsn: i64,
    /// For a differential: the BackupSetGUID of the full it is based on.
    pub differential_base_guid: Option<String>,
    pub backup_set_guid: String,
    pub family_guid: String,
    pub copy_only: bool,
    pub checksum: bool,
    pub compressed: bool,
    pub stripe_index: u32,
    pub stripe_count: u32,
    /// The TDE certificate thumbprint when the database is encrypted.
    pub tde_thumbprint: Option<String>,
    pub server_name: String,
    pub recovery_model: String,
    pub compatibility_level: u8,
    pub software_version: String,
    pub backup_start: String,
    pub backup_finish: String,
    /// Size of the whole payload (all stripes).
    pub backup_size: u64,
}

/// One change-log entry, as differential and log backups carry them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub lsn: i64,
    pub sql: String,
}

/// Why a file is not a usable backup: SQL Server error 3241 ("The media family on device '…' is
/// incorrectly formed") or 3189/3183 for a checksum mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    Malformed(String),
    ChecksumMismatch,
}

/// Encodes one stripe into one buffer (small backups and tests).
pub fn encode(header: &BackupHeader, payload_part: &[u8]) -> Vec<u8> {
    let mut out = prefix(header, payload_part.len());
    let tail = trailer(header, &out, payload_part);
    out.extend_from_slice(payload_part);
    out.extend_from_slice(&tail);
    out
}

/// Everything before a stripe's payload: magic, version, header, payload length. Writing the
/// prefix, the payload and the [`trailer`] one after the other gives the same bytes as
/// [`encode`] without copying a large payload.
pub fn prefix(header: &BackupHeader, payload_len: usize) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap_or_default();
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

/// Decodes one stripe: its header and its share of the payload. Every length is checked
/// against the file; a checksum, when present, is verified.
pub fn decode(bytes: &[u8]) -> Result<(BackupHeader, Vec<u8>), FormatError> {
    let bad = |m: &str| FormatError::Malformed(m.to_owned());
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
        .get(14..14 + hl)
        .ok_or_else(|| bad("header is truncated"))?;
    let header: BackupHeader = serde_json::from_slice(h)
        .map_err(|e| FormatError::Malformed(format!("header is not valid: {e}")))?;
    let at = 14 + hl;
    let pl = bytes
        .get(at..at + 8)
        .ok_or_else(|| bad("payload length is truncated"))?;
    let pl = u64::from_le_bytes(pl.try_into().unwrap_or([0; 8])) as usize;
    let payload = bytes
        .get(at + 8..at + 8 + pl)
        .ok_or_else(|| bad("payload is truncated"))?;
    let end = at + 8 + pl;
    if header.checksum {
        let digest = bytes
            .get(end..end + 32)
            .ok_or_else(|| bad("checksum is missing"))?;
        if Sha256::digest(&bytes[..end]).as_slice() != digest {
            return Err(FormatError::ChecksumMismatch);
        }
    }
    Ok((header, payload.to_vec()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn stripes_cover_the_payload_in_order() {
        let parts = split(b"abcdefg", 3);
        assert_eq!(parts.concat(), b"abcdefg");
        assert_eq!(parts.len(), 3);
        assert_eq!(split(b"", 2).len(), 2);
    }
}
