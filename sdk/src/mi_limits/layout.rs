//! A database's files as a Managed Instance sees them on restore (methods.md §2.7, §4.1,
//! §4.4): one log file, no FILESTREAM, memory-optimized data only on Business Critical, the
//! ADR version store in PRIMARY, no partial containment.

use super::Refusal;
use super::tier::Tier;

/// `sys.database_files.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// 0, ROWS.
    Rows,
    /// 1, LOG.
    Log,
    /// 2: a FILESTREAM container or a memory-optimized one; only the file's filegroup
    /// (`sys.filegroups.type` FD or FX) tells them apart.
    Container,
    /// 4, full-text (before SQL Server 2008), or anything newer.
    Other,
}

impl FileKind {
    /// From `sys.database_files.type`.
    pub fn from_type(t: i64) -> FileKind {
        match t {
            0 => FileKind::Rows,
            1 => FileKind::Log,
            2 => FileKind::Container,
            _ => FileKind::Other,
        }
    }

    /// Whether it is a log file, which has its own size limit and of which MI restores one.
    pub fn is_log(self) -> bool {
        self == FileKind::Log
    }
}

/// One file of the database, with its allocated size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbFile {
    /// What the file holds.
    pub kind: FileKind,
    /// Allocated size, bytes (`sys.database_files.size` is in 8 KiB pages): what the restore
    /// recreates, however much of it is used.
    pub size_bytes: u64,
}

/// `sys.filegroups.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilegroupKind {
    /// FG.
    Rows,
    /// FD: FILESTREAM data.
    Filestream,
    /// FX: memory-optimized (In-Memory OLTP) data.
    MemoryOptimized,
    /// Any type the checks do not know; it refuses nothing.
    Other,
}

impl FilegroupKind {
    /// From `sys.filegroups.type` (`FG`, `FD`, `FX`), in any case and padding.
    pub fn from_type(t: &str) -> FilegroupKind {
        match t.trim().to_ascii_uppercase().as_str() {
            "FG" => FilegroupKind::Rows,
            "FD" => FilegroupKind::Filestream,
            "FX" => FilegroupKind::MemoryOptimized,
            _ => FilegroupKind::Other,
        }
    }
}

/// What the checks need to know about a database's storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileLayout {
    /// Every file of the database (`sys.database_files`).
    pub files: Vec<DbFile>,
    /// The type of each of its filegroups (`sys.filegroups`): a type-2 file is a FILESTREAM
    /// or a memory-optimized container only by its filegroup.
    pub filegroups: Vec<FilegroupKind>,
    /// With ADR on: whether its persistent version store is outside PRIMARY (None when ADR
    /// is off, or the version has none, or the server does not say).
    pub version_store_outside_primary: Option<bool>,
    /// `sys.databases.containment` is PARTIAL.
    pub partially_contained: bool,
}

impl FileLayout {
    /// The allocated size of every file: what the database takes on the instance once
    /// restored (a restore recreates each file at its size).
    pub fn size_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size_bytes).sum()
    }

    fn count(&self, kind: FileKind) -> usize {
        self.files.iter().filter(|f| f.kind == kind).count()
    }

    fn has(&self, kind: FilegroupKind) -> bool {
        self.filegroups.contains(&kind)
    }

    /// Memory-optimized containers: the type-2 files of a database whose only container
    /// filegroups are FX. A filegroup without a container holds nothing yet.
    fn xtp_containers(&self) -> usize {
        if self.has(FilegroupKind::MemoryOptimized) && !self.has(FilegroupKind::Filestream) {
            self.count(FileKind::Container)
        } else {
            0
        }
    }
}

/// The first part of `layout` the instance (of `tier`) cannot restore.
pub fn layout_stop(db: &str, layout: &FileLayout, tier: Tier) -> Option<Refusal> {
    let logs = layout.count(FileKind::Log);
    if logs > 1 {
        return Some(Refusal::new(
            "multiple-log-files",
            format!(
                "[{db}] has {logs} log files; a Managed Instance restores one (error 41921, LRS: \
                 IncompatiblePhysicalLayoutWrongNumberOfLogFiles). Remove the extra log files on \
                 the source (DBCC SHRINKFILE … EMPTYFILE, then ALTER DATABASE … REMOVE FILE)"
            ),
        ));
    }
    let filestream = layout.has(FilegroupKind::Filestream)
        || (layout.count(FileKind::Container) > 0 && !layout.has(FilegroupKind::MemoryOptimized));
    if filestream {
        let what = if layout.has(FilegroupKind::Filestream) {
            "FILESTREAM data (a FILESTREAM filegroup)"
        } else {
            "FILESTREAM (or memory-optimized) containers, which its file list does not tell \
             apart"
        };
        return Some(Refusal::new(
            "filestream",
            format!(
                "[{db}] has {what}; a Managed Instance does not support FILESTREAM: the restore \
                 fails with error 41907 or 41913. Move that data out of the database first"
            ),
        ));
    }
    if layout.xtp_containers() > 0 && !tier.has_in_memory_oltp() {
        return Some(Refusal::new(
            "memory-optimized",
            format!(
                "[{db}] has memory-optimized (In-Memory OLTP) data, and the Managed Instance is {}: \
                 only Business Critical restores it (error 41915, LRS: \
                 XtpInitializedDuringRestore). Restore to a Business Critical instance, or move \
                 the memory-optimized tables to disk-based ones first",
                tier.describe()
            ),
        ));
    }
    if layout.version_store_outside_primary == Some(true) {
        return Some(Refusal::new(
            "version-store",
            format!(
                "[{db}] keeps its accelerated database recovery version store outside PRIMARY; a \
                 Managed Instance restores it only in PRIMARY (error 41939). Turn ADR off, or set \
                 PERSISTENT_VERSION_STORE_FILEGROUP = [PRIMARY], on the source first"
            ),
        ));
    }
    if layout.partially_contained {
        return Some(Refusal::new(
            "partially-contained",
            format!(
                "[{db}] is a partially contained database, which the Managed Instance does not \
                 restore (LRS: PartiallyContainedDatabaseUnsupported). Set CONTAINMENT = NONE on \
                 the source first (contained users become users of logins)"
            ),
        ));
    }
    None
}

