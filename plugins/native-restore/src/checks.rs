//! The plugin's decisions, kept apart from capability calls so they are tested natively:
//! prerequisites, SAS lifetimes, statement text and what a server error means for the user.

use ferry_sdk::SourceDatabase;
use ferry_sdk::mi_limits::{self, Instance};
use ferry_sdk::sql_version::{SqlVersion, UpdatePolicy, newer_than_policy};
use ferry_sdk::striping;

/// What ferry reads about the target Managed Instance before changing anything.
#[derive(Debug, Clone)]
pub struct Target {
    pub policy: UpdatePolicy,
    pub instance: Instance,
}

/// A reason the database cannot go this way, with a code for the report.
pub type Stop = mi_limits::Refusal;

fn stop(code: &'static str, reason: String) -> Stop {
    Stop::new(code, reason)
}

/// BACKUP TO URL with a SAS credential (block blobs) arrived in SQL Server 2016 (methods.md
/// §4.2, "SQL Server backup to URL", sql-docs).
const FIRST_SAS_BACKUP_MAJOR: u32 = 13;

/// The first prerequisite the source database fails for BACKUP TO URL and a restore on
/// `target`, checked before anything changes.
pub fn source_stop(
    db: &str,
    src: &SourceDatabase,
    tde_migrated: bool,
    target: &Target,
) -> Option<Stop> {
    if !src.state.eq_ignore_ascii_case("ONLINE") {
        return Some(stop(
            "not-online",
            format!(
                "[{db}] is {} on the source; BACKUP needs it ONLINE",
                src.state
            ),
        ));
    }
    let Some(version) = src.version else {
        return Some(stop(
            "source-version",
            "the source did not answer SERVERPROPERTY('ProductVersion') with a version; ferry \
             cannot tell whether it can back up TO URL"
                .into(),
        ));
    };
    if let Some(s) = version_stop(version, target.policy) {
        return Some(s);
    }
    let tier = target.instance.tier();
    if let Some(s) = mi_limits::layout_stop(db, &src.layout, tier) {
        return Some(s);
    }
    let on_target = src
        .tde_certificate
        .as_ref()
        .is_some_and(|(_, t)| target.instance.has_certificate(t));
    if src.encrypted && !tde_migrated && !on_target {
        let cert = src
            .tde_certificate
            .as_ref()
            .map(|(n, t)| (n.as_str(), t.as_str()));
        return Some(mi_limits::tde_stop(db, cert));
    }
    if let Some(why) = striping::too_large(db, src.layout.size_bytes()) {
        return Some(stop("too-large", why));
    }
    mi_limits::capacity_stop(db, &src.layout, &target.instance)
}

/// A source too old to back up TO URL with a SAS, or newer than the MI restores.
fn version_stop(version: SqlVersion, policy: UpdatePolicy) -> Option<Stop> {
    if version.major < FIRST_SAS_BACKUP_MAJOR {
        return Some(stop(
            "source-version",
            format!(
                "the source is {} ({}.{}); BACKUP TO URL with a SAS credential needs SQL Server \
                 2016 or later. Back the database up to a share and use mode = \"share\"",
                version.release(),
                version.major,
                version.minor
            ),
        ));
    }
    newer_than_policy(version, policy).map(|why| stop("source-version", why))
}

/// A pessimistic rate for moving a backup through blob storage (a busy source, a small MI):
/// a SAS must last as long as the backup, or the restore, would at this rate.
const SLOW_BYTES_PER_SECOND: u64 = 10 << 20;
/// Margin on top, for queues and retries (the MI retries reads in the background).
const MARGIN_MINUTES: u64 = 24 * 60;
/// The most the host signs: 7 days for a SAS that writes, 31 for Read and List.
pub const MAX_WRITE_SAS_MINUTES: u32 = 7 * 24 * 60;
pub const MAX_READ_SAS_MINUTES: u32 = 31 * 24 * 60;

/// Minutes a SAS must stay valid for `size_bytes` to be written or read through it: the MI
/// reads the blobs for the whole restore, which goes on after the client disconnects
/// (methods.md §4.4), so a SAS sized to the statement's start would expire mid-restore. At
/// least `floor`, at most `cap`.
pub fn sas_minutes(size_bytes: u64, floor: u32, cap: u32) -> u32 {
    let transfer = size_bytes / SLOW_BYTES_PER_SECOND / 60;
    let wanted = (transfer + MARGIN_MINUTES).max(u64::from(floor));
    wanted.min(u64::from(cap)) as u32
}

