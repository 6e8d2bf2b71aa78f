//! ALTER DATABASE … ADD FILE / ADD FILEGROUP, parsed from tokens.

use crate::protocol::tokens::ServerMessage;
use crate::statement::{FileChange, FilegroupKind};
use crate::syntax::{Token, syntax_error};

/// `ADD FILEGROUP fg [CONTAINS FILESTREAM | MEMORY_OPTIMIZED_DATA]` or `ADD [LOG] FILE (NAME = …, FILENAME = '…', …) [TO FILEGROUP fg]`.
pub(super) fn parse_add(st: &[Token]) -> Result<FileChange, ServerMessage> {
    let word = |t: Option<&Token>| match t {
        Some(Token::Word(w) | Token::Quoted(w)) | Some(Token::Str { text: w, .. }) => {
            Some(w.clone())
        }
        _ => None,
    };
    if st.first().is_some_and(|t| t.is("FILEGROUP")) {
        let name = word(st.get(1)).ok_or_else(|| syntax_error("FILEGROUP"))?;
        let kind = match (st.get(2), st.get(3)) {
            (None, _) => FilegroupKind::Rows,
            (Some(c), Some(k)) if c.is("CONTAINS") && k.is("FILESTREAM") => {
                FilegroupKind::Filestream
            }
            (Some(c), Some(k)) if c.is("CONTAINS") && k.is("MEMORY_OPTIMIZED_DATA") => {
                FilegroupKind::MemoryOptimized
            }
            (Some(x), _) => return Err(syntax_error(&x.display())),
        };
        return Ok(FileChange::Filegroup { name, kind });
    }
    let log = st.first().is_some_and(|t| t.is("LOG"));
    let rest = if log { &st[1..] } else { st };
    if !rest.first().is_some_and(|t| t.is("FILE")) || !rest.get(1).is_some_and(|t| t.is_punct("("))
    {
        return Err(syntax_error(
            &rest.first().map(|t| t.display()).unwrap_or_default(),
        ));
    }
    let close = rest
        .iter()
        .position(|t| t.is_punct(")"))
        .ok_or_else(|| syntax_error("FILE"))?;
    let (mut name, mut filename, mut size_pages) = (None, None, None);
    let inner = &rest[2..close];
    for (i, t) in inner.iter().enumerate() {
        if inner.get(i + 1).is_some_and(|x| x.is_punct("=")) {
            if t.is("NAME") {
                name = word(inner.get(i + 2));
            } else if t.is("FILENAME") {
                filename = word(inner.get(i + 2));
            } else if t.is("SIZE") {
                size_pages = Some(super::file_size::pages(&inner[i + 2..])?);
            }
        }
    }
    let after = &rest[close + 1..];
    let filegroup = if after.first().is_some_and(|t| t.is("TO"))
        && after.get(1).is_some_and(|t| t.is("FILEGROUP"))
    {
        word(after.get(2))
    } else {
        None
    };
    Ok(FileChange::File {
        log,
        name: name.ok_or_else(|| syntax_error("FILE"))?,
        filename: filename.ok_or_else(|| syntax_error("FILE"))?,
        filegroup,
        size_pages,
    })
}