/// A note for the log when the layout restores as it is, but worth knowing.
pub fn layout_note(db: &str, layout: &FileLayout, tier: Tier) -> Option<String> {
    (layout.xtp_containers() > 0 && tier.has_in_memory_oltp()).then(|| {
        format!(
            "[{db}] has memory-optimized data; the Managed Instance is Business Critical, which \
             restores it (its filegroup becomes XTP)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(files: &[FileKind], groups: &[FilegroupKind]) -> FileLayout {
        FileLayout {
            files: files
                .iter()
                .map(|&kind| DbFile {
                    kind,
                    size_bytes: 1 << 20,
                })
                .collect(),
            filegroups: groups.to_vec(),
            ..FileLayout::default()
        }
    }

    use FileKind::{Container, Log, Rows};
    use FilegroupKind::{Filestream, MemoryOptimized, Rows as Fg};

    #[test]
    fn filestream_and_memory_optimized_data_are_told_apart_by_filegroup() {
        let gp = Tier::GeneralPurpose;
        let bc = Tier::BusinessCritical;
        assert_eq!(layout_stop("db", &with(&[Rows, Log], &[Fg]), gp), None);
        let fd = with(&[Rows, Log, Container], &[Fg, Filestream]);
        assert_eq!(layout_stop("db", &fd, bc).unwrap().code, "filestream");
        // A FILESTREAM filegroup without a file yet is still FILESTREAM.
        assert_eq!(
            layout_stop("db", &with(&[Rows, Log], &[Fg, Filestream]), bc)
                .unwrap()
                .code,
            "filestream"
        );
        let fx = with(&[Rows, Log, Container], &[Fg, MemoryOptimized]);
        let s = layout_stop("db", &fx, gp).unwrap();
        assert_eq!(s.code, "memory-optimized");
        assert!(
            s.reason.contains("General Purpose") && s.reason.contains("41915"),
            "{}",
            s.reason
        );
        assert!(
            layout_stop("db", &fx, Tier::Unknown)
                .unwrap()
                .reason
                .contains("unknown tier")
        );
        assert_eq!(layout_stop("db", &fx, bc), None);
        assert!(
            layout_note("db", &fx, bc)
                .unwrap()
                .contains("Business Critical")
        );
        // An empty memory-optimized filegroup restores anywhere.
        let empty_fx = with(&[Rows, Log], &[Fg, MemoryOptimized]);
        assert_eq!(layout_stop("db", &empty_fx, gp), None);
        // A container with no FX or FD filegroup read is taken for FILESTREAM (stricter).
        assert_eq!(
            layout_stop("db", &with(&[Rows, Log, Container], &[Fg]), bc)
                .unwrap()
                .code,
            "filestream"
        );
    }

    #[test]
    fn each_other_layout_mi_cannot_restore_has_its_own_code() {
        let bc = Tier::BusinessCritical;
        let two_logs = with(&[Rows, Log, Log], &[Fg]);
        let s = layout_stop("db", &two_logs, bc).unwrap();
        assert!(
            s.code == "multiple-log-files" && s.reason.contains("41921"),
            "{s:?}"
        );
        let pvs = FileLayout {
            version_store_outside_primary: Some(true),
            ..with(&[Rows, Log], &[Fg])
        };
        assert!(
            layout_stop("db", &pvs, bc)
                .unwrap()
                .reason
                .contains("41939")
        );
        let in_primary = FileLayout {
            version_store_outside_primary: Some(false),
            ..pvs
        };
        assert_eq!(layout_stop("db", &in_primary, bc), None);
        let contained = FileLayout {
            partially_contained: true,
            ..in_primary
        };
        assert_eq!(
            layout_stop("db", &contained, bc).unwrap().code,
            "partially-contained"
        );
    }
}
