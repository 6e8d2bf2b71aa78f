//! A test per instance rule of plugins/assess/src/rules/rules.toml.

use super::*;

#[test]
fn linked_servers_through_other_providers_are_blockers() {
    let r = main_run();
    let links = [
        "ORAFIN: provider OraOLEDB.Oracle",
        "LEGACY_ODBC: provider MSDASQL",
    ];
    let n = rows_of(
        r,
        "instance",
        "linked-server-provider",
        "blocked",
        ALL_BLOCK,
        &links,
    );
    assert!(
        n.contains("BUDGET_XLSX: provider Microsoft.ACE.OLEDB.12.0"),
        "{n}"
    );
    // The SQL Server ones (SQLNCLI, MSOLEDBSQL) are not listed.
    assert!(
        !n.contains("SQLNCLI") || n.contains("SQLNCLI, SQLNCLI11"),
        "{n}"
    );
}

#[test]
fn windows_logins_without_a_mapping_are_blockers_and_mapped_ones_are_not() {
    let r = main_run();
    let n = rows_of(
        r,
        "instance",
        "windows-login-unmapped",
        "blocked",
        ALL_BLOCK,
        &["FABRIKAM\\legacy_admin"],
    );
    assert!(
        !n.contains("CONTOSO\\"),
        "the mapped domain is not listed: {n}"
    );
}

#[test]
fn agent_steps_in_subsystems_managed_instance_lacks_are_blockers() {
    let r = main_run();
    rows_of(
        r,
        "instance",
        "agent-subsystem-unsupported",
        "blocked",
        ALL_BLOCK,
        &["Merge sync: step `Merge agent` runs in the Merge subsystem"],
    );
}

#[test]
fn cmdexec_and_powershell_steps_are_warnings() {
    let r = main_run();
    rows_of(
        r,
        "instance",
        "agent-subsystem-verify",
        "warning",
        ALL_WARN,
        &["Export files", "CmdExec", "Report refresh", "PowerShell"],
    );
}

#[test]
fn xp_cmdshell_enabled_is_a_warning() {
    rows_of(
        main_run(),
        "instance",
        "xp-cmdshell-enabled",
        "warning",
        ALL_WARN,
        &["value_in_use = 1"],
    );
}

#[test]
fn ole_automation_enabled_is_a_warning() {
    rows_of(
        main_run(),
        "instance",
        "ole-automation-enabled",
        "warning",
        ALL_WARN,
        &["Ole Automation Procedures: value_in_use = 1"],
    );
}

#[test]
fn global_trace_flags_are_a_warning_naming_each_flag() {
    let out = main_run().instance_output();
    let f = finding(out, "trace-flags", "trace flags");
    assert!(f["detail"].as_str().unwrap().contains("1117, 1118"), "{f}");
    rows_of(
        main_run(),
        "instance",
        "trace-flags",
        "warning",
        ALL_WARN,
        &["global trace flags 1117, 1118"],
    );
    // They were read, so the unread rule found nothing.
    assert!(
        main_run()
            .rows("trace-flags-unread")
            .iter()
            .all(|r| r["status"] == "passed")
    );
}

#[test]
fn database_mail_profiles_are_information() {
    rows_of(
        main_run(),
        "instance",
        "database-mail",
        "passed",
        ALL_INFO,
        &["profiles: DBA Profile"],
    );
}

#[test]
fn a_source_without_always_on_keeps_the_link_out() {
    let r = main_run();
    rows_of(
        r,
        "instance",
        "link-hadr-disabled",
        "passed",
        ALL_INFO,
        &["SERVERPROPERTY('IsHadrEnabled') = 0"],
    );
    let choice = &database_output(r, "SalesDb")["choice"];
    assert!(
        choice["methods"]["mi-link"][0]
            .as_str()
            .unwrap()
            .contains("link-hadr-disabled"),
        "{choice}"
    );
}

#[test]
fn more_files_than_a_general_purpose_instance_holds_blocks_general_purpose_only() {
    let out = main_run().instance_output();
    assert_eq!(
        finding(out, "instance-file-count", "instance")["severity"],
        tiers(Some("blocker"), None, None)
    );
    rows_of(
        main_run(),
        "instance",
        "instance-file-count",
        "blocked",
        "business-critical: none, next-gen-general-purpose: none",
        &["General Purpose holds 280"],
    );
}

#[test]
fn more_storage_than_the_tier_stores_blocks_general_purpose_and_business_critical() {
    let out = main_run().instance_output();
    // 18 TB: over 16 TB (General Purpose, Business Critical), under Next-gen's 32 TB.
    assert_eq!(
        finding(out, "instance-storage", "instance")["severity"],
        tiers(Some("blocker"), Some("blocker"), None)
    );
    rows_of(
        main_run(),
        "instance",
        "instance-storage",
        "blocked",
        "business-critical: blocker, next-gen-general-purpose: none",
        &["GB"],
    );
}

