//! RESTORE DATABASE … FROM URL on Managed Instance: checked against what MI cannot restore,
//! then run in the background ("T-SQL differences …", RESTORE statement: "ASYNC RESTORE:
//! Restore continues even if the client connection breaks"). The database exists under a GUID
//! name while it restores and takes its own name when done (methods.md §4.4: "During some
//! phases system views show a GUID instead of the database name"); `sys.dm_operation_status`
//! names the target throughout. The service reads the blobs as it goes, through the credential
//! that covers them, so the SAS must outlive the restore (methods.md §4.4); the server's
//! operation task does the reading ([`crate::server`]), staging what it read in the data
//! directory so a restarted server carries on.

use std::path::PathBuf;

use super::backup_devices::{blob_error, format_error};
use super::backups::{Report, failed};
use super::operations::OperationStart;
use super::restores::{already_exists, check_stripes};
use super::security::{guid_text, unique_bytes};
use super::{Instance, Recovery};
use crate::backup::{self, BackupDetails, BackupHeader, BackupType};
use crate::blob;
use crate::protocol::tokens::ServerMessage;
use crate::statement::{Device, RestoreKind, RestoreSpec};

/// A General Purpose instance holds at most 280 files, data and log ("T-SQL differences …",
/// Database options).
const FILE_LIMIT: i64 = 280;

/// Reads a backup set's header from the start of the blob at `url`: header, details, the
/// set's length, and the blob's size.
fn remote_header(
    url: &str,
    loc: &blob::BlobLocation,
    sas: &str,
) -> Result<(BackupHeader, BackupDetails, u64, u64), ServerMessage> {
    let (l, s) = (loc.clone(), sas.to_owned());
    let (size, prefix) = blob::block_on(async move {
        let size = blob::size(&l, &s).await?;
        let start = blob::read_range(&l, &s, 0..14.min(size)).await?;
        let header_len = start.get(10..14).map_or(0, |b| {
            u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        });
        let prefix = blob::read_range(&l, &s, 0..(22 + header_len).min(size)).await?;
        Ok::<_, blob::BlobError>((size, prefix))
    })
    .map_err(|e| blob_error(url, e))?;
    let (h, d, _, _) = backup::read_prefix(&prefix).map_err(|e| format_error(url, e))?;
    let set = backup::set_length(&prefix).unwrap_or(0) as u64;
    Ok((h, d, set, size))
}

/// What MI cannot restore, by its errors ("Database engine events and errors 41400 to 49999"):
/// several log files (41921); FILESTREAM data (41907, "Unsupported file type during restore");
/// more than one memory-optimized container (41913, "Multiple filestream files are not
/// supported", MI keeping one XTP container); memory-optimized tables on General Purpose, the
/// tier the emulated MI has (41915); the instance's file cap (41916); a version store outside
/// PRIMARY (41939). The reference pages give these numbers but not which applies first; the
/// emulator checks in this order.
fn refusals(d: &BackupDetails, files_on_instance: i64) -> Result<(), ServerMessage> {
    let count =
        |f: &dyn Fn(&crate::backup::BackupFile) -> bool| d.files.iter().filter(|x| f(x)).count();
    let msg = |n: i32, t: String| Err(ServerMessage::error(n, 16, t));
    if count(&|f| f.kind == "L") > 1 {
        return msg(41921, "Restoring from a backup that contains multiple log files is not supported in SQL Database Managed Instance.".into());
    }
    if count(&|f| f.filegroup_type.as_deref() == Some("FD")) > 0 {
        return msg(
            41907,
            "Unsupported file type during restore on SQL Database Managed Instance.".into(),
        );
    }
    if count(&|f| f.filegroup_type.as_deref() == Some("FX")) > 1 {
        return msg(
            41913,
            "Multiple filestream files are not supported in SQL Database Managed Instance.".into(),
        );
    }
    if d.memory_optimized_tables > 0 {
        return msg(41915, "Memory-optimized filegroup must be empty in order to be restored on the current tier of SQL Database Managed Instance.".into());
    }
    // MI adds an XTP container to a database that has none.
    let adds_xtp = i64::from(count(&|f| f.filegroup_type.as_deref() == Some("FX")) == 0);
    if files_on_instance + d.files.len() as i64 + adds_xtp > FILE_LIMIT {
        return msg(
            41916,
            format!(
                "Maximum number of {FILE_LIMIT} files for SQL Database Managed Instance reached."
            ),
        );
    }
    if let Some(fg) = &d.version_store_filegroup
        && !fg.eq_ignore_ascii_case("PRIMARY")
    {
        return msg(41939, "The Persistent Version Store filegroup must be set to the PRIMARY filegroup in order to be restored on SQL Database Managed Instance.".into());
    }
    Ok(())
}

