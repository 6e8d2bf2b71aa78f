//! The result sets of RESTORE HEADERONLY, FILELISTONLY and LABELONLY, with the columns, types
//! and order of their Transact-SQL reference pages ("RESTORE HEADERONLY", "RESTORE
//! FILELISTONLY", "RESTORE LABELONLY").

use crate::backup::{BackupDetails, BackupHeader, BackupType};
use crate::protocol::tokens::Column;
use crate::protocol::types::{SqlType, Value};
use crate::statement::Device;

type Rows = (Vec<Column>, Vec<Vec<Value>>);

fn cols(spec: &[(&str, SqlType)]) -> Vec<Column> {
    spec.iter().map(|(n, t)| Column::new(n, *t)).collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn opt_text(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, text)
}

fn lsn(v: i64) -> Value {
    Value::Decimal(i128::from(v), 0)
}

fn bytes(v: u64) -> Value {
    Value::Decimal(i128::from(v), 0)
}

fn datetime(s: &str) -> Value {
    crate::protocol::types::parse_datetime(s).map_or(Value::Null, |(d, t)| Value::DateTime2(d, t))
}

pub(super) fn guid(s: &str) -> Value {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 32 {
        return Value::Null;
    }
    let mut g = [0u8; 16];
    for (i, b) in g.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0);
    }
    Value::Guid(g)
}

pub(super) fn unhex(s: &str) -> Vec<u8> {
    let h = s.trim_start_matches("0x");
    (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).ok())
        .collect()
}

/// The TDE certificate's thumbprint, when the database is encrypted.
fn thumbprint(h: &BackupHeader) -> Value {
    h.tde_thumbprint
        .as_deref()
        .map_or(Value::Null, |t| Value::Binary(unhex(t)))
}

const MAX_BYTES: i64 = 35_184_372_080_640;

