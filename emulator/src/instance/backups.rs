//! BACKUP DATABASE | LOG: what each kind carries (the database's file, or the change-log entries
//! since its base), the metadata RESTORE HEADERONLY shows, backup history in msdb, and Managed
//! Instance's rules. Files use the format in [`crate::backup`].

use super::backup_devices::{blob_error, os_error};
use super::operations::OperationStart;
use super::query::{q, sqlite_error};
use super::security::{guid_text, unique_bytes};
use super::{Instance, Recovery};
use crate::backup::{self, BackupDetails, BackupFile, BackupHeader, BackupType};
use crate::blob;
use crate::personality::Personality;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::Value;
use crate::statement::{BackupSpec, Device};

pub const MSDB_SCHEMA: &str = r#"
CREATE TABLE msdb."dbo.backupset" (
    backup_set_id INTEGER PRIMARY KEY, backup_set_uuid uniqueidentifier, media_set_id int, name nvarchar(128),
    description nvarchar(255), database_name nvarchar(128), type char(1), first_lsn numeric(25,0), last_lsn numeric(25,0),
    checkpoint_lsn numeric(25,0), database_backup_lsn numeric(25,0), differential_base_guid uniqueidentifier,
    is_copy_only bit, has_backup_checksums bit, begins_log_chain bit, backup_size numeric(20,0), compressed_backup_size numeric(20,0),
    backup_start_date datetime2, backup_finish_date datetime2, recovery_model nvarchar(60), server_name nvarchar(128),
    family_guid uniqueidentifier, position int
);
CREATE TABLE msdb."dbo.backupmediafamily" (
    media_set_id int, family_sequence_number tinyint, physical_device_name nvarchar(260), device_type tinyint
);
CREATE TABLE msdb."dbo.restorehistory" (
    restore_history_id INTEGER PRIMARY KEY, restore_date datetime2, destination_database_name nvarchar(128),
    user_name nvarchar(128), backup_set_id int, restore_type char(1), replace bit, recovery bit
);
"#;

/// What a BACKUP or RESTORE produced: informational messages and, for the *ONLY forms, rows.
pub struct Report {
    pub messages: Vec<ServerMessage>,
    pub rows: Option<(Vec<Column>, Vec<Vec<Value>>)>,
    /// A restore that goes on in the background (MI): the server runs it to completion and
    /// then reports it.
    pub operation: Option<OperationStart>,
}

/// A failure: SQL Server sends the specific error, then "BACKUP/RESTORE … is terminating
/// abnormally" (3013).
pub(super) fn failed(first: ServerMessage, verb: &str) -> Vec<ServerMessage> {
    vec![
        first,
        ServerMessage::error(3013, 16, format!("{verb} is terminating abnormally.")),
    ]
}

/// What a BACKUP or RESTORE of `bytes` says when it succeeds (messages 4035 and 3014).
pub(super) fn completion(what: &str, bytes: u64, db: &str, file: &str) -> Vec<ServerMessage> {
    let pages = bytes.div_ceil(8192).max(1);
    vec![
        ServerMessage::info(
            4035,
            format!("Processed {pages} pages for database '{db}', file '{file}' on file 1."),
        ),
        ServerMessage::info(
            3014,
            format!(
                "{what} successfully processed {pages} pages in 0.010 seconds ({:.3} MB/sec).",
                pages as f64 * 8192.0 / 1_048_576.0 / 0.01
            ),
        ),
    ]
}

/// SQL Server's MAXTRANSFERSIZE when none is given: 1 MiB ("BACKUP (Transact-SQL)").
const DEFAULT_MAX_TRANSFER: u32 = 1 << 20;

struct History {
    guid: String,
    last_lsn: i64,
    checkpoint_lsn: i64,
}

