//! What SQL Server's error 3201 ("Cannot open backup device") means for a BACKUP TO URL or
//! RESTORE FROM URL, read from the operating system error inside its text (methods.md §4.3).

/// The cause, as a sentence for the person reading the report.
pub fn hint_3201(message: &str) -> &'static str {
    match os_error(message) {
        Some(50) => {
            "no credential on the server covers this URL, so it had no SAS to reach the container (SQL Server says so as operating system error 50)"
        }
        Some(5 | 86) => {
            "the storage refused the request: the credential's SAS is wrong, expired or lacks a permission (BACKUP needs Read, Add, Create, Write, Delete and List; RESTORE needs Read and List)"
        }
        Some(2) => {
            "the blob does not exist: check the URL and that every stripe is in the container"
        }
        Some(80) => "the blob already exists and the BACKUP did not say FORMAT",
        _ => {
            "the server could not open the backup in the container: the credential's SAS is wrong, expired or lacks a permission, or the URL is wrong"
        }
    }
}

/// The number in SQL Server's "Operating system error N(…)".
fn os_error(message: &str) -> Option<u32> {
    const LEAD: &str = "operating system error ";
    let lower = message.to_ascii_lowercase();
    let at = lower.find(LEAD)? + LEAD.len();
    let digits: String = lower[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_3201_is_read_by_its_operating_system_error() {
        let msg = |n: &str| format!("Cannot open backup device 'u'. Operating system error {n}.");
        assert!(hint_3201(&msg("50(The request is not supported.)")).contains("no credential"));
        assert!(hint_3201(&msg("5(Access is denied.)")).contains("SAS is wrong, expired"));
        assert!(
            hint_3201(&msg("2(The system cannot find the file specified.)"))
                .contains("does not exist")
        );
        assert!(hint_3201("Cannot open backup device 'u'.").contains("could not open"));
        assert_eq!(os_error("operating system error 1117(x)"), Some(1117));
    }
}
