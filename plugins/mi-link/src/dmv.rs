//! What the DMVs say about a link, read by view (documented columns, one view per query,
//! filtered here): the DAG's replicas and databases on SQL Server (methods.md §1.4), the MI's
//! backup history.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};

use crate::arm;
use crate::config::Config;
use crate::sql::{Side, lsn, p, row, rows};
use crate::state::Link;

/// One row of `sys.dm_hadr_database_replica_states` for the DAG.
#[derive(Debug, Clone, Default)]
pub struct DbReplica {
    pub is_local: bool,
    pub sync_state: String,
    pub last_hardened_lsn: String,
    pub send_queue_kb: i64,
    pub redo_queue_kb: i64,
}

/// One row of `sys.dm_hadr_availability_replica_states` for the DAG.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    pub is_local: bool,
    pub role: String,
    pub connected: String,
    pub error_number: i64,
    pub error_description: String,
}

/// The DAG's group id on the source, if it exists.
pub fn group_id(cx: &mut Context<'_, Config>, name: &str) -> Result<Option<String>> {
    Ok(row(
        cx,
        Side::Source,
        "SELECT group_id FROM sys.availability_groups WHERE name = @name",
        &[p("name", name)],
    )?
    .map(|r| text(r.first())))
}

pub fn db_replicas(cx: &mut Context<'_, Config>, group: &str) -> Result<Vec<DbReplica>> {
    Ok(rows(
        cx,
        Side::Source,
        "SELECT group_id, is_local, synchronization_state_desc, last_hardened_lsn, \
         log_send_queue_size, redo_queue_size FROM sys.dm_hadr_database_replica_states",
        &[],
    )?
    .iter()
    .filter(|r| text(r.first()).eq_ignore_ascii_case(group))
    .map(|r| DbReplica {
        is_local: int(r.get(1)) == 1,
        sync_state: text(r.get(2)),
        last_hardened_lsn: text(r.get(3)),
        send_queue_kb: int(r.get(4)),
        redo_queue_kb: int(r.get(5)),
    })
    .collect())
}

pub fn replicas(cx: &mut Context<'_, Config>, group: &str) -> Result<Vec<Replica>> {
    Ok(rows(
        cx,
        Side::Source,
        "SELECT group_id, is_local, role_desc, connected_state_desc, last_connect_error_number, \
         last_connect_error_description FROM sys.dm_hadr_availability_replica_states",
        &[],
    )?
    .iter()
    .filter(|r| text(r.first()).eq_ignore_ascii_case(group))
    .map(|r| Replica {
        is_local: int(r.get(1)) == 1,
        role: text(r.get(2)),
        connected: text(r.get(3)),
        error_number: int(r.get(4)),
        error_description: text(r.get(5)),
    })
    .collect())
}

/// The role of SQL Server's own replica in the DAG `dag`, if the DAG exists there.
pub fn source_role(cx: &mut Context<'_, Config>, dag: &str) -> Result<Option<String>> {
    Ok(match group_id(cx, dag)? {
        Some(g) => replicas(cx, &g)?
            .into_iter()
            .find(|r| r.is_local)
            .map(|r| r.role),
        None => None,
    })
}

/// The MI's highest full backup id of `db` (0 for none).
pub fn mi_backup_mark(cx: &mut Context<'_, Config>, db: &str) -> Result<i64> {
    Ok(row(
        cx,
        Side::Mi,
        "SELECT MAX(backup_set_id) AS last_full FROM msdb.dbo.backupset WHERE database_name = @db AND type = 'D'",
        &[p("db", db)],
    )?
    .map_or(0, |r| int(r.first())))
}

pub fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// All hardened LSNs equal: the source's DAG rows and ARM's; the common value.
pub fn lsns_equal(source: &[String], mi: Option<&str>) -> Option<u128> {
    let mut all = source.iter().map(|s| lsn(s));
    let first = all.next()??;
    if !all.all(|l| l == Some(first)) {
        return None;
    }
    match mi.map(lsn) {
        Some(Some(m)) if m != first => None,
        Some(None) => None,
        _ => Some(first),
    }
}

/// Where the hardened LSNs stand for a planned role change.
pub enum Hold {
    /// Not equal yet: the source's values and the MI's.
    Differs(String),
    /// Equal, and waiting for `stable_seconds` to pass: the value.
    Holding(String),
    /// Equal and stable: (source, MI) as compared.
    Stable(String, String),
    /// The two sides are not connected: why, and what to check.
    Disconnected(String),
}

