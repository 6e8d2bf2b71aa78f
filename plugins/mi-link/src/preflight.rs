//! The preconditions of "Prepare environment for link" (learn.microsoft.com; methods.md §1.2),
//! each a distinct result before anything changes: the facts are read first ([`read`]), then
//! judged ([`judge`]) without I/O so every row of the matrix is tested on its own.

use ferry_sdk::mi_limits::{self, Tier};
use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::sql_version::{SqlVersion, newer_than_policy};
use ferry_sdk::{SourceDatabase, sql_version::UpdatePolicy};

use crate::arm::{self, MiFacts};
use crate::config::Config;
use crate::endpoint::{self, EndpointFacts};
use crate::sql::{Side, p, row, rows};
use crate::versions;

/// Everything the checks look at.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub version: Option<SqlVersion>,
    pub edition: String,
    pub hadr: bool,
    pub server_name: String,
    pub sysadmin: bool,
    /// `SERVERPROPERTY('Collation')`: the instance's, which the guide compares with the MI's.
    pub collation: String,
    pub db: SourceDatabase,
    pub master_key: bool,
    /// Full backups in msdb that are not COPY_ONLY.
    pub full_backups: i64,
    /// The AG the database is in, if any.
    pub in_ag: Option<String>,
    pub endpoint: Option<EndpointFacts>,
    pub mi: MiFacts,
    /// Thumbprints of the MI's certificates, when the database is encrypted.
    pub mi_certificates: Vec<String>,
    /// None: not checked (no resource-group label); Some(name) when one holds the MI.
    pub failover_group: Option<Option<String>>,
    /// A plan runs before earlier steps uploaded a TDE certificate.
    pub planning: bool,
}

/// One precondition's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub code: &'static str,
    pub status: Status,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Refuse,
    NotChecked,
}

pub fn read(cx: &mut Context<'_, Config>, db: &str) -> Result<Facts> {
    let cfg = cx.config().clone();
    let server = row(
        cx,
        Side::Source,
        "SELECT SERVERPROPERTY('ProductVersion') AS version, SERVERPROPERTY('Edition') AS edition, \
         SERVERPROPERTY('IsHadrEnabled') AS is_hadr_enabled, @@SERVERNAME AS server_name, \
         IS_SRVROLEMEMBER('sysadmin') AS is_sysadmin, SERVERPROPERTY('Collation') AS collation",
        &[],
    )?
    .unwrap_or_default();
    let src = cx.sql(&cfg.source)?;
    let Some(d) = cx.source_database(src, db)? else {
        return Err(Error::failed(format!(
            "the source has no database named [{db}]; check the name in `databases`"
        )));
    };
    let master_key = row(
        cx,
        Side::Source,
        "SELECT name FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101",
        &[],
    )?
    .is_some();
    let full_backups = row(
        cx,
        Side::Source,
        "SELECT COUNT(*) AS fulls FROM msdb.dbo.backupset \
         WHERE database_name = @db AND type = 'D' AND is_copy_only = 0",
        &[p("db", db)],
    )?
    .map_or(0, |r| int(r.first()));
    let in_ag = ag_of(cx, db)?;
    let mi = arm::instance(cx)?;
    let mi_certificates = if d.encrypted {
        rows(
            cx,
            Side::Mi,
            "SELECT thumbprint FROM master.sys.certificates",
            &[],
        )?
        .iter()
        .map(|r| text(r.first()))
        .collect()
    } else {
        Vec::new()
    };
    let failover_group = failover_group(cx, &mi)?;
    Ok(Facts {
        version: SqlVersion::parse(&text(server.first())),
        edition: text(server.get(1)),
        hadr: int(server.get(2)) == 1,
        server_name: text(server.get(3)),
        sysadmin: int(server.get(4)) == 1,
        collation: text(server.get(5)),
        db: d,
        master_key,
        full_backups,
        in_ag,
        endpoint: endpoint::read(cx)?,
        mi,
        mi_certificates,
        failover_group,
        planning: cx.planning(),
    })
}

/// The availability group holding `db` (`sys.availability_databases_cluster`, then its
/// name in `sys.availability_groups`).
pub fn ag_of(cx: &mut Context<'_, Config>, db: &str) -> Result<Option<String>> {
    let Some(g) = row(
        cx,
        Side::Source,
        "SELECT group_id FROM sys.availability_databases_cluster WHERE database_name = @db",
        &[p("db", db)],
    )?
    else {
        return Ok(None);
    };
    let id = text(g.first());
    let groups = rows(
        cx,
        Side::Source,
        "SELECT group_id, name FROM sys.availability_groups",
        &[],
    )?;
    Ok(Some(
        groups
            .iter()
            .find(|r| text(r.first()).eq_ignore_ascii_case(&id))
            .map_or(id, |r| text(r.get(1))),
    ))
}

