//! The emulator's backup file format. Real `.bak` files are Microsoft Tape Format; the emulator
//! writes its own, carrying the metadata `RESTORE HEADERONLY` and `RESTORE FILELISTONLY` show
//! and the restore-chain rules depend on (reference/methods.md §0.4).
//!
//! A backup file (one per stripe) holds one or more backup sets, one after the other — a
//! BACKUP TO DISK without INIT or FORMAT appends one, as SQL Server does (NOINIT is BACKUP's
//! default). Each backup set's share of a stripe is:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FERRYBAK` |
//! | 2 | format version, little-endian (2) |
//! | 4 | header length H, little-endian |
//! | H | header, JSON ([`BackupHeader`] and [`BackupDetails`] in one object) |
//! | 8 | payload length P of this stripe, little-endian |
//! | P | this stripe's share of the payload |
//! | 32 | SHA-256 of everything before it in this set — present only WITH CHECKSUM |
//!
//! The payload of a full backup is the database's SQLite file; of a differential or log backup,
//! the change-log entries (LSN, statement) it covers, as JSON. `WITH COMPRESSION` deflates the
//! payload before it is cut into stripes, so `BackupSize` and `CompressedBackupSize` differ as
//! in msdb. Stripes split the (stored) payload into contiguous parts in stripe order.

mod format;
mod header;

pub use format::{
    FormatError, compress, decode, decode_all, encode, encode_set, expand, prefix, read_prefix,
    set_length, split, trailer,
};
pub use header::{BackupDetails, BackupFile, BackupHeader, BackupType, LogEntry};
