//! The plugin's decisions, kept apart from capability calls so they are tested natively:
//! prerequisites, striping, statement text and what a server error means for the user.

/// What ferry reads about a source database before changing anything.
#[derive(Debug, Clone, Default)]
pub struct SourceFacts {
    pub state: String,
    pub recovery: String,
    /// `SERVERPROPERTY('ProductMajorVersion')`: 13 is SQL Server 2016.
    pub major_version: u32,
    pub edition: String,
    pub size_bytes: u64,
    pub log_files: u32,
    pub filestream_files: u32,
    /// The certificate protecting the database encryption key: (name, thumbprint hex).
    pub tde_certificate: Option<(String, String)>,
    pub encrypted: bool,
}

/// Azure's ceiling on one block blob SQL Server writes: 50,000 blocks × 4 MB MAXTRANSFERSIZE,
/// about 195 GiB (methods.md §4.2).
pub const MAX_STRIPE_BYTES: u64 = 50_000 * 4 * 1024 * 1024;
/// BACKUP TO URL takes at most 64 URLs.
pub const MAX_STRIPES: u64 = 64;

/// A reason the database cannot go this way, with a code for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub code: &'static str,
    pub reason: String,
}

fn stop(code: &'static str, reason: String) -> Stop {
    Stop { code, reason }
}

/// The first prerequisite the source database fails, checked before anything changes.
pub fn source_stop(db: &str, f: &SourceFacts, tde_migrated: bool) -> Option<Stop> {
    if f.state.is_empty() {
        return Some(stop(
            "not-found",
            format!("the source has no database named [{db}]"),
        ));
    }
    if !f.state.eq_ignore_ascii_case("ONLINE") {
        return Some(stop(
            "not-online",
            format!(
                "[{db}] is {} on the source; BACKUP needs it ONLINE",
                f.state
            ),
        ));
    }
    if f.major_version < 13 {
        return Some(stop(
            "source-version",
            format!(
                "the source is SQL Server major version {}; BACKUP TO URL with a SAS needs 2016 \
                 (13) or later. Back up to a share and use mode = \"share\"",
                f.major_version
            ),
        ));
    }
    if let Some(s) = shape_stop(db, f.log_files, f.filestream_files) {
        return Some(s);
    }
    if f.encrypted && !tde_migrated {
        let cert = f
            .tde_certificate
            .as_ref()
            .map(|(n, t)| (n.as_str(), t.as_str()));
        let (code, reason) = ferry_sdk::mi_limits::tde_stop(db, cert);
        return Some(stop(code, reason));
    }
    if f.size_bytes > MAX_STRIPES * MAX_STRIPE_BYTES {
        return Some(stop(
            "too-large",
            format!(
                "[{db}] is {} GiB; 64 stripes of at most {} GiB cannot hold it. Use LRS or \
                 back up to a share",
                f.size_bytes >> 30,
                MAX_STRIPE_BYTES >> 30
            ),
        ));
    }
    None
}

/// A layout MI cannot restore (several log files, FILESTREAM), as a stop.
pub fn shape_stop(db: &str, log_files: u32, filestream_files: u32) -> Option<Stop> {
    ferry_sdk::mi_limits::physical_layout_stop(db, log_files, filestream_files)
        .map(|(code, reason)| stop(code, reason))
}

/// Stripes for a database of `size` bytes: enough that none exceeds `per_stripe`, at most 64.
pub fn stripes(size: u64, per_stripe: u64) -> u64 {
    let per = per_stripe.clamp(1, MAX_STRIPE_BYTES);
    size.div_ceil(per).clamp(1, MAX_STRIPES)
}

/// Blob names of the stripes under `folder`.
pub fn stripe_names(folder: &str, db: &str, n: u64) -> Vec<String> {
    let safe: String = db
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (1..=n)
        .map(|i| format!("{folder}/{safe}_{i}of{n}.bak"))
        .collect()
}

pub use ferry_sdk::tsql_text::{quote_name, quote_text};

fn url_list(urls: &[String]) -> String {
    urls.iter()
        .map(|u| format!("URL = {}", quote_text(u)))
        .collect::<Vec<_>>()
        .join(",\n    ")
}

/// The source's backup: COPY_ONLY so the source's own backup chain is untouched, CHECKSUM and
/// COMPRESSION (where the edition has it), FORMAT to replace a half-written earlier attempt,
/// and the transfer sizes the docs recommend for block blobs (methods.md §4.2).
pub fn backup_statement(db: &str, urls: &[String], compress: bool) -> String {
    format!(
        "BACKUP DATABASE {} TO {}\nWITH COPY_ONLY, CHECKSUM, {}FORMAT, MAXTRANSFERSIZE = 4194304, BLOCKSIZE = 65536",
        quote_name(db),
        url_list(urls),
        if compress { "COMPRESSION, " } else { "" }
    )
}

/// Backup compression exists in every edition but Express and Web; asking for it there fails
/// the BACKUP.
pub fn edition_compresses(edition: &str) -> bool {
    let e = edition.to_ascii_lowercase();
    !(e.contains("express") || e.starts_with("web"))
}

