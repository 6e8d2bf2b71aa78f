//! RESTORE in all its forms: HEADERONLY, FILELISTONLY, LABELONLY, VERIFYONLY, and DATABASE and
//! LOG with the restore-chain rules of reference/methods.md §0.4 and SQL Server's error
//! numbers. On Managed Instance RESTORE DATABASE runs in the background ([`super::mi_restore`]).

use super::backup_devices::{Stripe, format_error};
use super::backup_rows::{file_list, header_rows, label, unhex};
use super::backups::{Report, completion, failed};
use super::change_log::{CHANGE_LOG, DB_MARKER};
use super::query::{q, sqlite_error};
use super::{Instance, Recovery};
use crate::backup::{self, BackupDetails, BackupHeader, BackupType, LogEntry};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{Device, RestoreKind, RestoreSpec};

/// One backup set read from every stripe of the media.
pub(super) struct MediaSet {
    pub header: BackupHeader,
    pub details: BackupDetails,
    /// The payload as stored (compressed or not), stripes in order.
    pub payload: Vec<u8>,
    /// Every set on the first stripe, for HEADERONLY.
    pub all: Vec<(BackupHeader, BackupDetails)>,
}

/// SQL Server error 3132 (severity 16).
pub(super) fn missing_stripes(expected: u32, provided: usize) -> ServerMessage {
    ServerMessage::error(
        3132,
        16,
        format!(
            "The media set has {expected} media families but only {provided} are provided. All members must be provided."
        ),
    )
}

/// Checks that `headers` (one per device, in device order) are the stripes of one media set,
/// each once, all there.
pub(super) fn check_stripes(
    headers: &[&BackupHeader],
    devices: &[Device],
) -> Result<(), ServerMessage> {
    let Some(first) = headers.first() else {
        // SQL Server error 3207 (severity 16).
        return Err(ServerMessage::error(
            3207,
            16,
            "Backup or restore requires at least one backup device. Rerun your statement specifying a backup device.",
        ));
    };
    for (i, h) in headers.iter().enumerate() {
        if h.backup_set_guid != first.backup_set_guid {
            // SQL Server error 3258 (severity 16).
            return Err(ServerMessage::error(
                3258,
                16,
                format!(
                    "The volume on the device \"{}\" is not part of the media set that is currently being processed. Ensure that the backup devices are loaded with the correct media.",
                    devices[i].name()
                ),
            ));
        }
        if let Some(j) = headers[..i]
            .iter()
            .position(|o| o.stripe_index == h.stripe_index)
        {
            // SQL Server error 3227 (severity 16).
            return Err(ServerMessage::error(
                3227,
                16,
                format!(
                    "The backup media on \"{}\" is part of media family {} which has already been processed on \"{}\". Ensure that backup devices are correctly specified.",
                    devices[i].name(),
                    h.stripe_index,
                    devices[j].name()
                ),
            ));
        }
    }
    if headers.len() != first.stripe_count as usize {
        return Err(missing_stripes(first.stripe_count, headers.len()));
    }
    Ok(())
}

impl Instance {
    /// Reads every device of a RESTORE: the backup set at position FILE, all stripes present.
    fn read_media(&self, spec: &RestoreSpec) -> Result<MediaSet, ServerMessage> {
        let stripes: Vec<Stripe> = spec
            .devices
            .iter()
            .map(|d| self.read_stripe(d))
            .collect::<Result<_, _>>()?;
        let position = spec.file() as usize;
        let mut chosen = Vec::new();
        for (d, stripe) in spec.devices.iter().zip(&stripes) {
            let Some(set) = stripe.get(position - 1) else {
                // SQL Server error 4038 (severity 16).
                return Err(ServerMessage::error(
                    4038,
                    16,
                    format!("Cannot find file ID {position} on device '{}'.", d.name()),
                ));
            };
            chosen.push(set);
        }
        check_stripes(
            &chosen.iter().map(|s| &s.0).collect::<Vec<_>>(),
            &spec.devices,
        )?;
        let first = chosen[0];
        if spec.checksum && !first.0.checksum {
            // SQL Server error 3187 (severity 16).
            return Err(ServerMessage::error(
                3187,
                16,
                "RESTORE WITH CHECKSUM cannot be specified because the backup set does not contain checksum information.",
            ));
        }
        let mut ordered = chosen.clone();
        ordered.sort_by_key(|s| s.0.stripe_index);
        Ok(MediaSet {
            header: first.0.clone(),
            details: first.1.clone(),
            payload: ordered.iter().flat_map(|s| s.2.iter().copied()).collect(),
            all: stripes[0]
                .iter()
                .map(|(h, d, _)| (h.clone(), d.clone()))
                .collect(),
        })
    }

