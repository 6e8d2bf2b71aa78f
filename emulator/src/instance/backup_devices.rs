//! Backup devices: files the server's service account may reach, blobs through the credential
//! that covers their URL, and SQL Server's errors when either cannot be opened.
//!
//! SQL Server opens a disk device as its service account: a path the account cannot write is
//! error 3201 with operating system error 5 ("Cannot open backup device '…'. Operating system
//! error 5(Access is denied.)", "Database engine events and errors 3000 to 3999" and the 3201
//! error page). The emulator's service account may use its data directory (relative paths go
//! to its `backup` folder, as SQL Server puts them in its default backup directory, "BACKUP
//! (Transact-SQL)", DISK) and the directories it was granted
//! ([`Instance::allow_backup_directory`]), nothing else on the host.

use std::path::{Path, PathBuf};

use super::Instance;
use super::query::sqlite_error;
use crate::backup::{self, BackupDetails, BackupHeader, FormatError};
use crate::blob;
use crate::protocol::tokens::ServerMessage;
use crate::statement::Device;

/// SQL Server error 3201 (severity 16) with an operating system error.
pub(super) fn cannot_open(device: &str, os: u32, why: &str) -> ServerMessage {
    ServerMessage::error(
        3201,
        16,
        format!("Cannot open backup device '{device}'. Operating system error {os}({why})."),
    )
}

/// 3201 with the operating system's reason for a failed file operation, as SQL Server words it.
pub(crate) fn os_error(device: &str, e: &std::io::Error) -> ServerMessage {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            cannot_open(device, 3, "The system cannot find the path specified.")
        }
        std::io::ErrorKind::PermissionDenied => cannot_open(device, 5, "Access is denied."),
        _ => cannot_open(
            device,
            1117,
            "The request could not be performed because of an I/O device error.",
        ),
    }
}

/// 3201 for a failed blob request, with the OS error SQL Server reports for it.
pub(crate) fn blob_error(url: &str, e: blob::BlobError) -> ServerMessage {
    match e {
        blob::BlobError::AccessDenied => cannot_open(url, 5, "Access is denied."),
        blob::BlobError::NotFound => {
            cannot_open(url, 2, "The system cannot find the file specified.")
        }
        // Guess: SQL Server reports the remote 409 inside its own wording.
        blob::BlobError::Exists => cannot_open(
            url,
            80,
            "The file exists. Use WITH FORMAT to overwrite the blob.",
        ),
        blob::BlobError::TooManyBlocks => cannot_open(
            url,
            1117,
            "The request could not be performed because of an I/O device error.",
        ),
        blob::BlobError::Other(m) => cannot_open(
            url,
            1117,
            &format!("The request could not be performed because of an I/O device error. ({m})"),
        ),
    }
}

/// A backup file that cannot be read as one: 3241, or 3183 for a checksum that does not match.
pub(super) fn format_error(device: &str, e: FormatError) -> ServerMessage {
    match e {
        // SQL Server error 3241 (severity 16).
        FormatError::Malformed(why) => ServerMessage::error(
            3241,
            16,
            format!(
                "The media family on device '{device}' is incorrectly formed. SQL Server cannot process this media family. ({why})"
            ),
        ),
        // SQL Server error 3183 (severity 16).
        FormatError::ChecksumMismatch => ServerMessage::error(
            3183,
            16,
            format!(
                "RESTORE detected an error on page (1:1) in database \"{device}\" as read from the backup set."
            ),
        ),
    }
}

/// One stripe as read: every backup set on it.
pub(super) type Stripe = Vec<(BackupHeader, BackupDetails, Vec<u8>)>;

impl Instance {
    /// Lets the server's service account use `dir` (and what is under it) for backups, as a
    /// share it was given rights on.
    pub fn allow_backup_directory(&mut self, dir: &Path) -> std::io::Result<()> {
        let dir = std::fs::canonicalize(dir)?;
        if !self.backup_dirs.contains(&dir) {
            self.backup_dirs.push(dir);
        }
        Ok(())
    }

    /// The blocks a block blob may have: Azure's 50,000 ("Scalability and performance targets
    /// for Blob storage"), or fewer when a test scales the limit down.
    pub fn set_block_limit(&mut self, blocks: u32) {
        self.block_limit = blocks.max(1);
    }