/// MI's restore: every stripe, no WITH options (MI refuses them with 41901).
pub fn restore_statement(target: &str, urls: &[String]) -> String {
    format!(
        "RESTORE DATABASE {} FROM {}",
        quote_name(target),
        url_list(urls)
    )
}

pub use ferry_sdk::tsql_text::{credential_statement, drop_credential_statement};

/// What a server error means for the person reading the report.
pub fn hint(code: i32, message: &str) -> &'static str {
    match code {
        3201 => ferry_sdk::url_errors::hint_3201(message),
        3013 => "the statement stopped; the message before it says why",
        3023 => {
            "another backup or file change of this database ran at the same time; run again once it has finished"
        }
        41901 => {
            "the Managed Instance refused the restore: an unsupported option, or a backup it cannot take (several log files, FILESTREAM, a backup with several backup sets)"
        }
        1801 => {
            "a database with this name already exists on the Managed Instance; drop it or set target_name"
        }
        3169 => "the backup comes from a newer SQL Server than the Managed Instance runs",
        33111 => {
            "the backup is TDE-encrypted and the MI lacks its certificate; migrate the certificate first"
        }
        3241 | 3132 | 3231 => "a stripe of the backup is missing or damaged; give every stripe",
        18456 => "the login was refused; check the label's credentials in environment.toml",
        _ => "see the server's message",
    }
}

/// Reads a `.bak` file list: full backups first, in name order, nothing else.
pub fn backup_files(names: &[String]) -> Vec<String> {
    let mut v: Vec<String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".bak"))
        .cloned()
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn online() -> SourceFacts {
        SourceFacts {
            state: "ONLINE".into(),
            recovery: "FULL".into(),
            major_version: 15,
            edition: "Enterprise Edition".into(),
            size_bytes: 10 << 30,
            log_files: 1,
            ..Default::default()
        }
    }

    #[test]
    fn each_prerequisite_stops_with_its_own_code() {
        assert_eq!(source_stop("db", &online(), false), None);
        let cases: Vec<(SourceFacts, &str)> = vec![
            (SourceFacts::default(), "not-found"),
            (
                SourceFacts {
                    state: "OFFLINE".into(),
                    ..online()
                },
                "not-online",
            ),
            (
                SourceFacts {
                    major_version: 12,
                    ..online()
                },
                "source-version",
            ),
            (
                SourceFacts {
                    log_files: 2,
                    ..online()
                },
                "multiple-log-files",
            ),
            (
                SourceFacts {
                    filestream_files: 1,
                    ..online()
                },
                "filestream",
            ),
            (
                SourceFacts {
                    encrypted: true,
                    tde_certificate: Some(("TdeCert".into(), "AB12".into())),
                    ..online()
                },
                "tde-certificate",
            ),
            (
                SourceFacts {
                    size_bytes: 64 * MAX_STRIPE_BYTES + 1,
                    ..online()
                },
                "too-large",
            ),
        ];
        for (facts, code) in cases {
            assert_eq!(source_stop("db", &facts, false).map(|s| s.code), Some(code));
        }
        let tde = SourceFacts {
            encrypted: true,
            tde_certificate: Some(("TdeCert".into(), "AB12".into())),
            ..online()
        };
        let s = source_stop("db", &tde, false).unwrap();
        assert!(
            s.reason.contains("[TdeCert]") && s.reason.contains("0xAB12"),
            "{}",
            s.reason
        );
        assert_eq!(
            source_stop("db", &tde, true),
            None,
            "the certificate step ran first"
        );
    }

    #[test]
    fn stripes_keep_each_blob_under_azures_cap() {
        assert_eq!(stripes(0, 150 << 30), 1);
        assert_eq!(stripes(150 << 30, 150 << 30), 1);
        assert_eq!(stripes((150 << 30) + 1, 150 << 30), 2);
        assert_eq!(stripes(1 << 50, 150 << 30), 64);
        // A per-stripe size above Azure's cap is lowered to it.
        assert_eq!(stripes(400 << 30, 1 << 40), 3);
        assert_eq!(
            stripe_names("Sales", "Sales db", 2),
            ["Sales/Sales_db_1of2.bak", "Sales/Sales_db_2of2.bak"]
        );
    }

    #[test]
    fn statements_quote_names_and_urls() {
        let urls = vec!["https://a/c/x'y.bak".to_owned()];
        assert_eq!(
            restore_statement("odd]name", &urls),
            "RESTORE DATABASE [odd]]name] FROM URL = N'https://a/c/x''y.bak'"
        );
        assert!(backup_statement("db", &urls, true).contains("COPY_ONLY, CHECKSUM, COMPRESSION"));
        assert!(!backup_statement("db", &urls, false).contains("COMPRESSION"));
        assert!(edition_compresses("Enterprise Edition (64-bit)"));
        assert!(edition_compresses("Standard Edition (64-bit)"));
        assert!(!edition_compresses("Express Edition (64-bit)"));
        assert!(!edition_compresses("Web Edition (64-bit)"));
        assert!(credential_statement("https://a/c").ends_with("SECRET = @sas"));
    }
}
