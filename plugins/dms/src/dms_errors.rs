//! DMS's errors and what to do about each (methods.md §3.5–§3.6, from "Known issues, limitations
//! and troubleshooting" and "Troubleshoot common Azure Database Migration Service issues and
//! errors", learn.microsoft.com). A code is found in `migrationFailureError.code`, in a failed
//! ARM request's code (`azure label `x`: Code: message`) or, for a number, in the message; 2009
//! (`MigrationRestoreFailed`) is told apart by what its message says.

/// What an error means and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    /// A stable key for the report's reason code.
    pub key: &'static str,
    /// DMS's number, where it has one.
    pub number: Option<i32>,
    /// DMS's error name.
    pub name: &'static str,
    pub meaning: &'static str,
    pub remedy: &'static str,
}

const fn m(
    key: &'static str,
    number: Option<i32>,
    name: &'static str,
    meaning: &'static str,
    remedy: &'static str,
) -> Meaning {
    Meaning {
        key,
        number,
        name,
        meaning,
        remedy,
    }
}

/// 2009's sub-causes, each found by what the message says (first match wins).
const RESTORE_FAILED: [(&[&str], Meaning); 6] = [
    (
        &["thumbprint", "server certificate"],
        m(
            "2009-tde-certificate",
            Some(2009),
            "MigrationRestoreFailed",
            "the database is TDE-encrypted and the MI does not hold its certificate",
            "migrate the certificate first (an `instance-objects` step, the portal's TDE \
             certificate migration or New-AzDataMigrationTdeCertificateMigration), then start again",
        ),
    ),
    (
        &["3169"],
        m(
            "2009-3169",
            Some(2009),
            "MigrationRestoreFailed",
            "the backup was taken by a newer SQL Server than the MI's (error 3169)",
            "the MI's update policy must be at least the source's version (SQL Server 2022 or Always-up-to-date)",
        ),
    ),
    (
        &["checksum"],
        m(
            "2009-missing-checksum",
            Some(2009),
            "MigrationRestoreFailed",
            "a backup lacks checksums",
            "take the full and log backups again WITH CHECKSUM (or set the server's `backup checksum default`)",
        ),
    ),
    (
        &["3234"],
        m(
            "2009-3234",
            Some(2009),
            "MigrationRestoreFailed",
            "a logical file name in the backup does not match the database's files (error 3234)",
            "the folder holds backups of another database or an older layout: keep only this database's chain",
        ),
    ),
    (
        &[
            "multiple database",
            "more than one database",
            "multiple backups of different",
        ],
        m(
            "2009-multiple-databases",
            Some(2009),
            "MigrationRestoreFailed",
            "the folder holds backups of more than one database",
            "give each database its own flat folder (or container)",
        ),
    ),
    (
        &["firewall", "authorizationfailure", "not authorized", "403"],
        m(
            "2009-storage-firewall",
            Some(2009),
            "MigrationRestoreFailed",
            "the MI cannot read the storage account (its firewall or network rules)",
            "allow the MI's subnet on the storage account (or use a private endpoint), then start again",
        ),
    ),
];

const RESTORE_FAILED_OTHER: Meaning = m(
    "2009",
    Some(2009),
    "MigrationRestoreFailed",
    "the MI could not restore a backup",
    "read the message for the restore's own error, fix the backup chain, then start again",
);

