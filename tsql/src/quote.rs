//! Quoting names and text so that the lexer reads them back as exactly one token with the
//! original content (property-tested in `tests/properties.rs`).

/// `[name]` with `]` doubled, as `QUOTENAME` quotes identifiers.
pub fn quote_name(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// `N'text'` with `'` doubled: a Unicode string literal.
pub fn quote_text(text: &str) -> String {
    format!("N'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_closing_character() {
        assert_eq!(quote_name("odd]name"), "[odd]]name]");
        assert_eq!(quote_text("it's"), "N'it''s'");
    }
}
