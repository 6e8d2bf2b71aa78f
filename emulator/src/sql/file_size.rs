//! A file's SIZE in ALTER DATABASE … ADD FILE, in 8 KB pages ("ALTER DATABASE File and
//! Filegroup Options": "SIZE = size [ KB | MB | GB | TB ] … The default is MB"; "an integer").

use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, near, syntax_error};

/// The pages `SIZE = …` asks for, from the tokens after `=`: `8`, `8 MB` or `8MB`.
pub(super) fn pages(t: &[Token]) -> Result<i64, ServerMessage> {
    let Some(Token::Number(n)) = t.first() else {
        return Err(near(t));
    };
    let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
    let glued = &n[digits.len()..];
    let unit = if glued.is_empty() {
        match t.get(1) {
            Some(Token::Word(w)) if !w.eq_ignore_ascii_case("FILENAME") => w.as_str(),
            _ => "MB",
        }
    } else {
        glued
    };
    let kb_per_unit: i64 = match unit.to_ascii_uppercase().as_str() {
        "KB" => 1,
        "MB" => 1024,
        "GB" => 1024 * 1024,
        "TB" => 1024 * 1024 * 1024,
        _ => return Err(syntax_error(unit)),
    };
    let size: i64 = digits.parse().map_err(|_| syntax_error(n))?;
    size.checked_mul(kb_per_unit)
        .map(|kb| kb / 8)
        .ok_or_else(|| syntax_error(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn sizes_read_in_pages() {
        for (text, pages_wanted) in [
            ("8", 1024),
            ("8 MB", 1024),
            ("8MB", 1024),
            ("1 GB", 131072),
            ("512KB", 64),
        ] {
            let t = tokenize(text).unwrap();
            assert_eq!(pages(&t).unwrap(), pages_wanted, "{text}");
        }
        assert_eq!(pages(&tokenize("8 XB").unwrap()).unwrap_err().number, 102);
    }
}
