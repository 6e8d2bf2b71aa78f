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

    /// msdb.dbo.backupmediafamily.device_type: 2 disk, 9 Azure Storage ("backupmediafamily
    /// (Transact-SQL)").
    pub fn device_type(&self) -> i64 {
        match self {
            Device::Disk(_) => 2,
            Device::Url(_) => 9,
        }
    }

    /// RESTORE HEADERONLY's DeviceType for a device named by path or URL (a physical device):
    /// 102 disk, 109 URL ("RESTORE HEADERONLY (Transact-SQL)"; 2 and 9 are logical devices).
    pub fn header_device_type(&self) -> i64 {
        match self {
            Device::Disk(_) => 102,
            Device::Url(_) => 109,
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
    /// MAXTRANSFERSIZE: bytes per write, and per block of a block blob (1 MiB when not given).
    pub max_transfer_size: Option<u32>,
    /// BLOCKSIZE: the physical block size (65536 for URL when not given).
    pub block_size: Option<u32>,
    pub description: Option<String>,
    /// Every WITH option as written, for Managed Instance's check of what it accepts.
    pub options: Vec<String>,
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
    /// Every WITH option as written, for MI's check of what it accepts; `FILE = n` is kept
    /// as `FILE=n` (see [`RestoreSpec::file`]).
    pub options: Vec<String>,
}

impl RestoreSpec {
    /// FILE = n: which backup set of the media to read (1 when not given).
    pub fn file(&self) -> u32 {
        self.options
            .iter()
            .find_map(|o| o.strip_prefix("FILE="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1)
    }

    /// The WITH options by name, for messages.
    pub fn option_names(&self) -> Vec<&str> {
        self.options
            .iter()
            .map(|o| o.split('=').next().unwrap_or(o))
            .collect()
    }
}
