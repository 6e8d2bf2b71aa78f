//! A test per rule, through the plugin on FakeHost: the scripted source without the rule's
//! trigger has no row for it; with the trigger, the row `<db or instance>: <rule>` is there with
//! the rule's id as reason code and the status the tier's severity maps to.

mod common;

use common::{Db, Source, Target, none_found, row, run};
use ferry_sdk::ObjectStatus;
use serde_json::json;

const INSTANCE: &str = "(instance)";

fn check(item: &str, rule: &str, status: ObjectStatus, mutate: impl Fn(&mut Source)) {
    let subject = if item == INSTANCE { "instance" } else { item };
    let name = format!("{subject}: {rule}");
    let only_sales = json!({"databases": ["Sales"]});
    let (out, h) = run(Source::default(), item, only_sales.clone());
    out.unwrap();
    assert!(
        row(&h.rows, &name).is_none(),
        "{name} on the clean source: {:?}",
        row(&h.rows, &name)
    );
    // The check is listed as passed.
    let passed = none_found(&h.rows, &name).unwrap_or_else(|| panic!("no passed row {name}"));
    assert_eq!(passed.status, ObjectStatus::Passed);
    let mut s = Source::default();
    mutate(&mut s);
    let (out, h) = run(s, item, only_sales);
    let out = out.unwrap();
    let r = row(&h.rows, &name).unwrap_or_else(|| {
        let names: Vec<&str> = h.rows.iter().map(|r| r.name.as_str()).collect();
        panic!("no row {name}; rows: {names:?}")
    });
    assert_eq!(r.reason_code.as_deref(), Some(rule));
    assert_eq!(r.status, status, "{name}: {:?}", r.notes);
    assert!(
        r.notes
            .as_deref()
            .unwrap()
            .contains("https://learn.microsoft.com/")
    );
    // The output holds the finding too.
    // The output holds the finding (a database's in the instance step as a count), and the
    // rule's text once.
    let mut found: Vec<String> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    if item == INSTANCE {
        for d in out["databases"].as_array().unwrap() {
            found.extend(d["found"].as_object().unwrap().keys().cloned());
        }
    }
    assert!(found.iter().any(|f| f == rule), "{rule} not in the output");
    assert!(out["rules"][rule]["source"].as_str().is_some());
}

macro_rules! rule {
    ($test:ident, $item:expr, $rule:expr, $status:ident, $mutate:expr) => {
        #[test]
        fn $test() {
            check($item, $rule, ObjectStatus::$status, $mutate)
        }
    };
}

fn sales(s: &mut Source) -> &mut Db {
    s.db_mut("Sales")
}

fn module(s: &mut Source, text: &str) {
    sales(s)
        .modules
        .push(("dbo".into(), "Job".into(), text.into()));
}

// Instance rules.
rule!(
    source_newer_than_policy,
    INSTANCE,
    "source-newer-than-policy",
    Blocked,
    |s| s.version = "17.0.1000.7".into()
);
rule!(
    version_unsupported,
    INSTANCE,
    "version-unsupported",
    Blocked,
    |s| s.version = "9.00.5000.00".into()
);
rule!(link_version, INSTANCE, "link-version", Passed, |s| s
    .version =
    "13.0.6300.2".into());
rule!(link_edition, INSTANCE, "link-edition", Passed, |s| s
    .edition =
    "Express Edition (64-bit)".into());
rule!(
    link_hadr_disabled,
    INSTANCE,
    "link-hadr-disabled",
    Passed,
    |s| s.hadr_enabled = false
);
rule!(database_count, INSTANCE, "database-count", Blocked, |s| {
    for n in 0..100 {
        s.databases.push(Db::new(&format!("Extra{n}"), 100 + n, 1));
    }
});
rule!(
    instance_file_count,
    INSTANCE,
    "instance-file-count",
    Blocked,
    |s| {
        sales(s).files.extend((0..280).map(|_| (0, 128)));
    }
);
rule!(
    instance_storage,
    INSTANCE,
    "instance-storage",
    Blocked,
    |s| {
        s.databases.push(Db::new("Archive", 7, 17 * 1024));
    }
);
rule!(
    collation_instance,
    INSTANCE,
    "collation-instance",
    Warning,
    |s| s.collation = "Latin1_General_CI_AS".into()
);
rule!(
    linked_server_provider,
    INSTANCE,
    "linked-server-provider",
    Blocked,
    |s| {
        s.linked_servers.push((
            "ORA".into(),
            "Oracle".into(),
            "OraOLEDB.Oracle".into(),
            "ora01".into(),
        ));
    }
);
rule!(
    windows_login_unmapped,
    INSTANCE,
    "windows-login-unmapped",
    Blocked,
    |s| {
        s.principals.push(("CONTOSO\\bob".into(), "U".into()));
    }
);
rule!(
    agent_subsystem_unsupported,
    INSTANCE,
    "agent-subsystem-unsupported",
    Blocked,
    |s| {
        s.job_steps
            .push(("Merge agent".into(), "run".into(), "Merge".into()));
    }
);
rule!(
    agent_subsystem_verify,
    INSTANCE,
    "agent-subsystem-verify",
    Warning,
    |s| {
        s.job_steps
            .push(("Cleanup".into(), "del".into(), "CmdExec".into()));
    }
);
rule!(
    xp_cmdshell_enabled,
    INSTANCE,
    "xp-cmdshell-enabled",
    Warning,
    |s| s.configurations[0].1 = 1
);
rule!(
    ole_automation_enabled,
    INSTANCE,
    "ole-automation-enabled",
    Warning,
    |s| s.configurations[1].1 = 1
);
rule!(trace_flags, INSTANCE, "trace-flags", Warning, |s| s
    .trace_flags =
    vec![1117, 3226]);
