//! The emulator reads T-SQL with ferry's shared lexer (`ferry-tsql`), the one the host's
//! classifier and parameter binder use, so the two can never disagree about where a string or a
//! bracketed name ends. This module maps its errors to the (number, message) pairs the emulator
//! answers with, and refuses the characters its parser has no grammar for.

pub use ferry_tsql::Token;

/// Why text could not be tokenized: (SQL Server error number, message).
pub type LexError = (i32, String);

/// Punctuation the emulator's parser understands; SQL Server itself knows more (`$`…),
/// which the emulator answers as SQL Server answers text it cannot parse: error 102.
const KNOWN_PUNCTUATION: &[&str] = &[
    "(", ")", ",", ".", ";", "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "~", "<=",
    ">=", "<>", "!=", "!<", "!>", "::",
];

pub fn tokenize(sql: &str) -> Result<Vec<Token>, LexError> {
    let tokens = ferry_tsql::tokenize(sql).map_err(|e| (e.number, e.message))?;
    if let Some(Token::Punct(p)) = tokens
        .iter()
        .find(|t| matches!(t, Token::Punct(p) if !KNOWN_PUNCTUATION.contains(&p.as_str())))
    {
        // SQL Server error 102: Incorrect syntax near '…'.
        return Err((102, format!("Incorrect syntax near '{p}'.")));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_sql_servers_numbers() {
        assert_eq!(tokenize("SELECT 'abc").unwrap_err().0, 105);
        assert_eq!(tokenize("SELECT 1 /* x").unwrap_err().0, 113);
        assert_eq!(tokenize("SELECT 1 ? 2").unwrap_err().0, 102);
        assert_eq!(
            tokenize("SELECT [a]]b]").unwrap()[1],
            Token::Quoted("a]b".into())
        );
    }
}