pub const TABLE: [Meaning; 14] = [
    m(
        "2007",
        Some(2007),
        "CutoverFailedOrCancelled",
        "cutover failed: the restore plan is broken (a log backup does not follow the previous one, or the full's LSNs do not match)",
        "take a new full backup and log backups WITH CHECKSUM into an empty folder, delete the migration and start again",
    ),
    m(
        "2012",
        Some(2012),
        "TestConnectionFailed",
        "the integration runtime could not reach the source or the share (DNS, the share's path, credentials)",
        "on the runtime's machine, check the source's name resolves and the share's path and account work",
    ),
    m(
        "2014",
        Some(2014),
        "IntegrationRuntimeIsNotOnline",
        "the self-hosted integration runtime is not Online",
        "start the runtime's service and register it with an auth key (portal, or `az datamigration sql-service list-auth-key`)",
    ),
    m(
        "2030",
        Some(2030),
        "AzureSQLManagedInstanceNotReady",
        "the Managed Instance is not ready (being created, scaled or updated)",
        "wait until the MI's state is Ready, then start again",
    ),
    m(
        "2039",
        Some(2039),
        // The reference gives only the number and its meaning, no name.
        "",
        "DMS retried the migration for its whole retry window (8 hours) without success",
        "fix what the last error said, delete the migration and start again",
    ),
    m(
        "2040",
        Some(2040),
        "",
        "the migration stayed in a retriable state past DMS's retry window",
        "fix what the last error said, delete the migration and start again",
    ),
    m(
        "not-ready-for-cutover",
        None,
        "MigrationNotReadyForCutoverError",
        "DMS is not ready for cutover: files are still uploading or restoring",
        "wait until every file is Restored and no log backup is pending (ferry waits), then cutover",
    ),
    m(
        "operation-not-found",
        None,
        // DMS's message, not a code: `Operation Id <guid> was not found`.
        "Operation Id … was not found",
        "DMS no longer knows the migration's operation id (an old or cleaned-up migration)",
        "read the current `migrationOperationId` with a GET of the migration and use that one",
    ),
    m(
        "invalid-container-name",
        None,
        "InvalidContainerName",
        "DMS refuses the container's name",
        "use a container not named `backup`, with 3-63 lowercase letters, digits and hyphens",
    ),
    m(
        "invalid-storage-account",
        None,
        "InvalidStorageAccount",
        "DMS cannot use the storage account",
        "use an account in the service's region; with premium tier only a BlockBlobStorage account",
    ),
    m(
        "invalid-location",
        None,
        "InvalidLocation",
        "the storage account or service is not in the region DMS needs",
        "put the service and the storage account in the MI's region",
    ),
    m(
        "runtime-not-self-hosted",
        None,
        "IntegrationRuntimeIsNotSelfHosted",
        "the service's integration runtime is not a self-hosted one",
        "register a self-hosted integration runtime made by the migration tooling (an ADF one cannot be reused)",
    ),
    // LRS's code for a name in use, which DMS's restore passes on ("Migrate databases with
    // Log Replay Service", learn.microsoft.com).
    m(
        "target-name-in-use",
        None,
        "ManagedDatabaseNameInUse",
        "a database of the target's name exists on the MI: DMS never overwrites",
        "drop or rename the database on the MI, or set target_name, then run `ferry apply --retry-failed`",
    ),
    m(
        "cutover-after-complete",
        None,
        "CutoverNotAllowedMigrationCompleteError",
        "the migration is already complete: there is nothing to cut over",
        "nothing to do: the database is online on the MI",
    ),
];

/// The meaning of an error, from its code (a name or a number) and its message.
pub fn find(code: Option<&str>, message: &str) -> Option<Meaning> {
    let lower = message.to_ascii_lowercase();
    if lower.contains("operation id") && lower.contains("was not found") {
        return TABLE
            .iter()
            .copied()
            .find(|m| m.key == "operation-not-found");
    }
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let number = code
        .and_then(|c| c.parse::<i32>().ok())
        .or_else(|| number_in(message));
    let restore = code == Some("MigrationRestoreFailed") || number == Some(2009);
    if restore {
        return Some(
            RESTORE_FAILED
                .iter()
                .find(|(keys, _)| keys.iter().any(|k| lower.contains(k)))
                .map_or(RESTORE_FAILED_OTHER, |(_, m)| *m),
        );
    }
    code.and_then(meaning_named)
        .or_else(|| number.and_then(|n| TABLE.iter().copied().find(|m| m.number == Some(n))))
        .or_else(|| {
            TABLE
                .iter()
                .copied()
                .find(|m| !m.name.is_empty() && message.contains(m.name))
        })
}

fn meaning_named(name: &str) -> Option<Meaning> {
    TABLE
        .iter()
        .copied()
        .find(|m| !m.name.is_empty() && m.name == name)
}

/// The first four-digit DMS number of the table (20xx) in a message.
fn number_in(text: &str) -> Option<i32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|d| d.parse::<i32>().ok())
        .find(|n| *n == 2009 || TABLE.iter().any(|m| m.number == Some(*n)))
}

/// One sentence for the item's failure.
pub fn describe(db: &str, m: Meaning, detail: &str) -> String {
    let detail = detail.trim().trim_end_matches('.');
    let id = match m.number {
        Some(n) if m.name.is_empty() => n.to_string(),
        Some(n) => format!("{n} {}", m.name),
        None => m.name.to_owned(),
    };
    format!(
        "[{db}]: DMS error {id}: {}{}. What to do: {}",
        m.meaning,
        if detail.is_empty() {
            String::new()
        } else {
            format!(" ({detail})")
        },
        m.remedy
    )
}