rule!(
    trace_flags_unread,
    INSTANCE,
    "trace-flags-unread",
    Passed,
    |s| {
        s.dbcc_denied = true;
        s.registry_readable = false;
    }
);
rule!(sql_mail, INSTANCE, "sql-mail", Warning, |s| s
    .configurations
    .push(("SQL Mail XPs".into(), 1)));
rule!(database_mail, INSTANCE, "database-mail", Passed, |s| s
    .mail_profiles
    .push("Ops".into()));

// Database rules.
rule!(filestream, "Sales", "filestream", Blocked, |s| {
    sales(s).filegroups.push("FD".into());
    sales(s).files.push((2, 0));
});
rule!(filetable, "Sales", "filetable", Blocked, |s| sales(s)
    .filetables
    .push("Docs".into()));
rule!(in_memory_oltp, "Sales", "in-memory-oltp", Blocked, |s| {
    sales(s).filegroups.push("FX".into());
    sales(s).files.push((2, 0));
    sales(s).memory_optimized_tables.push("Hot".into());
});
rule!(
    multiple_log_files,
    "Sales",
    "multiple-log-files",
    Blocked,
    |s| sales(s).files.push((1, 128))
);
rule!(database_size, "Sales", "database-size", Blocked, |s| {
    sales(s).files[0].1 = 17 * 1024 * 131_072
});
rule!(file_count, "Sales", "file-count", Blocked, |s| sales(s)
    .files
    .extend((0..280).map(|_| (0, 128))));
rule!(
    partially_contained,
    "Sales",
    "partially-contained",
    Blocked,
    |s| sales(s).containment = 1
);
rule!(recovery_model, "Sales", "recovery-model", Passed, |s| {
    sales(s).recovery = "SIMPLE".into()
});
rule!(
    compatibility_level,
    "Sales",
    "compatibility-level",
    Warning,
    |s| sales(s).compatibility_level = 90
);
rule!(
    collation_database,
    "Sales",
    "collation-database",
    Passed,
    |s| sales(s).collation = "Latin1_General_CS_AS".into()
);
rule!(tde_certificate, "Sales", "tde-certificate", Warning, |s| {
    sales(s).encrypted = true
});
rule!(
    cross_database_references,
    "Sales",
    "cross-database-references",
    Warning,
    |s| module(s, "CREATE VIEW dbo.v AS SELECT * FROM Hr.dbo.Staff")
);
rule!(
    distributed_transactions,
    "Sales",
    "distributed-transactions",
    Warning,
    |s| module(s, "BEGIN DISTRIBUTED TRANSACTION; COMMIT")
);
rule!(clr_assemblies, "Sales", "clr-assemblies", Warning, |s| {
    sales(s)
        .assemblies
        .push(("Net".into(), "EXTERNAL_ACCESS".into()))
});
rule!(
    service_broker_routes,
    "Sales",
    "service-broker-routes",
    Warning,
    |s| sales(s)
        .routes
        .push(("ToHr".into(), "TCP://hr01:4022".into()))
);
rule!(
    xp_cmdshell_used,
    "Sales",
    "xp-cmdshell-used",
    Warning,
    |s| module(s, "EXEC xp_cmdshell 'dir'")
);
rule!(
    ole_automation_used,
    "Sales",
    "ole-automation-used",
    Warning,
    |s| module(s, "EXEC sp_OACreate 'x', @o OUT")
);
rule!(
    sql_mail_used,
    "Sales",
    "sql-mail-used",
    Warning,
    |s| module(s, "EXEC master..xp_sendmail 'ops@contoso.com'")
);
rule!(
    database_not_read,
    "Sales",
    "database-not-read",
    Warning,
    |s| sales(s).state = "OFFLINE".into()
);
rule!(
    deprecated_features,
    "Sales",
    "deprecated-features",
    Passed,
    |s| module(s, "EXEC sp_dboption 'Sales', 'read only', 'true'")
);

