//! CREATE / ALTER / DROP AVAILABILITY GROUP applied to the model ("CREATE AVAILABILITY GROUP
//! (Transact-SQL)", "ALTER AVAILABILITY GROUP (Transact-SQL)", "Configure link with T-SQL",
//! "Failover a link"). What needs the partner (a failover, a role change) is queued for the
//! link engine as a [`HadrRequest`].

use super::ddl::{AlterAction, GroupSpec};
use super::group_checks::{check_database, replica};
use super::model::{AvailabilityGroup, HadrRequest, ReplicaRole};
use super::{errors, requests, store};
use crate::instance::Instance;
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
