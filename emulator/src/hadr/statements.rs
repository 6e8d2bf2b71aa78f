//! Running the Always On statements the batch read (hadr::ddl) on the instance.

/// Runs an Always On statement the batch read (hadr::ddl).
pub fn apply(
    st: &super::ddl::HadrStatement,
    p: &crate::personality::Personality,
    inst: &mut crate::instance::Instance,
) -> Result<(), crate::protocol::tokens::ServerMessage> {
    use super::ddl::HadrStatement as H;
    let endpoint_ok = || {
        if p.is_managed_instance() {
            Err(super::errors::not_on_mi("ENDPOINT"))
        } else {
            Ok(())
        }
    };
    match st {
        H::CreateEndpoint(spec) => {
            endpoint_ok().and_then(|_| super::ddl_endpoint::create(inst, spec))
        }
        H::AlterEndpoint(spec) => {
            endpoint_ok().and_then(|_| super::ddl_endpoint::alter(inst, spec))
        }
        H::DropEndpoint(name) => endpoint_ok().and_then(|_| super::ddl_endpoint::drop(inst, name)),
        H::CreateGroup(spec) => super::ddl_group::create(p, inst, spec),
        H::AlterGroup(name, action) => super::ddl_group::alter(p, inst, name, action),
        H::DropGroup(name) => super::ddl_group::drop(p, inst, name),
    }
}

/// A database in an availability group keeps the FULL recovery model: SQL Server refuses a
/// change with error 1468 ("Prerequisites, Restrictions, and Recommendations for Always On
/// availability groups": availability databases must use the full recovery model). The text
/// is the one that names availability groups; the docs' error table still shows the older,
/// mirroring-only wording of 1468 ("Database engine events and errors 1000 to 1999").
pub fn may_set_recovery(
    inst: &mut crate::instance::Instance,
    name: &str,
    model: crate::instance::Recovery,
) -> Result<(), crate::protocol::tokens::ServerMessage> {
    if model == crate::instance::Recovery::Full || !in_group(inst, name)? {
        return Ok(());
    }
    Err(crate::protocol::tokens::ServerMessage::error(
        1468,
        16,
        format!(
            "The operation cannot be performed on database \"{name}\" because it is involved in a database mirroring session or an availability group. Some operations are not allowed on a database that is participating in a database mirroring session or in an availability group."
        ),
    ))
}

fn in_group(
    inst: &mut crate::instance::Instance,
    name: &str,
) -> Result<bool, crate::protocol::tokens::ServerMessage> {
    Ok(super::store::groups(inst)?
        .iter()
        .any(|g| !g.distributed && g.databases.iter().any(|d| d.eq_ignore_ascii_case(name))))
}

/// A database in an availability group cannot be dropped: error 3752 ("Troubleshoot drop
/// database … in an availability group", support.microsoft.com).
pub fn may_drop_database(
    inst: &mut crate::instance::Instance,
    name: &str,
) -> Result<(), crate::protocol::tokens::ServerMessage> {
    if in_group(inst, name)? {
        return Err(crate::protocol::tokens::ServerMessage::error(
            3752,
            16,
            format!(
                "The database {name} is currently joined to an availability group. Before you can drop the database, you need to remove it from the availability group."
            ),
        ));
    }
    Ok(())
}
