//! CREATE / ALTER / DROP AVAILABILITY GROUP applied to the model ("CREATE AVAILABILITY GROUP
//! (Transact-SQL)", "ALTER AVAILABILITY GROUP (Transact-SQL)", "Configure link with T-SQL",
//! "Failover a link"). What needs the partner (a failover, a role change) is queued for the
//! link engine as a [`HadrRequest`].

use super::ddl::{AlterAction, GroupSpec, Member};
use super::model::{AvailabilityGroup, AvailabilityMode, HadrRequest, Replica, ReplicaRole};
use super::{errors, requests, store};
use crate::instance::{Instance, Recovery};
use crate::personality::{Personality, Release};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::syntax_error;

type R<T> = Result<T, ServerMessage>;

/// Always On must be enabled (SERVERPROPERTY('IsHadrEnabled') = 1); Managed Instance offers no
/// AG T-SQL of its own.
fn check_enabled(p: &Personality, what: &str) -> R<()> {
    match p {
        Personality::ManagedInstance { .. } => Err(errors::not_on_mi(what)),
        Personality::SqlServer { hadr: false, .. } => Err(errors::hadr_disabled()),
        Personality::SqlServer { .. } => Ok(()),
    }
}

fn release(p: &Personality) -> Option<Release> {
    match p {
        Personality::SqlServer { release, .. } => Some(*release),
        Personality::ManagedInstance { .. } => None,
    }
}

/// `TCP://host:port[;…]`, as "CREATE AVAILABILITY GROUP" describes ENDPOINT_URL and
/// LISTENER_URL; else error 35232 naming it.
fn check_url(url: &str) -> R<()> {
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

fn opt<'a>(m: &'a Member, key: &str) -> Option<&'a str> {
    m.options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A member's replica settings; `url_key` is ENDPOINT_URL or LISTENER_URL.
