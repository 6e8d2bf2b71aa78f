//! Each instance rule predicate on facts that trigger it and facts that do not.

use super::*;
use crate::config::Config;
use crate::facts::{DatabaseSize, InstanceFacts, JobStep, LinkedServer, WindowsLogin};

fn run(p: Predicate, f: &InstanceFacts, c: &Config) -> Vec<Hit> {
    p(&Subject {
        instance: f,
        database: None,
        config: c,
    })
}

fn v(version: &str) -> InstanceFacts {
    InstanceFacts {
        product_version: version.into(),
        edition: "Enterprise Edition (64-bit)".into(),
        collation: "SQL_Latin1_General_CP1_CI_AS".into(),
        ..InstanceFacts::default()
    }
}

#[test]
fn versions_per_policy_and_method() {
    let c = Config::default();
    assert_eq!(
        run(source_newer_than_policy, &v("17.0.1000.7"), &c).len(),
        1
    );
    assert!(run(source_newer_than_policy, &v("16.0.4135.4"), &c).is_empty());
    assert_eq!(run(version_unsupported, &v("9.0.5000.0"), &c).len(), 1);
    assert!(run(version_unsupported, &v("10.0.6000.29"), &c).is_empty());
    assert!(
        run(link_version, &v("13.0.6300.2"), &c)[0]
            .detail
            .contains("13.0.7000.253")
    );
    assert!(run(link_version, &v("15.0.4312.2"), &c).is_empty());
    let express = InstanceFacts {
        edition: "Express Edition (64-bit)".into(),
        ..v("16.0.1000.6")
    };
    assert_eq!(run(link_edition, &express, &c).len(), 1);
    let off = InstanceFacts {
        hadr_enabled: Some(false),
        ..v("16.0.1000.6")
    };
    assert_eq!(run(link_hadr_disabled, &off, &c).len(), 1);
    // Unknown (before 2012) is not off.
    assert!(run(link_hadr_disabled, &v("10.50.6000.34"), &c).is_empty());
    assert!(run(link_edition, &v("16.0.1000.6"), &c).is_empty());
}

#[test]
fn counts_and_storage_per_tier() {
    let c = Config::default();
    let db = |i: usize, gb: u64, files: u64| DatabaseSize {
        name: format!("d{i}"),
        size_bytes: gb << 30,
        files,
    };
    let many = InstanceFacts {
        databases: (0..101).map(|i| db(i, 1, 2)).collect(),
        ..v("16.0.1000.6")
    };
    let h = run(database_count, &many, &c);
    assert_eq!(
        h[0].tiers,
        Some(vec![
            TargetTier::GeneralPurpose,
            TargetTier::BusinessCritical
        ])
    );
    assert!(run(database_count, &v("16.0.1000.6"), &c).is_empty());
    let files = InstanceFacts {
        databases: vec![db(0, 1, 281)],
        ..v("16.0.1000.6")
    };
    assert_eq!(
        run(instance_file_count, &files, &c)[0].tiers,
        Some(vec![TargetTier::GeneralPurpose])
    );
    assert!(run(instance_file_count, &many, &c).is_empty());
    let big = InstanceFacts {
        databases: vec![db(0, 5 * 1024, 2)],
        ..v("16.0.1000.6")
    };
    assert_eq!(
        run(instance_storage, &big, &c)[0].tiers,
        Some(vec![TargetTier::BusinessCritical])
    );
    assert!(run(instance_storage, &many, &c).is_empty());
}

#[test]
fn instance_objects_mi_cannot_take() {
    let mut c = Config::default();
    c.entra
        .domains
        .insert("CONTOSO".into(), "contoso.com".into());
    let f = InstanceFacts {
        collation: "Latin1_General_CI_AS".into(),
        linked_servers: vec![
            LinkedServer {
                name: "ORA".into(),
                provider: "OraOLEDB.Oracle".into(),
                ..LinkedServer::default()
            },
            LinkedServer {
                name: "SALES".into(),
                provider: "MSOLEDBSQL".into(),
                ..LinkedServer::default()
            },
        ],
        windows_logins: vec![
            WindowsLogin {
                name: "CONTOSO\\bob".into(),
                group: false,
            },
            WindowsLogin {
                name: "FABRIKAM\\eve".into(),
                group: false,
            },
        ],
        job_steps: vec![
            JobStep {
                job: "merge".into(),
                step: "s1".into(),
                subsystem: "Merge".into(),
            },
            JobStep {
                job: "shell".into(),
                step: "s1".into(),
                subsystem: "CmdExec".into(),
            },
            JobStep {
                job: "tsql".into(),
                step: "s1".into(),
                subsystem: "TSQL".into(),
            },
        ],
        xp_cmdshell: true,
        ole_automation: true,
        sql_mail_xps: Some(true),
        trace_flags: Some(vec![1117, 3226]),
        trace_flags_source: "DBCC TRACESTATUS(-1)".into(),
        mail_profiles: vec!["Ops".into()],
        ..v("16.0.1000.6")
    };
    let objects =
        |p: Predicate| -> Vec<String> { run(p, &f, &c).into_iter().map(|h| h.object).collect() };
    assert_eq!(objects(collation_instance), ["instance"]);
    assert_eq!(objects(linked_server_provider), ["ORA"]);
    assert_eq!(objects(windows_login_unmapped), ["FABRIKAM\\eve"]);
    assert_eq!(objects(agent_subsystem_unsupported), ["merge"]);
    assert_eq!(objects(agent_subsystem_verify), ["shell"]);
    assert_eq!(objects(xp_cmdshell_enabled).len(), 1);
    assert_eq!(objects(ole_automation_enabled).len(), 1);
    assert_eq!(objects(sql_mail).len(), 1);
    assert!(run(trace_flags, &f, &c)[0].detail.contains("1117, 3226"));
    assert!(run(trace_flags_unread, &f, &c).is_empty());
    assert_eq!(objects(database_mail).len(), 1);
    // The same instance with nothing set triggers none of them.
    let clean = v("16.0.1000.6");
    for p in [
        collation_instance,
        linked_server_provider,
        windows_login_unmapped,
        agent_subsystem_unsupported,
        agent_subsystem_verify,
        xp_cmdshell_enabled,
        ole_automation_enabled,
        sql_mail,
        trace_flags,
        database_mail,
    ] {
        assert!(run(p, &clean, &c).is_empty());
    }
    assert_eq!(run(trace_flags_unread, &clean, &c).len(), 1);
}
