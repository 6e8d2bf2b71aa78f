//! BACKUP and RESTORE: the change log behind differential and log backups, backup history in
//! msdb, and the restore-chain rules of reference/methods.md §0.4, with SQL Server's error
//! numbers. Files use the format in [`crate::backup`].

use std::path::Path;

use super::change_log::{CHANGE_LOG, DB_MARKER};
use super::operations::OperationStart;
use super::query::{q, sqlite_error};
use super::security::{guid_text, unique_bytes};
use super::{Instance, Recovery};
use crate::backup::{self, BackupHeader, BackupType, FormatError, LogEntry};
use crate::blob;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{SqlType, Value};
use crate::statement::{BackupSpec, Device, RestoreKind, RestoreSpec};

pub const MSDB_SCHEMA: &str = r#"
CREATE TABLE msdb."dbo.backupset" (
    backup_set_id INTEGER PRIMARY KEY, backup_set_uuid uniqueidentifier, media_set_id int, name nvarchar(128),
    database_name nvarchar(128), type char(1), first_lsn numeric(25,0), last_lsn numeric(25,0),
    checkpoint_lsn numeric(25,0), database_backup_lsn numeric(25,0), differential_base_guid uniqueidentifier,
    is_copy_only bit, has_backup_checksums bit, backup_size numeric(20,0), compressed_backup_size numeric(20,0),
    backup_start_date datetime2, backup_finish_date datetime2, recovery_model nvarchar(60), server_name nvarchar(128),
    family_guid uniqueidentifier
);
CREATE TABLE msdb."dbo.backupmediafamily" (
    media_set_id int, family_sequence_number tinyint, physical_device_name nvarchar(260), device_type tinyint
);
CREATE TABLE msdb."dbo.sysjobs" (
    job_id uniqueidentifier, name sysname, enabled tinyint, description nvarchar(512), start_step_id int,
    category_id int, owner_sid varbinary(85), date_created datetime2, date_modified datetime2
);
CREATE TABLE msdb."dbo.sysjobsteps" (
    job_id uniqueidentifier, step_id int, step_name sysname, subsystem nvarchar(40), command nvarchar(-1),
    database_name sysname, on_success_action tinyint, on_fail_action tinyint
);
CREATE TABLE msdb."dbo.sysschedules" (
    schedule_id int, name sysname, enabled int, freq_type int, freq_interval int, active_start_time int
);
CREATE TABLE msdb."dbo.sysjobschedules" (schedule_id int, job_id uniqueidentifier);
CREATE TABLE msdb."dbo.sysoperators" (id int, name sysname, enabled tinyint, email_address nvarchar(100));
CREATE TABLE msdb."dbo.restorehistory" (
    restore_history_id INTEGER PRIMARY KEY, restore_date datetime2, destination_database_name nvarchar(128),
    user_name nvarchar(128), backup_set_id int, restore_type char(1), replace bit, recovery bit
);
"#;

/// What a BACKUP or RESTORE produced: informational messages and, for the *ONLY forms, rows.
pub struct Report {
    pub messages: Vec<ServerMessage>,
    pub rows: Option<(Vec<Column>, Vec<Vec<Value>>)>,
    /// A restore that goes on in the background (MI): the server runs it to completion.
    pub operation: Option<OperationStart>,
}

/// A failure: SQL Server sends the specific error, then "BACKUP/RESTORE … is terminating
/// abnormally" (3013).
fn failed(first: ServerMessage, verb: &str) -> Vec<ServerMessage> {
    vec![
        first,
        ServerMessage::error(3013, 16, format!("{verb} is terminating abnormally.")),
    ]
}

struct History {
    guid: String,
    last_lsn: i64,
    checkpoint_lsn: i64,
}

impl Instance {
    fn last_backup(&self, db: &str, where_: &str) -> Option<History> {
        let sql = format!(
            r#"SELECT backup_set_uuid, last_lsn, checkpoint_lsn FROM msdb."dbo.backupset" WHERE database_name = ?1 COLLATE NOCASE AND {where_} ORDER BY backup_set_id DESC LIMIT 1"#
        );
        self.conn
            .query_row(&sql, [db], |r| {
                Ok(History {
                    guid: r.get(0)?,
                    last_lsn: r.get(1)?,
                    checkpoint_lsn: r.get(2)?,
                })
            })
            .ok()
    }