/// An auto-failover group holding the MI, through the resource group's label.
fn failover_group(cx: &mut Context<'_, Config>, mi: &MiFacts) -> Result<Option<Option<String>>> {
    let Some(label) = cx.config().resource_group_azure.clone() else {
        return Ok(None);
    };
    let path = format!(
        "providers/Microsoft.Sql/locations/{}/instanceFailoverGroups",
        mi.location
    );
    let list = arm::get_on(cx, &label, &path)?.unwrap_or_default();
    let holds = |g: &serde_json::Value| {
        g["properties"]["managedInstancePairs"]
            .as_array()
            .is_some_and(|pairs| {
                pairs.iter().any(|pair| {
                    ["primaryManagedInstanceId", "partnerManagedInstanceId"]
                        .iter()
                        .any(|k| {
                            pair[*k]
                                .as_str()
                                .is_some_and(|i| i.eq_ignore_ascii_case(&mi.id))
                        })
                })
            })
    };
    Ok(Some(
        list["value"]
            .as_array()
            .and_then(|v| v.iter().find(|g| holds(g)))
            .map(|g| g["name"].as_str().unwrap_or("unnamed").to_owned()),
    ))
}

fn check(code: &'static str, status: Status, reason: impl Into<String>) -> Check {
    Check {
        code,
        status,
        reason: reason.into(),
    }
}

