//! BACKUP and RESTORE statements, parsed from tokens.

use std::path::PathBuf;

use crate::backup::BackupType;
use crate::protocol::tokens::ServerMessage;
use crate::statement::{BackupSpec, Device, RestoreKind, RestoreSpec};
use crate::syntax::{Token, closing_paren, name_at, syntax_error};

fn devices(st: &[Token], mut i: usize) -> Result<(Vec<Device>, usize), ServerMessage> {
    let mut out = Vec::new();
    loop {
        let kind = st
            .get(i)
            .ok_or_else(|| syntax_error(&st[i - 1].display()))?;
        let is_disk = kind.is("DISK");
        if !is_disk && !kind.is("URL") {
            return Err(syntax_error(&kind.display()));
        }
        if !st.get(i + 1).is_some_and(|t| t.is_punct("=")) {
            return Err(syntax_error(&kind.display()));
        }
        let Some(Token::Str { text, .. }) = st.get(i + 2) else {
            return Err(syntax_error("="));
        };
        out.push(if is_disk {
            Device::Disk(PathBuf::from(text))
        } else {
            Device::Url(text.clone())
        });
        i += 3;
        if st.get(i).is_some_and(|t| t.is_punct(",")) {
            i += 1;
            continue;
        }
        // SQL Server allows at most 64 backup devices per media set (error 3205).
        if out.len() > 64 {
            return Err(ServerMessage::error(
                3205,
                16,
                "Too many backup devices specified for backup or restore; only 64 are allowed.",
            ));
        }
        return Ok((out, i));
    }
}

/// WITH options: each is a word, optionally `= value`; `MOVE 'a' TO 'b'` is kept whole.
fn with_options(st: &[Token], i: usize) -> Result<Vec<(String, Option<Token>)>, ServerMessage> {
    let mut out = Vec::new();
    if i >= st.len() {
        return Ok(out);
    }
    if !st[i].is("WITH") {
        return Err(syntax_error(&st[i].display()));
    }
    let mut j = i + 1;
    while j < st.len() {
        let Token::Word(w) = &st[j] else {
            return Err(syntax_error(&st[j].display()));
        };
        let key = w.to_ascii_uppercase();
        j += 1;
        let mut value = None;
        if st.get(j).is_some_and(|t| t.is_punct("=")) {
            value = st.get(j + 1).cloned();
            j += 2;
        } else if key == "MOVE" {
            value = st.get(j).cloned();
            j += 3; // 'logical' TO 'physical'
        } else if st.get(j).is_some_and(|t| t.is_punct("(")) {
            // A parenthesised option (BACKUP's ENCRYPTION (…)): read past it whole, so the
            // statement's check names the option rather than a parenthesis.
            let close = closing_paren(st, j).ok_or_else(|| syntax_error("("))?;
            j = close + 1;
        }
        out.push((key, value));
        if st.get(j).is_some_and(|t| t.is_punct(",")) {
            j += 1;
        }
    }
    Ok(out)
}

/// MAXTRANSFERSIZE: 65536 to 4194304 bytes in 64 KB steps ("BACKUP (Transact-SQL)"); SQL
/// Server error 3250 otherwise.
fn max_transfer_size(v: Option<&Token>) -> Result<u32, ServerMessage> {
    let n = number(v, "MAXTRANSFERSIZE")?;
    if !(65_536..=4_194_304).contains(&n) || n % 65_536 != 0 {
        return Err(out_of_range(n, "MAXTRANSFERSIZE"));
    }
    Ok(n as u32)
}

/// BLOCKSIZE: 512 to 65536 bytes, a power of 2 ("BACKUP (Transact-SQL)"); SQL Server errors
/// 3250 and 3253.
fn block_size(v: Option<&Token>) -> Result<u32, ServerMessage> {
    let n = number(v, "BLOCKSIZE")?;
    if !(512..=65_536).contains(&n) {
        return Err(out_of_range(n, "BLOCKSIZE"));
    }
    if !n.is_power_of_two() {
        return Err(ServerMessage::error(
            3253,
            16,
            "The block size parameter must supply a value that is a power of 2.",
        ));
    }
    Ok(n as u32)
}