/// Compares `last_hardened_lsn` of the DAG's rows on SQL Server with ARM's, keeping in
/// `link.stable` since when they are equal (methods.md §1.5 step 3: equal **and stable**).
pub fn hold(cx: &mut Context<'_, Config>, link: &mut Link, group: &str) -> Result<Hold> {
    // A replica that is not connected reports the last LSN it heard of, which stays "equal
    // and stable" however far behind it is: the comparison counts only while both sides are
    // connected (SQL Server's DAG rows and ARM's `connectedState`).
    let disconnected = replicas(cx, group)?
        .into_iter()
        .find(|r| !r.is_local && !r.connected.eq_ignore_ascii_case("CONNECTED"));
    let view = arm::link_view(cx, link)?;
    let arm_disconnected = view
        .as_ref()
        .and_then(|v| v.connected.as_deref())
        .is_some_and(|c| !c.eq_ignore_ascii_case("CONNECTED"));
    let now = ferry_sdk::now_ms();
    if disconnected.is_some() || arm_disconnected {
        link.stable = None;
        let why = disconnected
            .filter(|r| r.error_number != 0)
            .map(|r| format!(" (last error {}: {})", r.error_number, r.error_description))
            .unwrap_or_default();
        if link.disconnected_since_ms == 0 {
            link.disconnected_since_ms = now;
        }
        let limit = u64::from(cx.config().disconnected_limit_seconds);
        let apart = now.saturating_sub(link.disconnected_since_ms) / 1000;
        if limit > 0 && apart >= limit {
            return Err(Error::failed(format!(
                "[{}]: SQL Server and the MI have not been connected for {apart} s during the planned failover{why}, longer than disconnected_limit_seconds ({limit}). Nothing failed over: a planned failover needs both replicas connected and synchronized (error 41142 otherwise), and the link is kept as it is. Fix the network between them (TCP 5022 and 11000-11999 both ways), then run `ferry apply --retry-failed` to take the database up again; only if SQL Server is lost, `ferry cutover --allow-data-loss` fails over without what the MI has not hardened",
                link.db
            )));
        }
        return Ok(Hold::Disconnected(format!(
            "SQL Server and the MI are not connected{why} ({apart} s); the LSNs are compared once the link reconnects (check the network between them: TCP 5022 and 11000-11999)"
        )));
    }
    link.disconnected_since_ms = 0;
    let source: Vec<String> = db_replicas(cx, group)?
        .into_iter()
        .map(|d| d.last_hardened_lsn)
        .collect();
    let mi = view.and_then(|v| v.last_hardened_lsn);
    let Some(common) = lsns_equal(&source, mi.as_deref()) else {
        link.stable = None;
        return Ok(Hold::Differs(format!(
            "source {} / MI {}",
            source.join(","),
            mi.unwrap_or_else(|| "?".into())
        )));
    };
    let common = common.to_string();
    match &link.stable {
        Some((l, since)) if *l == common => {
            let window = u64::from(cx.config().stable_seconds) * 1000;
            if now.saturating_sub(*since) >= window {
                // As numbers: the DMV's numeric(25,0) and ARM's decimal string spell the
                // same LSN differently ("59.0", "59").
                let number = |v: Option<&str>| {
                    v.and_then(crate::sql::lsn)
                        .map_or_else(|| common.clone(), |n| n.to_string())
                };
                let src = number(source.first().map(String::as_str));
                return Ok(Hold::Stable(src, number(mi.as_deref())));
            }
        }
        _ => link.stable = Some((common.clone(), now)),
    }
    Ok(Hold::Holding(common))
}

#[cfg(test)]
mod tests {
    use super::lsns_equal;

    #[test]
    fn lsns_are_equal_only_when_every_side_says_the_same() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            lsns_equal(
                &s(&["71000009407900001", "71000009407900001"]),
                Some("71000009407900001")
            ),
            Some(71000009407900001)
        );
        assert_eq!(lsns_equal(&s(&["5", "6"]), Some("6")), None);
        assert_eq!(lsns_equal(&s(&["5", "5"]), Some("6")), None);
        assert_eq!(lsns_equal(&s(&["5", "5"]), None), Some(5));
        assert_eq!(lsns_equal(&s(&[]), Some("5")), None);
        assert_eq!(lsns_equal(&s(&["", ""]), None), None);
    }
}