/// One backup set as `RESTORE HEADERONLY` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupHeader {
    pub backup_type: i64,
    pub database: String,
    pub checksums: bool,
    pub software_major: u32,
    pub partially_contained: bool,
}

/// Backups found on a share must be one full backup of this database the MI can restore.
/// A backup taken without CHECKSUM restores, and is worth a warning (the second value).
pub fn share_backup_stop(
    db: &str,
    headers: &[BackupHeader],
    policy: UpdatePolicy,
) -> (Option<Stop>, Option<String>) {
    let bad = |reason: String| (Some(stop("backup-file", reason)), None);
    let h = match headers {
        [] => return bad(format!("the backups of [{db}] have no backup set")),
        [h] => h,
        _ => {
            return bad(format!(
                "the backup of [{db}] holds {} backup sets; a Managed Instance restores a file \
                 with one (error 41919)",
                headers.len()
            ));
        }
    };
    if h.backup_type != 1 {
        return bad(format!(
            "the backup of [{db}] is not a full database backup (BackupType {}); a Managed \
             Instance restores only full backups",
            h.backup_type
        ));
    }
    if !h.database.eq_ignore_ascii_case(db) {
        return bad(format!(
            "the backup on the share is of database [{}], not [{db}]",
            h.database
        ));
    }
    let version = SqlVersion {
        major: h.software_major,
        minor: 0,
        build: 0,
    };
    if let Some(why) = newer_than_policy(version, policy) {
        return (
            Some(stop(
                "source-version",
                format!("the backup of [{db}]: {why}"),
            )),
            None,
        );
    }
    if h.partially_contained {
        let layout = mi_limits::FileLayout {
            partially_contained: true,
            ..Default::default()
        };
        return (
            mi_limits::layout_stop(db, &layout, mi_limits::Tier::Unknown),
            None,
        );
    }
    // CHECKSUM is recommended, not required ("Migrate databases by using Log Replay
    // Service" and "BACKUP", sql-docs): without it the MI restores, checking less.
    let warning = (!h.checksums).then(|| {
        format!(
            "the backup of [{db}] was taken without CHECKSUM: the Managed Instance restores it, \
             but cannot check its pages as it reads them. Take backups WITH CHECKSUM"
        )
    });
    (None, warning)
}

pub use ferry_sdk::tsql_text::{quote_name, quote_text};

