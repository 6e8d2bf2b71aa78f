//! Backups SQL Server writes TO URL as block blobs, sized to fit Azure's limits, shared by every
//! plugin that takes a backup (native-restore's full, LRS's full and logs).
//!
//! A block blob holds at most 50,000 blocks, and SQL Server writes one block per
//! `MAXTRANSFERSIZE` (1 MiB by default, at most 4 MiB): a blob stops at about 48 GiB with the
//! default and about 195 GiB at 4 MiB ("SQL Server backup to URL best practices and
//! troubleshooting", sql-docs; methods.md §4.2). So every backup here says `MAXTRANSFERSIZE =
//! 4194304, BLOCKSIZE = 65536`, and a database is striped over enough URLs (at most 64) that
//! no blob passes 150 GiB, which leaves room for growth between the size read and the backup.

use crate::tsql_text::{quote_name, quote_text};

/// The largest `MAXTRANSFERSIZE` SQL Server takes for URL, in bytes.
pub const MAX_TRANSFER_SIZE: u64 = 4 * 1024 * 1024;
/// The block size the docs recommend for backups to block blobs.
pub const BLOCK_SIZE: u64 = 65_536;
/// Azure Blob Storage's most blocks in one block blob.
pub const MAX_BLOCKS_PER_BLOB: u64 = 50_000;
/// The most one blob written at `MAX_TRANSFER_SIZE` can hold.
pub const MAX_STRIPE_BYTES: u64 = MAX_BLOCKS_PER_BLOB * MAX_TRANSFER_SIZE;
/// BACKUP TO URL takes at most 64 URLs.
pub const MAX_STRIPES: u64 = 64;
/// Database bytes per stripe by default: under [`MAX_STRIPE_BYTES`] with room to grow.
pub const DEFAULT_STRIPE_BYTES: u64 = 150 << 30;

/// Stripes for a database of `size` bytes: enough that none holds more than `per_stripe`
/// (lowered to [`MAX_STRIPE_BYTES`]), at least one, at most [`MAX_STRIPES`].
pub fn stripes(size: u64, per_stripe: u64) -> u64 {
    let per = per_stripe.clamp(1, MAX_STRIPE_BYTES);
    size.div_ceil(per).clamp(1, MAX_STRIPES)
}

/// Why a database of `size` bytes cannot be backed up TO URL at all: 64 stripes of the most
/// a blob holds are too few.
pub fn too_large(db: &str, size: u64) -> Option<String> {
    (size > MAX_STRIPES * MAX_STRIPE_BYTES).then(|| {
        format!(
            "[{db}] is {} GiB; {MAX_STRIPES} stripes of at most {} GiB cannot hold it. Back it \
             up to a share and upload the files (mode = \"share\")",
            size >> 30,
            MAX_STRIPE_BYTES >> 30
        )
    })
}

/// A name for files made from a database name: ASCII letters, digits, `-` and `_` only, so
/// the name needs no escaping in a URL and passes LRS's ASCII-only `lastBackupName`.
pub fn file_stem(db: &str) -> String {
    db.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Blob names of `n` stripes under `folder`: `{folder}/{base}_{i}of{n}.bak`.
pub fn stripe_names(folder: &str, base: &str, n: u64) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{folder}/{base}_{i}of{n}.bak"))
        .collect()
}

/// Backup compression exists in every edition but Express and Web; asking for it there fails
/// the BACKUP ("Backup compression", sql-docs: editions that support it).
pub fn edition_compresses(edition: &str) -> bool {
    let e = edition.to_ascii_lowercase();
    !(e.contains("express") || e.starts_with("web"))
}

/// What is backed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    /// A full database backup.
    Full {
        /// COPY_ONLY: leaves the database's differential base alone.
        copy_only: bool,
    },
    /// A log backup.
    Log {
        /// NORECOVERY: leaves the database RESTORING (a tail-log backup).
        norecovery: bool,
    },
}

