//! BACKUP and RESTORE, as the parser reads them and the instance carries them out.

use std::path::PathBuf;

use crate::backup::BackupType;

/// Where a backup goes or comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    Disk(PathBuf),
    Url(String),
}

impl Device {
    pub fn name(&self) -> String {
        match self {
            Device::Disk(p) => p.display().to_string(),
            Device::Url(u) => u.clone(),
        }
    }

    /// msdb.dbo.backupmediafamily.device_type: 2 disk, 9 URL.
    pub fn device_type(&self) -> i64 {
        match self {
            Device::Disk(_) => 2,
            Device::Url(_) => 9,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSpec {
    pub database: String,
    pub kind: BackupType,
    pub devices: Vec<Device>,
    pub copy_only: bool,
    pub checksum: bool,
    pub compression: bool,
    /// INIT or FORMAT: overwrite existing media.
    pub overwrite: bool,
    pub name: Option<String>,
    /// BACKUP LOG … WITH NORECOVERY: the tail-log backup that leaves the database RESTORING,
    /// so nothing can be written after it.
    pub norecovery: bool,
}

/// What a RESTORE statement asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreKind {
    Database,
    Log,
    HeaderOnly,
    FileListOnly,
    VerifyOnly,
    LabelOnly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSpec {
    pub kind: RestoreKind,
    pub database: Option<String>,
    pub devices: Vec<Device>,
    pub norecovery: bool,
    pub replace: bool,
    pub checksum: bool,
    /// Every WITH option as written, for MI's check of what it accepts.
    pub options: Vec<String>,
}
