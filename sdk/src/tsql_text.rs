//! T-SQL text plugins build often: quoted names and literals, and the SAS credential that
//! BACKUP TO URL / RESTORE FROM URL read blobs with (methods.md §4.2). The secret itself is
//! always a sealed parameter `@sas`, rendered by the host.

/// `[name]` with `]` doubled, as T-SQL quotes identifiers.
pub fn quote_name(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// `N'text'` with `'` doubled.
pub fn quote_text(s: &str) -> String {
    format!("N'{}'", s.replace('\'', "''"))
}

/// A SAS credential named after a container or folder URL; pass the SAS as the sealed
/// parameter `sas`.
pub fn credential_statement(url: &str) -> String {
    format!(
        "CREATE CREDENTIAL {} WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = @sas",
        quote_name(url)
    )
}

pub fn drop_credential_statement(url: &str) -> String {
    format!("DROP CREDENTIAL {}", quote_name(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_closing_character() {
        assert_eq!(quote_name("odd]name"), "[odd]]name]");
        assert_eq!(quote_text("it's"), "N'it''s'");
        assert!(credential_statement("https://a/c").ends_with("SECRET = @sas"));
        assert_eq!(drop_credential_statement("u"), "DROP CREDENTIAL [u]");
    }
}
