//! A test per database rule of plugins/assess/src/rules/rules.toml.

use super::*;

#[test]
fn filestream_is_a_blocker() {
    let r = main_run();
    let db = facts::FILESTREAM_DATABASE;
    rows_of(
        r,
        db,
        "filestream",
        "blocked",
        ALL_BLOCK,
        &["a FILESTREAM filegroup or container"],
    );
}

#[test]
fn a_filetable_is_a_blocker_named_by_table() {
    let db = facts::FILESTREAM_DATABASE;
    rows_of(
        main_run(),
        db,
        "filetable",
        "blocked",
        ALL_BLOCK,
        &[&format!("{db}.dbo.{}: a FileTable", facts::FILETABLE)],
    );
}

#[test]
fn in_memory_oltp_blocks_general_purpose_but_not_business_critical() {
    let r = main_run();
    let db = facts::IN_MEMORY_DATABASE;
    assert_eq!(
        db_severity(r, db, "in-memory-oltp", db),
        tiers(Some("blocker"), Some("info"), Some("blocker"))
    );
    rows_of(
        r,
        db,
        "in-memory-oltp",
        "blocked",
        "business-critical: info, next-gen-general-purpose: blocker",
        &["MEMORY_OPTIMIZED_DATA filegroup"],
    );
}

#[test]
fn a_second_log_file_is_a_blocker() {
    rows_of(
        main_run(),
        facts::TWO_LOGS_DATABASE,
        "multiple-log-files",
        "blocked",
        ALL_BLOCK,
        &["2 log files"],
    );
}

#[test]
fn a_database_larger_than_the_tier_stores_is_a_blocker() {
    let r = main_run();
    assert_eq!(
        db_severity(r, HUGE_DB, "database-size", HUGE_DB),
        tiers(Some("blocker"), Some("blocker"), None)
    );
    rows_of(
        r,
        HUGE_DB,
        "database-size",
        "blocked",
        "business-critical: blocker, next-gen-general-purpose: none",
        &["its files take 18433 GB"],
    );
}

#[test]
fn more_files_than_general_purpose_takes_is_a_blocker() {
    let r = main_run();
    assert_eq!(
        db_severity(r, MANY_FILES_DB, "file-count", MANY_FILES_DB),
        tiers(Some("blocker"), None, None)
    );
    rows_of(
        r,
        MANY_FILES_DB,
        "file-count",
        "blocked",
        "business-critical: none, next-gen-general-purpose: none",
        &["281 files"],
    );
}

#[test]
fn a_partially_contained_database_is_a_blocker() {
    rows_of(
        main_run(),
        facts::CONTAINED_DATABASE,
        "partially-contained",
        "blocked",
        ALL_BLOCK,
        &["CONTAINMENT = PARTIAL"],
    );
}

#[test]
fn simple_recovery_is_information_and_keeps_log_methods_out() {
    let r = main_run();
    rows_of(
        r,
        SIMPLE_DB,
        "recovery-model",
        "passed",
        ALL_INFO,
        &["recovery model SIMPLE"],
    );
    let choice = &database_output(r, SIMPLE_DB)["choice"];
    assert_eq!(choice["pick"], "native", "{choice}");
    for m in ["lrs", "mi-link", "dms"] {
        let why = choice["methods"][m].to_string();
        assert!(why.contains("recovery-model"), "{m}: {why}");
    }
}

#[test]
fn a_compatibility_level_below_100_is_a_warning() {
    rows_of(
        legacy_run(),
        LEGACY_DB,
        "compatibility-level",
        "warning",
        ALL_WARN,
        &["compatibility level 90"],
    );
}

#[test]
fn a_database_collation_other_than_the_targets_is_information() {
    rows_of(
        main_run(),
        SIMPLE_DB,
        "collation-database",
        "passed",
        ALL_INFO,
        &[
            "the database's collation is Latin1_General_CS_AS, the target instance's SQL_Latin1_General_CP1_CI_AS",
        ],
    );
}

