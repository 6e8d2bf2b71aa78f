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

/// Reads a TOML file of at most `max_bytes` into `T`, turning parse errors (including unknown
/// keys) into an [`InputError`] that names the file and line.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    max_bytes: u64,
) -> Result<(T, String), InputError> {
    let text = read_text(path, max_bytes)?;
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

/// The file as UTF-8 text, reading no more than `max_bytes` (and one byte to know it is more).
pub(crate) fn read_text(path: &Path, max_bytes: u64) -> Result<String, InputError> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| InputError::new(path, None, format!("cannot read the file: {e}"));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max_bytes + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > max_bytes {
        return Err(InputError::new(
            path,
            None,
            format!(
                "the file is larger than {max_bytes} bytes, the most ferry reads from it (see \
                 \"Limits\" in the README); is this the right file? Split a larger migration \
                 into several"
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = line_of(&String::from_utf8_lossy(&e.as_bytes()[..at]), at);
        InputError::new(
            path,
            Some(line),
            "the file is not UTF-8 text (TOML files are UTF-8); save it as UTF-8".to_owned(),
        )
    })
}

/// Where each line of a text starts, to turn many byte offsets into lines: a migration
/// names up to 50,000 databases, and counting newlines from the top for each one took minutes.
pub(crate) struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        Lines {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// The 1-based line of a byte offset, as [`line_of`] counts it.
    pub(crate) fn of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
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
