//! A T-SQL tokenizer: identifiers (plain, `[bracketed]`, `"quoted"`), `N'…'` and `'…'` strings
//! with doubled quotes, numbers, `@variables`, `@@functions`, operators, and comments skipped.

/// A token and the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A plain identifier or keyword (compare case-insensitively).
    Word(String),
    /// A `[bracketed]` or `"quoted"` identifier: never a keyword.
    Quoted(String),
    /// A string literal; `unicode` for `N'…'`.
    Str {
        text: String,
        unicode: bool,
    },
    Number(String),
    /// `@name`
    Var(String),
    /// `@@name`
    Global(String),
    /// One- or two-character punctuation: `( ) , . ; = < > <= >= <> != + - * / %`.
    Punct(String),
}

impl Token {
    /// Whether this is the keyword `kw` (case-insensitive).
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    pub fn is_punct(&self, p: &str) -> bool {
        matches!(self, Token::Punct(x) if x == p)
    }

    /// The token as SQL Server would quote it in "Incorrect syntax near '…'".
    pub fn display(&self) -> String {
        match self {
            Token::Word(w) | Token::Number(w) | Token::Punct(w) => w.clone(),
            Token::Quoted(q) => q.clone(),
            Token::Str { text, .. } => text.clone(),
            Token::Var(v) => format!("@{v}"),
            Token::Global(g) => format!("@@{g}"),
        }
    }
}

/// Why text could not be tokenized: (SQL Server error number, message).
pub type LexError = (i32, String);

pub fn tokenize(sql: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            if depth != 0 {
                // SQL Server error 113: Missing end comment mark '*/'.
                return Err((113, "Missing end comment mark '*/'.".into()));
            }
        } else if c == '\'' || ((c == 'N' || c == 'n') && chars.get(i + 1) == Some(&'\'')) {
            let unicode = c != '\'';
            i += if unicode { 2 } else { 1 };
            let mut text = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        // SQL Server error 105: Unclosed quotation mark after the character string '…'.
                        return Err((
                            105,
                            format!("Unclosed quotation mark after the character string '{text}'."),
                        ));
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Str { text, unicode });
        } else if c == '[' || c == '"' {
            let close = if c == '[' { ']' } else { '"' };
            i += 1;
            let mut text = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err((
                            105,
                            format!("Unclosed quotation mark after the character string '{text}'."),
                        ));
                    }
                    Some(ch) if *ch == close && chars.get(i + 1) == Some(&close) => {
                        text.push(close);
                        i += 2;
                    }
                    Some(ch) if *ch == close => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Quoted(text));
        } else if c == '@' {
            let global = chars.get(i + 1) == Some(&'@');
            i += if global { 2 } else { 1 };
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '@'
                    || chars[i] == '#')
            {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            out.push(if global {
                Token::Global(name)
            } else {
                Token::Var(name)
            });
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            if c == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
                i += 2;
                while i < chars.len() && chars[i].is_ascii_hexdigit() {
                    i += 1;
                }
            } else {
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if matches!(chars.get(i), Some('e' | 'E')) {
                    i += 1;
                    if matches!(chars.get(i), Some('+' | '-')) {
                        i += 1;
                    }
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            out.push(Token::Number(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || c == '#' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '#'
                    || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["<=", ">=", "<>", "!=", "!<", "!>"].contains(&two.as_str()) {
                out.push(Token::Punct(two));
                i += 2;
            } else if "(),.;=<>+-*/%&|^~".contains(c) {
                out.push(Token::Punct(c.to_string()));
                i += 1;
            } else {
                // SQL Server error 102: Incorrect syntax near '…'.
                return Err((102, format!("Incorrect syntax near '{c}'.")));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let t = tokenize("SELECT [my col], N'it''s', 'x', @@VERSION, @p1 -- c\n FROM db.dbo.t /* x */ WHERE a <> 1.5").unwrap();
        assert_eq!(t[1], Token::Quoted("my col".into()));
        assert_eq!(
            t[3],
            Token::Str {
                text: "it's".into(),
                unicode: true
            }
        );
        assert_eq!(t[7], Token::Global("VERSION".into()));
        assert_eq!(t[9], Token::Var("p1".into()));
        assert!(t.iter().any(|x| x.is_punct("<>")));
        assert!(t.contains(&Token::Number("1.5".into())));
    }

    #[test]
    fn unclosed_things_are_errors() {
        assert_eq!(tokenize("SELECT 'abc").unwrap_err().0, 105);
        assert_eq!(tokenize("SELECT 1 /* x").unwrap_err().0, 113);
    }
}
