//! The database rules' predicates, one small pure function per rule id of `rules.toml`.

use ferry_sdk::mi_limits::{DbFile, FileKind, FileLayout, capacity_stop};

use super::subject::{Hit, Predicate, Subject};
use crate::config::TargetTier;
use crate::facts::DatabaseFacts;

pub const PREDICATES: &[(&str, Predicate)] = &[
    ("filestream", filestream),
    ("filetable", filetable),
    ("in-memory-oltp", in_memory_oltp),
    ("multiple-log-files", multiple_log_files),
    ("database-size", database_size),
    ("file-count", file_count),
    ("partially-contained", partially_contained),
    ("recovery-model", recovery_model),
    ("compatibility-level", compatibility_level),
    ("collation-database", collation_database),
    ("tde-certificate", tde_certificate),
    ("cross-database-references", cross_database_references),
    ("distributed-transactions", distributed_transactions),
    ("clr-assemblies", clr_assemblies),
    ("service-broker-routes", service_broker_routes),
    ("xp-cmdshell-used", xp_cmdshell_used),
    ("ole-automation-used", ole_automation_used),
    ("sql-mail-used", sql_mail_used),
    ("deprecated-features", deprecated_features),
    ("target-capacity", target_capacity),
    ("target-name-taken", target_name_taken),
    ("database-not-read", database_not_read),
];

/// The database's hit when `yes`.
fn db_when(
    s: &Subject,
    yes: impl Fn(&DatabaseFacts) -> bool,
    detail: impl Fn(&DatabaseFacts) -> String,
) -> Vec<Hit> {
    match s.database {
        Some(d) if yes(d) => vec![Hit::new(&d.name, detail(d))],
        _ => Vec::new(),
    }
}

/// One hit per part of the database `parts` names (a module, a table, an assembly, a route),
/// as `(part, what about it)`, each named `<db>.<part>`.
fn parts(s: &Subject, parts: impl Fn(&DatabaseFacts) -> Vec<(String, String)>) -> Vec<Hit> {
    let Some(d) = s.database else {
        return Vec::new();
    };
    parts(d)
        .into_iter()
        .map(|(part, what)| Hit::new(format!("{}.{part}", d.name), what))
        .collect()
}

/// The modules in `list`, each with the same `what`.
fn modules(s: &Subject, list: impl Fn(&DatabaseFacts) -> &Vec<String>, what: &str) -> Vec<Hit> {
    parts(s, |d| {
        list(d)
            .iter()
            .map(|m| (m.clone(), what.to_owned()))
            .collect()
    })
}

fn filestream(s: &Subject) -> Vec<Hit> {
    db_when(
        s,
        |d| d.filestream,
        |_| "a FILESTREAM filegroup or container".into(),
    )
}

fn filetable(s: &Subject) -> Vec<Hit> {
    parts(s, |d| {
        let tables = d.filetables.iter().flatten();
        tables
            .map(|t| (t.clone(), "a FileTable".to_owned()))
            .collect()
    })
}

fn in_memory_oltp(s: &Subject) -> Vec<Hit> {
    db_when(
        s,
        |d| {
            d.memory_optimized_filegroup
                || d.memory_optimized_tables
                    .as_ref()
                    .is_some_and(|t| !t.is_empty())
        },
        |d| {
            let tables = d.memory_optimized_tables.clone().unwrap_or_default();
            if tables.is_empty() {
                "a MEMORY_OPTIMIZED_DATA filegroup".into()
            } else {
                format!("memory-optimized tables {}", tables.join(", "))
            }
        },
    )
}

fn multiple_log_files(s: &Subject) -> Vec<Hit> {
    db_when(
        s,
        |d| d.log_files > 1,
        |d| format!("{} log files", d.log_files),
    )
}

/// The tiers of which `over` holds, as one hit on the database.
fn db_on_tiers(
    s: &Subject,
    detail: String,
    over: impl Fn(&DatabaseFacts, TargetTier) -> bool,
) -> Vec<Hit> {
    let Some(d) = s.database else {
        return Vec::new();
    };
    let tiers: Vec<TargetTier> = TargetTier::ALL
        .into_iter()
        .filter(|&t| over(d, t))
        .collect();
    if tiers.is_empty() {
        return Vec::new();
    }
    vec![Hit {
        object: d.name.clone(),
        detail,
        tiers: Some(tiers),
    }]
}

fn database_size(s: &Subject) -> Vec<Hit> {
    let gb = s.database.map_or(0, |d| d.size_bytes.div_ceil(1 << 30));
    db_on_tiers(s, format!("its files take {gb} GB"), |_, t| {
        gb > t.tier().max_storage_gb()
    })
}

fn file_count(s: &Subject) -> Vec<Hit> {
    let n = s.database.map_or(0, |d| d.files);
    db_on_tiers(s, format!("{n} files"), |_, t| n > t.tier().max_files().0)
}

fn partially_contained(s: &Subject) -> Vec<Hit> {
    db_when(
        s,
        |d| d.partially_contained,
        |_| "CONTAINMENT = PARTIAL".into(),
    )
}

fn recovery_model(s: &Subject) -> Vec<Hit> {
    db_when(
        s,
        |d| !d.recovery_model.is_empty() && !d.recovery_model.eq_ignore_ascii_case("FULL"),
        |d| format!("recovery model {}", d.recovery_model),
    )
}