impl Instance {
    /// Where an operation stages what it read of stripe `n`.
    pub fn staging_path(&self, op: &OperationStart, n: usize) -> PathBuf {
        self.dir.join(format!("restore-{}-{n}.part", op.id))
    }

    /// Data and log files of the instance's user databases.
    fn user_files(&self) -> i64 {
        let names: Vec<String> = self
            .databases()
            .filter(|d| !d.system)
            .map(|d| d.name.clone())
            .collect();
        names
            .iter()
            .map(|n| {
                let sql = format!(
                    r#"SELECT COUNT(*) FROM {}."sys.database_files""#,
                    super::query::q(n)
                );
                self.conn
                    .query_row(&sql, [], |r| r.get::<_, i64>(0))
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Checks a RESTORE DATABASE on MI and starts it in the background.
    pub(super) fn start_mi_restore(
        &mut self,
        spec: &RestoreSpec,
        _user: &str,
        session: i64,
        now: &str,
    ) -> Result<Report, Vec<ServerMessage>> {
        let fail = |m: ServerMessage| failed(m, "RESTORE DATABASE");
        let target = spec.database.clone().unwrap_or_default();
        if self.database(&target).is_some() || self.restore_in_flight(&target) {
            return Err(fail(already_exists(&target)));
        }
        let mut sets = Vec::new();
        for d in &spec.devices {
            let Device::Url(url) = d else { continue };
            let (loc, sas) = self.url_access(url).map_err(fail)?;
            let (h, details, set_len, size) = remote_header(url, &loc, &sas).map_err(fail)?;
            if size > set_len {
                return Err(fail(ServerMessage::error(
                    41919,
                    16,
                    "Multiple backup sets in a single backup file are not supported in SQL Database Managed Instance.",
                )));
            }
            sets.push((url.clone(), h, details, size));
        }
        check_stripes(
            &sets.iter().map(|s| &s.1).collect::<Vec<_>>(),
            &spec.devices,
        )
        .map_err(fail)?;
        let (header, details) = (sets[0].1.clone(), sets[0].2.clone());
        if header.backup_type != BackupType::Full {
            let by = if header.backup_type == BackupType::Log {
                "BACKUP LOG"
            } else {
                "BACKUP DATABASE WITH DIFFERENTIAL"
            };
            // SQL Server error 3135 (severity 16).
            return Err(fail(ServerMessage::error(
                3135,
                16,
                format!(
                    "The backup set in file '{}' was created by {by} and cannot be used for this restore operation.",
                    sets[0].0
                ),
            )));
        }
        refusals(&details, self.user_files()).map_err(fail)?;
        if let Some(t) = header
            .tde_thumbprint
            .as_deref()
            .map(super::backup_rows::unhex)
            && !self.has_certificate(&t)
        {
            return Err(fail(ServerMessage::error(
                41923,
                16,
                format!(
                    "Cannot find server certificate with thumbprint '{}'. Please use PowerShell Cmdlet 'Add-AzureRmSqlManagedInstanceTransparentDataEncryptionCertificate' to create the certificate.",
                    super::tde::hex(&t)
                ),
            )));
        }
        // The database appears under a GUID name, restoring, FULL recovery.
        let guid = guid_text(&unique_bytes(&target, 16)).to_ascii_lowercase();
        let file = self.new_file_path(&guid);
        self.attach(&guid, Some(file), Recovery::Full, false)
            .map_err(fail)?;
        self.update_database(&guid, |i| i.restoring = true)
            .map_err(fail)?;
        self.set_state(&guid, true).map_err(fail)?;
        let mut ordered: Vec<_> = sets.iter().collect();
        ordered.sort_by_key(|s| s.1.stripe_index);
        let op = OperationStart {
            id: guid_text(&unique_bytes(&guid, 16)),
            database: guid,
            target,
            devices: ordered.iter().map(|s| (s.0.clone(), s.3)).collect(),
            session,
            size: ordered.iter().map(|s| s.3).sum(),
        };
        self.start_operation(&op, now).map_err(fail)?;
        Ok(Report {
            messages: vec![],
            rows: None,
            operation: Some(op),
        })
    }

    /// The restore read everything: the database is restored under its GUID name, given MI's
    /// settings, and renamed. The messages a successful RESTORE ends with, or its errors.
    pub fn finish_mi_restore(
        &mut self,
        op: &OperationStart,
        user: &str,
        now: &str,
    ) -> Result<Vec<ServerMessage>, Vec<ServerMessage>> {
        let result = self.finish(op, user, now);
        self.end_mi_restore(op, result.as_ref().err().and_then(|e| e.first()), now);
        result
    }

    fn finish(
        &mut self,
        op: &OperationStart,
        user: &str,
        now: &str,
    ) -> Result<Vec<ServerMessage>, Vec<ServerMessage>> {
        let fail = |m: ServerMessage| failed(m, "RESTORE DATABASE");
        let mut parts = Vec::new();
        for (n, (url, _)) in op.devices.iter().enumerate() {
            let bytes = std::fs::read(self.staging_path(op, n))
                .map_err(|e| fail(super::backup_devices::os_error(url, &e)))?;
            let (h, d, payload) = backup::decode_all(&bytes)
                .map_err(|e| fail(format_error(url, e)))?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    fail(format_error(
                        url,
                        backup::FormatError::Malformed("empty".into()),
                    ))
                })?;
            parts.push((h, d, payload));
        }
        let header = parts[0].0.clone();
        let payload: Vec<u8> = parts.iter().flat_map(|p| p.2.iter().copied()).collect();
        if self.database(&op.target).is_some() {
            return Err(fail(already_exists(&op.target)));
        }
        self.drop_database(&op.database).map_err(fail)?;
        let spec = RestoreSpec {
            kind: RestoreKind::Database,
            database: Some(op.database.clone()),
            devices: vec![],
            norecovery: false,
            replace: false,
            checksum: false,
            options: vec![],
        };
        let report = self
            .apply(&op.database, &header, payload, &spec, true)
            .map_err(fail)?;
        // Settings MI applies to a restored database ("T-SQL differences …", RESTORE
        // statement): RECOVERY FULL; the memory-optimized filegroup is called XTP, and added
        // when the backup has none.
        self.set_recovery(&op.database, Recovery::Full)
            .map_err(fail)?;
        self.ensure_xtp_filegroup(&op.database).map_err(fail)?;
        let family = header.family_guid.clone();
        self.update_database(&op.database, |i| i.family_guid = family)
            .map_err(fail)?;
        self.rename_database(&op.database, &op.target)
            .map_err(fail)?;
        self.record_restore(&op.target, user, &header, &spec, now);
        Ok(report.messages)
    }

    /// The restore ended, done or failed: its rows say so, the GUID-named database of a
    /// failed restore goes, and so does what it staged.
    pub fn end_mi_restore(
        &mut self,
        op: &OperationStart,
        error: Option<&ServerMessage>,
        now: &str,
    ) {
        if error.is_some() && self.database(&op.database).is_some() {
            let _ = self.drop_database(&op.database);
        }
        self.operation_ended(op, error, now);
        for n in 0..op.devices.len() {
            let _ = std::fs::remove_file(self.staging_path(op, n));
        }
    }

    /// The XTP filegroup and container MI gives every database.
    fn ensure_xtp_filegroup(&mut self, db: &str) -> Result<(), ServerMessage> {
        let q = super::query::q(db);
        let fx: Option<String> = self
            .conn
            .query_row(
                &format!(r#"SELECT name FROM {q}."sys.filegroups" WHERE type = 'FX'"#),
                [],
                |r| r.get(0),
            )
            .ok();
        match fx {
            Some(name) => {
                self.conn
                    .execute(
                        &format!(r#"UPDATE {q}."sys.filegroups" SET name = 'XTP' WHERE name = ?1"#),
                        [name],
                    )
                    .map_err(super::sqlite_error)?;
            }
            None => {
                self.add_file(
                    db,
                    &crate::statement::FileChange::Filegroup {
                        name: "XTP".into(),
                        kind: crate::statement::FilegroupKind::MemoryOptimized,
                    },
                )?;
                self.add_file(
                    db,
                    &crate::statement::FileChange::File {
                        log: false,
                        name: "XTP".into(),
                        filename: "XTP".into(),
                        filegroup: Some("XTP".into()),
                        size_pages: None,
                    },
                )?;
            }
        }
        Ok(())
    }
}