// Database rules with a target read (`target = "target"`).
fn check_with_target(rule: &str, status: ObjectStatus, mutate: impl Fn(&mut Target)) {
    let name = format!("Sales: {rule}");
    let with = |t: Target| Source {
        target: Some(t),
        ..Source::default()
    };
    let cfg = json!({"target": "target"});
    let (out, h) = run(with(Target::default()), "Sales", cfg.clone());
    out.unwrap();
    assert!(row(&h.rows, &name).is_none(), "{name} on a roomy target");
    let mut t = Target::default();
    mutate(&mut t);
    let (out, h) = run(with(t), "Sales", cfg);
    out.unwrap();
    let r = row(&h.rows, &name).unwrap_or_else(|| panic!("no row {name}"));
    assert_eq!(r.status, status);
}

#[test]
fn target_capacity() {
    check_with_target("target-capacity", ObjectStatus::Blocked, |t| {
        // 11 GiB of files, 8 GiB free.
        t.used_mb = t.reserved_mb - 8 * 1024;
    });
}

#[test]
fn target_name_taken() {
    check_with_target("target-name-taken", ObjectStatus::Blocked, |t| {
        t.databases.push("sales".into())
    });
}

#[test]
fn a_target_read_replaces_the_configured_collation_policy_and_certificate_check() {
    let mut s = Source {
        version: "17.0.1000.7".into(),
        collation: "Latin1_General_CI_AS".into(),
        target: Some(Target {
            update_type: "Continuous".into(),
            collation: "Latin1_General_CI_AS".into(),
            certificates: vec!["AB12".into()],
            ..Target::default()
        }),
        ..Source::default()
    };
    s.db_mut("Sales").encrypted = true;
    s.db_mut("Sales").collation = "Latin1_General_CI_AS".into();
    let (out, h) = run(s.clone(), "Sales", json!({"target": "target"}));
    out.unwrap();
    // Always-up-to-date restores 2025; the collations match; the certificate is there.
    for rule in [
        "source-newer-than-policy",
        "collation-database",
        "tde-certificate",
    ] {
        assert!(row(&h.rows, &format!("Sales: {rule}")).is_none(), "{rule}");
    }
    // Without the target read the config's defaults (2022 policy, the default collation)
    // find all three.
    let (out, h) = run(s, "Sales", json!({}));
    out.unwrap();
    for rule in [
        "source-newer-than-policy",
        "collation-database",
        "tde-certificate",
    ] {
        assert!(row(&h.rows, &format!("Sales: {rule}")).is_some(), "{rule}");
    }
}

#[test]
fn every_rule_in_the_data_has_a_test_here() {
    let here = include_str!("rules_fake.rs");
    let data = include_str!("../src/rules/rules.toml");
    for line in data.lines().filter(|l| l.starts_with("id = ")) {
        let id = line.trim_start_matches("id = ").trim_matches('"');
        assert!(
            here.contains(&format!("\"{id}\",")),
            "rule {id} has no test"
        );
    }
}

#[test]
fn the_instance_version_rules_are_each_database_s_rows_too() {
    let s = Source {
        version: "13.0.6300.2".into(),
        ..Source::default()
    };
    let (out, h) = run(s, "Sales", json!({}));
    out.unwrap();
    assert!(row(&h.rows, "Sales: link-version").is_some());
}

#[test]
fn blockers_fail_the_database_only_when_asked() {
    let mut s = Source::default();
    s.db_mut("Sales").containment = 1;
    let (out, h) = run(s.clone(), "Sales", json!({"fail_on_blockers": true}));
    let e = out.unwrap_err().describe();
    assert!(e.contains("partially-contained"), "{e}");
    // Its rows are reported before it fails.
    assert!(row(&h.rows, "Sales: partially-contained").is_some());
    let (out, _) = run(s, "Sales", json!({}));
    assert!(out.is_ok());
}

#[test]
fn a_database_the_source_lacks_is_named() {
    let (out, _) = run(Source::default(), "Nope", json!({}));
    assert!(out.unwrap_err().describe().contains("[Nope]"));
}

#[test]
fn report_passed_false_keeps_only_what_was_found() {
    let (out, h) = run(Source::default(), "Sales", json!({"report_passed": false}));
    out.unwrap();
    assert_eq!(h.rows.len(), 1, "only the method row: {:?}", h.rows);
    assert_eq!(h.rows[0].name, "Sales: method");
}