/// RESTORE HEADERONLY: one row per backup set on the media, in the reference page's order.
pub(super) fn header_rows(sets: &[(BackupHeader, BackupDetails)], device: &Device) -> Rows {
    let columns = cols(&[
        ("BackupName", SqlType::NVarChar(Some(128))),
        ("BackupDescription", SqlType::NVarChar(Some(255))),
        ("BackupType", SqlType::SmallInt),
        ("ExpirationDate", SqlType::DateTime2),
        ("Compressed", SqlType::Bit),
        ("Position", SqlType::SmallInt),
        ("DeviceType", SqlType::TinyInt),
        ("UserName", SqlType::NVarChar(Some(128))),
        ("ServerName", SqlType::NVarChar(Some(128))),
        ("DatabaseName", SqlType::NVarChar(Some(128))),
        ("DatabaseVersion", SqlType::Int),
        ("DatabaseCreationDate", SqlType::DateTime2),
        ("BackupSize", SqlType::Decimal(20, 0)),
        ("FirstLSN", SqlType::Decimal(25, 0)),
        ("LastLSN", SqlType::Decimal(25, 0)),
        ("CheckpointLSN", SqlType::Decimal(25, 0)),
        ("DatabaseBackupLSN", SqlType::Decimal(25, 0)),
        ("BackupStartDate", SqlType::DateTime2),
        ("BackupFinishDate", SqlType::DateTime2),
        ("SortOrder", SqlType::SmallInt),
        ("CodePage", SqlType::SmallInt),
        ("UnicodeLocaleId", SqlType::Int),
        ("UnicodeComparisonStyle", SqlType::Int),
        ("CompatibilityLevel", SqlType::TinyInt),
        ("SoftwareVendorId", SqlType::Int),
        ("SoftwareVersionMajor", SqlType::Int),
        ("SoftwareVersionMinor", SqlType::Int),
        ("SoftwareVersionBuild", SqlType::Int),
        ("MachineName", SqlType::NVarChar(Some(128))),
        ("Flags", SqlType::Int),
        ("BindingID", SqlType::UniqueIdentifier),
        ("RecoveryForkID", SqlType::UniqueIdentifier),
        ("Collation", SqlType::NVarChar(Some(128))),
        ("FamilyGUID", SqlType::UniqueIdentifier),
        ("HasBulkLoggedData", SqlType::Bit),
        ("IsSnapshot", SqlType::Bit),
        ("IsReadOnly", SqlType::Bit),
        ("IsSingleUser", SqlType::Bit),
        ("HasBackupChecksums", SqlType::Bit),
        ("IsDamaged", SqlType::Bit),
        ("BeginsLogChain", SqlType::Bit),
        ("HasIncompleteMetaData", SqlType::Bit),
        ("IsForceOffline", SqlType::Bit),
        ("IsCopyOnly", SqlType::Bit),
        ("FirstRecoveryForkID", SqlType::UniqueIdentifier),
        ("ForkPointLSN", SqlType::Decimal(25, 0)),
        ("RecoveryModel", SqlType::NVarChar(Some(60))),
        ("DifferentialBaseLSN", SqlType::Decimal(25, 0)),
        ("DifferentialBaseGUID", SqlType::UniqueIdentifier),
        ("BackupTypeDescription", SqlType::NVarChar(Some(60))),
        ("BackupSetGUID", SqlType::UniqueIdentifier),
        ("CompressedBackupSize", SqlType::BigInt),
        ("containment", SqlType::TinyInt),
        ("KeyAlgorithm", SqlType::NVarChar(Some(32))),
        ("EncryptorThumbprint", SqlType::VarBinary(Some(20))),
        ("EncryptorType", SqlType::NVarChar(Some(32))),
    ]);
    let rows = sets
        .iter()
        .enumerate()
        .map(|(i, (h, d))| {
            let version: Vec<i64> = h
                .software_version
                .split('.')
                .filter_map(|p| p.parse().ok())
                .collect();
            // Flags: 16 backup checksums, 256 tail-log backup WITH NORECOVERY.
            let flags = i64::from(h.checksum) * 16 + i64::from(d.force_offline) * 256;
            let fork = guid(&d.recovery_fork_guid);
            vec![
                opt_text(&d.name),
                opt_text(&d.description),
                Value::Int(h.backup_type.header_code()),
                Value::Null,
                Value::Bit(h.compressed),
                Value::Int(i as i64 + 1),
                Value::Int(device.header_device_type()),
                text(&d.user_name),
                text(&h.server_name),
                text(&h.database),
                Value::Int(904),
                datetime(&d.database_creation_date),
                bytes(h.backup_size),
                lsn(h.first_lsn),
                lsn(h.last_lsn),
                lsn(h.checkpoint_lsn),
                lsn(h.database_backup_lsn),
                datetime(&h.backup_start),
                datetime(&h.backup_finish),
                Value::Int(52),
                Value::Int(0),
                Value::Int(1033),
                Value::Int(196_609),
                Value::Int(i64::from(h.compatibility_level)),
                Value::Int(4608),
                Value::Int(*version.first().unwrap_or(&0)),
                Value::Int(*version.get(1).unwrap_or(&0)),
                Value::Int(*version.get(2).unwrap_or(&0)),
                text(&h.server_name),
                Value::Int(flags),
                guid(&d.binding_guid),
                fork.clone(),
                text(if d.collation.is_empty() {
                    "SQL_Latin1_General_CP1_CI_AS"
                } else {
                    &d.collation
                }),
                guid(&h.family_guid),
                Value::Bit(false),
                Value::Bit(false),
                Value::Bit(false),
                Value::Bit(false),
                Value::Bit(h.checksum),
                Value::Bit(false),
                Value::Bit(d.begins_log_chain),
                Value::Bit(false),
                Value::Bit(d.force_offline),
                Value::Bit(h.copy_only),
                fork,
                Value::Null,
                text(&h.recovery_model),
                if h.backup_type == BackupType::Differential {
                    lsn(h.database_backup_lsn)
                } else {
                    Value::Null
                },
                h.differential_base_guid
                    .as_deref()
                    .map_or(Value::Null, guid),
                text(h.backup_type.description()),
                guid(&h.backup_set_guid),
                Value::Int(if d.compressed_size > 0 {
                    d.compressed_size
                } else {
                    h.backup_size
                } as i64),
                Value::Int(0),
                text("NO_Encryption"),
                thumbprint(h),
                Value::Null,
            ]
        })
        .collect();
    (columns, rows)
}