/// A failure, explained when its code or message is in the table.
pub fn explain(db: &str, e: ferry_sdk::Error) -> ferry_sdk::Error {
    let ferry_sdk::Error::Failed(f) = e else {
        return e;
    };
    let code = ferry_sdk::arm_errors::arm_code(&f.message);
    match find(code, &f.message) {
        Some(m) => ferry_sdk::Error::Failed(ferry_sdk::Failure {
            message: describe(db, m, &f.message),
            code: m.number.or(f.code),
        }),
        None => ferry_sdk::Error::Failed(ferry_sdk::Failure {
            message: format!("[{db}]: {}", f.message),
            code: f.code,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: Option<&str>, msg: &str) -> &'static str {
        find(code, msg).map_or("none", |m| m.key)
    }

    #[test]
    fn e2007_is_a_broken_restore_plan() {
        assert_eq!(key(Some("2007"), "CutoverFailedOrCancelled"), "2007");
        assert!(find(Some("2007"), "").unwrap().remedy.contains("new full"));
    }
    #[test]
    fn e2009_tde_certificate() {
        let msg = "MigrationRestoreFailed: cannot find server certificate with thumbprint '0xAB'";
        assert_eq!(key(Some("2009"), msg), "2009-tde-certificate");
    }
    #[test]
    fn e2009_3169_newer_version() {
        assert_eq!(
            key(Some("MigrationRestoreFailed"), "Error 3169: newer version"),
            "2009-3169"
        );
    }
    #[test]
    fn e2009_missing_checksum() {
        assert_eq!(
            key(None, "2009: Full backup Sales.bak is missing checksum"),
            "2009-missing-checksum"
        );
    }
    #[test]
    fn e2009_3234_logical_file() {
        assert_eq!(
            key(Some("2009"), "3234: logical file is not part of database"),
            "2009-3234"
        );
    }
    #[test]
    fn e2009_multiple_databases() {
        assert_eq!(
            key(Some("2009"), "The folder holds multiple databases' backups"),
            "2009-multiple-databases"
        );
    }
    #[test]
    fn e2009_storage_firewall() {
        assert_eq!(
            key(
                Some("2009"),
                "AuthorizationFailure: blocked by the firewall"
            ),
            "2009-storage-firewall"
        );
    }
    #[test]
    fn e2009_other() {
        assert_eq!(key(Some("2009"), "something else"), "2009");
    }
    #[test]
    fn e2012_test_connection() {
        assert_eq!(key(Some("2012"), ""), "2012");
    }
    #[test]
    fn e2014_runtime_offline() {
        assert!(
            find(Some("2014"), "")
                .unwrap()
                .remedy
                .contains("list-auth-key")
        );
    }
    #[test]
    fn e2030_mi_not_ready() {
        assert_eq!(key(None, "AzureSQLManagedInstanceNotReady 2030"), "2030");
    }
    #[test]
    fn e2039_and_2040_retry_window() {
        assert_eq!(key(Some("2039"), ""), "2039");
        assert_eq!(key(Some("2040"), ""), "2040");
    }
    #[test]
    fn not_ready_for_cutover() {
        assert_eq!(
            key(Some("MigrationNotReadyForCutoverError"), "x"),
            "not-ready-for-cutover"
        );
    }
    #[test]
    fn operation_id_not_found() {
        assert_eq!(
            key(None, "Operation Id 1234-5678 was not found."),
            "operation-not-found"
        );
    }
    #[test]
    fn invalid_container_storage_and_location() {
        assert_eq!(
            key(Some("InvalidContainerName"), ""),
            "invalid-container-name"
        );
        assert_eq!(
            key(Some("InvalidStorageAccount"), ""),
            "invalid-storage-account"
        );
        assert_eq!(key(Some("InvalidLocation"), ""), "invalid-location");
    }
    #[test]
    fn codes_by_name_as_the_service_sends_them() {
        assert_eq!(
            key(
                Some("CutoverFailedOrCancelled"),
                "Cutover failed or cancelled for database Sales. Error details: The restore plan is broken"
            ),
            "2007"
        );
        assert_eq!(key(Some("TestConnectionFailed"), ""), "2012");
        assert_eq!(key(Some("IntegrationRuntimeIsNotOnline"), ""), "2014");
    }
    #[test]
    fn runtime_not_self_hosted() {
        assert_eq!(
            key(Some("IntegrationRuntimeIsNotSelfHosted"), ""),
            "runtime-not-self-hosted"
        );
    }
    #[test]
    fn target_name_in_use() {
        assert_eq!(
            key(
                Some("ManagedDatabaseNameInUse"),
                "Database 'Sales' already exists"
            ),
            "target-name-in-use"
        );
    }
    #[test]
    fn cutover_after_complete() {
        assert_eq!(
            key(Some("CutoverNotAllowedMigrationCompleteError"), ""),
            "cutover-after-complete"
        );
    }
    #[test]
    fn explain_keeps_the_number_and_says_what_to_do() {
        let e = explain(
            "Sales",
            ferry_sdk::Error::failed("starting failed: azure label `mi`: InvalidLocation: west"),
        );
        let ferry_sdk::Error::Failed(f) = e else {
            panic!("failed")
        };
        assert!(f.message.contains("What to do") && f.message.contains("region"));
        assert_eq!(f.code, None);
    }
    #[test]
    fn unknown_errors_are_not_guessed() {
        assert_eq!(key(Some("SomethingElse"), "error 1234"), "none");
        let d = describe("Sales", find(Some("2014"), "").unwrap(), "offline.");
        assert!(d.contains("2014 IntegrationRuntimeIsNotOnline") && d.contains("(offline)"));
    }
}
