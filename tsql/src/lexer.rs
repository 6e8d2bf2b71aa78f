//! Tokens of T-SQL text. Comments and white space are skipped; everything else becomes a token
//! with the byte range it came from, so a caller can rewrite one token (the parameter binder)
//! and copy the rest of the text untouched.

use std::ops::Range;

/// A token of T-SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A regular identifier or keyword (compare case-insensitively).
    Word(String),
    /// A `[bracketed]` or `"quoted"` identifier, its doubled closers undone: never a keyword.
    Quoted(String),
    /// A string literal, its doubled quotes undone; `unicode` for `N'…'`.
    Str {
        /// The literal's value, without its quotes.
        text: String,
        /// Whether it was written `N'…'` (nvarchar) rather than `'…'` (varchar).
        unicode: bool,
    },
    /// A number as written: `42`, `1.5`, `2e10`, `0x1F`.
    Number(String),
    /// `@name`: a variable or parameter.
    Var(String),
    /// `@@name`: a system function.
    Global(String),
    /// Punctuation and operators: `( ) , . ; : :: = < > <= >= <> != !< !> + - * / % & | ^ ~`
    /// and any other single character (`$`, `{`, `}`…), which callers may refuse.
    Punct(String),
}

impl Token {
    /// Whether this is the keyword `kw` (case-insensitive). Quoted identifiers never are.
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// Whether this is the punctuation or operator `p`, exactly as written.
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

/// A token and the byte range of the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    /// The token.
    pub token: Token,
    /// Where the token stands in the text given to [`tokenize_spanned`] (byte offsets).
    pub span: Range<usize>,
}

/// Text that cannot be tokenized, with the error SQL Server gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// SQL Server's error number: 105 (unclosed quotation mark) or 113 (missing end comment).
    pub number: i32,
    /// SQL Server's message for it.
    pub message: String,
    /// Where the unclosed thing starts (byte offset).
    pub at: usize,
}

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (error {})", self.message, self.number)
    }
}

impl std::error::Error for LexError {}

/// The tokens of `sql`, without their positions.
pub fn tokenize(sql: &str) -> Result<Vec<Token>, LexError> {
    Ok(tokenize_spanned(sql)?
        .into_iter()
        .map(|s| s.token)
        .collect())
}

/// The tokens of `sql` with the byte range each came from.
pub fn tokenize_spanned(sql: &str) -> Result<Vec<Spanned>, LexError> {
    let mut lexer = Lexer {
        sql,
        chars: sql.char_indices().collect(),
        i: 0,
    };
    let mut out = Vec::new();
    while let Some(t) = lexer.next()? {
        out.push(t);
    }
    Ok(out)
}

/// Characters that may continue a regular identifier ("Database identifiers": letters,
/// decimal digits, `@`, `$`, `#`, `_`).
fn continues_identifier(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '$' | '#')
}

