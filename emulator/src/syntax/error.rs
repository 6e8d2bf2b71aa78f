//! SQL Server error 102, and the checks every parser here makes that raise it.

use super::lexer::Token;
use crate::protocol::tokens::ServerMessage;

/// What a parser returns: the value read and the tokens after it.
pub type Parsed<'t, T> = Result<(T, &'t [Token]), ServerMessage>;

/// SQL Server error 102 (class 15): Incorrect syntax near '…'.
pub fn syntax_error(near: &str) -> ServerMessage {
    ServerMessage::error(102, 15, format!("Incorrect syntax near '{near}'."))
}

/// Error 102 near the first of `rest` (or near nothing, at the end of the statement).
pub fn near(rest: &[Token]) -> ServerMessage {
    syntax_error(&rest.first().map(|t| t.display()).unwrap_or_default())
}

/// The tokens after the punctuation `p`, or error 102 near what stands there instead.
pub fn expect<'t>(t: &'t [Token], p: &str) -> Result<&'t [Token], ServerMessage> {
    match t.first() {
        Some(x) if x.is_punct(p) => Ok(&t[1..]),
        _ => Err(near(t)),
    }
}

/// The name at `st[i]` (a word or a bracketed name), or error 102 near what stands there.
pub fn name_at(st: &[Token], i: usize) -> Result<String, ServerMessage> {
    match st.get(i) {
        Some(Token::Word(w) | Token::Quoted(w)) => Ok(w.clone()),
        Some(t) => Err(syntax_error(&t.display())),
        None => Err(syntax_error(
            &st.get(i.wrapping_sub(1))
                .map(|t| t.display())
                .unwrap_or_default(),
        )),
    }
}

/// The index of the `)` that closes the `(` at `t[open]`.
pub fn closing_paren(t: &[Token], open: usize) -> Option<usize> {
    closing(t, open, |x| x.is_punct("("), |x| x.is_punct(")"))
}

/// The index of the token that closes the one at `t[open]` (`)` for `(`, `END` for `CASE`…),
/// the pairs nested inside it counted.
pub fn closing(
    t: &[Token],
    open: usize,
    opens: impl Fn(&Token) -> bool,
    closes: impl Fn(&Token) -> bool,
) -> Option<usize> {
    let mut depth = 0;
    for (i, x) in t.iter().enumerate().skip(open) {
        if opens(x) {
            depth += 1;
        } else if closes(x) {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}