fn compatibility_level(s: &Subject) -> Vec<Hit> {
    db_when(
        s,
        |d| d.compatibility_level > 0 && d.compatibility_level < 100,
        |d| format!("compatibility level {}", d.compatibility_level),
    )
}

fn collation_database(s: &Subject) -> Vec<Hit> {
    let target = s.target_collation();
    db_when(
        s,
        |d| !d.collation.is_empty() && !d.collation.eq_ignore_ascii_case(target),
        |d| {
            format!(
                "the database's collation is {}, the target instance's {target}",
                d.collation
            )
        },
    )
}

fn tde_certificate(s: &Subject) -> Vec<Hit> {
    // A target read whose certificates include the database's: nothing to do.
    let on_target = |d: &DatabaseFacts| {
        let target = s.instance.target.as_ref().map(|t| t.instance());
        let thumb = d.tde_certificate.as_ref().map(|(_, t)| t.as_str());
        matches!((target, thumb), (Some(mi), Some(t)) if mi.has_certificate(t.trim_start_matches("0x")))
    };
    db_when(
        s,
        |d| d.encrypted && !on_target(d),
        |d| match &d.tde_certificate {
            Some((name, thumb)) => {
                format!("protected by certificate [{name}] (thumbprint 0x{thumb})")
            }
            None => "protected by TDE; its certificate could not be read".into(),
        },
    )
}

/// The target read: the first of its limits the database's restore would pass (the SDK's
/// `capacity_stop`: database count, free storage, file count, file size).
fn target_capacity(s: &Subject) -> Vec<Hit> {
    let (Some(d), Some(t)) = (s.database, s.instance.target.as_ref()) else {
        return Vec::new();
    };
    let layout = FileLayout {
        files: d
            .file_sizes
            .iter()
            .map(|&(log, size_bytes)| DbFile {
                kind: if log { FileKind::Log } else { FileKind::Rows },
                size_bytes,
            })
            .collect(),
        ..FileLayout::default()
    };
    capacity_stop(&d.name, &layout, &t.instance())
        .map(|r| vec![Hit::new(&d.name, format!("{}: {}", r.code, r.reason))])
        .unwrap_or_default()
}

fn database_not_read(s: &Subject) -> Vec<Hit> {
    db_when(
        s,
        |d| d.not_read.is_some(),
        |d| d.not_read.clone().unwrap_or_default(),
    )
}

/// The target read: a database of the same name is there already.
fn target_name_taken(s: &Subject) -> Vec<Hit> {
    let Some(t) = s.instance.target.as_ref() else {
        return Vec::new();
    };
    db_when(
        s,
        |d| t.databases.iter().any(|n| n.eq_ignore_ascii_case(&d.name)),
        |d| format!("the Managed Instance already has a database [{}]", d.name),
    )
}

fn cross_database_references(s: &Subject) -> Vec<Hit> {
    parts(s, |d| {
        let refs = d.modules.cross_database.iter();
        refs.map(|(m, other)| (m.clone(), format!("names database [{other}]")))
            .collect()
    })
}

fn distributed_transactions(s: &Subject) -> Vec<Hit> {
    modules(
        s,
        |d| &d.modules.distributed_transactions,
        "BEGIN DISTRIBUTED TRANSACTION",
    )
}

fn clr_assemblies(s: &Subject) -> Vec<Hit> {
    parts(s, |d| {
        d.assemblies
            .iter()
            .filter(|a| !a.permission_set.eq_ignore_ascii_case("SAFE_ACCESS"))
            .map(|a| {
                (
                    a.name.clone(),
                    format!("PERMISSION_SET {}", a.permission_set),
                )
            })
            .collect()
    })
}

fn service_broker_routes(s: &Subject) -> Vec<Hit> {
    parts(s, |d| {
        d.routes
            .iter()
            .filter(|r| !r.address.eq_ignore_ascii_case("LOCAL"))
            .map(|r| (r.name.clone(), format!("address {}", r.address)))
            .collect()
    })
}

fn xp_cmdshell_used(s: &Subject) -> Vec<Hit> {
    modules(s, |d| &d.modules.xp_cmdshell, "calls xp_cmdshell")
}

fn ole_automation_used(s: &Subject) -> Vec<Hit> {
    modules(
        s,
        |d| &d.modules.ole_automation,
        "calls sp_OA* (OLE Automation)",
    )
}

fn sql_mail_used(s: &Subject) -> Vec<Hit> {
    modules(s, |d| &d.modules.sql_mail, "calls SQL Mail (xp_sendmail …)")
}

fn deprecated_features(s: &Subject) -> Vec<Hit> {
    parts(s, |d| {
        let columns = d.deprecated_columns.iter().map(|(c, ty)| {
            let instead = match ty.as_str() {
                "ntext" => "nvarchar(max)",
                "image" => "varbinary(max)",
                _ => "varchar(max)",
            };
            (
                c.clone(),
                format!("{ty} column (deprecated: use {instead})"),
            )
        });
        d.modules
            .deprecated
            .iter()
            .cloned()
            .chain(columns)
            .collect()
    })
}

#[cfg(test)]
#[path = "database_rules_tests.rs"]
mod tests;
