//! ALTER DATABASE … ADD FILE / ADD FILEGROUP, as the parser reads it and the instance applies it.

/// What a filegroup holds ("ALTER DATABASE File and Filegroup Options": `CONTAINS FILESTREAM`,
/// `CONTAINS MEMORY_OPTIMIZED_DATA`); `sys.filegroups.type` FG, FD and FX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilegroupKind {
    Rows,
    Filestream,
    MemoryOptimized,
}

impl FilegroupKind {
    /// sys.filegroups (type, type_desc).
    pub fn catalog(self) -> (&'static str, &'static str) {
        match self {
            FilegroupKind::Rows => ("FG", "ROWS_FILEGROUP"),
            FilegroupKind::Filestream => ("FD", "FILESTREAM_DATA_FILEGROUP"),
            FilegroupKind::MemoryOptimized => ("FX", "MEMORY_OPTIMIZED_DATA_FILEGROUP"),
        }
    }
}

/// A change to a database's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    Filegroup {
        name: String,
        kind: FilegroupKind,
    },
    File {
        log: bool,
        name: String,
        filename: String,
        filegroup: Option<String>,
        /// SIZE, in 8 KB pages ("sys.database_files": size "in 8-KB pages"); None: 8 MB.
        size_pages: Option<i64>,
    },
}
