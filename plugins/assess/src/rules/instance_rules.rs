//! The instance rules' predicates, one small pure function per rule id of `rules.toml`.

use ferry_sdk::entra::WindowsKind;
use ferry_sdk::link_versions::link_refusal;
use ferry_sdk::sql_version::{SqlVersion, newer_than_policy};

use super::subject::{Hit, Predicate, Subject};
use crate::config::TargetTier;

pub const PREDICATES: &[(&str, Predicate)] = &[
    ("source-newer-than-policy", source_newer_than_policy),
    ("version-unsupported", version_unsupported),
    ("link-version", link_version),
    ("link-edition", link_edition),
    ("link-hadr-disabled", link_hadr_disabled),
    ("database-count", database_count),
    ("instance-file-count", instance_file_count),
    ("instance-storage", instance_storage),
    ("collation-instance", collation_instance),
    ("linked-server-provider", linked_server_provider),
    ("windows-login-unmapped", windows_login_unmapped),
    ("agent-subsystem-unsupported", agent_subsystem_unsupported),
    ("agent-subsystem-verify", agent_subsystem_verify),
    ("xp-cmdshell-enabled", xp_cmdshell_enabled),
    ("ole-automation-enabled", ole_automation_enabled),
    ("trace-flags", trace_flags),
    ("trace-flags-unread", trace_flags_unread),
    ("sql-mail", sql_mail),
    ("database-mail", database_mail),
];

const INSTANCE: &str = "instance";

fn version(s: &Subject) -> Option<SqlVersion> {
    SqlVersion::parse(&s.instance.product_version)
}

fn when(yes: bool, object: &str, detail: String) -> Vec<Hit> {
    if yes {
        vec![Hit::new(object, detail)]
    } else {
        Vec::new()
    }
}

/// The tiers for which `over` holds, as one hit (none when no tier).
fn on_tiers(object: &str, detail: String, over: impl Fn(TargetTier) -> bool) -> Vec<Hit> {
    let tiers: Vec<TargetTier> = TargetTier::ALL.into_iter().filter(|&t| over(t)).collect();
    if tiers.is_empty() {
        return Vec::new();
    }
    vec![Hit {
        object: object.to_owned(),
        detail,
        tiers: Some(tiers),
    }]
}

fn source_newer_than_policy(s: &Subject) -> Vec<Hit> {
    let why = version(s).and_then(|v| newer_than_policy(v, s.policy()));
    why.map(|w| vec![Hit::new(INSTANCE, w)]).unwrap_or_default()
}

fn version_unsupported(s: &Subject) -> Vec<Hit> {
    match version(s) {
        Some(v) if v.major < 10 => vec![Hit::new(
            INSTANCE,
            format!(
                "the source is {} ({})",
                v.release(),
                s.instance.product_version
            ),
        )],
        _ => Vec::new(),
    }
}

fn link_version(s: &Subject) -> Vec<Hit> {
    version(s)
        .and_then(link_refusal)
        .map(|w| vec![Hit::new(INSTANCE, w)])
        .unwrap_or_default()
}

fn link_edition(s: &Subject) -> Vec<Hit> {
    let e = s.instance.edition.to_ascii_lowercase();
    when(
        e.contains("express") || e.starts_with("web"),
        INSTANCE,
        format!("the source is {}", s.instance.edition),
    )
}

fn link_hadr_disabled(s: &Subject) -> Vec<Hit> {
    when(
        s.instance.hadr_enabled == Some(false),
        INSTANCE,
        "SERVERPROPERTY('IsHadrEnabled') = 0".into(),
    )
}

fn database_count(s: &Subject) -> Vec<Hit> {
    let n = s.instance.databases.len() as u64;
    on_tiers(
        INSTANCE,
        format!("the source holds {n} user databases"),
        |t| n > t.tier().max_databases(),
    )
}

fn instance_file_count(s: &Subject) -> Vec<Hit> {
    let n: u64 = s.instance.databases.iter().map(|d| d.files).sum();
    let (cap, per_instance) = TargetTier::GeneralPurpose.tier().max_files();
    on_tiers(
        INSTANCE,
        format!("the user databases have {n} files together (General Purpose holds {cap})"),
        |t| per_instance && t == TargetTier::GeneralPurpose && n > cap,
    )
}

