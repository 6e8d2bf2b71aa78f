//! The target Managed Instance, when it exists and a `target` label reaches it (read): its
//! collation (`SERVERPROPERTY('Collation')`), update policy, tier, storage, databases, files
//! and certificates, as the SDK's `managed_instance` reads them ("Update policy in Azure SQL
//! Managed Instance", `sys.server_resource_stats`, `sys.master_files`, `sys.certificates`), and
//! its database names (`sys.databases`). What it says replaces the config's assumptions.

use ferry_sdk::mi_limits::Tier;
use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::text;
use ferry_sdk::sql_version::UpdatePolicy;

use super::instance::rows;
use super::{InstanceFacts, TargetFacts};
use crate::config::{Config, Policy, TargetTier};

/// Reads the Managed Instance behind the label `label`.
fn read<C>(cx: &mut Context<'_, C>, label: &str) -> Result<TargetFacts> {
    let conn = cx.sql(label)?;
    let (policy, mi) = cx.managed_instance(conn)?;
    let collation = rows(
        cx,
        conn,
        "SELECT CAST(SERVERPROPERTY('Collation') AS nvarchar(128)) AS collation",
    )?
    .first()
    .map(|r| text(r.first()))
    .unwrap_or_default();
    let databases = rows(cx, conn, "SELECT name FROM sys.databases")?
        .iter()
        .map(|r| text(r.first()))
        .collect();
    Ok(TargetFacts {
        collation,
        policy: Some(match policy {
            UpdatePolicy::SqlServer2022 => Policy::SqlServer2022,
            UpdatePolicy::SqlServer2025 => Policy::SqlServer2025,
            UpdatePolicy::AlwaysUpToDate => Policy::AlwaysUpToDate,
        }),
        tier: match mi.tier {
            Some(Tier::GeneralPurpose) => Some(TargetTier::GeneralPurpose),
            Some(Tier::BusinessCritical) => Some(TargetTier::BusinessCritical),
            Some(Tier::NextGenGeneralPurpose) => Some(TargetTier::NextGenGeneralPurpose),
            _ => None,
        },
        reserved_mb: mi.reserved_mb,
        used_mb: mi.used_mb,
        user_databases: mi.user_databases,
        files: mi.files,
        certificates: mi.certificates,
        databases,
    })
}

/// Reads the target into `f` when the config names it.
pub fn attach(cx: &mut Context<'_, Config>, f: &mut InstanceFacts) -> Result<()> {
    if let Some(label) = cx.config().target.clone() {
        f.target = Some(read(cx, &label)?);
    }
    Ok(())
}
