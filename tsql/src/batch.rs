//! `GO`: the batch separator of sqlcmd and SSMS. It is not T-SQL (the server never sees it); a
//! client cuts the script at each `GO` line and sends the pieces one by one. ferry sends each
//! statement text as one batch, but it reads `GO` the way those clients do wherever a batch
//! boundary matters: a procedure name at the start of any batch runs it ("SQL Server Utilities
//! Statements - GO": `GO` alone on its line, optionally with a count and a `--` comment).

use crate::lexer::{LexError, Token, tokenize_spanned};

/// One batch of a script: its text and where it starts in the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<'a> {
    /// The batch's text, without its `GO` line.
    pub text: &'a str,
    /// Byte offset of `text` in the whole script, so positions inside a batch map back to it.
    pub offset: usize,
}

/// The batches of `sql`, cut at each `GO` line outside strings and comments. Empty batches are
/// kept out.
pub fn batches(sql: &str) -> Result<Vec<Batch<'_>>, LexError> {
    let tokens = tokenize_spanned(sql)?;
    let mut out = Vec::new();
    let mut from = 0;
    for (i, t) in tokens.iter().enumerate() {
        if !t.token.is("GO") || !alone_on_its_line(sql, &tokens, i) {
            continue;
        }
        push(&mut out, sql, from, t.span.start);
        from = sql[t.span.end..]
            .find('\n')
            .map_or(sql.len(), |n| t.span.end + n + 1);
    }
    push(&mut out, sql, from, sql.len());
    Ok(out)
}

fn push<'a>(out: &mut Vec<Batch<'a>>, sql: &'a str, from: usize, to: usize) {
    let text = &sql[from..to];
    if !text.trim().is_empty() {
        out.push(Batch { text, offset: from });
    }
}

/// Only white space before `GO` on its line, and after it at most a count, white space and a
/// line comment.
fn alone_on_its_line(sql: &str, tokens: &[crate::lexer::Spanned], i: usize) -> bool {
    let span = &tokens[i].span;
    let line_start = sql[..span.start].rfind('\n').map_or(0, |n| n + 1);
    if !sql[line_start..span.start].trim().is_empty() {
        return false;
    }
    let line_end = sql[span.end..]
        .find('\n')
        .map_or(sql.len(), |n| span.end + n);
    let mut rest = sql[span.end..line_end].trim_start();
    if let Some(Token::Number(n)) = tokens.get(i + 1).map(|t| &t.token)
        && tokens[i + 1].span.start < line_end
    {
        rest = rest[n.len()..].trim_start();
    }
    rest.is_empty() || rest.starts_with("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        batches(sql)
            .unwrap()
            .iter()
            .map(|b| b.text.trim())
            .collect()
    }

    #[test]
    fn go_lines_cut_batches() {
        assert_eq!(
            texts("SELECT 1\nGO\nsp_who\n  go 2 -- twice\nSELECT 2"),
            ["SELECT 1", "sp_who", "SELECT 2"]
        );
    }

    #[test]
    fn go_inside_text_or_beside_other_words_does_not() {
        assert_eq!(
            texts("SELECT 'x\nGO\n' AS a\n/*\nGO\n*/ SELECT 1 AS go\nGO x"),
            ["SELECT 'x\nGO\n' AS a\n/*\nGO\n*/ SELECT 1 AS go\nGO x"]
        );
    }

    #[test]
    fn offsets_point_into_the_script() {
        let sql = "SELECT 1\nGO\nSELECT 2";
        let b = batches(sql).unwrap();
        assert_eq!(&sql[b[1].offset..], "SELECT 2");
    }
}