    /// Where a disk device is, once the service account's rights are checked.
    pub(super) fn disk_path(&self, path: &Path) -> Result<PathBuf, ServerMessage> {
        let shown = path.display().to_string();
        let full = if path.is_absolute() {
            path.to_owned()
        } else {
            let dir = self.dir.join("backup");
            std::fs::create_dir_all(&dir).map_err(|e| os_error(&shown, &e))?;
            dir.join(path)
        };
        let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
            return Err(cannot_open(
                &shown,
                123,
                "The filename, directory name, or volume label syntax is incorrect.",
            ));
        };
        let parent = std::fs::canonicalize(parent).map_err(|e| os_error(&shown, &e))?;
        let real = match std::fs::canonicalize(&full) {
            Ok(p) => p,
            Err(_) => parent.join(name),
        };
        let allowed = |p: &Path| self.backup_dirs.iter().any(|d| p.starts_with(d));
        if !allowed(&parent) || !allowed(&real) {
            return Err(cannot_open(&shown, 5, "Access is denied."));
        }
        Ok(real)
    }

    /// The blob location of a URL and the SAS of the credential that covers it: the credential
    /// whose name is the longest prefix of the URL (SQL Server matches the container or folder
    /// URL), with IDENTITY = 'SHARED ACCESS SIGNATURE'.
    pub(crate) fn url_access(
        &self,
        url: &str,
    ) -> Result<(blob::BlobLocation, String), ServerMessage> {
        let loc = blob::locate(url).map_err(|_| {
            cannot_open(
                url,
                123,
                "The filename, directory name, or volume label syntax is incorrect.",
            )
        })?;
        let mut stmt = self.conn.prepare(r#"SELECT c.name, c.credential_identity, s.secret FROM "sys.credentials" c JOIN "ferry.credential_secrets" s ON s.name = c.name"#).map_err(sqlite_error)?;
        let creds: Vec<(String, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sqlite_error)?
            .filter_map(Result::ok)
            .collect();
        let best = creds
            .into_iter()
            .filter(|(name, _, _)| {
                url.to_ascii_lowercase()
                    .starts_with(&name.trim_end_matches('/').to_ascii_lowercase())
            })
            .max_by_key(|(name, _, _)| name.len());
        match best {
            Some((_, identity, Some(secret)))
                if identity.eq_ignore_ascii_case("SHARED ACCESS SIGNATURE") =>
            {
                Ok((loc, secret))
            }
            Some((name, identity, _)) => Err(ServerMessage::error(
                50000,
                16,
                format!(
                    "credential '{name}' uses IDENTITY = '{identity}'; ferry-emulator supports only SHARED ACCESS SIGNATURE credentials so far"
                ),
            )),
            // SQL Server: no credential for the URL is operating system error 50.
            None => Err(cannot_open(url, 50, "The request is not supported.")),
        }
    }

    /// A whole device's bytes.
    pub(super) fn read_device(&self, d: &Device) -> Result<Vec<u8>, ServerMessage> {
        match d {
            Device::Disk(path) => {
                let real = self.disk_path(path)?;
                std::fs::read(&real).map_err(|e| os_error(&path.display().to_string(), &e))
            }
            Device::Url(url) => {
                let (loc, sas) = self.url_access(url)?;
                blob::block_on(async move { blob::download(&loc, &sas).await })
                    .map_err(|e| blob_error(url, e))
            }
        }
    }

    /// Every backup set on a device.
    pub(super) fn read_stripe(&self, d: &Device) -> Result<Stripe, ServerMessage> {
        let bytes = self.read_device(d)?;
        backup::decode_all(&bytes).map_err(|e| format_error(&d.name(), e))
    }

    /// The backup sets already on a disk device that a BACKUP without INIT/FORMAT appends to
    /// (none when the file does not exist).
    pub(super) fn sets_on_disk(&self, path: &Path) -> Result<Stripe, ServerMessage> {
        let shown = path.display().to_string();
        let real = self.disk_path(path)?;
        match std::fs::read(&real) {
            Ok(bytes) => backup::decode_all(&bytes).map_err(|e| format_error(&shown, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(os_error(&shown, &e)),
        }
    }
}
