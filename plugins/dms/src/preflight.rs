//! Preconditions, each a refusal with its reason before anything starts (methods.md §3.2,
//! "Migrate databases with Azure SQL Migration extension … prerequisites" and "Known issues",
//! learn.microsoft.com): the DMS login is sysadmin or holds CONTROL SERVER; the backups since
//! the last full are each in their own media (never appended: `position > 1`) and WITH
//! CHECKSUM; the target name is free on the MI (DMS never overwrites); a TDE database's
//! certificate is already on the MI; a blob container is not named `backup`; the storage
//! account is in the service's region and of an accepted kind (`storage`).

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};

use crate::config::Config;
use crate::rules::{container_rules, join_unc};
use crate::sql::{p, rows};

use crate::check::check;
pub use crate::check::{Check, Status};

/// Every check for `db` (restored as `target`).
pub fn run(cx: &mut Context<'_, Config>, db: &str, target: &str) -> Result<Vec<Check>> {
    let cfg = cx.config().clone();
    let mut out = vec![login(cx, &cfg)?];
    out.extend(backups(cx, &cfg, db)?);
    out.extend(tde(cx, &cfg, db)?);
    let taken = !rows(
        cx,
        &cfg.target,
        "SELECT name FROM sys.databases WHERE name = @db",
        &[p("db", target)],
    )?
    .is_empty();
    out.push(check(
        "target-name-taken",
        !taken,
        format!(
            "[{target}] already exists on the MI and DMS never overwrites: drop or rename it, \
             or set target_name"
        ),
    ));
    out.extend(crate::storage::checks(cx, &cfg, db)?);
    if let Some(b) = &cfg.blob {
        let name = b.container_for(db);
        let rule = container_rules(&name);
        out.push(check(
            "invalid-container-name",
            rule.is_ok(),
            rule.err().unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// sysadmin or CONTROL SERVER for the login DMS uses (`IS_SRVROLEMEMBER`; `HAS_PERMS_BY_NAME`
/// answers for ferry's own login only, so another login's grant is read from
/// `sys.server_permissions`).
fn login(cx: &mut Context<'_, Config>, cfg: &Config) -> Result<Check> {
    let user = cfg.source_user.as_str();
    let r = rows(
        cx,
        &cfg.source,
        "SELECT IS_SRVROLEMEMBER('sysadmin', @login) AS sa, SUSER_SNAME() AS me, \
         HAS_PERMS_BY_NAME(NULL, NULL, 'CONTROL SERVER') AS cs",
        &[p("login", user)],
    )?;
    let r = r.first();
    let sysadmin = r.is_some_and(|r| int(r.first()) == 1);
    let me = r.map(|r| text(r.get(1))).unwrap_or_default();
    let control = if sysadmin {
        true
    } else if me.eq_ignore_ascii_case(user) {
        r.is_some_and(|r| int(r.get(2)) == 1)
    } else {
        let g = rows(
            cx,
            &cfg.source,
            "SELECT COUNT(*) FROM sys.server_permissions sp JOIN sys.server_principals pr \
             ON pr.principal_id = sp.grantee_principal_id WHERE pr.name = @login \
             AND sp.permission_name = 'CONTROL SERVER' AND sp.state IN ('G', 'W')",
            &[p("login", user)],
        )?;
        g.first().is_some_and(|r| int(r.first()) > 0)
    };
    Ok(check(
        "source-login-not-sysadmin",
        sysadmin || control,
        format!(
            "the login `{user}` DMS uses on the source is neither sysadmin nor granted CONTROL \
             SERVER: grant one of them"
        ),
    ))
}

/// The backups msdb records since the last full.
fn backups(cx: &mut Context<'_, Config>, cfg: &Config, db: &str) -> Result<Vec<Check>> {
    let all = rows(
        cx,
        &cfg.source,
        "SELECT b.backup_set_id, b.type, b.position, b.has_backup_checksums, \
         m.physical_device_name FROM msdb.dbo.backupset b \
         JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id \
         WHERE b.database_name = @db ORDER BY b.backup_finish_date, b.backup_set_id",
        &[p("db", db)],
    )?;
    let last_full = all
        .iter()
        .rposition(|r| text(r.get(1)).eq_ignore_ascii_case("D"));
    let Some(start) = last_full else {
        return Ok(vec![check(
            "no-full-backup",
            false,
            format!(
                "msdb shows no full backup of [{db}]: take one WITH CHECKSUM into the \
                 database's folder"
            ),
        )]);
    };
    let chain = &all[start..];
    let appended: Vec<String> = chain
        .iter()
        .filter(|r| int(r.get(2)) > 1)
        .map(|r| text(r.get(4)))
        .collect();
    let unchecked: Vec<String> = chain
        .iter()
        .filter(|r| int(r.get(3)) == 0)
        .map(|r| text(r.get(4)))
        .collect();
    let mut out = Vec::new();
    // The runtime reads only the database's folder: a backup written elsewhere is not seen.
    if let Some(share) = &cfg.share
        && let Some(source_path) = &share.source_path
    {
        // Compared with one separator and without regard to case (Windows paths are not
        // case sensitive; msdb writes what the BACKUP statement said).
        let same = |p: &str| p.to_lowercase().replace('/', "\\");
        let folder = same(&join_unc(source_path, &share.folder.replace("{db}", db)));
        let outside: Vec<String> = chain
            .iter()
            .map(|r| text(r.get(4)))
            .filter(|d| {
                same(d)
                    .strip_prefix(&folder)
                    .and_then(|rest| rest.strip_prefix('\\'))
                    .is_none_or(|name| name.contains('\\'))
            })
            .collect();
        out.push(check(
            "backup-outside-folder",
            outside.is_empty(),
            format!(
                "backups msdb shows outside the folder DMS reads, {folder} ({}): take the chain \
                 again into that one flat folder",
                outside.join(", ")
            ),
        ));
    }
    out.extend([
        check(
            "backup-appended",
            appended.is_empty(),
            format!(
                "backups appended to one media file ({}): DMS needs each backup in its own \
                 file or striped set; take them again with a new file name each (or WITH FORMAT)",
                appended.join(", ")
            ),
        ),
        check(
            "backup-without-checksum",
            unchecked.is_empty(),
            format!(
                "backups without checksums ({}): DMS fails them (2009, missing checksum); take \
                 them again WITH CHECKSUM",
                unchecked.join(", ")
            ),
        ),
    ]);
    Ok(out)
}

/// The source's version for a share; a TDE database's certificate already on the MI, found by
/// thumbprint.
fn tde(cx: &mut Context<'_, Config>, cfg: &Config, db: &str) -> Result<Vec<Check>> {
    let conn = cx.sql(&cfg.source)?;
    let Some(source) = cx.source_database(conn, db)? else {
        return Ok(vec![check(
            "source-database-missing",
            false,
            format!("the source has no database [{db}]"),
        )]);
    };
    let mut out = Vec::new();
    // methods.md §3.2: SQL Server 2012 and 2014 sources must use blob (page blobs), not a share.
    if cfg.share.is_some()
        && let Some(v) = source.version
    {
        out.push(check(
            "share-needs-sql-2016",
            v.major >= 13,
            format!(
                "the source is {}: DMS migrates SQL Server 2012 and 2014 only from blob \
                 storage; back up TO URL into a container and use `blob`",
                v.release()
            ),
        ));
    }
    let Some((name, thumb)) = source.tde_certificate.clone().filter(|_| source.encrypted) else {
        return Ok(out);
    };
    let mi = cx.sql(&cfg.target)?;
    let certs = cx.rows_if_present(mi, "SELECT thumbprint FROM master.sys.certificates", &[])?;
    let Some(certs) = certs else {
        out.push(Check {
            code: "tde-certificate-missing",
            status: Status::NotChecked,
            reason: "the MI's certificates could not be read".into(),
        });
        return Ok(out);
    };
    let norm = |t: &str| t.trim_start_matches("0x").to_ascii_uppercase();
    let found = certs.iter().any(|r| norm(&text(r.first())) == norm(&thumb));
    out.push(check(
        "tde-certificate-missing",
        found,
        format!(
            "[{db}] is TDE-encrypted by certificate [{name}] (thumbprint {thumb}), which the MI \
             does not hold: migrate it first (an `instance-objects` step, or the portal's TDE \
             certificate migration), or DMS fails the restore (2009)"
        ),
    ));
    Ok(out)
}

/// Reports the checks and fails when any refuses.
pub fn judge(cx: &mut Context<'_, Config>, db: &str, checks: &[Check]) -> Result<()> {
    let mut refusals = Vec::new();
    for c in checks {
        let status = match c.status {
            Status::Pass => continue,
            Status::Refuse => ObjectStatus::Refused,
            Status::NotChecked => ObjectStatus::Skipped,
        };
        if c.status == Status::Refuse {
            refusals.push(format!("{}: {}", c.code, c.reason));
        }
        cx.report(ObjectRow {
            object_type: "dms-precondition".into(),
            name: format!("{db}: {}", c.code),
            status,
            reason_code: Some(c.code.into()),
            notes: Some(c.reason.clone()),
        });
    }
    if refusals.is_empty() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "[{db}] cannot be migrated by DMS, nothing was started: {}",
        refusals.join(" | ")
    )))
}
