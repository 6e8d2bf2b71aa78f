//! What is checked before LRS starts, as decisions on what was read, so each is tested
//! natively: the source database and its version (methods.md §2.2, LRS guide: SQL Server 2008
//! to 2022), the Managed Instance's limits, the names LRS takes, and log backups another job
//! writes elsewhere.

use ferry_sdk::SourceDatabase;
use ferry_sdk::mi_limits::{self, Instance};
use ferry_sdk::sql_version::{SqlVersion, UpdatePolicy, newer_than_policy};
use ferry_sdk::striping;
use ferry_sdk::tsql_text::quote_name;

use crate::config::{BackupsFrom, Config};

/// What ferry reads about the Managed Instance through ARM (and, with a `target` label, T-SQL).
#[derive(Debug, Clone)]
pub struct Mi {
    pub location: String,
    pub policy: UpdatePolicy,
    pub instance: Instance,
}

/// LRS restores backups of SQL Server 2008 (10) to 2022 (16).
const OLDEST_MAJOR: u32 = 10;
const NEWEST_MAJOR: u32 = 16;
/// BACKUP TO URL with a SAS credential arrived in SQL Server 2016 (methods.md §4.2).
const FIRST_SAS_BACKUP_MAJOR: u32 = 13;

/// The first reason the source database cannot go to `mi` with LRS as `cfg` asks.
pub fn source_refusal(db: &str, src: &SourceDatabase, cfg: &Config, mi: &Mi) -> Option<String> {
    let Some(version) = src.version else {
        return Some(
            "the source did not answer SERVERPROPERTY('ProductVersion') with a version; ferry \
             cannot tell whether LRS restores its backups"
                .into(),
        );
    };
    if let Some(why) = version_refusal(version, cfg.backups_from, mi.policy) {
        return Some(why);
    }
    if !src.state.eq_ignore_ascii_case("ONLINE") {
        return Some(format!(
            "[{db}] is {} on the source; bring it ONLINE, then run `ferry apply --retry-failed`",
            src.state
        ));
    }
    if !src.recovery.eq_ignore_ascii_case("FULL") {
        return Some(format!(
            "[{db}] uses the {} recovery model; LRS needs FULL (ALTER DATABASE {} SET RECOVERY \
             FULL, then a full backup)",
            src.recovery,
            quote_name(db)
        ));
    }
    let tier = mi.instance.tier();
    if let Some(r) = mi_limits::layout_stop(db, &src.layout, tier) {
        return Some(r.reason);
    }
    let on_target = src
        .tde_certificate
        .as_ref()
        .is_some_and(|(_, t)| mi.instance.has_certificate(t));
    if src.encrypted && !cfg.tde_certificates_migrated && !on_target {
        let cert = src
            .tde_certificate
            .as_ref()
            .map(|(n, t)| (n.as_str(), t.as_str()));
        let stop = mi_limits::tde_stop(db, cert).reason;
        if mi.instance.certificates.is_none() {
            // ARM lists no TDE certificates: only the MI's own SQL label can show them.
            return Some(format!(
                "{stop}. ferry cannot see the MI's certificates without its SQL label: set \
                 `target` in this step's config to the MI's sql label (read is enough), or set \
                 tde_certificates_migrated = true once the certificate is uploaded"
            ));
        }
        return Some(stop);
    }
    if cfg.backups_from == BackupsFrom::Ferry
        && let Some(why) = striping::too_large(db, src.layout.size_bytes())
    {
        return Some(why);
    }
    mi_limits::capacity_stop(db, &src.layout, &mi.instance).map(|r| r.reason)
}

/// A source LRS does not restore, that cannot back up TO URL when ferry takes the backups, or
/// newer than the instance's update policy.
fn version_refusal(v: SqlVersion, from: BackupsFrom, policy: UpdatePolicy) -> Option<String> {
    let named = format!("{} ({}.{}.{})", v.release(), v.major, v.minor, v.build);
    if !(OLDEST_MAJOR..=NEWEST_MAJOR).contains(&v.major) {
        return Some(format!(
            "the source is {named}; LRS restores backups of SQL Server 2008 to 2022 only"
        ));
    }
    if from == BackupsFrom::Ferry && v.major < FIRST_SAS_BACKUP_MAJOR {
        return Some(format!(
            "the source is {named}; ferry takes its backups TO URL with a SAS credential, which \
             needs SQL Server 2016 or later. Use backups_from = \"share\" (the database's own \
             backups TO DISK, uploaded by ferry) or \"history\" (backups already in the folder)"
        ));
    }
    newer_than_policy(v, policy)
}

