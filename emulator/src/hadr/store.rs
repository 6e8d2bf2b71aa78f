//! The model read from and written to the instance's catalog tables (hadr/schema.rs): the
//! tables are the truth, so the catalog views, a restart and the model never disagree.

use std::time::SystemTime;

use super::model::{AvailabilityGroup, AvailabilityMode, Endpoint, Replica, ReplicaRole};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{Value, text};

/// Rows of a query as text (NULL as None).
pub(crate) fn rows(
    inst: &mut Instance,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Vec<Option<String>>>, ServerMessage> {
    let (_, rows) = inst.query(sql, params)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| match v {
                    Value::Null => None,
                    Value::Bit(b) => Some(i64::from(b).to_string()),
                    v => Some(text(&v)),
                })
                .collect()
        })
        .collect())
}

pub(crate) fn s(v: &str) -> Value {
    Value::Text(v.to_owned())
}

pub(crate) fn i(v: i64) -> Value {
    Value::Int(v)
}

fn int(v: &Option<String>) -> i64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A time as datetime text (UTC).
pub(crate) fn time_text(t: SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // 719_162: days from 0001-01-01 to 1970-01-01, as protocol::types counts them.
    let days = (d.as_secs() / 86_400) as i64 + 719_162;
    let ticks = (d.as_secs() % 86_400) * 10_000_000 + u64::from(d.subsec_nanos() / 100);
    crate::protocol::types::datetime_text(days as u32, ticks)
}

/// A new GUID in SQL Server's text form.
pub(crate) fn new_guid(seed: &str) -> String {
    crate::instance::guid_text(&crate::instance::unique_bytes(seed, 16)).to_ascii_uppercase()
}

/// The instance's DATABASE_MIRRORING endpoint, if it has one.
pub(crate) fn endpoint(inst: &mut Instance) -> Result<Option<Endpoint>, ServerMessage> {
    let found = rows(
        inst,
        r#"SELECT m.name, m.endpoint_id, t.port, m.state, m.role_desc, c.name, m.connection_auth_desc,
                  m.is_encryption_enabled, m.encryption_algorithm_desc
           FROM "sys.database_mirroring_endpoints" m
           JOIN "sys.tcp_endpoints" t ON t.endpoint_id = m.endpoint_id
           LEFT JOIN "sys.certificates" c ON c.certificate_id = m.certificate_id"#,
        &[],
    )?;
    Ok(found.into_iter().next().map(|r| Endpoint {
        name: r[0].clone().unwrap_or_default(),
        endpoint_id: int(&r[1]),
        port: u16::try_from(int(&r[2])).unwrap_or(0),
        started: int(&r[3]) == 0,
        role: r[4].clone().unwrap_or_default(),
        certificate: r[5].clone(),
        windows_auth: r[6].as_deref().is_some_and(|a| {
            ["NTLM", "KERBEROS", "NEGOTIATE"]
                .iter()
                .any(|m| a.contains(m))
        }),
        // SUPPORTED shows as "NONE, …": encryption is then enabled but not required.
        encryption_required: int(&r[7]) == 1 && !r[8].as_deref().unwrap_or("").starts_with("NONE"),
        algorithm: r[8]
            .as_deref()
            .unwrap_or("NONE")
            .trim_start_matches("NONE, ")
            .replace(", ", " "),
    }))
}