/// RESTORE FILELISTONLY: one row per file of the database in the backup set.
pub(super) fn file_list(h: &BackupHeader, d: &BackupDetails) -> Rows {
    let columns = cols(&[
        ("LogicalName", SqlType::NVarChar(Some(128))),
        ("PhysicalName", SqlType::NVarChar(Some(260))),
        ("Type", SqlType::VarChar(Some(1))),
        ("FileGroupName", SqlType::NVarChar(Some(128))),
        ("Size", SqlType::Decimal(20, 0)),
        ("MaxSize", SqlType::Decimal(20, 0)),
        ("FileID", SqlType::BigInt),
        ("CreateLSN", SqlType::Decimal(25, 0)),
        ("DropLSN", SqlType::Decimal(25, 0)),
        ("UniqueID", SqlType::UniqueIdentifier),
        ("ReadOnlyLSN", SqlType::Decimal(25, 0)),
        ("ReadWriteLSN", SqlType::Decimal(25, 0)),
        ("BackupSizeInBytes", SqlType::BigInt),
        ("SourceBlockSize", SqlType::Int),
        ("FileGroupID", SqlType::Int),
        ("LogGroupGUID", SqlType::UniqueIdentifier),
        ("DifferentialBaseLSN", SqlType::Decimal(25, 0)),
        ("DifferentialBaseGUID", SqlType::UniqueIdentifier),
        ("IsReadOnly", SqlType::Bit),
        ("IsPresent", SqlType::Bit),
        ("TDEThumbprint", SqlType::VarBinary(Some(32))),
        ("SnapshotURL", SqlType::NVarChar(Some(360))),
    ]);
    let differential = h.backup_type == BackupType::Differential;
    let rows = d
        .files
        .iter()
        .map(|f| {
            vec![
                text(&f.logical_name),
                text(&f.physical_name),
                text(&f.kind),
                opt_text(&f.filegroup),
                bytes(f.size),
                Value::Decimal(
                    i128::from(if f.max_size < 0 {
                        MAX_BYTES
                    } else {
                        f.max_size
                    }),
                    0,
                ),
                Value::Int(f.file_id),
                lsn(0),
                Value::Null,
                guid(&f.unique_id),
                Value::Null,
                Value::Null,
                Value::Int(if f.kind == "D" && f.file_id == 1 {
                    h.backup_size as i64
                } else {
                    0
                }),
                Value::Int(512),
                Value::Int(f.filegroup_id),
                Value::Null,
                if differential {
                    lsn(h.database_backup_lsn)
                } else {
                    Value::Null
                },
                if differential {
                    h.differential_base_guid
                        .as_deref()
                        .map_or(Value::Null, guid)
                } else {
                    Value::Null
                },
                Value::Bit(false),
                Value::Bit(true),
                thumbprint(h),
                Value::Null,
            ]
        })
        .collect();
    (columns, rows)
}

/// RESTORE LABELONLY: the media's label.
pub(super) fn label(h: &BackupHeader, d: &BackupDetails) -> Rows {
    let columns = cols(&[
        ("MediaName", SqlType::NVarChar(Some(128))),
        ("MediaSetId", SqlType::UniqueIdentifier),
        ("FamilyCount", SqlType::Int),
        ("FamilySequenceNumber", SqlType::Int),
        ("MediaFamilyId", SqlType::UniqueIdentifier),
        ("MediaSequenceNumber", SqlType::Int),
        ("MediaLabelPresent", SqlType::TinyInt),
        ("MediaDescription", SqlType::NVarChar(Some(255))),
        ("SoftwareName", SqlType::NVarChar(Some(128))),
        ("SoftwareVendorId", SqlType::Int),
        ("MediaDate", SqlType::DateTime2),
        ("MirrorCount", SqlType::Int),
        ("IsCompressed", SqlType::Bit),
    ]);
    (
        columns,
        vec![vec![
            Value::Null,
            guid(&d.media_set_guid),
            Value::Int(i64::from(h.stripe_count)),
            Value::Int(i64::from(h.stripe_index)),
            guid(&d.media_set_guid),
            Value::Int(1),
            Value::Int(1),
            Value::Null,
            text("Microsoft SQL Server"),
            Value::Int(4608),
            datetime(&h.backup_start),
            Value::Int(1),
            Value::Bit(h.compressed),
        ]],
    )
}