    /// RESTORE in all its forms. `mi` applies Managed Instance's restrictions ("T-SQL
    /// differences between SQL Server and Azure SQL Managed Instance", RESTORE statement),
    /// with the numbers of "Database engine events and errors 41400 to 49999": RESTORE LOG is
    /// not supported (41906, the page naming no number of its own for it), FROM DISK is not
    /// (41902), nor is any WITH option on RESTORE DATABASE (41901).
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
            if spec.kind == RestoreKind::Log {
                return Err(fail(ServerMessage::error(
                    41906,
                    16,
                    "Statement 'RESTORE LOG' is not supported in SQL Database Managed Instance.",
                )));
            }
            if spec.devices.iter().any(|d| matches!(d, Device::Disk(_))) {
                return Err(fail(ServerMessage::error(
                    41902,
                    16,
                    "Unsupported device type. SQL Database Managed Instance supports database restore from URI backup device only.",
                )));
            }
            if spec.kind == RestoreKind::Database && !spec.options.is_empty() {
                return Err(fail(ServerMessage::error(
                    41901,
                    16,
                    format!(
                        "One or more of the options ({}) are not supported for this statement in SQL Database Managed Instance. Review the documentation for supported options.",
                        spec.option_names().join(", ")
                    ),
                )));
            }
            if spec.kind == RestoreKind::Database {
                return self.start_mi_restore(spec, user, session, now);
            }
        }
        if spec.kind == RestoreKind::Database && spec.devices.is_empty() {
            return self
                .recover(spec.database.as_deref().unwrap_or_default())
                .map_err(fail);
        }
        let set = self.read_media(spec).map_err(fail)?;
        let rows = |r| {
            Ok(Report {
                messages: vec![],
                rows: Some(r),
                operation: None,
            })
        };
        match spec.kind {
            RestoreKind::HeaderOnly => rows(header_rows(&set.all, &spec.devices[0])),
            RestoreKind::FileListOnly => rows(file_list(&set.header, &set.details)),
            RestoreKind::LabelOnly => rows(label(&set.header, &set.details)),
            RestoreKind::VerifyOnly => {
                // The payload must also expand when compressed: a damaged one is not valid.
                if set.header.compressed {
                    backup::expand(&set.payload, set.header.backup_size)
                        .map_err(|e| fail(format_error(&spec.devices[0].name(), e)))?;
                }
                Ok(Report {
                    messages: vec![ServerMessage::info(
                        3262,
                        format!("The backup set on file {} is valid.", spec.file()),
                    )],
                    rows: None,
                    operation: None,
                })
            }
            RestoreKind::Database | RestoreKind::Log => {
                let target = spec.database.clone().unwrap_or_default();
                let report = self
                    .apply(&target, &set.header, set.payload, spec, false)
                    .map_err(fail)?;
                if set.header.backup_type == BackupType::Full {
                    // "stays the same when the database is restored" (HEADERONLY, FamilyGUID).
                    let family = set.header.family_guid.clone();
                    self.update_database(&target, |i| i.family_guid = family)
                        .map_err(fail)?;
                }
                self.record_restore(&target, user, &set.header, spec, now);
                Ok(report)
            }
        }
    }

    pub(super) fn record_restore(
        &mut self,
        target: &str,
        user: &str,
        header: &BackupHeader,
        spec: &RestoreSpec,
        now: &str,
    ) {
        let _ = self.conn.execute(
            r#"INSERT INTO msdb."dbo.restorehistory" (restore_date, destination_database_name, user_name, backup_set_id, restore_type, replace, recovery) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6)"#,
            rusqlite::params![now, target, user, header.backup_type.msdb_code(), spec.replace, !spec.norecovery],
        );
    }

    /// Restores one backup set's payload (as stored) into `target`. `mi`: Managed Instance's
    /// error for a missing TDE certificate (41923); SQL Server's is 33111.
    pub(crate) fn apply(
        &mut self,
        target: &str,
        h: &BackupHeader,
        payload: Vec<u8>,
        spec: &RestoreSpec,
        mi: bool,
    ) -> Result<Report, ServerMessage> {
        let payload = if h.compressed {
            backup::expand(&payload, h.backup_size).map_err(|e| format_error(&h.database, e))?
        } else {
            payload
        };
        let size = payload.len() as u64;
        match h.backup_type {
            BackupType::Full => self.apply_full(target, h, &payload, spec, mi)?,
            BackupType::Differential | BackupType::Log => {
                self.apply_changes(target, h, &payload, spec)?
            }
        }
        let what = if h.backup_type == BackupType::Log {
            "RESTORE LOG"
        } else {
            "RESTORE DATABASE"
        };
        Ok(Report {
            messages: completion(what, size, target, &h.database),
            rows: None,
            operation: None,
        })
    }

    fn apply_full(
        &mut self,
        target: &str,
        h: &BackupHeader,
        payload: &[u8],
        spec: &RestoreSpec,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        // A TDE backup restores only where its certificate is (SQL Server error 33111; on
        // Managed Instance 41923).
        let tde = h.tde_thumbprint.as_deref().map(unhex);
        if let Some(t) = &tde
            && !self.has_certificate(t)
        {
            let thumbprint = super::tde::hex(t);
            return Err(if mi {
                ServerMessage::error(
                    41923,
                    16,
                    format!(
                        "Cannot find server certificate with thumbprint '{thumbprint}'. Please use PowerShell Cmdlet 'Add-AzureRmSqlManagedInstanceTransparentDataEncryptionCertificate' to create the certificate."
                    ),
                )
            } else {
                ServerMessage::error(
                    33111,
                    16,
                    format!("Cannot find server certificate with thumbprint '{thumbprint}'."),
                )
            });
        }
        if let Some(existing) = self.database(target).cloned() {
            if mi {
                // methods.md §4.1: an existing name fails with Msg 1801 on MI.
                return Err(already_exists(target));
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
        std::fs::write(&file, payload)
            .map_err(|e| super::backup_devices::os_error(&file.display().to_string(), &e))?;
        self.attach(target, Some(file), Recovery::Full, false)?;
        if let Some(t) = &tde {
            self.adopt_encryption(target, t)?;
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
        self.keep_compatibility_level(target, h.compatibility_level)?;
        self.set_state(target, spec.norecovery)
    }

    fn apply_changes(
        &mut self,
        target: &str,
        h: &BackupHeader,
        payload: &[u8],
        spec: &RestoreSpec,
    ) -> Result<(), ServerMessage> {
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
        let entries: Vec<LogEntry> = serde_json::from_slice(payload).map_err(|e| {
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
        self.set_state(target, spec.norecovery)
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

/// SQL Server error 1801 (severity 16).
pub(super) fn already_exists(name: &str) -> ServerMessage {
    ServerMessage::error(
        1801,
        16,
        format!("Database '{name}' already exists. Choose a different database name."),
    )
}