fn number(v: Option<&Token>, option: &str) -> Result<u64, ServerMessage> {
    match v {
        Some(Token::Number(n)) => n.parse().map_err(|_| syntax_error(n)),
        Some(t) => Err(syntax_error(&t.display())),
        None => Err(syntax_error(option)),
    }
}

/// SQL Server error 3250 (severity 16).
fn out_of_range(n: u64, option: &str) -> ServerMessage {
    ServerMessage::error(
        3250,
        16,
        format!("The value '{n}' is not within range for the {option} parameter."),
    )
}

pub fn parse_backup(st: &[Token]) -> Result<BackupSpec, ServerMessage> {
    let log = match st.get(1) {
        Some(t) if t.is("DATABASE") => false,
        Some(t) if t.is("LOG") => true,
        Some(t) => return Err(syntax_error(&t.display())),
        None => return Err(syntax_error("BACKUP")),
    };
    let database = name_at(st, 2)?;
    if !st.get(3).is_some_and(|t| t.is("TO")) {
        return Err(syntax_error(
            &st.get(3).map(|t| t.display()).unwrap_or_default(),
        ));
    }
    let (devices, next) = devices(st, 4)?;
    let mut spec = BackupSpec {
        database,
        kind: if log {
            BackupType::Log
        } else {
            BackupType::Full
        },
        devices,
        copy_only: false,
        checksum: false,
        compression: false,
        overwrite: false,
        name: None,
        norecovery: false,
        max_transfer_size: None,
        block_size: None,
        description: None,
        options: Vec::new(),
    };
    for (key, value) in with_options(st, next)? {
        match key.as_str() {
            "COPY_ONLY" => spec.copy_only = true,
            "CHECKSUM" => spec.checksum = true,
            "NO_CHECKSUM" => spec.checksum = false,
            "COMPRESSION" => spec.compression = true,
            "NO_COMPRESSION" => spec.compression = false,
            "FORMAT" | "INIT" => spec.overwrite = true,
            "NOINIT" | "NOFORMAT" => spec.overwrite = false,
            "DIFFERENTIAL" if !log => spec.kind = BackupType::Differential,
            "NAME" => spec.name = value.as_ref().map(|v| v.display()),
            "DESCRIPTION" => spec.description = value.as_ref().map(|v| v.display()),
            "NORECOVERY" if log => spec.norecovery = true,
            "MAXTRANSFERSIZE" => spec.max_transfer_size = Some(max_transfer_size(value.as_ref())?),
            "BLOCKSIZE" => spec.block_size = Some(block_size(value.as_ref())?),
            // Backup encryption ("BACKUP (Transact-SQL)", ENCRYPTION) is not emulated: taking
            // the backup unencrypted would let a rehearsal pass that the real one may not.
            "ENCRYPTION" => {
                return Err(ServerMessage::error(
                    50000,
                    16,
                    "ferry-emulator does not emulate backup encryption (BACKUP … WITH ENCRYPTION): rehearse without it, or against a real SQL Server.",
                ));
            }
            "STATS"
            | "SKIP"
            | "NOSKIP"
            | "REWIND"
            | "NOREWIND"
            | "UNLOAD"
            | "NOUNLOAD"
            | "NO_TRUNCATE"
            | "CREDENTIAL"
            | "BUFFERCOUNT"
            | "FILE_SNAPSHOT"
            | "STANDBY"
            | "CONTINUE_AFTER_ERROR"
            | "STOP_ON_ERROR"
            | "RETAINDAYS"
            | "EXPIREDATE" => {}
            other => return Err(syntax_error(other)),
        }
        spec.options.push(key);
    }
    Ok(spec)
}