/// Where a backup goes.
#[derive(Debug, Clone, Copy)]
pub enum Device<'a> {
    /// Block blobs, one per stripe.
    Url(&'a [String]),
    /// One file as the server sees it.
    Disk(&'a str),
}

/// The BACKUP statement: CHECKSUM always, COMPRESSION where the edition has it, FORMAT to
/// replace what a cut-short attempt left, and TO URL the transfer sizes above.
pub fn backup_statement(db: &str, what: Backup, to: Device<'_>, compress: bool) -> String {
    let (verb, lead) = match what {
        Backup::Full { copy_only: true } => ("DATABASE", "COPY_ONLY, "),
        Backup::Full { copy_only: false } => ("DATABASE", ""),
        Backup::Log { .. } => ("LOG", ""),
    };
    let (devices, sizes) = match to {
        Device::Url(urls) => (
            urls.iter()
                .map(|u| format!("URL = {}", quote_text(u)))
                .collect::<Vec<_>>()
                .join(",\n    "),
            format!(", MAXTRANSFERSIZE = {MAX_TRANSFER_SIZE}, BLOCKSIZE = {BLOCK_SIZE}"),
        ),
        Device::Disk(path) => (format!("DISK = {}", quote_text(path)), String::new()),
    };
    let norecovery = match what {
        Backup::Log { norecovery: true } => ", NORECOVERY",
        _ => "",
    };
    format!(
        "BACKUP {verb} {} TO {devices}\nWITH {lead}CHECKSUM, {}FORMAT{sizes}{norecovery}",
        quote_name(db),
        if compress { "COMPRESSION, " } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_keep_each_blob_under_azures_block_limit() {
        assert_eq!(MAX_STRIPE_BYTES, 50_000 * 4 * 1024 * 1024);
        assert_eq!(stripes(0, DEFAULT_STRIPE_BYTES), 1);
        assert_eq!(stripes(150 << 30, DEFAULT_STRIPE_BYTES), 1);
        assert_eq!(stripes((150 << 30) + 1, DEFAULT_STRIPE_BYTES), 2);
        // 1 TiB: seven stripes of at most 150 GiB.
        assert_eq!(stripes(1 << 40, DEFAULT_STRIPE_BYTES), 7);
        assert_eq!(stripes(1 << 50, DEFAULT_STRIPE_BYTES), 64);
        // A per-stripe size above Azure's cap is lowered to it.
        assert_eq!(stripes(400 << 30, 1 << 40), 3);
        assert!(too_large("db", 64 * MAX_STRIPE_BYTES).is_none());
        assert!(
            too_large("db", 64 * MAX_STRIPE_BYTES + 1)
                .unwrap()
                .contains("mode = \"share\"")
        );
    }

    #[test]
    fn file_names_are_ascii_whatever_the_database_is_called() {
        assert_eq!(file_stem("Sales db"), "Sales_db");
        assert_eq!(file_stem("Café-2"), "Caf_-2");
        assert_eq!(
            stripe_names("Sales", "Sales_full", 2),
            ["Sales/Sales_full_1of2.bak", "Sales/Sales_full_2of2.bak"]
        );
    }

    #[test]
    fn every_backup_to_url_fits_the_block_limit_and_checks_its_pages() {
        let urls = vec!["https://a/c/x'1.bak".to_owned(), "https://a/c/2.bak".into()];
        let full = backup_statement(
            "odd]db",
            Backup::Full { copy_only: true },
            Device::Url(&urls),
            true,
        );
        assert_eq!(
            full,
            "BACKUP DATABASE [odd]]db] TO URL = N'https://a/c/x''1.bak',\n    URL = N'https://a/c/2.bak'\nWITH COPY_ONLY, CHECKSUM, COMPRESSION, FORMAT, MAXTRANSFERSIZE = 4194304, BLOCKSIZE = 65536"
        );
        let log = backup_statement(
            "db",
            Backup::Log { norecovery: true },
            Device::Url(&urls[1..]),
            false,
        );
        assert!(log.starts_with("BACKUP LOG [db] TO URL"), "{log}");
        assert!(
            log.ends_with(
                "WITH CHECKSUM, FORMAT, MAXTRANSFERSIZE = 4194304, BLOCKSIZE = 65536, NORECOVERY"
            ),
            "{log}"
        );
        let disk = backup_statement(
            "db",
            Backup::Log { norecovery: false },
            Device::Disk(r"\\fs\t.trn"),
            true,
        );
        assert_eq!(
            disk,
            "BACKUP LOG [db] TO DISK = N'\\\\fs\\t.trn'\nWITH CHECKSUM, COMPRESSION, FORMAT"
        );
        let normal = backup_statement(
            "db",
            Backup::Full { copy_only: false },
            Device::Url(&urls[..1]),
            false,
        );
        assert!(normal.contains("WITH CHECKSUM, FORMAT,"), "{normal}");
        assert!(edition_compresses("Standard Edition (64-bit)"));
        assert!(!edition_compresses("Express Edition (64-bit)"));
        assert!(!edition_compresses("Web Edition (64-bit)"));
    }
}