    /// BACKUP DATABASE | LOG … TO DISK.
    pub fn backup(
        &mut self,
        spec: &BackupSpec,
        server: &str,
        software: &str,
        now: &str,
    ) -> Result<Report, Vec<ServerMessage>> {
        let verb = if spec.kind == BackupType::Log {
            "BACKUP LOG"
        } else {
            "BACKUP DATABASE"
        };
        let fail = |m: ServerMessage| failed(m, verb);
        let Some(info) = self.database(&spec.database).cloned() else {
            // SQL Server error 911 (class 16).
            return Err(fail(ServerMessage::error(
                911,
                16,
                format!(
                    "Database '{}' does not exist. Make sure that the name is entered correctly.",
                    spec.database
                ),
            )));
        };
        if info.restoring {
            return Err(fail(ServerMessage::error(
                927,
                14,
                format!(
                    "Database '{}' cannot be opened. It is in the middle of a restore.",
                    info.name
                ),
            )));
        }
        if info.system {
            return Err(fail(ServerMessage::error(
                50000,
                16,
                "ferry-emulator backs up user databases only",
            )));
        }
        let db = info.name.clone();
        let cur = self.current_lsn(&db);
        let last_full = self.last_backup(&db, "type = 'D' AND is_copy_only = 0");
        let any_full = self.last_backup(&db, "type = 'D'");
        let (first_lsn, last_lsn, checkpoint_lsn, db_backup_lsn, diff_base, payload) = match spec
            .kind
        {
            BackupType::Full => {
                // The database's own file: every statement commits (rollback-journal mode) and
                // the instance lock keeps writers out, so the file is consistent as it is —
                // no copy through VACUUM INTO (which doubled the I/O of large backups).
                let file = info.file.clone().ok_or_else(|| {
                    fail(ServerMessage::error(
                        50000,
                        16,
                        "this database has no file to back up",
                    ))
                })?;
                let bytes = std::fs::read(&file).map_err(|e| {
                    fail(ServerMessage::error(
                        3201,
                        16,
                        format!("Cannot read the database file: {e}"),
                    ))
                })?;
                (
                    cur,
                    cur,
                    cur,
                    last_full.as_ref().map_or(0, |f| f.checkpoint_lsn),
                    None,
                    bytes,
                )
            }
            BackupType::Differential => {
                let Some(base) = last_full else {
                    // SQL Server error 3035.
                    return Err(fail(ServerMessage::error(
                        3035,
                        16,
                        format!(
                            "Cannot perform a differential backup for database \"{db}\", because a current database backup does not exist. Perform a full database backup by reissuing BACKUP DATABASE, omitting the WITH DIFFERENTIAL option."
                        ),
                    )));
                };
                let entries = self
                    .change_entries(&db, base.checkpoint_lsn, cur)
                    .map_err(fail)?;
                let payload = serde_json::to_vec(&entries).unwrap_or_default();
                (
                    base.checkpoint_lsn,
                    cur,
                    cur,
                    base.checkpoint_lsn,
                    Some(base.guid),
                    payload,
                )
            }
            BackupType::Log => {
                if info.recovery == Recovery::Simple {
                    // SQL Server error 4208.
                    return Err(fail(ServerMessage::error(
                        4208,
                        16,
                        "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP DATABASE or change the recovery model using ALTER DATABASE.".to_string(),
                    )));
                }
                let Some(full) = any_full else {
                    // SQL Server error 4214.
                    return Err(fail(ServerMessage::error(
                        4214,
                        16,
                        "BACKUP LOG cannot be performed because there is no current database backup.",
                    )));
                };
                let from = self
                    .last_backup(&db, "type = 'L'")
                    .map_or(full.last_lsn, |l| l.last_lsn);
                let entries = self.change_entries(&db, from, cur).map_err(fail)?;
                let payload = serde_json::to_vec(&entries).unwrap_or_default();
                (
                    from,
                    cur,
                    cur,
                    last_full
                        .as_ref()
                        .map_or(full.checkpoint_lsn, |f| f.checkpoint_lsn),
                    None,
                    payload,
                )
            }
        };
        let header = BackupHeader {
            database: db.clone(),
            backup_type: spec.kind,
            first_lsn,
            last_lsn,
            checkpoint_lsn,
            database_backup_lsn: db_backup_lsn,
            differential_base_guid: diff_base.clone(),
            backup_set_guid: guid_text(&unique_bytes(&db, 16)),
            family_guid: guid_text(&unique_bytes(&format!("family/{db}"), 16)),
            copy_only: spec.copy_only,
            checksum: spec.checksum,
            compressed: spec.compression,
            stripe_index: 0,
            stripe_count: spec.devices.len() as u32,
            tde_thumbprint: self.tde_thumbprint(&db).map(|t| super::tde::hex(&t)),
            server_name: server.to_owned(),
            recovery_model: info.recovery.desc().to_owned(),
            compatibility_level: self.compatibility_level,
            software_version: software.to_owned(),
            backup_start: now.to_owned(),
            backup_finish: now.to_owned(),
            backup_size: payload.len() as u64,
        };
        // Stripes are slices of one payload buffer; each is written as prefix, payload, trailer
        // with no copy of the payload (a 1 GiB backup would otherwise be copied twice).
        let payload_len = payload.len();
        let lens: Vec<usize> = backup::split(&payload, spec.devices.len())
            .iter()
            .map(|p| p.len())
            .collect();
        let shared = azure_core::Bytes::from(payload);
        let mut at = 0;
        for (i, (device, len)) in spec.devices.iter().zip(lens).enumerate() {
            let part = shared.slice(at..at + len);
            at += len;
            let mut h = header.clone();
            h.stripe_index = i as u32 + 1;
            let prefix = backup::prefix(&h, part.len());
            let trailer = backup::trailer(&h, &prefix, &part);
            match device {
                Device::Disk(path) => {
                    check_disk_target(path, spec.overwrite).map_err(fail)?;
                    write_parts(path, &[&prefix, &part, &trailer])
                        .map_err(|e| fail(os_error(path, &e)))?;
                }
                Device::Url(url) => {
                    let (loc, sas) = self.url_access(url).map_err(fail)?;
                    let parts = vec![
                        azure_core::Bytes::from(prefix),
                        part,
                        azure_core::Bytes::from(trailer),
                    ];
                    let overwrite = spec.overwrite;
                    blob::block_on(async move {
                        blob::upload_parts(&loc, &sas, parts, overwrite).await
                    })
                    .map_err(|e| fail(blob_error(url, e)))?;
                }
            }
        }
        self.record_backup(&header, spec, now).map_err(fail)?;
        if spec.norecovery {
            // The tail-log backup: the database goes RESTORING, as SQL Server leaves it.
            self.update_database(&db, |i| i.restoring = true)
                .map_err(fail)?;
            self.set_state(&db, true).map_err(fail)?;
        }
        let pages = (payload_len as u64).div_ceil(8192).max(1);
        let what = if spec.kind == BackupType::Log {
            "BACKUP LOG"
        } else if spec.kind == BackupType::Differential {
            "BACKUP DATABASE WITH DIFFERENTIAL"
        } else {
            "BACKUP DATABASE"
        };
        Ok(Report {
            messages: vec![
                ServerMessage::info(
                    4035,
                    format!("Processed {pages} pages for database '{db}', file '{db}' on file 1."),
                ),
                ServerMessage::info(
                    3014,
                    format!(
                        "{what} successfully processed {pages} pages in 0.010 seconds ({:.3} MB/sec).",
                        pages as f64 * 8192.0 / 1_048_576.0 / 0.01
                    ),
                ),
            ],
            rows: None,
            operation: None,
        })
    }