/// Every availability group, basic and distributed.
pub(crate) fn groups(inst: &mut Instance) -> Result<Vec<AvailabilityGroup>, ServerMessage> {
    let ags = rows(
        inst,
        r#"SELECT g.name, g.group_id, g.is_distributed, f.local_role, f.create_any_database
           FROM "sys.availability_groups" g LEFT JOIN "ferry.availability_groups" f ON f.name = g.name
           ORDER BY g.name"#,
        &[],
    )?;
    let mut out = Vec::with_capacity(ags.len());
    for g in ags {
        let group_id = g[1].clone().unwrap_or_default();
        let replicas = rows(
            inst,
            r#"SELECT replica_server_name, endpoint_url, availability_mode, failover_mode, seeding_mode, replica_id
               FROM "sys.availability_replicas" WHERE group_id = ?1 ORDER BY replica_metadata_id"#,
            &[s(&group_id)],
        )?
        .into_iter()
        .map(|r| Replica {
            server_name: r[0].clone().unwrap_or_default(),
            endpoint_url: r[1].clone().unwrap_or_default(),
            mode: if int(&r[2]) == 1 {
                AvailabilityMode::SynchronousCommit
            } else {
                AvailabilityMode::AsynchronousCommit
            },
            failover_manual: int(&r[3]) == 1,
            seeding_automatic: int(&r[4]) == 0,
            replica_id: r[5].clone().unwrap_or_default(),
        })
        .collect();
        let databases = rows(
            inst,
            r#"SELECT database_name FROM "sys.availability_databases_cluster" WHERE group_id = ?1 ORDER BY rowid"#,
            &[s(&group_id)],
        )?
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
        out.push(AvailabilityGroup {
            name: g[0].clone().unwrap_or_default(),
            group_id,
            distributed: int(&g[2]) == 1,
            databases,
            replicas,
            local_role: ReplicaRole::from_code(if g[3].is_some() { int(&g[3]) } else { 1 }),
            create_any_database: int(&g[4]) == 1,
        });
    }
    Ok(out)
}

pub(crate) fn group(
    inst: &mut Instance,
    name: &str,
) -> Result<Option<AvailabilityGroup>, ServerMessage> {
    Ok(groups(inst)?
        .into_iter()
        .find(|g| g.name.eq_ignore_ascii_case(name)))
}

/// Writes `ag` over whatever the catalog held under its name, keeping the ids and creation
/// dates of the replicas and databases it held before. Cluster type NONE: the only kind the
/// link uses ("Configure link with T-SQL": CLUSTER_TYPE = NONE).
pub(crate) fn put_group(
    inst: &mut Instance,
    ag: &AvailabilityGroup,
    server_name: &str,
) -> Result<(), ServerMessage> {
    let old = group(inst, &ag.name)?;
    let created: Vec<(String, String)> = match &old {
        Some(o) => rows(
            inst,
            r#"SELECT replica_id, create_date FROM "sys.availability_replicas" WHERE group_id = ?1"#,
            &[s(&o.group_id)],
        )?
        .into_iter()
        .map(|r| (r[0].clone().unwrap_or_default(), r[1].clone().unwrap_or_default()))
        .collect(),
        None => Vec::new(),
    };
    let old_dbs: Vec<(String, String)> = match &old {
        Some(o) => rows(
            inst,
            r#"SELECT database_name, group_database_id FROM "sys.availability_databases_cluster" WHERE group_id = ?1"#,
            &[s(&o.group_id)],
        )?
        .into_iter()
        .map(|r| (r[0].clone().unwrap_or_default(), r[1].clone().unwrap_or_default()))
        .collect(),
        None => Vec::new(),
    };
    remove_rows(inst, &ag.name)?;
    let now = crate::protocol::types::now_text();
    inst.execute(
        r#"INSERT INTO "sys.availability_groups" VALUES (?1, ?2, NULL, NULL, 3, 30000, 2, 'SECONDARY', 4, 0, 0, 0, ?3, 1, 'NONE', 0, 1, 0)"#,
        &[s(&ag.group_id), s(&ag.name), i(i64::from(ag.distributed))],
    )?;
    inst.execute(
        r#"INSERT INTO "ferry.availability_groups" VALUES (?1, ?2, ?3)"#,
        &[
            s(&ag.name),
            i(ag.local_role.code()),
            i(i64::from(ag.create_any_database)),
        ],
    )?;
    for (n, r) in ag.replicas.iter().enumerate() {
        let create = created
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&r.replica_id))
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| now.clone());
        let (fm, fm_desc) = if r.failover_manual {
            (1, "MANUAL")
        } else {
            (0, "AUTOMATIC")
        };
        let (sm, sm_desc) = if r.seeding_automatic {
            (0, "AUTOMATIC")
        } else {
            (1, "MANUAL")
        };
        inst.execute(
            r#"INSERT INTO "sys.availability_replicas" VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, 10, 3, 'ALL', 0, 'NO', ?10, ?11, 50, NULL, ?12, ?13, NULL)"#,
            &[
                s(&r.replica_id),
                s(&ag.group_id),
                i(n as i64 + 1),
                s(&r.server_name),
                s(&r.endpoint_url),
                i(r.mode.code()),
                s(r.mode.desc()),
                i(fm),
                s(fm_desc),
                s(&create),
                s(&now),
                i(sm),
                s(sm_desc),
            ],
        )?;
    }
    for db in &ag.databases {
        let gdb = old_dbs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(db))
            .map(|(_, g)| g.clone())
            .unwrap_or_else(|| new_guid(db));
        inst.execute(
            r#"INSERT INTO "sys.availability_databases_cluster" VALUES (?1, ?2, ?3, 0)"#,
            &[s(&ag.group_id), s(&gdb), s(db)],
        )?;
    }
    mark_databases(inst, server_name)
}