#[test]
fn a_tde_database_is_a_warning_naming_its_certificate() {
    let tde = ferry_emulator::seed::TDE_DATABASE;
    let cert = ferry_emulator::seed::TDE_CERTIFICATE;
    rows_of(
        main_run(),
        tde,
        "tde-certificate",
        "warning",
        ALL_WARN,
        &[&format!("protected by certificate [{cert}]")],
    );
}

#[test]
fn module_text_naming_another_database_is_a_warning() {
    rows_of(
        main_run(),
        MODULES_DB,
        "cross-database-references",
        "warning",
        ALL_WARN,
        &["FactsModules.dbo.CopyOrders: names database [SalesDb]"],
    );
}

#[test]
fn a_distributed_transaction_is_a_warning() {
    rows_of(
        main_run(),
        MODULES_DB,
        "distributed-transactions",
        "warning",
        ALL_WARN,
        &["FactsModules.dbo.Transfer: BEGIN DISTRIBUTED TRANSACTION"],
    );
}

#[test]
fn an_unsafe_assembly_is_a_warning_and_a_safe_one_is_not() {
    let n = rows_of(
        main_run(),
        facts::CLR_DATABASE,
        "clr-assemblies",
        "warning",
        ALL_WARN,
        &["FactsClr.FileWatcher: PERMISSION_SET UNSAFE_ACCESS"],
    );
    assert!(!n.contains("RegexTools"), "{n}");
}

#[test]
fn a_route_to_another_server_is_a_warning() {
    let (route, address) = facts::ROUTE;
    rows_of(
        main_run(),
        facts::BROKER_DATABASE,
        "service-broker-routes",
        "warning",
        ALL_WARN,
        &[&format!("FactsBroker.{route}: address {address}")],
    );
}

#[test]
fn code_calling_xp_cmdshell_is_a_warning() {
    rows_of(
        main_run(),
        MODULES_DB,
        "xp-cmdshell-used",
        "warning",
        ALL_WARN,
        &["FactsModules.dbo.WhoRuns: calls xp_cmdshell"],
    );
}

#[test]
fn code_calling_ole_automation_is_a_warning() {
    rows_of(
        main_run(),
        MODULES_DB,
        "ole-automation-used",
        "warning",
        ALL_WARN,
        &["FactsModules.dbo.MakeFile"],
    );
}

#[test]
fn code_calling_sql_mail_is_a_warning() {
    rows_of(
        main_run(),
        MODULES_DB,
        "sql-mail-used",
        "warning",
        ALL_WARN,
        &["FactsModules.dbo.MailOld"],
    );
}

#[test]
fn deprecated_procedures_and_types_are_information() {
    rows_of(
        main_run(),
        MODULES_DB,
        "deprecated-features",
        "passed",
        ALL_INFO,
        &[
            "FactsModules.dbo.AddOldLogin: sp_addlogin",
            "FactsModules.dbo.Docs.Body: ntext column",
        ],
    );
}

#[test]
fn a_database_that_does_not_fit_the_target_is_a_blocker() {
    let r = main_run();
    rows_of(
        r,
        HUGE_DB,
        "target-capacity",
        "blocked",
        ALL_BLOCK,
        &["storage:", "has 32 GiB free"],
    );
    rows_of(
        r,
        MANY_FILES_DB,
        "target-capacity",
        "blocked",
        ALL_BLOCK,
        &["file-count:", "281 files"],
    );
}

#[test]
fn a_name_the_target_already_has_is_a_blocker() {
    rows_of(
        main_run(),
        "InventoryDb",
        "target-name-taken",
        "blocked",
        ALL_BLOCK,
        &["the Managed Instance already has a database [InventoryDb]"],
    );
}

#[test]
fn a_database_not_online_is_a_warning_and_gets_no_method() {
    let r = main_run();
    rows_of(
        r,
        RESTORING_DB,
        "database-not-read",
        "warning",
        ALL_WARN,
        &["the database is RESTORING"],
    );
    let choice = &database_output(r, RESTORING_DB)["choice"];
    assert_eq!(choice["pick"], Value::Null, "{choice}");
    let why = choice["rationale"].as_str().unwrap();
    assert!(why.contains("while it is RESTORING"), "{why}");
}