/// A name LRS refuses as `lastBackupName`, checked before anything starts.
pub fn backup_name_refusal(name: &str) -> Option<String> {
    if name.contains(['\n', '\r']) {
        return Some(format!(
            "the backup file {name:?} has a line break in its name, which LRS refuses as \
             lastBackupName (LastBackupNameHasNewline); rename it"
        ));
    }
    (!name.is_ascii()).then(|| {
        format!(
            "the backup file `{name}` has a non-ASCII character in its name, which LRS refuses \
             as lastBackupName (LastBackupNameHasNonAsciiCharacter); take that backup again \
             under an ASCII name"
        )
    })
}

/// A backup msdb records, as the log-chain checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    /// `D` full, `I` differential, `L` log.
    pub kind: char,
    pub copy_only: bool,
    pub device: String,
}

/// Whether `device` is a file directly in the folder at `folder_url`.
pub fn in_folder(folder_url: &str, device: &str) -> bool {
    let prefix = format!("{}/", folder_url.trim_end_matches('/'));
    device
        .strip_prefix(&prefix)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// Log backups written outside the folder after the newest full backup that is not COPY_ONLY
/// (the start of the database's own backup cycle), oldest first.
pub fn logs_elsewhere<'a>(history: &'a [Recorded], folder_url: &str) -> Vec<&'a Recorded> {
    let cycle = history
        .iter()
        .filter(|r| r.kind == 'D' && !r.copy_only)
        .map(|r| r.id)
        .max()
        .unwrap_or(0);
    history
        .iter()
        .filter(|r| r.kind == 'L' && r.id > cycle && !in_folder(folder_url, &r.device))
        .collect()
}

/// Whether msdb shows a full backup that is not COPY_ONLY: what starts a log chain. A
/// COPY_ONLY full does not, so a database without one gets a normal full from ferry, or its
/// first log backup would fail (error 4214).
pub fn has_normal_full(history: &[Recorded]) -> bool {
    history.iter().any(|r| r.kind == 'D' && !r.copy_only)
}

/// Before LRS starts with `backups_from = "ferry"`: another job's log backups would take log
/// records from ferry's chain (`BrokenRestorePlanGapInLogBackups` later), and ferry's would
/// leave holes in that job's chain.
pub fn other_job_refusal(db: &str, elsewhere: &[&Recorded], job_paused: bool) -> Option<String> {
    let newest = elsewhere.last()?;
    (!job_paused).then(|| {
        format!(
            "msdb shows {} log backup(s) of [{db}] written outside ferry's folder since its last \
             full backup (newest: {}). With backups_from = \"ferry\" that job's log backups \
             would break the chain LRS restores, and ferry's would break that job's chain. \
             Point the job at the folder and use backups_from = \"history\" (or \"share\" for \
             backups TO DISK), or pause the job, set log_backup_job_paused = true and run `ferry \
             apply --retry-failed`",
            elsewhere.len(),
            newest.device
        )
    })
}