pub fn parse_restore(st: &[Token]) -> Result<RestoreSpec, ServerMessage> {
    let (kind, mut i) = match st.get(1) {
        Some(t) if t.is("DATABASE") => (RestoreKind::Database, 2),
        Some(t) if t.is("LOG") => (RestoreKind::Log, 2),
        Some(t) if t.is("HEADERONLY") => (RestoreKind::HeaderOnly, 2),
        Some(t) if t.is("FILELISTONLY") => (RestoreKind::FileListOnly, 2),
        Some(t) if t.is("VERIFYONLY") => (RestoreKind::VerifyOnly, 2),
        Some(t) if t.is("LABELONLY") => (RestoreKind::LabelOnly, 2),
        Some(t) => return Err(syntax_error(&t.display())),
        None => return Err(syntax_error("RESTORE")),
    };
    let database = if matches!(kind, RestoreKind::Database | RestoreKind::Log) {
        i += 1;
        Some(name_at(st, 2)?)
    } else {
        None
    };
    let (devices, next) = if st.get(i).is_some_and(|t| t.is("FROM")) {
        devices(st, i + 1)?
    } else {
        (Vec::new(), i)
    };
    let mut spec = RestoreSpec {
        kind,
        database,
        devices,
        norecovery: false,
        replace: false,
        checksum: false,
        options: Vec::new(),
    };
    for (key, value) in with_options(st, next)? {
        match key.as_str() {
            "FILE" => {
                let n = number(value.as_ref(), "FILE")?;
                if n == 0 || n > u64::from(u32::MAX) {
                    return Err(out_of_range(n, "FILE"));
                }
                spec.options.push(format!("FILE={n}"));
                continue;
            }
            "NORECOVERY" => spec.norecovery = true,
            "RECOVERY" => spec.norecovery = false,
            "REPLACE" => spec.replace = true,
            "CHECKSUM" => spec.checksum = true,
            "STATS"
            | "MOVE"
            | "NO_CHECKSUM"
            | "CONTINUE_AFTER_ERROR"
            | "STOPAT"
            | "STANDBY"
            | "CREDENTIAL"
            | "BUFFERCOUNT"
            | "MAXTRANSFERSIZE"
            | "BLOCKSIZE"
            | "NOUNLOAD"
            | "UNLOAD"
            | "KEEP_REPLICATION"
            | "KEEP_CDC"
            | "ENABLE_BROKER"
            | "NEW_BROKER"
            | "ERROR_BROKER_CONVERSATIONS"
            | "PARTIAL"
            | "RESTRICTED_USER" => {}
            other => return Err(syntax_error(other)),
        }
        spec.options.push(key);
    }
    if spec.devices.is_empty()
        && !(spec.kind == RestoreKind::Database && spec.options.iter().any(|o| o == "RECOVERY"))
    {
        return Err(syntax_error(
            &st.last().map(|t| t.display()).unwrap_or_default(),
        ));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn backup_with_stripes_and_options() {
        let t = tokenize("BACKUP DATABASE [Sales] TO DISK = '/s/a.bak', DISK = '/s/b.bak' WITH COPY_ONLY, CHECKSUM, COMPRESSION, FORMAT, MAXTRANSFERSIZE = 4194304, BLOCKSIZE = 65536, STATS = 10").unwrap();
        let b = parse_backup(&t).unwrap();
        assert_eq!(b.devices.len(), 2);
        assert!(b.copy_only && b.checksum && b.compression && b.overwrite);
        let t = tokenize("BACKUP DATABASE x TO URL = 'https://a/b' WITH DIFFERENTIAL").unwrap();
        assert_eq!(parse_backup(&t).unwrap().kind, BackupType::Differential);
    }

    #[test]
    fn restore_variants() {
        let t = tokenize("RESTORE DATABASE [New] FROM DISK = '/s/a.bak' WITH NORECOVERY, REPLACE, MOVE 'a' TO '/x', STATS = 5").unwrap();
        let r = parse_restore(&t).unwrap();
        assert!(r.norecovery && r.replace);
        assert_eq!(r.options, ["NORECOVERY", "REPLACE", "MOVE", "STATS"]);
        let t = tokenize("RESTORE HEADERONLY FROM URL = 'https://a/b.bak'").unwrap();
        assert_eq!(parse_restore(&t).unwrap().kind, RestoreKind::HeaderOnly);
        let t = tokenize("RESTORE DATABASE x WITH RECOVERY").unwrap();
        assert!(parse_restore(&t).unwrap().devices.is_empty());
    }
}
