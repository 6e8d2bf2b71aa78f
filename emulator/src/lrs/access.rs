//! The storage access rules LRS applies to a SAS before it reads anything with it.
//!
//! log-replay-service-overview.md, "Limitations": the SAS "must have Read and List permissions
//! only. For example, if you grant Read, List, and Write permissions, LRS won't be able to
//! start because of the extra Write permission", and a SAS "created with permissions that are
//! set through defining a stored access policy isn't supported". Neither page gives an error
//! code; log-replay-service-migrate.md ("Troubleshooting") says LRS then "fails to start after
//! some time". So the refusal arrives through the start operation, with the documented code
//! for storage the service cannot use at the start (see [`REFUSAL_CODE`]). An expired or wrong
//! signature needs no rule here: Azurite refuses the listing, as Azure Storage would.

/// `StorageBrokenIssueDetectedAtTheStart` — "Storage connection is broken. Please verify and
/// try again." (ManagedDatabaseRestoreDetails.json, 2024-05-01-preview and later): the
/// documented code for storage LRS cannot use when it starts; Microsoft documents no narrower
/// one for a SAS with the wrong permissions.
pub const REFUSAL_CODE: &str = "StorageBrokenIssueDetectedAtTheStart";

/// Why LRS will not start with `sas` (the part after `?`), or None.
pub fn refusal(sas: &str) -> Option<String> {
    let field = |name: &str| {
        sas.trim_start_matches('?')
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    if field("si").is_some() {
        return Some(
            "the SAS is derived from a stored access policy (si=), which LRS does not support; \
             sign one with Read and List permissions given in the token itself"
                .into(),
        );
    }
    let mut perms: Vec<char> = field("sp").unwrap_or_default().chars().collect();
    perms.sort_unstable();
    perms.dedup();
    if perms != ['l', 'r'] {
        return Some(format!(
            "the SAS grants '{}'; LRS starts only with Read and List (sp=rl) and nothing more",
            field("sp").unwrap_or_default()
        ));
    }
    if let Some(scope) = field("sr").filter(|s| *s != "c") {
        return Some(format!(
            "the SAS is scoped to '{scope}'; LRS needs one for the whole container (sr=c)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn only_read_and_list_on_the_container_pass() {
        assert_eq!(refusal("sv=2022-11-02&sr=c&sp=rl&se=x&sig=y"), None);
        assert_eq!(refusal("?sp=lr&sr=c&sig=y"), None);
        // The documentation's own example is an account SAS (ss/srt, no sr): accepted.
        assert_eq!(refusal("sv=2019-02-02&ss=b&srt=sco&sp=rl&sig=y"), None);
        for sas in [
            "sp=racwl&sr=c&sig=y",
            "sp=r&sr=c&sig=y",
            "sp=rl&sr=b&sig=y",
            "si=policy1&sr=c&sig=y",
        ] {
            assert!(refusal(sas).is_some(), "{sas}");
        }
    }
}
