//! The checks CREATE/ALTER AVAILABILITY GROUP make of what they are given: a replica's
//! options and URL ("CREATE AVAILABILITY GROUP (Transact-SQL)") and a database's readiness
//! ("Prepare environment for link"), with SQL Server's errors.

use super::ddl::Member;
use super::model::{AvailabilityGroup, AvailabilityMode, Replica};
use super::store;
use crate::instance::{Instance, Recovery};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::syntax_error;

type R<T> = Result<T, ServerMessage>;

/// `TCP://host:port[;…]`, as "CREATE AVAILABILITY GROUP" describes ENDPOINT_URL and
/// LISTENER_URL; else error 35232 naming it.
pub(super) fn check_url(url: &str) -> R<()> {
    let bad = || {
        ServerMessage::error(
            35232,
            16,
            format!(
                "The specified endpoint URL '{url}' is invalid. Reenter the command specifying the correct URL. For information about specifying the endpoint URL for an availability replica, see SQL Server Books Online."
            ),
        )
    };
    let head = url.split(';').next().unwrap_or("");
    let rest = head
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("tcp://"))
        .map(|_| &head[6..])
        .ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(bad());
    }
    Ok(())
}

pub(super) fn opt<'a>(m: &'a Member, key: &str) -> Option<&'a str> {
    m.options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A member's replica settings; `url_key` is ENDPOINT_URL or LISTENER_URL.
pub(super) fn replica(m: &Member, url_key: &str, old: Option<&Replica>) -> R<Replica> {
    let url = match (opt(m, url_key), old) {
        (Some(u), _) => u.to_owned(),
        (None, Some(o)) => o.endpoint_url.clone(),
        (None, None) => {
            // Error 35236 (class 15): the replica's URL is required.
            return Err(ServerMessage::error(
                35236,
                15,
                format!(
                    "The endpoint URL was not specified for the availability replica hosted by server instance '{}'. Reenter the command, specifying the endpoint URL of this instance of SQL Server.",
                    m.name
                ),
            ));
        }
    };
    check_url(&url)?;
    let mode = match opt(m, "AVAILABILITY_MODE") {
        Some(v) => AvailabilityMode::parse(v).ok_or_else(|| syntax_error(v))?,
        None => old.map_or(AvailabilityMode::AsynchronousCommit, |o| o.mode),
    };
    let failover_manual = match opt(m, "FAILOVER_MODE")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("MANUAL") => true,
        Some("AUTOMATIC") => false,
        Some(v) => return Err(syntax_error(v)),
        None => old.is_none_or(|o| o.failover_manual),
    };
    let seeding_automatic = match opt(m, "SEEDING_MODE")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("AUTOMATIC") => true,
        Some("MANUAL") => false,
        Some(v) => return Err(syntax_error(v)),
        // "SEEDING_MODE … MANUAL … is the default".
        None => old.is_some_and(|o| o.seeding_automatic),
    };
    Ok(Replica {
        server_name: m.name.clone(),
        endpoint_url: url,
        mode,
        failover_manual,
        seeding_automatic,
        replica_id: old.map(|o| o.replica_id.clone()).unwrap_or_default(),
    })
}

/// A database the group may take: it exists, is a user database, uses the FULL recovery
/// model and has a non-COPY_ONLY full backup in msdb, and is in no other group.
pub(super) fn check_database(
    inst: &mut Instance,
    ag: &str,
    db: &str,
    all: &[AvailabilityGroup],
) -> R<()> {
    let Some(info) = inst.database(db).cloned() else {
        return Err(ServerMessage::error(
            35238,
            16,
            format!(
                "Database '{db}' cannot be added to availability group '{ag}'. The database does not exist on this SQL Server instance. Verify that the database name is correct, then retry the operation."
            ),
        ));
    };
    if info.system {
        return Err(ServerMessage::error(
            35249,
            16,
            format!(
                "An attempt to add or join a system database, '{}', to an availability group failed. Specify only user databases for this operation.",
                info.name
            ),
        ));
    }
    if all
        .iter()
        .any(|g| !g.distributed && g.databases.iter().any(|d| d.eq_ignore_ascii_case(db)))
    {
        return Err(ServerMessage::error(
            35244,
            16,
            format!(
                "Database '{}' cannot be added to availability group '{ag}'. The database is currently joined to another availability group. Verify that the database name is correct and that the database is not joined to an availability group, then retry the operation.",
                info.name
            ),
        ));
    }
    let backed_up = !store::rows(
        inst,
        r#"SELECT 1 FROM msdb."dbo.backupset" WHERE database_name = ?1 COLLATE NOCASE AND type = 'D' AND COALESCE(is_copy_only, 0) = 0"#,
        &[store::s(&info.name)],
    )?
    .is_empty();
    if info.recovery != Recovery::Full || !backed_up {
        // "Prepare environment for link": a database needs the FULL recovery model and a
        // full backup, else joining fails with 1475. The docs give no separate error for the
        // recovery model; without FULL there is no log chain, so the same error stands.
        return Err(ServerMessage::error(
            1475,
            16,
            format!(
                "Database mirroring cannot be enabled because the \"{}\" database may have bulk logged changes that have not been backed up. The last log backup on the principal must be restored on the mirror.",
                info.name
            ),
        ));
    }
    Ok(())
}