fn instance_storage(s: &Subject) -> Vec<Hit> {
    let bytes: u64 = s.instance.databases.iter().map(|d| d.size_bytes).sum();
    let gb = bytes.div_ceil(1 << 30);
    on_tiers(
        INSTANCE,
        format!("the user databases' files take {gb} GB"),
        |t| gb > t.tier().max_storage_gb(),
    )
}

fn collation_instance(s: &Subject) -> Vec<Hit> {
    let (src, target) = (&s.instance.collation, s.target_collation());
    when(
        !src.is_empty() && !src.eq_ignore_ascii_case(target),
        INSTANCE,
        format!("the source's collation is {src}, the target's {target}"),
    )
}

/// Providers a Managed Instance linked server takes (T-SQL differences, Linked servers).
const MI_PROVIDERS: [&str; 4] = ["SQLNCLI", "SQLNCLI11", "SQLOLEDB", "MSOLEDBSQL"];

fn linked_server_provider(s: &Subject) -> Vec<Hit> {
    s.instance
        .linked_servers
        .iter()
        .filter(|l| {
            !MI_PROVIDERS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(l.provider.trim()))
        })
        .map(|l| {
            Hit::new(
                &l.name,
                format!(
                    "provider {} (product {}, data source {})",
                    l.provider, l.product, l.data_source
                ),
            )
        })
        .collect()
}

fn windows_login_unmapped(s: &Subject) -> Vec<Hit> {
    s.instance
        .windows_logins
        .iter()
        .filter(|l| {
            let kind = if l.group {
                WindowsKind::Group
            } else {
                WindowsKind::User
            };
            s.config.entra.map(&l.name, kind).is_none()
        })
        .map(|l| Hit::new(&l.name, s.config.entra.missing(&l.name)))
        .collect()
}

fn steps_in(s: &Subject, subsystems: &[&str]) -> Vec<Hit> {
    s.instance
        .job_steps
        .iter()
        .filter(|j| {
            subsystems
                .iter()
                .any(|k| k.eq_ignore_ascii_case(j.subsystem.trim()))
        })
        .map(|j| {
            Hit::new(
                &j.job,
                format!("step `{}` runs in the {} subsystem", j.step, j.subsystem),
            )
        })
        .collect()
}

fn agent_subsystem_unsupported(s: &Subject) -> Vec<Hit> {
    steps_in(
        s,
        &[
            "Merge",
            "QueueReader",
            "ANALYSISCOMMAND",
            "ANALYSISQUERY",
            "ActiveScripting",
        ],
    )
}

fn agent_subsystem_verify(s: &Subject) -> Vec<Hit> {
    steps_in(s, &["CmdExec", "PowerShell"])
}

fn xp_cmdshell_enabled(s: &Subject) -> Vec<Hit> {
    when(
        s.instance.xp_cmdshell,
        "xp_cmdshell",
        "value_in_use = 1".into(),
    )
}

fn ole_automation_enabled(s: &Subject) -> Vec<Hit> {
    when(
        s.instance.ole_automation,
        "Ole Automation Procedures",
        "value_in_use = 1".into(),
    )
}

fn trace_flags(s: &Subject) -> Vec<Hit> {
    match &s.instance.trace_flags {
        Some(flags) if !flags.is_empty() => {
            let list: Vec<String> = flags.iter().map(i64::to_string).collect();
            vec![Hit::new(
                "trace flags",
                format!(
                    "global trace flags {} (read from {})",
                    list.join(", "),
                    s.instance.trace_flags_source
                ),
            )]
        }
        _ => Vec::new(),
    }
}

fn trace_flags_unread(s: &Subject) -> Vec<Hit> {
    when(
        s.instance.trace_flags.is_none(),
        "trace flags",
        "neither DBCC TRACESTATUS nor sys.dm_server_registry answered".into(),
    )
}

fn sql_mail(s: &Subject) -> Vec<Hit> {
    when(
        s.instance.sql_mail_xps == Some(true),
        "SQL Mail XPs",
        "value_in_use = 1".into(),
    )
}

fn database_mail(s: &Subject) -> Vec<Hit> {
    let p = &s.instance.mail_profiles;
    when(
        !p.is_empty(),
        "Database Mail",
        format!("profiles: {}", p.join(", ")),
    )
}

#[cfg(test)]
#[path = "instance_rules_tests.rs"]
mod tests;