/// Managed Instance's rules for BACKUP ("T-SQL differences between SQL Server and Azure SQL
/// Managed Instance", Backup): full COPY_ONLY backups TO URL only, at most 32 stripes, without
/// FILE_SNAPSHOT, CREDENTIAL, tape or log options. Numbers from "Database engine events and
/// errors 41400 to 49999": 41904 for a backup that is not a user's COPY_ONLY full one; 41975
/// ("Unsupported storage type") for a device that is not a URL, the page naming no number of
/// its own for it; 41901 for options.
fn managed_instance_rules(spec: &BackupSpec) -> Result<(), ServerMessage> {
    if spec.devices.iter().any(|d| matches!(d, Device::Disk(_))) {
        return Err(ServerMessage::error(
            41975,
            16,
            "Unsupported storage type. Azure SQL Managed Instance does not support database backup to the provided storage type.",
        ));
    }
    if spec.kind != BackupType::Full || !spec.copy_only {
        return Err(ServerMessage::error(
            41904,
            16,
            "BACKUP DATABASE failed. SQL Database Managed Instance supports only COPY_ONLY full database backups which are initiated by user.",
        ));
    }
    if spec.devices.len() > 32 {
        return Err(ServerMessage::error(
            3205,
            16,
            "Too many backup devices specified for backup or restore; only 32 are allowed.",
        ));
    }
    let refused: Vec<&str> = spec
        .options
        .iter()
        .map(String::as_str)
        .filter(|o| {
            matches!(
                *o,
                "FILE_SNAPSHOT"
                    | "CREDENTIAL"
                    | "REWIND"
                    | "NOREWIND"
                    | "UNLOAD"
                    | "NOUNLOAD"
                    | "NORECOVERY"
                    | "STANDBY"
                    | "NO_TRUNCATE"
            )
        })
        .collect();
    if !refused.is_empty() {
        return Err(ServerMessage::error(
            41901,
            16,
            format!(
                "One or more of the options ({}) are not supported for this statement in SQL Database Managed Instance. Review the documentation for supported options.",
                refused.join(", ")
            ),
        ));
    }
    Ok(())
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

    /// The database's files as RESTORE FILELISTONLY lists them.
    fn backup_files(&self, db: &str, data_size: u64) -> Vec<BackupFile> {
        let sql = format!(
            r#"SELECT f.file_id, f.type, f.name, f.physical_name, f.max_size, g.name, f.data_space_id, g.type FROM {d}."sys.database_files" f LEFT JOIN {d}."sys.filegroups" g ON g.data_space_id = f.data_space_id AND f.type <> 1 ORDER BY f.file_id"#,
            d = q(db)
        );
        let Ok(mut stmt) = self.conn.prepare(&sql) else {
            return Vec::new();
        };
        let rows = stmt.query_map([], |r| {
            let kind: i64 = r.get(1)?;
            let max_pages: i64 = r.get(4)?;
            Ok(BackupFile {
                file_id: r.get(0)?,
                kind: match kind {
                    1 => "L",
                    2 => "S",
                    _ => "D",
                }
                .into(),
                logical_name: r.get(2)?,
                physical_name: r.get(3)?,
                max_size: if max_pages < 0 {
                    35_184_372_080_640
                } else {
                    max_pages * 8192
                },
                filegroup: r.get(5)?,
                filegroup_id: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
                filegroup_type: r.get(7)?,
                size: if kind == 1 {
                    8_388_608
                } else if r.get::<_, i64>(0)? == 1 {
                    data_size
                } else {
                    0
                },
                unique_id: guid_text(&unique_bytes(&format!("file/{db}"), 16)),
            })
        });
        rows.map(|r| r.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    /// BACKUP DATABASE | LOG, on the source or (COPY_ONLY full, to URL) on Managed Instance.
    pub fn backup(
        &mut self,
        spec: &BackupSpec,
        personality: &Personality,
        now: &str,
    ) -> Result<Report, Vec<ServerMessage>> {
        let verb = if spec.kind == BackupType::Log {
            "BACKUP LOG"
        } else {
            "BACKUP DATABASE"
        };
        let fail = |m: ServerMessage| failed(m, verb);
        if personality.is_managed_instance() {
            managed_instance_rules(spec).map_err(fail)?;
        }
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
                // The database's own file: every statement commits and the instance lock
                // keeps writers out, so the file is consistent as it is.
                let file = info.file.clone().ok_or_else(|| {
                    fail(ServerMessage::error(
                        50000,
                        16,
                        "this database has no file to back up",
                    ))
                })?;
                let bytes = std::fs::read(&file)
                    .map_err(|e| fail(os_error(&file.display().to_string(), &e)))?;
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
                        "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP DATABASE or change the recovery model using ALTER DATABASE.",
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
        let backup_size = payload.len() as u64;
        let stored = if spec.compression {
            backup::compress(&payload)
        } else {
            payload
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
            family_guid: info.family_guid.clone(),
            copy_only: spec.copy_only,
            checksum: spec.checksum,
            compressed: spec.compression,
            stripe_index: 0,
            stripe_count: spec.devices.len() as u32,
            tde_thumbprint: self.tde_thumbprint(&db).map(|t| super::tde::hex(&t)),
            server_name: personality.server_name().to_owned(),
            recovery_model: info.recovery.desc().to_owned(),
            compatibility_level: self.database_compatibility_level(&db),
            software_version: personality.product_version(),
            backup_start: now.to_owned(),
            backup_finish: now.to_owned(),
            backup_size,
        };
        let create_date: String = self
            .conn
            .query_row(
                r#"SELECT create_date FROM "sys.databases" WHERE name = ?1 COLLATE NOCASE"#,
                [&db],
                |r| r.get(0),
            )
            .unwrap_or_default();
        let max_transfer = spec.max_transfer_size.unwrap_or(DEFAULT_MAX_TRANSFER);
        let details = BackupDetails {
            begins_log_chain: spec.kind == BackupType::Log && !info.log_chain,
            force_offline: spec.norecovery,
            user_name: "sa".into(),
            database_creation_date: create_date,
            collation: "SQL_Latin1_General_CP1_CI_AS".into(),
            compressed_size: stored.len() as u64,
            files: self.backup_files(&db, backup_size),
            version_store_filegroup: self.version_store_filegroup(&db),
            memory_optimized_tables: self.memory_optimized_tables(&db),
            block_size: spec.block_size.unwrap_or(65_536),
            max_transfer_size: max_transfer,
            media_set_guid: guid_text(&unique_bytes(&format!("media/{db}"), 16)),
            recovery_fork_guid: guid_text(&unique_bytes(&format!("fork/{}", info.family_guid), 16)),
            binding_guid: guid_text(&unique_bytes(&format!("binding/{db}"), 16)),
            name: spec.name.clone(),
            description: spec.description.clone(),
        };
        let position = self
            .write_devices(spec, &header, &details, stored, max_transfer)
            .map_err(fail)?;
        self.record_backup(&header, &details, spec, now, position)
            .map_err(fail)?;
        if spec.kind == BackupType::Log {
            self.update_database(&db, |i| i.log_chain = true)
                .map_err(fail)?;
        }
        if spec.norecovery {
            // The tail-log backup: the database goes RESTORING, as SQL Server leaves it.
            self.update_database(&db, |i| i.restoring = true)
                .map_err(fail)?;
            self.set_state(&db, true).map_err(fail)?;
        }
        let what = match spec.kind {
            BackupType::Log => "BACKUP LOG",
            BackupType::Differential => "BACKUP DATABASE WITH DIFFERENTIAL",
            BackupType::Full => "BACKUP DATABASE",
        };
        Ok(Report {
            messages: completion(what, backup_size, &db, &db),
            rows: None,
            operation: None,
        })
    }

    /// Writes each stripe: to disk (appended to the sets already there unless INIT/FORMAT),
    /// or to a block blob in blocks of MAXTRANSFERSIZE.
    fn write_devices(
        &self,
        spec: &BackupSpec,
        header: &BackupHeader,
        details: &BackupDetails,
        stored: Vec<u8>,
        max_transfer: u32,
    ) -> Result<i64, ServerMessage> {
        // Stripes are slices of one buffer; each is written as prefix, payload, trailer with
        // no copy of the payload (a 1 GiB backup would otherwise be copied twice).
        let lens: Vec<usize> = backup::split(&stored, spec.devices.len())
            .iter()
            .map(|p| p.len())
            .collect();
        let shared = azure_core::Bytes::from(stored);
        let mut at = 0;
        // The backup set's place on its media ("backupset": `position`): after the sets a
        // disk file already holds when appended; first on new media and on a blob.
        let mut position = 1;
        for (i, (device, len)) in spec.devices.iter().zip(lens).enumerate() {
            let part = shared.slice(at..at + len);
            at += len;
            let mut h = header.clone();
            h.stripe_index = i as u32 + 1;
            let prefix = backup::prefix(&h, details, part.len());
            let trailer = backup::trailer(&h, &prefix, &part);
            match device {
                Device::Disk(path) => {
                    let shown = path.display().to_string();
                    let real = self.disk_path(path)?;
                    let existing = if spec.overwrite {
                        Vec::new()
                    } else {
                        self.sets_on_disk(path)?
                    };
                    if let Some((old, _, _)) = existing.first()
                        && old.stripe_count != header.stripe_count
                    {
                        // SQL Server error 3231 (severity 16): appending needs the same media set.
                        return Err(ServerMessage::error(
                            3231,
                            16,
                            format!(
                                "The media loaded on \"{shown}\" is formatted to support {} media families, but {} media families are expected according to the backup device specification.",
                                old.stripe_count, header.stripe_count
                            ),
                        ));
                    }
                    if i == 0 {
                        position = existing.len() as i64 + 1;
                    }
                    write_file(&real, !existing.is_empty(), &[&prefix, &part, &trailer])
                        .map_err(|e| os_error(&shown, &e))?;
                }
                Device::Url(url) => {
                    let (loc, sas) = self.url_access(url)?;
                    let parts = vec![
                        azure_core::Bytes::from(prefix),
                        part,
                        azure_core::Bytes::from(trailer),
                    ];
                    let blocks = blob::Blocks {
                        size: max_transfer as usize,
                        limit: self.block_limit,
                    };
                    let overwrite = spec.overwrite;
                    blob::block_on(async move {
                        blob::upload_parts(&loc, &sas, parts, overwrite, blocks).await
                    })
                    .map_err(|e| match e {
                        // A block blob that reached Azure's block limit: the write fails
                        // (SQL Server error 3202; the SQL Server error log says "Write to backup
                        // block blob device … failed. Device has reached its limit of allowed
                        // blocks.", per "Backing up a VLDB to Azure Blob Storage", SQLCAT).
                        blob::BlobError::TooManyBlocks => ServerMessage::error(
                            3202,
                            16,
                            format!("Write on \"{url}\" failed: 1117(The request could not be performed because of an I/O device error.)"),
                        ),
                        other => blob_error(url, other),
                    })?;
                }
            }
        }
        Ok(position)
    }

    /// msdb brought up to date at every start: `backupset.position` came later.
    pub fn prepare_msdb(&self) -> Result<(), ServerMessage> {
        let cols = self.columns_of("msdb", "dbo.backupset");
        if !cols.is_empty() && !cols.iter().any(|c| c == "position") {
            self.conn
                .execute_batch(r#"ALTER TABLE msdb."dbo.backupset" ADD COLUMN position int"#)
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    fn record_backup(
        &mut self,
        h: &BackupHeader,
        d: &BackupDetails,
        spec: &BackupSpec,
        now: &str,
        position: i64,
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
                r#"INSERT INTO msdb."dbo.backupset" (backup_set_uuid, media_set_id, name, description, database_name, type, first_lsn, last_lsn, checkpoint_lsn, database_backup_lsn,
                   differential_base_guid, is_copy_only, has_backup_checksums, begins_log_chain, backup_size, compressed_backup_size, backup_start_date, backup_finish_date, recovery_model, server_name, family_guid, position)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?18, ?19, ?20, ?21)"#,
                rusqlite::params![
                    h.backup_set_guid, media, spec.name, spec.description, h.database, h.backup_type.msdb_code(), h.first_lsn, h.last_lsn, h.checkpoint_lsn, h.database_backup_lsn,
                    h.differential_base_guid, h.copy_only, h.checksum, d.begins_log_chain, h.backup_size as i64, d.compressed_size as i64, now, h.recovery_model, h.server_name, h.family_guid, position
                ],
            )
            .map_err(sqlite_error)?;
        for (i, dev) in spec.devices.iter().enumerate() {
            self.conn
                .execute(
                    r#"INSERT INTO msdb."dbo.backupmediafamily" VALUES (?1, ?2, ?3, ?4)"#,
                    rusqlite::params![media, i as i64 + 1, dev.name(), dev.device_type()],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }
}

/// Writes `parts` to `path`, after what is there when `append`.
fn write_file(path: &std::path::Path, append: bool, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)?;
    for p in parts {
        f.write_all(p)?;
    }
    Ok(())
}