fn replica(m: &Member, url_key: &str, old: Option<&Replica>) -> R<Replica> {
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
fn check_database(inst: &mut Instance, ag: &str, db: &str, all: &[AvailabilityGroup]) -> R<()> {
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

pub(crate) fn create(s: &Personality, inst: &mut Instance, spec: &GroupSpec) -> R<()> {
    check_enabled(s, "CREATE AVAILABILITY GROUP")?;
    let distributed = spec.options.iter().any(|(k, _)| k == "DISTRIBUTED");
    for (k, _) in &spec.options {
        // SQL Server 2016 has no CLUSTER_TYPE ("CREATE AVAILABILITY GROUP": "Introduced in
        // SQL Server 2017"), so the option is a syntax error there.
        if k == "CLUSTER_TYPE"
            && matches!(
                release(s),
                Some(Release::Sql2016 | Release::Sql2016AzureConnect)
            )
        {
            return Err(syntax_error("CLUSTER_TYPE"));
        }
    }
    if distributed != spec.groups_on {
        return Err(syntax_error(if distributed {
            "FOR"
        } else {
            "AVAILABILITY"
        }));
    }
    let all = store::groups(inst)?;
    if all.iter().any(|g| g.name.eq_ignore_ascii_case(&spec.name)) {
        return Err(ServerMessage::error(
            41106,
            16,
            format!(
                "Cannot create an availability replica for availability group '{}'. An availability replica of the specified availability group already exists on this instance of SQL Server. Verify that the specified availability group name is correct and unique, then retry the operation. To remove the existing availability replica, run DROP AVAILABILITY GROUP command.",
                spec.name
            ),
        ));
    }
    let server = s.server_name().to_owned();
    let mut seen: Vec<String> = Vec::new();
    let mut replicas = Vec::new();
    for m in &spec.members {
        if seen.iter().any(|n| n.eq_ignore_ascii_case(&m.name)) {
            return Err(ServerMessage::error(
                35235,
                16,
                format!(
                    "The system name '{}' was specified more than once in the REPLICA ON clause of this command. Reenter the command, specifying a different instance of SQL Server for each replica.",
                    m.name
                ),
            ));
        }
        seen.push(m.name.clone());
        replicas.push(replica(
            m,
            if distributed {
                "LISTENER_URL"
            } else {
                "ENDPOINT_URL"
            },
            None,
        )?);
    }
    let local = if distributed {
        // Docs silent on the error for a DAG none of whose AGs is on this server; the
        // emulator answers as for a basic AG with no local replica (35237).
        replicas.iter().any(|r| {
            all.iter()
                .any(|g| !g.distributed && g.name.eq_ignore_ascii_case(&r.server_name))
        })
    } else {
        replicas
            .iter()
            .any(|r| r.server_name.eq_ignore_ascii_case(&server))
    };
    if !local {
        return Err(ServerMessage::error(
            35237,
            16,
            format!(
                "None of the specified replicas for availability group {} maps to the instance of SQL Server to which you are connected. Reenter the command, specifying this server instance to host one of the replicas. This replica will be the initial primary replica.",
                spec.name
            ),
        ));
    }
    let mut dbs: Vec<String> = Vec::new();
    if distributed {
        // A distributed AG carries the databases of its local member AG
        // ("sys.availability_databases_cluster" lists them under the DAG as well).
        for r in &replicas {
            if let Some(member) = all
                .iter()
                .find(|g| !g.distributed && g.name.eq_ignore_ascii_case(&r.server_name))
            {
                dbs.extend(member.databases.iter().cloned());
            }
        }
    }
    for db in &spec.databases {
        if dbs.iter().any(|d| d.eq_ignore_ascii_case(db)) {
            return Err(ServerMessage::error(
                35234,
                16,
                format!(
                    "Database name '{db}' was specified more than once. Reenter the command, specifying each database name only once."
                ),
            ));
        }
        check_database(inst, &spec.name, db, &all)?;
        dbs.push(inst.database(db).map_or(db.clone(), |d| d.name.clone()));
    }
    for r in &mut replicas {
        r.replica_id = store::new_guid(&r.server_name);
    }
    let ag = AvailabilityGroup {
        name: spec.name.clone(),
        group_id: store::new_guid(&spec.name),
        distributed,
        databases: dbs,
        replicas,
        local_role: ReplicaRole::Primary,
        create_any_database: false,
    };
    store::put_group(inst, &ag, &server)
}

pub(crate) fn drop(s: &Personality, inst: &mut Instance, name: &str) -> R<()> {
    check_enabled(s, "DROP AVAILABILITY GROUP")?;
    let g = store::group(inst, name)?
        .ok_or_else(|| errors::not_found("drop", "availability group", name))?;
    store::remove_group(inst, &g.name, s.server_name())?;
    requests::push(inst, &HadrRequest::Dropped { ag: g.name })
}

/// Error 41140: the statement needs the primary replica.
fn not_primary(ag: &str) -> ServerMessage {
    ServerMessage::error(
        41140,
        16,
        format!(
            "Availability group '{ag}' cannot process the ALTER AVAILABILITY GROUP command, because the local availability replica is not the primary replica. Connect to the server instance that is currently hosting the primary replica of this availability group, and rerun the command."
        ),
    )
}

pub(crate) fn alter(
    s: &Personality,
    inst: &mut Instance,
    name: &str,
    action: &AlterAction,
) -> R<()> {
    check_enabled(s, "ALTER AVAILABILITY GROUP")?;
    let server = s.server_name().to_owned();
    let mut g = store::group(inst, name)?
        .ok_or_else(|| errors::not_found("alter", "availability group", name))?;
    let ag = g.name.clone();
    match action {
        AlterAction::Modify { groups_on, members } => {
            if *groups_on != g.distributed {
                return Err(syntax_error(if *groups_on {
                    "AVAILABILITY"
                } else {
                    "REPLICA"
                }));
            }
            // A distributed AG's modes are set on both sides, the global primary and the
            // forwarder ("Configure an Always On distributed availability group": failover
            // sets SYNCHRONOUS_COMMIT on both); a basic AG is changed on its primary.
            if !g.distributed && g.local_role != ReplicaRole::Primary {
                return Err(not_primary(&ag));
            }
            for m in members {
                let Some(pos) = g
                    .replicas
                    .iter()
                    .position(|r| r.server_name.eq_ignore_ascii_case(&m.name))
                else {
                    let kind = if g.distributed {
                        "availability group"
                    } else {
                        "availability replica"
                    };
                    return Err(errors::not_found("find", kind, &m.name));
                };
                let url_key = if g.distributed {
                    "LISTENER_URL"
                } else {
                    "ENDPOINT_URL"
                };
                let updated = replica(m, url_key, Some(&g.replicas[pos]))?;
                g.replicas[pos] = updated;
            }
            store::put_group(inst, &g, &server)?;
            requests::push(inst, &HadrRequest::ModeChanged { ag })
        }
        AlterAction::Failover => {
            // "Failover a link": a planned failover of the DAG by T-SQL needs SQL Server 2022
            // CU13 or later. The docs name no error for older builds; the emulator refuses
            // with its own message naming the build.
            if g.distributed && !matches!(release(s), Some(Release::Sql2022Cu13 | Release::Sql2025))
            {
                return Err(ServerMessage::error(
                    50000,
                    16,
                    format!(
                        "ferry-emulator: ALTER AVAILABILITY GROUP [{ag}] FAILOVER on a distributed availability group needs SQL Server 2022 CU13 or later; this server is {}",
                        s.product_version()
                    ),
                ));
            }
            if !g.distributed && g.local_role == ReplicaRole::Primary {
                return Err(ServerMessage::error(
                    41122,
                    16,
                    format!(
                        "Cannot failover availability group '{ag}' to this instance of SQL Server. The local availability replica is already the primary replica of the availability group. To failover this availability group to another instance of SQL Server, run the failover command on that instance of SQL Server. If local instance of SQL Server is intended to host the primary replica of the availability group, then no action is required."
                    ),
                ));
            }
            if g.distributed && g.local_role != ReplicaRole::Primary {
                return Err(not_primary(&ag));
            }
            requests::push(inst, &HadrRequest::Failover { ag })
        }
        AlterAction::ForceFailover => {
            g.local_role = ReplicaRole::Primary;
            store::put_group(inst, &g, &server)?;
            requests::push(inst, &HadrRequest::ForceFailover { ag })
        }
        AlterAction::SetRoleSecondary => {
            if !g.distributed {
                // "ALTER AVAILABILITY GROUP": SET (ROLE = SECONDARY) is for a distributed AG.
                return Err(syntax_error("ROLE"));
            }
            g.local_role = ReplicaRole::Secondary;
            store::put_group(inst, &g, &server)?;
            requests::push(inst, &HadrRequest::SetRoleSecondary { ag })
        }
        AlterAction::CreateAnyDatabase(grant) => {
            g.create_any_database = *grant;
            store::put_group(inst, &g, &server)
        }
        AlterAction::AddDatabase(dbs) => {
            if g.local_role != ReplicaRole::Primary {
                return Err(not_primary(&ag));
            }
            let all = store::groups(inst)?;
            for db in dbs {
                check_database(inst, &ag, db, &all)?;
                g.databases
                    .push(inst.database(db).map_or(db.clone(), |d| d.name.clone()));
            }
            store::put_group(inst, &g, &server)
        }
        AlterAction::RemoveDatabase(dbs) => {
            for db in dbs {
                let Some(pos) = g.databases.iter().position(|d| d.eq_ignore_ascii_case(db)) else {
                    return Err(ServerMessage::error(
                        41133,
                        10,
                        format!(
                            "Cannot remove database '{db}' from availability group '{ag}'. Either the database does not belong to the availability group, or the database has not joined the group. Verify the database and availability group names, and retry the command."
                        ),
                    ));
                };
                g.databases.remove(pos);
            }
            store::put_group(inst, &g, &server)
        }
    }
}
