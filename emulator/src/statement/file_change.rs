//! ALTER DATABASE … ADD FILE / ADD FILEGROUP, as the parser reads it and the instance applies it.

/// A change to a database's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    Filegroup {
        name: String,
        filestream: bool,
    },
    File {
        log: bool,
        name: String,
        filename: String,
        filegroup: Option<String>,
    },
}
