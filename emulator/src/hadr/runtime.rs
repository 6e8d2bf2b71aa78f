//! The DMV rows the link engine's state becomes: `sys.dm_hadr_availability_replica_states`,
//! `sys.dm_hadr_database_replica_states`, the seeding DMVs and `sys.databases`' log reuse wait.
//! Codes and descriptions are the documented ones (pages named after each view,
//! learn.microsoft.com).

use super::model::{
    AvailabilityGroup, DatabaseRuntime, Replica, ReplicaRole, ReplicaRuntime, SeedingRuntime,
};
use super::store::{i, rows, s, time_text};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;

/// Whether `replica` of `ag` is this server: a basic AG's replica is named after the server
/// (@@SERVERNAME); a distributed AG's "replica" is an AG, local when this server holds it.
pub(crate) fn is_local(
    all: &[AvailabilityGroup],
    ag: &AvailabilityGroup,
    replica: &str,
    server: &str,
) -> bool {
    if ag.distributed {
        all.iter()
            .any(|g| !g.distributed && g.name.eq_ignore_ascii_case(replica))
    } else {
        replica.eq_ignore_ascii_case(server)
    }
}

pub(crate) fn write_replica(
    inst: &mut Instance,
    all: &[AvailabilityGroup],
    ag: &AvailabilityGroup,
    replica: &str,
    server: &str,
    r: &ReplicaRuntime,
) -> Result<(), ServerMessage> {
    let Some(rep) = ag
        .replicas
        .iter()
        .find(|x| x.server_name.eq_ignore_ascii_case(replica))
    else {
        return Ok(());
    };
    let local = is_local(all, ag, replica, server);
    inst.execute(
        r#"DELETE FROM temp."sys.dm_hadr_availability_replica_states" WHERE group_id = ?1 AND replica_id = ?2"#,
        &[s(&ag.group_id), s(&rep.replica_id)],
    )?;
    // "operational_state … NULL = Replica is not local"; recovery_health likewise.
    let (op, op_desc, rec, rec_desc) = if local {
        match r.role {
            ReplicaRole::Resolving => (i(1), s("PENDING"), i(0), s("ONLINE_IN_PROGRESS")),
            _ => (i(2), s("ONLINE"), i(1), s("ONLINE")),
        }
    } else {
        (Value::Null, Value::Null, Value::Null, Value::Null)
    };
    let (health, health_desc) = if r.healthy {
        (2, "HEALTHY")
    } else {
        (0, "NOT_HEALTHY")
    };
    let (err_no, err_text, err_at) = match &r.last_connect_error {
        Some((n, t)) => (
            i(i64::from(*n)),
            s(t),
            s(&crate::protocol::types::now_text()),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    inst.execute(
        r#"INSERT INTO temp."sys.dm_hadr_availability_replica_states" VALUES
           (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, NULL, NULL)"#,
        &[
            s(&rep.replica_id),
            s(&ag.group_id),
            i(i64::from(local)),
            i(r.role.code()),
            s(r.role.desc()),
            op,
            op_desc,
            i(i64::from(r.connected)),
            s(if r.connected {
                "CONNECTED"
            } else {
                "DISCONNECTED"
            }),
            rec,
            rec_desc,
            i(health),
            s(health_desc),
            err_no,
            err_text,
            err_at,
        ],
    )?;
    Ok(())
}

fn sync_code(state: &str) -> Result<i64, ServerMessage> {
    Ok(match state {
        "NOT SYNCHRONIZING" => 0,
        "SYNCHRONIZING" => 1,
        "SYNCHRONIZED" => 2,
        "REVERTING" => 3,
        "INITIALIZING" => 4,
        other => {
            return Err(ServerMessage::error(
                50000,
                16,
                format!(
                    "ferry-emulator: '{other}' is not a synchronization_state_desc of sys.dm_hadr_database_replica_states"
                ),
            ));
        }
    })
}

pub(crate) fn write_database(
    inst: &mut Instance,
    all: &[AvailabilityGroup],
    ag: &AvailabilityGroup,
    db: &str,
    server: &str,
    r: &DatabaseRuntime,
) -> Result<(), ServerMessage> {
    let replica = ag
        .replicas
        .iter()
        .find(|x| is_local(all, ag, &x.server_name, server) == r.is_local);
    let Some(replica) = replica else {
        return Ok(());
    };
    let database_id = inst.database(db).map(|d| d.id);
    let gdb = rows(
        inst,
        r#"SELECT group_database_id FROM "sys.availability_databases_cluster" WHERE group_id = ?1 AND database_name = ?2 COLLATE NOCASE"#,
        &[s(&ag.group_id), s(db)],
    )?
    .into_iter()
    .next()
    .and_then(|r| r[0].clone());
    let code = sync_code(&r.synchronization_state)?;
    inst.execute(
        r#"DELETE FROM temp."sys.dm_hadr_database_replica_states" WHERE group_id = ?1 AND replica_id = ?2 AND database_id IS ?3"#,
        &[s(&ag.group_id), s(&replica.replica_id), database_id.map_or(Value::Null, i)],
    )?;
    let now = crate::protocol::types::now_text();
    let (health, health_desc) = if r.healthy {
        (2, "HEALTHY")
    } else {
        (0, "NOT_HEALTHY")
    };
    let (dbs, dbs_desc) = if r.is_local {
        (i(0), s("ONLINE"))
    } else {
        (Value::Null, Value::Null)
    };
    inst.execute(
        r#"INSERT INTO temp."sys.dm_hadr_database_replica_states" VALUES
           (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, NULL, NULL,
            ?14, ?14, ?15, ?16, ?15, ?16, ?15, ?16, ?17, ?16, ?18, 0, ?19, 0, 0, ?20, ?17, ?16, 0, 0)"#,
        &[
            database_id.map_or(Value::Null, i),
            s(&ag.group_id),
            s(&replica.replica_id),
            gdb.map_or(Value::Null, |g| s(&g)),
            i(i64::from(r.is_local)),
            i(i64::from(r.is_primary)),
            i(code),
            s(&r.synchronization_state),
            i(i64::from(code == 2)),
            i(health),
            s(health_desc),
            dbs,
            dbs_desc,
            i(r.last_hardened_lsn.min(r.end_of_log_lsn)),
            i(r.last_hardened_lsn),
            s(&now),
            i(r.last_commit_lsn),
            i(r.log_send_queue_kb),
            i(r.redo_queue_kb),
            i(r.end_of_log_lsn),
        ],
    )?;
    Ok(())
}

pub(crate) fn write_seeding(
    inst: &mut Instance,
    ag: &AvailabilityGroup,
    local_primary: bool,
    remote: Option<&Replica>,
    seeding: Option<&SeedingRuntime>,
) -> Result<(), ServerMessage> {
    inst.execute(
        r#"DELETE FROM temp."sys.dm_hadr_physical_seeding_stats" WHERE local_physical_seeding_id IN
           (SELECT operation_id FROM temp."sys.dm_hadr_automatic_seeding" WHERE ag_id = ?1)"#,
        &[s(&ag.group_id)],
    )?;
    for db in ag.databases.iter().chain(seeding.map(|x| &x.database)) {
        inst.execute(
            r#"DELETE FROM temp."sys.dm_hadr_physical_seeding_stats" WHERE local_database_name = ?1 COLLATE NOCASE"#,
            &[s(db)],
        )?;
    }
    inst.execute(
        r#"DELETE FROM temp."sys.dm_hadr_automatic_seeding" WHERE ag_id = ?1"#,
        &[s(&ag.group_id)],
    )?;
    let Some(sd) = seeding else {
        return Ok(());
    };
    let database_id = inst.database(&sd.database).map(|d| d.id);
    let gdb = rows(
        inst,
        r#"SELECT group_database_id FROM "sys.availability_databases_cluster" WHERE group_id = ?1 AND database_name = ?2 COLLATE NOCASE"#,
        &[s(&ag.group_id), s(&sd.database)],
    )?
    .into_iter()
    .next()
    .and_then(|r| r[0].clone());
    let opt_time = |t: Option<std::time::SystemTime>| t.map_or(Value::Null, |t| s(&time_text(t)));
    let done = sd.state.eq_ignore_ascii_case("COMPLETED");
    let end = if done || sd.failed.is_some() {
        s(&crate::protocol::types::now_text())
    } else {
        Value::Null
    };
    let (code, message) = match &sd.failed {
        Some((n, t)) => (i(i64::from(*n)), s(t)),
        None => (Value::Null, Value::Null),
    };
    let seeding_id = super::store::new_guid(&sd.database);
    // remote_machine_name: the partner's host, from its endpoint (or listener) URL.
    let remote_host = remote
        .map(|r| {
            let url = r.endpoint_url.split(';').next().unwrap_or("");
            let hostport = url.get(6..).unwrap_or(url);
            hostport
                .rsplit_once(':')
                .map_or(hostport, |(h, _)| h)
                .to_owned()
        })
        .unwrap_or_default();
    inst.execute(
        r#"INSERT INTO temp."sys.dm_hadr_physical_seeding_stats" VALUES
           (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, 0, ?14, ?15, ?16, 1)"#,
        &[
            s(&seeding_id),
            s(&super::store::new_guid(&remote_host)),
            database_id.map_or(Value::Null, i),
            s(&sd.database),
            s(&remote_host),
            s(if local_primary {
                "Source"
            } else {
                "Destination"
            }),
            s(&sd.state),
            i(sd.rate_bytes_per_second),
            i(sd.transferred_bytes),
            i(sd.size_bytes),
            s(&time_text(sd.start_utc)),
            end.clone(),
            opt_time(sd.estimate_complete_utc),
            code.clone(),
            message.clone(),
            if sd.failed.is_some() {
                end.clone()
            } else {
                Value::Null
            },
        ],
    )?;
    // "sys.dm_hadr_automatic_seeding": current_state COMPLETED | FAILED | … ; is_source 1 on
    // the primary.
    let current = if sd.failed.is_some() {
        "FAILED".to_owned()
    } else if done {
        "COMPLETED".to_owned()
    } else {
        "SEEDING".to_owned()
    };
    let remote_replica = remote.map(|r| r.replica_id.clone());
    inst.execute(
        r#"INSERT INTO temp."sys.dm_hadr_automatic_seeding" VALUES
           (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, NULL, ?10, ?11)"#,
        &[
            s(&time_text(sd.start_utc)),
            end,
            s(&ag.group_id),
            gdb.map_or(Value::Null, |g| s(&g)),
            remote_replica.map_or(Value::Null, |r| s(&r)),
            s(&seeding_id),
            i(i64::from(local_primary)),
            s(&current),
            i(i64::from(done)),
            code,
            i(i64::from(sd.attempts)),
        ],
    )?;
    Ok(())
}

/// `sys.databases.log_reuse_wait[_desc]` ("sys.databases": 0 NOTHING, 9 AVAILABILITY_REPLICA,
/// 2 LOG_BACKUP, …), kept across restarts.
pub(crate) fn write_log_reuse_wait(
    inst: &mut Instance,
    db: &str,
    wait: &str,
) -> Result<(), ServerMessage> {
    let code = match wait {
        "NOTHING" => 0,
        "CHECKPOINT" => 1,
        "LOG_BACKUP" => 2,
        "ACTIVE_BACKUP_OR_RESTORE" => 3,
        "ACTIVE_TRANSACTION" => 4,
        "DATABASE_MIRRORING" => 5,
        "REPLICATION" => 6,
        "DATABASE_SNAPSHOT_CREATION" => 7,
        "LOG_SCAN" => 8,
        "AVAILABILITY_REPLICA" => 9,
        other => {
            return Err(ServerMessage::error(
                50000,
                16,
                format!("ferry-emulator: '{other}' is not a log_reuse_wait_desc of sys.databases"),
            ));
        }
    };
    inst.execute(
        r#"UPDATE "sys.databases" SET log_reuse_wait = ?2, log_reuse_wait_desc = ?3 WHERE name = ?1 COLLATE NOCASE"#,
        &[s(db), i(code), s(wait)],
    )?;
    Ok(())
}