/// Removes a group's rows; the databases it held leave it.
pub(crate) fn remove_group(
    inst: &mut Instance,
    name: &str,
    server_name: &str,
) -> Result<(), ServerMessage> {
    remove_rows(inst, name)?;
    mark_databases(inst, server_name)
}

fn remove_rows(inst: &mut Instance, name: &str) -> Result<(), ServerMessage> {
    let Some(g) = group(inst, name)? else {
        return Ok(());
    };
    for sql in [
        r#"DELETE FROM "sys.availability_replicas" WHERE group_id = ?1"#,
        r#"DELETE FROM "sys.availability_databases_cluster" WHERE group_id = ?1"#,
        r#"DELETE FROM temp."sys.dm_hadr_availability_replica_states" WHERE group_id = ?1"#,
        r#"DELETE FROM temp."sys.dm_hadr_database_replica_states" WHERE group_id = ?1"#,
        r#"DELETE FROM "sys.availability_groups" WHERE group_id = ?1"#,
    ] {
        inst.execute(sql, &[s(&g.group_id)])?;
    }
    inst.execute(
        r#"DELETE FROM "ferry.availability_groups" WHERE name = ?1"#,
        &[s(name)],
    )?;
    Ok(())
}

/// `sys.databases.replica_id` / `group_database_id` ("sys.databases": the local replica of the
/// (basic) availability group the database is in, NULL when in none) and the log reuse wait
/// the engine set.
pub(crate) fn mark_databases(inst: &mut Instance, server_name: &str) -> Result<(), ServerMessage> {
    inst.execute(
        r#"UPDATE "sys.databases" SET replica_id = NULL, group_database_id = NULL"#,
        &[],
    )?;
    inst.execute(
        r#"UPDATE "sys.databases" SET
             group_database_id = (SELECT c.group_database_id FROM "sys.availability_databases_cluster" c
                 JOIN "sys.availability_groups" g ON g.group_id = c.group_id AND g.is_distributed = 0
                 WHERE c.database_name = "sys.databases".name COLLATE NOCASE LIMIT 1),
             replica_id = (SELECT r.replica_id FROM "sys.availability_databases_cluster" c
                 JOIN "sys.availability_groups" g ON g.group_id = c.group_id AND g.is_distributed = 0
                 JOIN "sys.availability_replicas" r ON r.group_id = g.group_id
                    AND r.replica_server_name = ?1 COLLATE NOCASE
                 WHERE c.database_name = "sys.databases".name COLLATE NOCASE LIMIT 1)"#,
        &[s(server_name)],
    )?;
    Ok(())
}