    fn record_backup(
        &mut self,
        h: &BackupHeader,
        spec: &BackupSpec,
        now: &str,
    ) -> Result<(), ServerMessage> {
        let media: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(media_set_id), 0) + 1 FROM msdb."dbo.backupset""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO msdb."dbo.backupset" (backup_set_uuid, media_set_id, name, database_name, type, first_lsn, last_lsn, checkpoint_lsn, database_backup_lsn,
                   differential_base_guid, is_copy_only, has_backup_checksums, backup_size, compressed_backup_size, backup_start_date, backup_finish_date, recovery_model, server_name, family_guid)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?14, ?15, ?16, ?17)"#,
                rusqlite::params![
                    h.backup_set_guid, media, spec.name, h.database, h.backup_type.msdb_code(), h.first_lsn, h.last_lsn, h.checkpoint_lsn, h.database_backup_lsn,
                    h.differential_base_guid, h.copy_only, h.checksum, h.backup_size as i64, now, h.recovery_model, h.server_name, h.family_guid
                ],
            )
            .map_err(sqlite_error)?;
        for (i, d) in spec.devices.iter().enumerate() {
            self.conn
                .execute(
                    r#"INSERT INTO msdb."dbo.backupmediafamily" VALUES (?1, ?2, ?3, ?4)"#,
                    rusqlite::params![media, i as i64 + 1, d.name(), d.device_type()],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// Reads every device of a RESTORE: one backup set, all stripes present.
    fn read_media(&self, spec: &RestoreSpec) -> Result<(BackupHeader, Vec<u8>), ServerMessage> {
        let mut stripes = Vec::new();
        for d in &spec.devices {
            let bytes = match d {
                Device::Disk(path) => std::fs::read(path).map_err(|e| os_error(path, &e))?,
                Device::Url(url) => {
                    let (loc, sas) = self.url_access(url)?;
                    blob::block_on(async move { blob::download(&loc, &sas).await })
                        .map_err(|e| blob_error(url, e))?
                }
            };
            let path = std::path::PathBuf::from(d.name());
            let (h, part) = backup::decode(&bytes).map_err(|e| match e {
                // SQL Server error 3241 (class 16).
                FormatError::Malformed(why) => ServerMessage::error(3241, 16, format!("The media family on device '{}' is incorrectly formed. SQL Server cannot process this media family. ({why})", path.display())),
                // SQL Server error 3183 (class 16).
                FormatError::ChecksumMismatch => ServerMessage::error(3183, 16, format!("RESTORE detected an error on page (1:1) in database \"{}\" as read from the backup set.", path.display())),
            })?;
            stripes.push((h, part));
        }
        let Some(first) = stripes.first().map(|s| s.0.clone()) else {
            return Err(ServerMessage::error(
                3013,
                16,
                "RESTORE needs a backup device.",
            ));
        };
        if stripes
            .iter()
            .any(|(h, _)| h.backup_set_guid != first.backup_set_guid)
        {
            // SQL Server error 3227 (class 16) — guess at the closest documented message.
            return Err(ServerMessage::error(
                3227,
                16,
                "The backup media set is not complete: the devices belong to different backup sets.",
            ));
        }
        let mut seen: Vec<u32> = stripes.iter().map(|s| s.0.stripe_index).collect();
        seen.sort();
        seen.dedup();
        if seen.len() != first.stripe_count as usize {
            // SQL Server error 3132 (class 16).
            return Err(ServerMessage::error(
                3132,
                16,
                format!(
                    "The media set has {} media families but only {} are provided. All members must be provided.",
                    first.stripe_count,
                    seen.len()
                ),
            ));
        }
        if spec.checksum && !first.checksum {
            // SQL Server error 3187 (class 16).
            return Err(ServerMessage::error(
                3187,
                16,
                "RESTORE WITH CHECKSUM cannot be specified because the backup set does not contain checksum information.",
            ));
        }
        stripes.sort_by_key(|s| s.0.stripe_index);
        let payload = stripes.into_iter().flat_map(|(_, p)| p).collect();
        Ok((first, payload))
    }

    /// RESTORE in all its forms. `mi` applies Managed Instance's restrictions.
    pub fn restore(
        &mut self,
        spec: &RestoreSpec,
        mi: bool,
        user: &str,
        session: i64,
        now: &str,
    ) -> Result<Report, Vec<ServerMessage>> {
        let verb = if spec.kind == RestoreKind::Log {
            "RESTORE LOG"
        } else {
            "RESTORE DATABASE"
        };
        let fail = |m: ServerMessage| failed(m, verb);
        if mi {
            // methods.md §4.1: MI restores full backups FROM URL only, always WITH RECOVERY and
            // without REPLACE, MOVE, NORECOVERY, STANDBY or STATS (Msg 41901).
            let rejected: Vec<&String> = spec
                .options
                .iter()
                .filter(|o| {
                    matches!(
                        o.as_str(),
                        "NORECOVERY"
                            | "REPLACE"
                            | "MOVE"
                            | "STANDBY"
                            | "STATS"
                            | "STOPAT"
                            | "PARTIAL"
                    )
                })
                .collect();
            if !rejected.is_empty() || spec.kind == RestoreKind::Log {
                let what = if rejected.is_empty() {
                    "LOG".to_owned()
                } else {
                    rejected
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(fail(ServerMessage::error(
                    41901,
                    16,
                    format!(
                        "One or more of the options ({what}) are not supported for this statement in SQL Database Managed Instance. Review the documentation for supported options."
                    ),
                )));
            }
        }
        if mi && spec.devices.iter().any(|d| matches!(d, Device::Disk(_))) {
            // MI restores from URL only (methods.md §4).
            return Err(fail(ServerMessage::error(
                41901,
                16,
                "One or more of the options (DISK) are not supported for this statement in SQL Database Managed Instance. Review the documentation for supported options.",
            )));
        }
        if spec.kind == RestoreKind::Database && spec.devices.is_empty() {
            return self
                .recover(spec.database.as_deref().unwrap_or_default())
                .map_err(fail);
        }
        let (header, payload) = self.read_media(spec).map_err(fail)?;
        match spec.kind {
            RestoreKind::HeaderOnly => Ok(Report {
                messages: vec![],
                rows: Some(header_rows(&header, &spec.devices)),
                operation: None,
            }),
            RestoreKind::FileListOnly => Ok(Report {
                messages: vec![],
                rows: Some(file_list(&header)),
                operation: None,
            }),
            RestoreKind::LabelOnly => Ok(Report {
                messages: vec![],
                rows: Some(label(&header)),
                operation: None,
            }),
            RestoreKind::VerifyOnly => Ok(Report {
                messages: vec![ServerMessage::info(
                    3262,
                    "The backup set on file 1 is valid.",
                )],
                rows: None,
                operation: None,
            }),
            RestoreKind::Database | RestoreKind::Log => {
                let target = spec.database.clone().unwrap_or_default();
                let size = payload.len() as u64;
                let mut report = self
                    .apply(&target, &header, payload, spec, mi)
                    .map_err(fail)?;
                if mi {
                    // MI restores in a background worker: the database shows RESTORING and the
                    // request's progress rises in sys.dm_exec_requests and dm_operation_status
                    // until it comes online (methods.md §4, §7.5).
                    report.operation = Some(
                        self.start_operation(&target, session, size, now)
                            .map_err(fail)?,
                    );
                }
                let restore_type = match header.backup_type {
                    BackupType::Full => "D",
                    BackupType::Differential => "I",
                    BackupType::Log => "L",
                };
                let _ = self.conn.execute(
                    r#"INSERT INTO msdb."dbo.restorehistory" (restore_date, destination_database_name, user_name, backup_set_id, restore_type, replace, recovery) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6)"#,
                    rusqlite::params![now, target, user, restore_type, spec.replace, !spec.norecovery],
                );
                Ok(report)
            }
        }
    }

    pub(crate) fn apply(
        &mut self,
        target: &str,
        h: &BackupHeader,
        payload: Vec<u8>,
        spec: &RestoreSpec,
        mi: bool,
    ) -> Result<Report, ServerMessage> {
        let pages = (payload.len() as u64).div_ceil(8192).max(1);
        match h.backup_type {
            BackupType::Full => {
                // A TDE backup restores only where its certificate is (SQL Server error 33111).
                let tde = h.tde_thumbprint.as_deref().map(unhex);
                if let Some(t) = &tde
                    && !self.has_certificate(t)
                {
                    return Err(ServerMessage::error(
                        33111,
                        16,
                        format!(
                            "Cannot find server certificate with thumbprint '{}'.",
                            super::tde::hex(t)
                        ),
                    ));
                }
                if let Some(existing) = self.database(target).cloned() {
                    if mi {
                        // methods.md §4.1: an existing name fails with Msg 1801 on MI.
                        return Err(ServerMessage::error(
                            1801,
                            16,
                            format!(
                                "Database '{target}' already exists. Choose a different database name."
                            ),
                        ));
                    }
                    if existing.system || !spec.replace {
                        // SQL Server error 3159 (class 16).
                        return Err(ServerMessage::error(
                            3159,
                            16,
                            format!(
                                "The tail of the log for the database \"{target}\" has not been backed up. Use BACKUP LOG WITH NORECOVERY to back up the log if it contains work you do not want to lose. Use the WITH REPLACE or WITH STOPAT clause of the RESTORE statement to just overwrite the contents of the log."
                            ),
                        ));
                    }
                    self.drop_database(target)?;
                }
                let file = self.new_file_path(target);
                std::fs::write(&file, &payload).map_err(|e| os_error(&file, &e))?;
                self.attach(target, Some(file), Recovery::Full, false)?;
                if let Some(t) = &tde {
                    self.adopt_encryption(target, t)?;
                }
                if mi {
                    // methods.md §4.1: MI cannot restore a database with more than one log file
                    // or FILESTREAM data. Guess: the reference gives no error number; 41901 is
                    // MI's "not supported" error for restores.
                    let (logs, filestream): (i64, i64) = self
                        .conn
                        .query_row(&format!(r#"SELECT SUM(type = 1), SUM(type = 2) FROM {}."sys.database_files""#, q(target)), [], |r| Ok((r.get(0)?, r.get(1)?)))
                        .unwrap_or((1, 0));
                    if logs > 1 || filestream > 0 {
                        self.drop_database(target)?;
                        let what = if logs > 1 {
                            "more than one log file"
                        } else {
                            "FILESTREAM data"
                        };
                        return Err(ServerMessage::error(
                            41901,
                            16,
                            format!(
                                "The backup of database '{}' has {what}, which SQL Managed Instance cannot restore.",
                                h.database
                            ),
                        ));
                    }
                }
                if self.database(target).is_none() {
                    return Err(ServerMessage::error(
                        50000,
                        16,
                        "restored database vanished",
                    ));
                }
                self.update_database(target, |info| {
                    info.restoring = spec.norecovery;
                    info.restored_lsn = h.last_lsn;
                    info.restored_full_guid = Some(h.backup_set_guid.clone());
                })?;
                let recovery = match h.recovery_model.as_str() {
                    "SIMPLE" => Recovery::Simple,
                    "BULK_LOGGED" => Recovery::BulkLogged,
                    _ => Recovery::Full,
                };
                self.set_recovery(target, recovery)?;
                self.set_state(target, spec.norecovery)?;
            }
            BackupType::Differential | BackupType::Log => {
                let Some(info) = self.database(target).cloned().filter(|d| d.restoring) else {
                    // SQL Server error 3117 (class 16).
                    return Err(ServerMessage::error(
                        3117,
                        16,
                        "The log or differential backup cannot be restored because no files are ready to rollforward.",
                    ));
                };
                if h.backup_type == BackupType::Differential
                    && h.differential_base_guid != info.restored_full_guid
                {
                    // SQL Server error 3136 (class 16).
                    return Err(ServerMessage::error(
                        3136,
                        16,
                        "This differential backup cannot be restored because the database has not been restored to the correct earlier state.",
                    ));
                }
                if h.backup_type == BackupType::Log {
                    if h.first_lsn > info.restored_lsn {
                        // SQL Server error 4305 (class 16).
                        return Err(ServerMessage::error(
                            4305,
                            16,
                            format!(
                                "The log in this backup set begins at LSN {}, which is too recent to apply to the database. An earlier log backup that includes LSN {} can be restored.",
                                h.first_lsn, info.restored_lsn
                            ),
                        ));
                    }
                    if h.last_lsn < info.restored_lsn {
                        // SQL Server error 4326 (class 16).
                        return Err(ServerMessage::error(
                            4326,
                            16,
                            format!(
                                "The log in this backup set terminates at LSN {}, which is too early to apply to the database. A more recent log backup that includes LSN {} can be restored.",
                                h.last_lsn, info.restored_lsn
                            ),
                        ));
                    }
                }
                let entries: Vec<LogEntry> = serde_json::from_slice(&payload).map_err(|e| {
                    ServerMessage::error(
                        3241,
                        16,
                        format!("The media family is incorrectly formed: {e}"),
                    )
                })?;
                for e in entries.iter().filter(|e| e.lsn > info.restored_lsn) {
                    let sql = e.sql.replace(DB_MARKER, &q(&info.name));
                    self.conn.execute_batch(&sql).map_err(sqlite_error)?;
                    let ins = format!(
                        "INSERT INTO {}.{} (lsn, sql) VALUES (?1, ?2)",
                        q(&info.name),
                        q(CHANGE_LOG)
                    );
                    self.conn
                        .execute(&ins, rusqlite::params![e.lsn, e.sql])
                        .map_err(sqlite_error)?;
                }
                self.update_database(target, |i| {
                    i.restored_lsn = h.last_lsn.max(info.restored_lsn);
                    i.restoring = spec.norecovery;
                })?;
                self.set_state(target, spec.norecovery)?;
            }
        }
        let what = if h.backup_type == BackupType::Log {
            "RESTORE LOG"
        } else {
            "RESTORE DATABASE"
        };
        Ok(Report {
            messages: vec![
                ServerMessage::info(
                    4035,
                    format!(
                        "Processed {pages} pages for database '{target}', file '{}' on file 1.",
                        h.database
                    ),
                ),
                ServerMessage::info(
                    3014,
                    format!(
                        "{what} successfully processed {pages} pages in 0.010 seconds ({:.3} MB/sec).",
                        pages as f64 * 8192.0 / 1_048_576.0 / 0.01
                    ),
                ),
            ],
            rows: None,
            operation: None,
        })
    }

    /// RESTORE DATABASE … WITH RECOVERY and no device: brings a restoring database online.
    pub(crate) fn recover(&mut self, name: &str) -> Result<Report, ServerMessage> {
        let Some(info) = self.database(name).cloned() else {
            return Err(ServerMessage::error(
                911,
                16,
                format!(
                    "Database '{name}' does not exist. Make sure that the name is entered correctly."
                ),
            ));
        };
        if info.restoring {
            self.set_state(&info.name, false)?;
            self.update_database(name, |i| i.restoring = false)?;
        }
        Ok(Report {
            messages: vec![ServerMessage::info(
                3014,
                "RESTORE DATABASE successfully processed 0 pages in 0.001 seconds (0.000 MB/sec).",
            )],
            rows: None,
            operation: None,
        })
    }

    pub(super) fn set_state(&mut self, name: &str, restoring: bool) -> Result<(), ServerMessage> {
        let (state, desc) = if restoring {
            (1, "RESTORING")
        } else {
            (0, "ONLINE")
        };
        self.conn
            .execute(r#"UPDATE "sys.databases" SET state = ?2, state_desc = ?3 WHERE name = ?1 COLLATE NOCASE"#, rusqlite::params![name, state, desc])
            .map_err(sqlite_error)?;
        Ok(())
    }
}

impl Instance {
    /// The blob location of a URL and the SAS of the credential that covers it: the credential
    /// whose name is the longest prefix of the URL (SQL Server matches the container or folder
    /// URL), with IDENTITY = 'SHARED ACCESS SIGNATURE'.
    fn url_access(&self, url: &str) -> Result<(blob::BlobLocation, String), ServerMessage> {
        let loc = blob::locate(url).map_err(|why| ServerMessage::error(3201, 16, format!("Cannot open backup device '{url}'. Operating system error 123(The filename, directory name, or volume label syntax is incorrect.). ({why})")))?;
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
            None => Err(ServerMessage::error(
                3201,
                16,
                format!(
                    "Cannot open backup device '{url}'. Operating system error 50(The request is not supported.)."
                ),
            )),
        }
    }
}

/// SQL Server error 3201 for a failed blob request, with the OS error SQL Server reports for it.
fn blob_error(url: &str, e: blob::BlobError) -> ServerMessage {
    let (code, text) = match e {
        blob::BlobError::AccessDenied => (5, "Access is denied.".to_owned()),
        blob::BlobError::NotFound => (2, "The system cannot find the file specified.".to_owned()),
        // Guess: SQL Server reports the remote 409 inside its own wording.
        blob::BlobError::Exists => (
            80,
            "The file exists. Use WITH FORMAT to overwrite the blob.".to_owned(),
        ),
        blob::BlobError::Other(m) => (
            1117,
            format!("The request could not be performed because of an I/O device error. ({m})"),
        ),
    };
    ServerMessage::error(
        3201,
        16,
        format!("Cannot open backup device '{url}'. Operating system error {code}({text})."),
    )
}

/// SQL Server error 3201 with the operating system's reason, as SQL Server words it.
fn os_error(path: &Path, e: &std::io::Error) -> ServerMessage {
    let (code, text) = match e.kind() {
        std::io::ErrorKind::NotFound => (3, "The system cannot find the path specified."),
        std::io::ErrorKind::PermissionDenied => (5, "Access is denied."),
        _ => (
            1117,
            "The request could not be performed because of an I/O device error.",
        ),
    };
    ServerMessage::error(
        3201,
        16,
        format!(
            "Cannot open backup device '{}'. Operating system error {code}({text}).",
            path.display()
        ),
    )
}

fn unhex(s: &str) -> Vec<u8> {
    let h = s.trim_start_matches("0x");
    (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).ok())
        .collect()
}

fn write_parts(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path)?;
    for p in parts {
        f.write_all(p)?;
    }
    Ok(())
}

fn check_disk_target(path: &Path, overwrite: bool) -> Result<(), ServerMessage> {
    if !path.is_absolute() || !path.parent().is_some_and(Path::is_dir) {
        return Err(os_error(
            path,
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    if path.exists() && !overwrite {
        // Guess: SQL Server would append a second backup set (NOINIT); the emulator keeps one
        // set per file, as MI requires for restore, and says so.
        return Err(ServerMessage::error(
            50000,
            16,
            format!(
                "ferry-emulator writes one backup set per file, and '{}' already exists; use WITH INIT or FORMAT to overwrite it.",
                path.display()
            ),
        ));
    }
    Ok(())
}

fn cols(spec: &[(&str, SqlType)]) -> Vec<Column> {
    spec.iter().map(|(n, t)| Column::new(n, *t)).collect()
}

fn header_rows(h: &BackupHeader, devices: &[Device]) -> (Vec<Column>, Vec<Vec<Value>>) {
    let n = |s: &str| Value::Text(s.to_owned());
    let lsn = |v: i64| Value::Decimal(i128::from(v), 0);
    let dt = |s: &str| {
        crate::protocol::types::parse_datetime(s)
            .map_or(Value::Null, |(d, t)| Value::DateTime2(d, t))
    };
    let version: Vec<i64> = h
        .software_version
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    let columns = cols(&[
        ("BackupName", SqlType::NVarChar(Some(128))),
        ("BackupType", SqlType::SmallInt),
        ("BackupTypeDescription", SqlType::NVarChar(Some(60))),
        ("Compressed", SqlType::Bit),
        ("Position", SqlType::SmallInt),
        ("DeviceType", SqlType::TinyInt),
        ("ServerName", SqlType::NVarChar(Some(128))),
        ("DatabaseName", SqlType::NVarChar(Some(128))),
        ("BackupSize", SqlType::Decimal(20, 0)),
        ("FirstLSN", SqlType::Decimal(25, 0)),
        ("LastLSN", SqlType::Decimal(25, 0)),
        ("CheckpointLSN", SqlType::Decimal(25, 0)),
        ("DatabaseBackupLSN", SqlType::Decimal(25, 0)),
        ("BackupStartDate", SqlType::DateTime2),
        ("BackupFinishDate", SqlType::DateTime2),
        ("CompatibilityLevel", SqlType::TinyInt),
        ("SoftwareVersionMajor", SqlType::Int),
        ("SoftwareVersionMinor", SqlType::Int),
        ("SoftwareVersionBuild", SqlType::Int),
        ("Collation", SqlType::NVarChar(Some(128))),
        ("FamilyGUID", SqlType::UniqueIdentifier),
        ("HasBackupChecksums", SqlType::Bit),
        ("IsDamaged", SqlType::Bit),
        ("BeginsLogChain", SqlType::Bit),
        ("IsCopyOnly", SqlType::Bit),
        ("RecoveryModel", SqlType::NVarChar(Some(60))),
        ("DifferentialBaseLSN", SqlType::Decimal(25, 0)),
        ("DifferentialBaseGUID", SqlType::UniqueIdentifier),
        ("BackupSetGUID", SqlType::UniqueIdentifier),
        ("CompressedBackupSize", SqlType::Decimal(20, 0)),
        ("EncryptorThumbprint", SqlType::VarBinary(Some(20))),
    ]);
    let guid = |s: &str| {
        let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        let mut g = [0u8; 16];
        for (i, b) in g.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16).unwrap_or(0);
        }
        Value::Guid(g)
    };
    let row = vec![
        n(&h.database),
        Value::Int(h.backup_type.header_code()),
        n(h.backup_type.description()),
        Value::Bit(h.compressed),
        Value::Int(1),
        Value::Int(devices.first().map_or(2, Device::device_type)),
        n(&h.server_name),
        n(&h.database),
        Value::Decimal(i128::from(h.backup_size as i64), 0),
        lsn(h.first_lsn),
        lsn(h.last_lsn),
        lsn(h.checkpoint_lsn),
        lsn(h.database_backup_lsn),
        dt(&h.backup_start),
        dt(&h.backup_finish),
        Value::Int(i64::from(h.compatibility_level)),
        Value::Int(*version.first().unwrap_or(&0)),
        Value::Int(*version.get(1).unwrap_or(&0)),
        Value::Int(*version.get(2).unwrap_or(&0)),
        n("SQL_Latin1_General_CP1_CI_AS"),
        guid(&h.family_guid),
        Value::Bit(h.checksum),
        Value::Bit(false),
        Value::Bit(false),
        Value::Bit(h.copy_only),
        n(&h.recovery_model),
        if h.backup_type == BackupType::Differential {
            lsn(h.database_backup_lsn)
        } else {
            Value::Null
        },
        h.differential_base_guid
            .as_deref()
            .map_or(Value::Null, guid),
        guid(&h.backup_set_guid),
        Value::Decimal(i128::from(h.backup_size as i64), 0),
        h.tde_thumbprint
            .as_deref()
            .map_or(Value::Null, |t| Value::Binary(unhex(t))),
    ];
    (columns, vec![row])
}

fn file_list(h: &BackupHeader) -> (Vec<Column>, Vec<Vec<Value>>) {
    let columns = cols(&[
        ("LogicalName", SqlType::NVarChar(Some(128))),
        ("PhysicalName", SqlType::NVarChar(Some(260))),
        ("Type", SqlType::VarChar(Some(1))),
        ("FileGroupName", SqlType::NVarChar(Some(128))),
        ("Size", SqlType::Decimal(20, 0)),
        ("MaxSize", SqlType::Decimal(20, 0)),
        ("FileId", SqlType::BigInt),
        ("BackupSizeInBytes", SqlType::Decimal(20, 0)),
        ("IsPresent", SqlType::Bit),
        ("TDEThumbprint", SqlType::VarBinary(Some(32))),
    ]);
    let t = |s: &str| Value::Text(s.to_owned());
    let size = Value::Decimal(i128::from(h.backup_size as i64), 0);
    let rows = vec![
        vec![
            t(&h.database),
            t(&format!("{}.mdf", h.database)),
            t("D"),
            t("PRIMARY"),
            size.clone(),
            Value::Decimal(35_184_372_080_640, 0),
            Value::Int(1),
            size,
            Value::Bit(true),
            Value::Null,
        ],
        vec![
            t(&format!("{}_log", h.database)),
            t(&format!("{}_log.ldf", h.database)),
            t("L"),
            Value::Null,
            Value::Decimal(8_388_608, 0),
            Value::Decimal(2_199_023_255_552, 0),
            Value::Int(2),
            Value::Decimal(0, 0),
            Value::Bit(true),
            Value::Null,
        ],
    ];
    (columns, rows)
}

fn label(h: &BackupHeader) -> (Vec<Column>, Vec<Vec<Value>>) {
    let columns = cols(&[
        ("MediaName", SqlType::NVarChar(Some(128))),
        ("FamilyCount", SqlType::Int),
        ("FamilySequenceNumber", SqlType::Int),
        ("MirrorCount", SqlType::Int),
        ("BlockSize", SqlType::Int),
    ]);
    (
        columns,
        vec![vec![
            Value::Null,
            Value::Int(i64::from(h.stripe_count)),
            Value::Int(i64::from(h.stripe_index)),
            Value::Int(1),
            Value::Int(65_536),
        ]],
    )
}
