//! The code Azure Resource Manager answered with, as the host passes it on: a failed request
//! (or a long-running operation that ended Failed) reads `azure label `x`: Code: message`, the
//! code being ARM's stable identifier to branch on (methods.md §0.2).

/// ARM's error code in a host failure message, or None when the message carries none (a lost
/// connection, an HTTP status without an ARM error body).
pub fn arm_code(message: &str) -> Option<&str> {
    let rest = message.split_once("`: ").map_or(message, |(_, r)| r);
    let (code, _) = rest.split_once(": ")?;
    (!code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

/// Whether `message` carries ARM error `code`.
pub fn is_arm_code(message: &str, code: &str) -> bool {
    arm_code(message) == Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_read_only_where_arm_gave_one() {
        assert_eq!(
            arm_code(
                "azure label `mi`: BrokenRestorePlanGapInLogBackups: The restore plan is broken: x"
            ),
            Some("BrokenRestorePlanGapInLogBackups")
        );
        assert_eq!(arm_code("azure label `mi`: HTTP 404: not found"), None);
        assert_eq!(
            arm_code("azure label `mi`: error sending request for url (http://x): refused"),
            None
        );
        assert_eq!(arm_code("no code here"), None);
        assert!(is_arm_code(
            "azure label `a`: LRSCutoverAlreadyInitiated: busy",
            "LRSCutoverAlreadyInitiated"
        ));
    }
}
