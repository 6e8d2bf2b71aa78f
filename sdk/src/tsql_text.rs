//! T-SQL text plugins build often: quoted names and literals, and the SAS credential that
//! BACKUP TO URL / RESTORE FROM URL read blobs with (methods.md §4.2). The secret itself is
//! always a sealed parameter `@sas`, rendered by the host.

/// Quoting from the lexer crate the host and the emulator read T-SQL with, so that what a plugin
/// quotes is read back as exactly one name or one string (property-tested there).
pub use ferry_tsql::{quote_name, quote_text};

/// A SAS credential named after a container or folder URL; pass the SAS as the sealed
/// parameter `sas`.
pub fn credential_statement(url: &str) -> String {
    format!(
        "CREATE CREDENTIAL {} WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = @sas",
        quote_name(url)
    )
}

/// Drops the credential [`credential_statement`] made for `url`.
pub fn drop_credential_statement(url: &str) -> String {
    format!("DROP CREDENTIAL {}", quote_name(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_statements_quote_the_url() {
        assert_eq!(
            credential_statement("https://a/c]"),
            "CREATE CREDENTIAL [https://a/c]]] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = @sas"
        );
        assert!(credential_statement("https://a/c").ends_with("SECRET = @sas"));
        assert_eq!(drop_credential_statement("u"), "DROP CREDENTIAL [u]");
    }
}