fn url_list(urls: &[String]) -> String {
    urls.iter()
        .map(|u| format!("URL = {}", quote_text(u)))
        .collect::<Vec<_>>()
        .join(",\n    ")
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
    if let Some(meaning) = mi_limits::meaning(code) {
        return meaning;
    }
    match code {
        3201 => ferry_sdk::url_errors::hint_3201(message),
        3013 => "the statement stopped; the message before it says why",
        3023 => {
            "another backup or file change of this database ran at the same time; run again once it has finished"
        }
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
    use ferry_sdk::mi_limits::{DbFile, FileKind, FileLayout, Tier};

    fn online() -> SourceDatabase {
        SourceDatabase {
            state: "ONLINE".into(),
            recovery: "FULL".into(),
            version: SqlVersion::parse("15.0.4312.2"),
            edition: "Enterprise Edition".into(),
            layout: FileLayout {
                files: vec![
                    DbFile {
                        kind: FileKind::Rows,
                        size_bytes: 10 << 30,
                    },
                    DbFile {
                        kind: FileKind::Log,
                        size_bytes: 1 << 30,
                    },
                ],
                ..FileLayout::default()
            },
            ..Default::default()
        }
    }

    fn target() -> Target {
        Target {
            policy: UpdatePolicy::SqlServer2022,
            instance: Instance {
                tier: Some(Tier::BusinessCritical),
                ..Instance::default()
            },
        }
    }

    #[test]
    fn each_prerequisite_stops_with_its_own_code() {
        assert_eq!(source_stop("db", &online(), false, &target()), None);
        let with_version = |v: &str| SourceDatabase {
            version: SqlVersion::parse(v),
            ..online()
        };
        let cases: Vec<(SourceDatabase, &str)> = vec![
            (
                SourceDatabase {
                    state: "OFFLINE".into(),
                    ..online()
                },
                "not-online",
            ),
            // SQL Server 2014 and 2012 (whose ProductMajorVersion may be NULL) alike.
            (with_version("12.0.6024.0"), "source-version"),
            (with_version("11.0.2100.60"), "source-version"),
            (with_version(""), "source-version"),
            (with_version("17.0.1000.7"), "source-version"),
            (
                SourceDatabase {
                    encrypted: true,
                    tde_certificate: Some(("TdeCert".into(), "AB12".into())),
                    ..online()
                },
                "tde-certificate",
            ),
        ];
        for (facts, code) in cases {
            assert_eq!(
                source_stop("db", &facts, false, &target()).map(|s| s.code),
                Some(code)
            );
        }
        let s = source_stop("db", &with_version("12.0.6024.0"), false, &target()).unwrap();
        assert!(
            s.reason.contains("SQL Server 2014") && s.reason.contains("mode = \"share\""),
            "{}",
            s.reason
        );
        let tde = SourceDatabase {
            encrypted: true,
            tde_certificate: Some(("TdeCert".into(), "AB12".into())),
            ..online()
        };
        assert_eq!(
            source_stop("db", &tde, true, &target()),
            None,
            "the certificate step ran first"
        );
        let mut big = online();
        big.layout.files[0].size_bytes = 64 * striping::MAX_STRIPE_BYTES + 1;
        assert_eq!(
            source_stop("db", &big, false, &target()).map(|s| s.code),
            Some("too-large")
        );
    }

    #[test]
    fn a_sas_outlives_the_backup_or_restore_it_is_for() {
        // A small database: a day's margin.
        assert_eq!(sas_minutes(16 << 20, 240, MAX_READ_SAS_MINUTES), 24 * 60);
        // 1 TiB at 10 MiB/s is about 29 hours, plus the margin.
        assert_eq!(
            sas_minutes(1 << 40, 240, MAX_READ_SAS_MINUTES),
            1747 + 24 * 60
        );
        // The configured minimum wins when it is longer.
        assert_eq!(sas_minutes(16 << 20, 5000, MAX_READ_SAS_MINUTES), 5000);
        // Never past what the host signs.
        assert_eq!(
            sas_minutes(16 << 40, 240, MAX_WRITE_SAS_MINUTES),
            MAX_WRITE_SAS_MINUTES
        );
        assert_eq!(
            sas_minutes(64 << 40, 240, MAX_READ_SAS_MINUTES),
            MAX_READ_SAS_MINUTES
        );
    }

    #[test]
    fn share_backups_must_be_one_full_backup_of_the_database_and_checksum_is_advised() {
        let h = |t: i64, n: &str, c: bool| BackupHeader {
            backup_type: t,
            database: n.into(),
            checksums: c,
            software_major: 15,
            partially_contained: false,
        };
        let p = UpdatePolicy::SqlServer2022;
        assert_eq!(
            share_backup_stop("Sales", &[h(1, "Sales", true)], p),
            (None, None)
        );
        let (stop, warning) = share_backup_stop("Sales", &[h(1, "Sales", false)], p);
        assert_eq!(stop, None, "without CHECKSUM it still restores");
        assert!(warning.unwrap().contains("without CHECKSUM"));
        for (headers, needle) in [
            (vec![], "no backup set"),
            (vec![h(1, "HR", true)], "of database [HR]"),
            (vec![h(5, "Sales", true)], "BackupType 5"),
            (vec![h(1, "Sales", true), h(2, "Sales", true)], "41919"),
            (
                vec![BackupHeader {
                    software_major: 17,
                    ..h(1, "Sales", true)
                }],
                "3169",
            ),
        ] {
            let s = share_backup_stop("Sales", &headers, p).0.expect("stops");
            assert!(s.reason.contains(needle), "{}", s.reason);
        }
    }

    #[test]
    fn statements_quote_names_and_urls_and_errors_are_explained() {
        let urls = vec!["https://a/c/x'y.bak".to_owned()];
        assert_eq!(
            restore_statement("odd]name", &urls),
            "RESTORE DATABASE [odd]]name] FROM URL = N'https://a/c/x''y.bak'"
        );
        assert!(credential_statement("https://a/c").ends_with("SECRET = @sas"));
        assert!(hint(41915, "").contains("Business Critical"));
        assert!(hint(41902, "").contains("only from URL"));
        assert!(hint(3201, "Operating system error 86(x)").contains("SAS"));
    }
}