struct Lexer<'a> {
    sql: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).map(|(_, c)| *c)
    }

    /// Byte offset of char index `i` (the text's length past the end).
    fn offset(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.sql.len(), |(o, _)| *o)
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) {
        while self.peek(0).is_some_and(&keep) {
            self.i += 1;
        }
    }

    fn next(&mut self) -> Result<Option<Spanned>, LexError> {
        loop {
            let Some(c) = self.peek(0) else {
                return Ok(None);
            };
            let start = self.i;
            let token = match c {
                c if c.is_whitespace() => {
                    self.take_while(char::is_whitespace);
                    continue;
                }
                '-' if self.peek(1) == Some('-') => {
                    self.take_while(|c| c != '\n');
                    continue;
                }
                '/' if self.peek(1) == Some('*') => {
                    self.block_comment()?;
                    continue;
                }
                '\'' => {
                    self.i += 1;
                    Token::Str {
                        text: self.delimited('\'', start)?,
                        unicode: false,
                    }
                }
                'N' | 'n' if self.peek(1) == Some('\'') => {
                    self.i += 2;
                    Token::Str {
                        text: self.delimited('\'', start)?,
                        unicode: true,
                    }
                }
                '[' => {
                    self.i += 1;
                    Token::Quoted(self.delimited(']', start)?)
                }
                '"' => {
                    self.i += 1;
                    Token::Quoted(self.delimited('"', start)?)
                }
                '@' => {
                    let global = self.peek(1) == Some('@');
                    self.i += if global { 2 } else { 1 };
                    let from = self.i;
                    // A variable's name follows the identifier rules too.
                    self.take_while(continues_identifier);
                    let name = self.text(from, self.i);
                    if global {
                        Token::Global(name)
                    } else {
                        Token::Var(name)
                    }
                }
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.number();
                    Token::Number(self.text(start, self.i))
                }
                c if c.is_alphabetic() || c == '_' || c == '#' => {
                    self.take_while(continues_identifier);
                    Token::Word(self.text(start, self.i))
                }
                _ => {
                    let two: String = [Some(c), self.peek(1)].into_iter().flatten().collect();
                    let len = if ["<=", ">=", "<>", "!=", "!<", "!>", "::"].contains(&two.as_str())
                    {
                        2
                    } else {
                        1
                    };
                    self.i += len;
                    Token::Punct(self.text(start, self.i))
                }
            };
            let span = self.offset(start)..self.offset(self.i);
            return Ok(Some(Spanned { token, span }));
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.sql[self.offset(from)..self.offset(to)].to_owned()
    }

    /// A block comment; T-SQL nests them ("Slash Star (Block Comment)").
    fn block_comment(&mut self) -> Result<(), LexError> {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            if c == '/' && self.peek(1) == Some('*') {
                depth += 1;
                self.i += 2;
            } else if c == '*' && self.peek(1) == Some('/') {
                depth -= 1;
                self.i += 2;
                if depth == 0 {
                    return Ok(());
                }
            } else {
                self.i += 1;
            }
        }
        Err(LexError {
            number: 113,
            message: "Missing end comment mark '*/'.".into(),
            at: self.offset(start),
        })
    }

    /// The text up to `close`, a doubled `close` standing for one; the opener is consumed.
    fn delimited(&mut self, close: char, start: usize) -> Result<String, LexError> {
        let mut text = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(LexError {
                        number: 105,
                        message: format!(
                            "Unclosed quotation mark after the character string '{text}'."
                        ),
                        at: self.offset(start),
                    });
                }
                Some(c) if c == close && self.peek(1) == Some(close) => {
                    text.push(close);
                    self.i += 2;
                }
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `42`, `1.5`, `.5`, `2e10`, `1.5E-3`, `0x1F` ("Constants (Transact-SQL)").
    fn number(&mut self) {
        if self.peek(0) == Some('0') && matches!(self.peek(1), Some('x' | 'X')) {
            self.i += 2;
            self.take_while(|c| c.is_ascii_hexdigit());
            return;
        }
        self.take_while(|c| c.is_ascii_digit() || c == '.');
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = matches!(self.peek(1), Some('+' | '-'));
            let digit_at = if sign { 2 } else { 1 };
            if self.peek(digit_at).is_some_and(|d| d.is_ascii_digit()) {
                self.i += digit_at;
                self.take_while(|c| c.is_ascii_digit());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_each_kind() {
        let t = tokenize(
            "SELECT [my col], N'it''s', 'x', @@VERSION, @p1 -- c\n FROM db.dbo.t /* x */ WHERE a <> 1.5",
        )
        .unwrap();
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
    fn doubled_closers_stay_inside_brackets_quotes_and_strings() {
        assert_eq!(
            tokenize("[a]]@sas] \"b\"\"c\" 'd''e'").unwrap(),
            vec![
                Token::Quoted("a]@sas".into()),
                Token::Quoted("b\"c".into()),
                Token::Str {
                    text: "d'e".into(),
                    unicode: false
                },
            ]
        );
    }

    #[test]
    fn block_comments_nest() {
        assert_eq!(
            tokenize("SELECT /* a /* b */ DROP */ 1").unwrap(),
            vec![Token::Word("SELECT".into()), Token::Number("1".into())]
        );
        assert_eq!(tokenize("/* /* */ DROP").unwrap_err().number, 113);
    }

    #[test]
    fn spans_point_back_into_the_text() {
        let sql = "SELECT  N'é' , @x";
        let t = tokenize_spanned(sql).unwrap();
        assert_eq!(&sql[t[1].span.clone()], "N'é'");
        assert_eq!(&sql[t[3].span.clone()], "@x");
    }

    #[test]
    fn scope_qualifiers_money_and_odd_characters_are_punctuation() {
        let t = tokenize("ON SCHEMA::dbo $5 {fn x}").unwrap();
        assert!(t.contains(&Token::Punct("::".into())));
        assert!(t.contains(&Token::Punct("$".into())));
        assert!(t.contains(&Token::Punct("{".into())));
    }

    #[test]
    fn identifiers_follow_the_documented_character_rules() {
        assert_eq!(
            tokenize("#tmp ##g a$b@c _x").unwrap(),
            ["#tmp", "##g", "a$b@c", "_x"]
                .map(|w| Token::Word(w.into()))
                .to_vec()
        );
        assert_eq!(tokenize("@a#b$").unwrap(), vec![Token::Var("a#b$".into())]);
    }

    #[test]
    fn unclosed_things_are_errors_with_sql_servers_numbers() {
        assert_eq!(tokenize("SELECT 'abc").unwrap_err().number, 105);
        assert_eq!(tokenize("SELECT [abc").unwrap_err().number, 105);
        assert_eq!(tokenize("SELECT 1 /* x").unwrap_err().number, 113);
    }

    #[test]
    fn numbers() {
        for n in ["42", "1.5", ".5", "2e10", "1.5E-3", "0x1F"] {
            assert_eq!(tokenize(n).unwrap(), vec![Token::Number(n.into())], "{n}");
        }
        // An `e` without digits is not an exponent: nothing after the number is lost.
        assert_eq!(tokenize("1ex").unwrap().len(), 2);
    }
}