/// Every precondition, in the order the guide lists them.
pub fn judge(db: &str, f: &Facts, cfg: &Config, ag: &str) -> Vec<Check> {
    use Status::*;
    let mut out = Vec::new();
    let mut add = |code, status, reason: String| out.push(check(code, status, reason));
    match f.version {
        None => add(
            "version",
            Refuse,
            "the source did not answer a version in SERVERPROPERTY('ProductVersion')".into(),
        ),
        Some(v) => match versions::refusal(v) {
            Some(why) => add("version", Refuse, why),
            None => add(
                "version",
                Pass,
                format!("{} {}.{}.{}", v.release(), v.major, v.minor, v.build),
            ),
        },
    }
    let edition_ok = ["Enterprise", "Standard", "Developer"]
        .iter()
        .any(|e| f.edition.contains(e));
    add(
        "edition",
        if edition_ok { Pass } else { Refuse },
        if edition_ok {
            f.edition.clone()
        } else {
            format!(
                "the link needs SQL Server Enterprise, Standard or Developer edition; the source is `{}`",
                f.edition
            )
        },
    );
    add(
        "hadr",
        if f.hadr { Pass } else { Refuse },
        if f.hadr {
            "Always On availability groups are enabled".into()
        } else {
            "Always On availability groups are not enabled (SERVERPROPERTY('IsHadrEnabled') = 0): enable them in SQL Server Configuration Manager or with Enable-SqlAlwaysOn, restart SQL Server (on SQL Server 2016 it also needs a single-node WSFC)".into()
        },
    );
    add(
        "sysadmin",
        if f.sysadmin { Pass } else { Refuse },
        if f.sysadmin {
            "the login is sysadmin".into()
        } else {
            "the source login is not sysadmin (IS_SRVROLEMEMBER('sysadmin') = 0): the link's setup needs it; use a sysadmin login for the source label".into()
        },
    );
    let key = match (f.master_key, cfg.create_master_key) {
        (true, _) => (Pass, "master has a database master key".to_owned()),
        (false, true) => (Pass, "master has no database master key: ferry creates one with a generated password".to_owned()),
        (false, false) => (Refuse, "master has no database master key (sys.symmetric_keys id 101), which protects the endpoint certificate: create one (CREATE MASTER KEY ENCRYPTION BY PASSWORD = …) or set create_master_key = true".to_owned()),
    };
    add("master-key", key.0, key.1);
    if !f.db.state.eq_ignore_ascii_case("ONLINE") {
        add(
            "database-state",
            Refuse,
            format!(
                "[{db}] is {} on the source; the link needs it ONLINE",
                f.db.state
            ),
        );
    }
    let full = f.db.recovery.eq_ignore_ascii_case("FULL");
    add(
        "recovery-model",
        if full { Pass } else { Refuse },
        if full {
            "FULL recovery".into()
        } else {
            format!(
                "[{db}] uses the {} recovery model; the link needs FULL: ALTER DATABASE [{db}] SET RECOVERY FULL, then take a full backup",
                f.db.recovery
            )
        },
    );
    add(
        "full-backup",
        if f.full_backups > 0 { Pass } else { Refuse },
        if f.full_backups > 0 {
            format!("{} full backup(s) in msdb", f.full_backups)
        } else {
            format!(
                "msdb has no full backup of [{db}] that is not COPY_ONLY: joining the availability group would fail with error 1475. Take a full backup (not COPY_ONLY) to start a log chain"
            )
        },
    );
    match &f.in_ag {
        Some(g) if !g.eq_ignore_ascii_case(ag) => add(
            "availability-group",
            Refuse,
            format!(
                "[{db}] is already in availability group [{g}]; the link needs its own AG [{ag}] for the database (one database per AG): remove it from [{g}] or name that AG in ag_name"
            ),
        ),
        Some(_) => add(
            "availability-group",
            Pass,
            format!("[{db}] is in [{ag}], made by an earlier run"),
        ),
        None => add(
            "availability-group",
            Pass,
            "in no availability group".into(),
        ),
    }
    if !f.mi.collation.is_empty()
        && !f.collation.is_empty()
        && !f.mi.collation.eq_ignore_ascii_case(&f.collation)
    {
        add(
            "collation",
            Warn,
            format!(
                "SQL Server's collation is {} and the MI's {}: the guide asks for matching server collations (a mismatch can break server-name casing in the link's connection); [{db}] keeps its own",
                f.collation, f.mi.collation
            ),
        );
    }
    if let Some(e) = &f.endpoint {
        match e.refusal() {
            Some(why) => add("endpoint", Refuse, why),
            None => add(
                "endpoint",
                Pass,
                format!("endpoint [{}] on port {}", e.name, e.port),
            ),
        }
    }
    if f.db.encrypted {
        let thumb =
            f.db.tde_certificate
                .as_ref()
                .map(|(_, t)| t.as_str())
                .unwrap_or("");
        let has = !thumb.is_empty()
            && f.mi_certificates
                .iter()
                .any(|t| t.eq_ignore_ascii_case(thumb));
        if !has && !f.planning {
            let r = mi_limits::tde_stop(
                db,
                f.db.tde_certificate
                    .as_ref()
                    .map(|(n, t)| (n.as_str(), t.as_str())),
            );
            add("tde-certificate", Refuse, r.reason);
        }
    }
    let tier =
        f.mi.tier
            .as_deref()
            .map_or(Tier::Unknown, |t| Tier::from_sku(t, false));
    if let Some(r) = mi_limits::layout_stop(db, &f.db.layout, tier) {
        add("layout", Refuse, r.reason);
    }
    let policy = f.mi.policy.unwrap_or(UpdatePolicy::SqlServer2022);
    if let Some(v) = f.version {
        if let Some(why) = newer_than_policy(v, policy) {
            add("update-policy", Refuse, why);
        } else if cfg.keep_link && !versions::two_way(v, policy) {
            add(
                "update-policy",
                Refuse,
                format!(
                    "keep_link needs a two-way link: SQL Server 2022 or 2025 with the MI on the matching update policy; the source is {} and the MI has {}. Unset keep_link, or change the MI's update policy",
                    v.release(),
                    policy.describe()
                ),
            );
        }
    }
    if let Some(v) = f.version {
        // The cutover's failover goes through ARM unless the source breaks the link (one way)
        // or fails over with T-SQL (2022 CU13+); old api-versions have no `failover` action.
        let forced = cfg.failover == crate::config::Failover::Forced;
        let needs_arm = !versions::one_way(v) && (forced || !versions::tsql_failover(v));
        if needs_arm && !cfg.arm_failover() {
            add(
                "api-version",
                Refuse,
                format!(
                    "api-version {} has no distributedAvailabilityGroups failover action, which the cutover of {} needs: use 2024-05-01-preview (or 2023-08-01-preview or later)",
                    cfg.api_version,
                    v.release()
                ),
            );
        }
    }
    match &f.failover_group {
        Some(Some(g)) => add("failover-group", Refuse, format!("the MI is in auto-failover group `{g}`; a link cannot coexist with one on the same instance. Remove the failover group first")),
        Some(None) => add("failover-group", Pass, "in no auto-failover group".into()),
        None => add("failover-group", NotChecked, "not checked: set resource_group_azure (an Azure label scoped to the MI's resource group) to look for an auto-failover group".into()),
    }
    out
}