#[test]
fn sql_mail_enabled_is_a_warning_on_2008_r2() {
    rows_of(
        legacy_run(),
        "instance",
        "sql-mail",
        "warning",
        ALL_WARN,
        &["SQL Mail XPs: value_in_use = 1"],
    );
    assert!(
        main_run()
            .rows("sql-mail")
            .iter()
            .all(|r| r["status"] == "passed"),
        "2019 has no SQL Mail"
    );
}

#[test]
fn a_2008_r2_source_is_too_old_for_the_link() {
    let r = legacy_run();
    rows_of(
        r,
        "instance",
        "link-version",
        "passed",
        ALL_INFO,
        &["SQL Server 2008 R2 (10.50.6000)"],
    );
    let choice = &database_output(r, "Shard000")["choice"];
    assert!(
        choice["methods"]["mi-link"][0]
            .as_str()
            .unwrap()
            .contains("link-version"),
        "{choice}"
    );
    assert!(main_run().rows("link-version").iter().all(|r| r["status"] == "passed" && r["notes"].as_str().unwrap().contains("none found")));
}

#[test]
fn an_instance_collation_other_than_the_targets_is_a_warning() {
    rows_of(
        legacy_run(),
        "instance",
        "collation-instance",
        "warning",
        ALL_WARN,
        &[
            "the source's collation is SQL_Latin1_General_CP1_CI_AS, the target's Latin1_General_CI_AS",
        ],
    );
    // The main run read its Managed Instance: the same collation, nothing found.
    assert!(
        main_run()
            .rows("collation-instance")
            .iter()
            .all(|r| r["notes"].as_str().unwrap().contains("none found"))
    );
}

#[test]
fn more_databases_than_the_instance_holds_blocks_all_but_next_gen() {
    let out = legacy_run().instance_output();
    assert_eq!(
        finding(out, "database-count", "instance")["severity"],
        tiers(Some("blocker"), Some("blocker"), None)
    );
    rows_of(
        legacy_run(),
        "instance",
        "database-count",
        "blocked",
        "business-critical: blocker, next-gen-general-purpose: none",
        &["the source holds 101 user databases"],
    );
}

#[test]
fn a_source_newer_than_the_update_policy_is_a_blocker_for_every_method() {
    let r = newer_run();
    let n = rows_of(
        r,
        "instance",
        "source-newer-than-policy",
        "blocked",
        ALL_BLOCK,
        &["the source is SQL Server 2025 (17.0.1000)", "error 3169"],
    );
    assert!(n.contains("SQL Server 2022"), "{n}");
    let out = r.instance_output();
    let db = out["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["database"] == CLEAN_DB)
        .unwrap();
    assert_eq!(db["choice"]["pick"], Value::Null, "{db}");
    // With fail_on_blockers the database step fails the database, naming the blocker.
    assert!(!r.success, "{}", r.all);
    let failed = r
        .events
        .iter()
        .find(|e| e["event"] == "item-failed" && e["item"] == CLEAN_DB)
        .unwrap_or_else(|| panic!("{}", r.all));
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("cannot go to General Purpose as it is: source-newer-than-policy"),
        "{error}"
    );
    // The 2019 and 2008 R2 sources are within the policy.
    for run in [main_run(), legacy_run()] {
        assert!(
            run.rows("source-newer-than-policy")
                .iter()
                .all(|r| r["status"] == "passed")
        );
    }
}

#[test]
fn an_express_source_cannot_have_the_link() {
    let r = express_run();
    assert!(r.success, "{}", r.all);
    rows_of(
        r,
        "instance",
        "link-edition",
        "passed",
        ALL_INFO,
        &["the source is Express Edition (64-bit)"],
    );
    let choice = &database_output(r, CLEAN_DB)["choice"];
    let why = choice["methods"]["mi-link"].to_string();
    assert!(why.contains("link-edition"), "{why}");
    assert_eq!(choice["pick"], "lrs", "{choice}");
    // Enterprise sources have availability groups.
    for run in [main_run(), legacy_run()] {
        assert!(
            run.rows("link-edition")
                .iter()
                .all(|r| r["notes"].as_str().unwrap().contains("none found"))
        );
    }
}

/// What the emulator cannot be: a SQL Server 2005 (version-unsupported), a server whose
/// DBCC TRACESTATUS and sys.dm_server_registry both fail (trace-flags-unread). Their rules
/// still run on every instance and find nothing.
#[test]
fn rules_whose_facts_the_emulator_cannot_be_run_and_find_nothing() {
    for run in [main_run(), legacy_run()] {
        for rule in ["version-unsupported", "trace-flags-unread"] {
            let rows = run.rows(rule);
            assert!(!rows.is_empty(), "{rule}");
            assert!(
                rows.iter().all(|r| r["status"] == "passed"
                    && r["notes"].as_str().unwrap().contains("none found")),
                "{rule}: {rows:?}"
            );
        }
    }
}
