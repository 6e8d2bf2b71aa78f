//! The link's errors and what to do about each ("Troubleshoot link", learn.microsoft.com;
//! methods.md §1.7). A number is found in an operation's failure, in
//! `last_connect_error_number` of `sys.dm_hadr_availability_replica_states`, or in ARM's
//! `mostRecentLinkError`.

/// What an error means and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    pub number: i32,
    pub meaning: &'static str,
    pub remedy: &'static str,
    /// The link must be dropped and made again (seeding cannot go on).
    pub recreate: bool,
}

const fn m(number: i32, meaning: &'static str, remedy: &'static str, recreate: bool) -> Meaning {
    Meaning {
        number,
        meaning,
        remedy,
        recreate,
    }
}

pub const TABLE: [Meaning; 9] = [
    m(
        41962,
        "the link was not initiated within 5 minutes (LinkInitError): the MI could not reach SQL Server",
        "check the network between the MI's subnet and SQL Server on the endpoint port and 11000-11999 (NSG, firewalls), run the step with connectivity_test = true",
        false,
    ),
    m(
        41973,
        "SQL Server's endpoint certificate is not imported into the MI (LinkInitError)",
        "upload SQL Server's certificate through serverTrustCertificates (ferry does this in its trust phase; check it was not deleted)",
        false,
    ),
    m(
        41974,
        "the MI's endpoint certificate is not imported into SQL Server (LinkInitError)",
        "import the MI's DATABASE_MIRRORING endpoint certificate on SQL Server under the MI's FQDN, and the Azure root CAs",
        false,
    ),
    m(
        41976,
        "the availability group does not respond (LinkInitError): its names or parameters do not match",
        "check that the AG and DAG names and the endpoint URLs on SQL Server match the link's ARM resource",
        false,
    ),
    m(
        41986,
        "the connection failed or the secondary does not respond (LinkInitError)",
        "check the network and that the mirroring endpoint is STARTED on SQL Server",
        false,
    ),
    m(
        47521,
        "the secondary did not receive the request (LinkInitError)",
        "check the network between the MI and SQL Server, then make the link again",
        false,
    ),
    m(
        41977,
        "the target database does not respond (LinkCreationError)",
        "check the MI's health and that it has room for the database, then make the link again",
        false,
    ),
    m(
        1408,
        "the log seeding needs was truncated by a log backup (LinkCreationError)",
        "pause log backups of the database while it seeds (or use trace flag 12381 where supported), then drop and recreate the link",
        true,
    ),
    m(
        1412,
        "the log seeding needs was truncated (LinkCreationError)",
        "pause log backups of the database while it seeds, then drop and recreate the link",
        true,
    ),
];

pub fn meaning(number: i32) -> Option<Meaning> {
    TABLE.iter().copied().find(|m| m.number == number)
}

/// The first number of the table in `text` (an ARM error or a message).
pub fn find_in(text: &str) -> Option<Meaning> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|d| d.parse::<i32>().ok())
        .find_map(meaning)
}

/// One sentence for the item's failure.
pub fn describe(db: &str, m: Meaning, detail: &str) -> String {
    let detail = detail.trim().trim_end_matches('.');
    let then = if m.recreate {
        " ferry does not drop the link by itself: drop it (DELETE the distributedAvailabilityGroups \
         resource, DROP AVAILABILITY GROUP for the DAG on SQL Server) and run `ferry apply \
         --retry-failed`, which makes it again"
    } else {
        " Then run `ferry apply --retry-failed`: what exists of the link is kept"
    };
    format!(
        "[{db}]: the link failed with error {}: {}{}. What to do: {}.{then}",
        m.number,
        m.meaning,
        if detail.is_empty() {
            String::new()
        } else {
            format!(" ({detail})")
        },
        m.remedy
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: i32) -> Meaning {
        meaning(n).unwrap_or_else(|| panic!("{n} is in the table"))
    }

    #[test]
    fn e41962_is_the_network() {
        assert!(row(41962).remedy.contains("11000-11999") && !row(41962).recreate);
    }
    #[test]
    fn e41973_is_sql_servers_certificate_on_the_mi() {
        assert!(row(41973).remedy.contains("serverTrustCertificates"));
    }
    #[test]
    fn e41974_is_the_mis_certificate_on_sql_server() {
        assert!(row(41974).remedy.contains("FQDN"));
    }
    #[test]
    fn e41976_is_names_and_parameters() {
        assert!(row(41976).meaning.contains("names"));
    }
    #[test]
    fn e41986_is_the_connection() {
        assert!(row(41986).remedy.contains("STARTED"));
    }
    #[test]
    fn e47521_is_a_request_not_received() {
        assert!(row(47521).meaning.contains("did not receive"));
    }
    #[test]
    fn e41977_is_the_target_database() {
        assert!(row(41977).meaning.contains("LinkCreationError"));
    }
    #[test]
    fn e1408_and_1412_drop_and_recreate() {
        for n in [1408, 1412] {
            assert!(row(n).recreate);
            assert!(describe("Sales", row(n), "").contains("drop it"));
        }
    }
    #[test]
    fn numbers_are_found_in_text_and_unknown_ones_are_not_guessed() {
        assert_eq!(
            find_in("LinkInitError: Error 41973, severity 16").map(|m| m.number),
            Some(41973)
        );
        assert_eq!(
            find_in("error 12345 and then 1408").map(|m| m.number),
            Some(1408)
        );
        assert_eq!(find_in("no number"), None);
        assert_eq!(meaning(50000), None);
        assert_eq!(TABLE.len(), 9);
    }
}
