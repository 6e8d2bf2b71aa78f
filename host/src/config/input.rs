//! Reading an input file: TOML into typed config, and errors that name the file, the line and
//! the fix.

use std::path::{Path, PathBuf};

/// A problem in an input file, with where it is and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InputError {
    /// The file at fault.
    pub file: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The input is valid but this ferry will not act on it (a plugin built for a newer WIT):
    /// `ferry` exits with "refused" rather than "invalid input".
    pub refused: bool,
}

impl InputError {
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        InputError {
            file: file.to_owned(),
            line,
            message: message.into(),
            refused: false,
        }
    }

    /// An input this ferry refuses rather than one that is wrong.
    pub fn refused(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        InputError {
            refused: true,
            ..InputError::new(file, line, message)
        }
    }
}

/// Reads a TOML file into `T`, turning parse errors (including unknown keys) into an
/// [`InputError`] that names the file and line.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<(T, String), InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(path, None, format!("cannot read the file: {e}")))?;
    match toml::from_str::<T>(&text) {
        Ok(v) => Ok((v, text)),
        Err(e) => {
            let line = e.span().map(|s| line_of(&text, s.start));
            // toml's message is one line with the reason; its multi-line rendering repeats the
            // source, which we show as file:line instead.
            Err(InputError::new(
                path,
                line,
                e.message().trim_end().to_owned(),
            ))
        }
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}