/// While LRS runs: a log backup of the database written elsewhere since ferry started.
pub fn log_elsewhere_refusal(db: &str, device: &str) -> String {
    format!(
        "a log backup of [{db}] was written outside the folder while LRS ran ({device}): LRS \
         cannot restore past it, so the next backup in the folder would fail with \
         BrokenRestorePlanGapInLogBackups. Stop the job that took it; to go on, copy that file \
         into the folder and use backups_from = \"history\", or stop the LRS job (`az sql midb \
         log-replay stop` deletes the restoring database) and run `ferry apply --retry-failed`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_sdk::mi_limits::{DbFile, FileKind, FileLayout, Tier};

    fn sales() -> SourceDatabase {
        SourceDatabase {
            state: "ONLINE".into(),
            recovery: "FULL".into(),
            version: SqlVersion::parse("15.0.4312.2"),
            layout: FileLayout {
                files: vec![
                    DbFile {
                        kind: FileKind::Rows,
                        size_bytes: 1 << 30,
                    },
                    DbFile {
                        kind: FileKind::Log,
                        size_bytes: 1 << 28,
                    },
                ],
                ..FileLayout::default()
            },
            ..SourceDatabase::default()
        }
    }

    fn mi() -> Mi {
        Mi {
            location: "westeurope".into(),
            policy: UpdatePolicy::SqlServer2022,
            instance: Instance {
                tier: Some(Tier::GeneralPurpose),
                ..Instance::default()
            },
        }
    }

    #[test]
    fn lrs_takes_sql_server_2008_to_2022_and_ferrys_backups_need_2016() {
        let ferry = Config::default();
        let history = Config {
            backups_from: BackupsFrom::History,
            ..Config::default()
        };
        let at = |v: &str| SourceDatabase {
            version: SqlVersion::parse(v),
            ..sales()
        };
        assert_eq!(source_refusal("db", &sales(), &ferry, &mi()), None);
        // 2008 R2 reports no ProductMajorVersion; its ProductVersion says 10.50.
        assert_eq!(
            source_refusal("db", &at("10.50.6000.34"), &history, &mi()),
            None
        );
        let why = source_refusal("db", &at("10.50.6000.34"), &ferry, &mi()).unwrap();
        assert!(
            why.contains("SQL Server 2008 R2") && why.contains("backups_from = \"share\""),
            "{why}"
        );
        assert!(
            source_refusal("db", &at("9.0.5000.0"), &history, &mi())
                .unwrap()
                .contains("2008 to 2022")
        );
        assert!(
            source_refusal("db", &at("17.0.1000.7"), &history, &mi())
                .unwrap()
                .contains("2008 to 2022")
        );
        assert!(
            source_refusal("db", &at("x"), &history, &mi())
                .unwrap()
                .contains("ProductVersion")
        );
        let simple = SourceDatabase {
            recovery: "SIMPLE".into(),
            ..sales()
        };
        assert!(
            source_refusal("db", &simple, &ferry, &mi())
                .unwrap()
                .contains("SET RECOVERY FULL")
        );
    }

    #[test]
    fn names_lrs_refuses_are_caught_before_anything_starts() {
        assert_eq!(backup_name_refusal("Sales_log_0001.trn"), None);
        assert!(
            backup_name_refusal("Café.trn")
                .unwrap()
                .contains("LastBackupNameHasNonAsciiCharacter")
        );
        assert!(
            backup_name_refusal("a\nb.trn")
                .unwrap()
                .contains("LastBackupNameHasNewline")
        );
    }

    #[test]
    fn log_backups_elsewhere_are_counted_from_the_last_normal_full() {
        const F: &str = "https://a/c/Sales";
        let r = |id: i64, kind: char, copy_only: bool, device: &str| Recorded {
            id,
            kind,
            copy_only,
            device: device.into(),
        };
        let history = vec![
            r(1, 'D', false, "https://a/c/nightly/full.bak"),
            r(2, 'L', false, "https://a/c/nightly/old.trn"),
            r(3, 'D', false, "https://a/c/nightly/full2.bak"),
            r(4, 'D', true, "https://a/c/Sales/Sales_full_1of1.bak"),
            r(5, 'L', false, "https://a/c/Sales/Sales_log_0001.trn"),
            r(6, 'L', false, r"\\fs\logs\Sales_0600.trn"),
            r(7, 'L', false, "https://a/c/Sales/sub/x.trn"),
        ];
        let elsewhere: Vec<i64> = logs_elsewhere(&history, F).iter().map(|r| r.id).collect();
        assert_eq!(
            elsewhere,
            [6, 7],
            "the nested file is outside the flat folder too"
        );
        let refs = logs_elsewhere(&history, F);
        let why = other_job_refusal("Sales", &refs, false).unwrap();
        assert!(
            why.contains("2 log backup(s)") && why.contains("log_backup_job_paused"),
            "{why}"
        );
        assert_eq!(
            other_job_refusal("Sales", &refs, true),
            None,
            "the job is paused"
        );
        assert_eq!(other_job_refusal("Sales", &[], false), None);
        assert!(has_normal_full(&history));
        assert!(!has_normal_full(&history[3..]));
        assert!(
            log_elsewhere_refusal("Sales", "x.trn").contains("BrokenRestorePlanGapInLogBackups")
        );
    }
}
