//! The bundled `assess` plugin through the `ferry` binary: examples/assess/migration.toml
//! against emulated sources seeded with one of each fact a readiness rule looks for, a test per
//! rule of plugins/assess/src/rules/rules.toml (its rows, the status on General Purpose, the
//! other tiers' severities, the object and the reason), clean databases with nothing against
//! them, and a method per database with the drafts it lands in.
//!
//! Two runs, each shared by its tests: a SQL Server 2019 with a Managed Instance to read
//! ([`main_run`]), and a SQL Server 2008 R2 with 101 user databases and no Managed Instance
//! yet, judged against the config's collation ([`legacy_run`]).

mod common;

use std::sync::OnceLock;

use common::assess_rig::{Run, run};
use ferry_emulator::seed_assess as facts;
use serde_json::{Value, json};

const SAMPLES: [&str; 3] = ["SalesDb", "HRDb", "InventoryDb"];
const MODULES_DB: &str = "FactsModules";
const CLEAN_DB: &str = "CleanDb";
/// SIMPLE recovery and a case-sensitive collation.
const SIMPLE_DB: &str = "FactsSimpleCs";
const RESTORING_DB: &str = "FactsRestoring";
/// Two 9 TB data files: more than General Purpose and Business Critical store (16 TB).
const HUGE_DB: &str = "FactsHuge";
/// 281 files: one more than a General Purpose instance holds (280).
const MANY_FILES_DB: &str = "FactsManyFiles";

/// Modules whose text calls what Managed Instance lacks, and a deprecated column type.
fn modules_seed() -> String {
    format!(
        "CREATE DATABASE [{MODULES_DB}]; USE [{MODULES_DB}]; \
         CREATE TABLE dbo.Docs (Id int PRIMARY KEY, Body ntext); \
         EXEC('CREATE PROCEDURE dbo.CopyOrders AS INSERT INTO SalesDb.dbo.T (Id) SELECT Id + 100 FROM dbo.Docs'); \
         EXEC('CREATE PROCEDURE dbo.Transfer AS BEGIN DISTRIBUTED TRANSACTION; UPDATE dbo.Docs SET Id = Id; COMMIT TRANSACTION'); \
         EXEC('CREATE PROCEDURE dbo.WhoRuns AS EXEC master.dbo.xp_cmdshell ''whoami'''); \
         EXEC('CREATE PROCEDURE dbo.MakeFile AS DECLARE @fso int; EXEC sp_OACreate ''Scripting.FileSystemObject'', @fso OUT'); \
         EXEC('CREATE PROCEDURE dbo.MailOld AS EXEC master.dbo.xp_sendmail @recipients = ''dba@contoso.example'', @message = ''done'''); \
         EXEC('CREATE PROCEDURE dbo.AddOldLogin AS EXEC sp_addlogin ''legacy'', ''Legacy#2026'''); \
         USE master"
    )
}

fn files_seed() -> Vec<String> {
    let dir = "/var/opt/mssql/data";
    let mut many = format!("CREATE DATABASE [{MANY_FILES_DB}]; ");
    // The primary data file and the log make two; 279 more make 281.
    for i in 0..279 {
        many.push_str(&format!(
            "ALTER DATABASE [{MANY_FILES_DB}] ADD FILE (NAME = f{i}, FILENAME = '{dir}/{MANY_FILES_DB}_{i}.ndf', SIZE = 8MB); "
        ));
    }
    vec![
        format!(
            "CREATE DATABASE [{SIMPLE_DB}] COLLATE Latin1_General_CS_AS; \
             ALTER DATABASE [{SIMPLE_DB}] SET RECOVERY SIMPLE"
        ),
        // A copy left RESTORING (as a log-shipping secondary is): its catalog cannot be read.
        format!(
            "CREATE DATABASE [{RESTORING_DB}_seed]; \
             BACKUP DATABASE [{RESTORING_DB}_seed] TO DISK = '{{backups}}/restoring.bak'; \
             RESTORE DATABASE [{RESTORING_DB}] FROM DISK = '{{backups}}/restoring.bak' WITH NORECOVERY, \
             MOVE '{RESTORING_DB}_seed' TO '{dir}/{RESTORING_DB}.mdf', MOVE '{RESTORING_DB}_seed_log' TO '{dir}/{RESTORING_DB}_log.ldf'"
        ),
        format!(
            "CREATE DATABASE [{HUGE_DB}]; \
             ALTER DATABASE [{HUGE_DB}] ADD FILE (NAME = Huge1, FILENAME = '{dir}/{HUGE_DB}_1.ndf', SIZE = 9TB); \
             ALTER DATABASE [{HUGE_DB}] ADD FILE (NAME = Huge2, FILENAME = '{dir}/{HUGE_DB}_2.ndf', SIZE = 9TB)"
        ),
        many,
    ]
}

fn main_seed() -> Vec<String> {
    let mut b: Vec<String> = SAMPLES
        .iter()
        .map(|db| {
            format!(
                "CREATE DATABASE [{db}]; CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); \
                 INSERT INTO [{db}].dbo.T VALUES (1), (2)"
            )
        })
        .collect();
    b.extend(ferry_emulator::seed::instance_objects(&SAMPLES));
    b.extend(facts::batches());
    b.push(modules_seed());
    b.extend(files_seed());
    b.push(format!(
        "CREATE DATABASE [{CLEAN_DB}]; CREATE TABLE [{CLEAN_DB}].dbo.T (Id int PRIMARY KEY)"
    ));
    b
}

fn main_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut dbs = SAMPLES.to_vec();
        dbs.extend([
            facts::FILESTREAM_DATABASE,
            facts::IN_MEMORY_DATABASE,
            facts::TWO_LOGS_DATABASE,
            facts::CONTAINED_DATABASE,
            facts::CLR_DATABASE,
            facts::BROKER_DATABASE,
            CLEAN_DB,
            MODULES_DB,
            SIMPLE_DB,
            RESTORING_DB,
            HUGE_DB,
            MANY_FILES_DB,
        ]);
        run("2019", main_seed(), Some(&["InventoryDb"]), &dbs, &[])
    })
}

/// The legacy source: SQL Server 2008 R2 with SQL Mail on, a database at compatibility level
/// 90, and 101 user databases (one more than General Purpose and Business Critical hold).
const LEGACY_DB: &str = "Legacy90";
const SHARDS: usize = 100;

fn legacy_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut seed = vec![
            "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; \
             EXEC sp_configure 'SQL Mail XPs', 1; RECONFIGURE"
                .to_owned(),
            format!(
                "CREATE DATABASE [{LEGACY_DB}]; ALTER DATABASE [{LEGACY_DB}] SET COMPATIBILITY_LEVEL = 90"
            ),
        ];
        seed.push(
            (0..SHARDS)
                .map(|i| format!("CREATE DATABASE [Shard{i:03}]"))
                .collect::<Vec<_>>()
                .join("; "),
        );
        // No Managed Instance yet: the one to be created is assumed Latin1_General_CI_AS.
        let collation = [(
            "target_collation = \"SQL_Latin1_General_CP1_CI_AS\"",
            "target_collation = \"Latin1_General_CI_AS\"",
        )];
        run("2008R2", seed, None, &[LEGACY_DB, "Shard000"], &collation)
    })
}

/// A SQL Server 2025 source, judged for a Managed Instance on the SQL Server 2022 update policy
/// (the example's `update_policy`; no Managed Instance to read), with the database step set to
/// fail a database that has a blocker (`fail_on_blockers = true`), as in front of a method.
fn newer_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let seed = vec![format!("CREATE DATABASE [{CLEAN_DB}]")];
        let fail = [("fail_on_blockers = false", "fail_on_blockers = true")];
        run("2025", seed, None, &[CLEAN_DB], &fail)
    })
}

/// A SQL Server 2019 Express source: an edition without availability groups.
fn express_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let seed = vec![format!("CREATE DATABASE [{CLEAN_DB}]")];
        run("2019-express", seed, None, &[CLEAN_DB], &[])
    })
}

/// The instance step's finding of `rule` on `object`, from its output.
fn finding<'a>(out: &'a Value, rule: &str, object: &str) -> &'a Value {
    out["findings"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|f| f["rule"] == rule && f["object"] == object)
        })
        .unwrap_or_else(|| panic!("no {rule} finding on {object}: {out}"))
}

/// The database step's output for `db`.
fn database_output<'a>(run: &'a Run, db: &str) -> &'a Value {
    &run.events
        .iter()
        .find(|e| e["event"] == "item-done" && e["item"] == db)
        .unwrap_or_else(|| panic!("no item-done for {db}: {}", run.all))["output"]
}

/// Asserts the report rows `<subject>: <rule>` (the instance step's, and a database's own
/// step's): each `status` on General Purpose, the other tiers as `others` says, the notes
/// naming each of `objects`. The rows' notes, joined.
fn rows_of(
    run: &Run,
    subject: &str,
    rule: &str,
    status: &str,
    others: &str,
    objects: &[&str],
) -> String {
    let name = format!("{subject}: {rule}");
    let rows: Vec<Value> = run
        .rows(rule)
        .into_iter()
        .filter(|r| r["name"] == name)
        .collect();
    let want = if subject == "instance" { 1 } else { 2 };
    assert_eq!(rows.len(), want, "{name}: {rows:?}\n{}", run.all);
    let mut notes = String::new();
    for r in &rows {
        assert_eq!(r["status"], status, "{r}");
        let n = r["notes"].as_str().unwrap_or_default();
        assert!(n.contains(&format!("Other tiers: {others}.")), "{r}");
        for o in objects {
            assert!(n.contains(o), "{name} should name {o}: {n}");
        }
        notes.push_str(n);
    }
    notes
}

/// The per-tier severities of `rule`'s finding on `object` of database `db` (its own step's
/// output).
fn db_severity(run: &Run, db: &str, rule: &str, object: &str) -> Value {
    finding(database_output(run, db), rule, object)["severity"].clone()
}

fn tiers(gp: Option<&str>, bc: Option<&str>, ng: Option<&str>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("general-purpose", gp),
        ("business-critical", bc),
        ("next-gen-general-purpose", ng),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    Value::Object(m)
}

const ALL_BLOCK: &str = "business-critical: blocker, next-gen-general-purpose: blocker";
const ALL_WARN: &str = "business-critical: warning, next-gen-general-purpose: warning";
const ALL_INFO: &str = "business-critical: info, next-gen-general-purpose: info";

// ---- the run itself and its report files ----

#[test]
fn the_example_runs_to_the_end_with_every_item_done() {
    for r in [main_run(), legacy_run()] {
        assert!(r.success, "{}", r.all);
        assert!(
            !r.events.iter().any(|e| e["event"] == "item-failed"),
            "{}",
            r.all
        );
    }
    // The sampling window was two samples, taken on the source.
    let sizing = &main_run().instance_output()["sizing"]["measured"];
    assert_eq!(sizing["samples"], 2, "{sizing}");
    assert!(
        sizing["window_seconds"].as_f64().unwrap() >= 1.0,
        "{sizing}"
    );
    assert!(sizing["cpu_count"].as_u64().unwrap() > 0, "{sizing}");
    // Memory from the Memory Manager counter, files from sys.master_files (18 TB and more).
    assert!(sizing["memory_gb"].as_f64().unwrap() > 0.0, "{sizing}");
    assert!(sizing["size_gb"].as_f64().unwrap() > 18_000.0, "{sizing}");
    let tiers = main_run().instance_output()["sizing"]["suggestions"].clone();
    for t in tiers.as_array().unwrap() {
        assert!(!t["reasoning"].as_array().unwrap().is_empty(), "{t}");
    }
}

#[test]
fn the_markdown_html_and_json_reports_hold_the_findings() {
    let r = main_run();
    for row in [
        "| FactsFilestream | assessment | FactsFilestream: filestream | blocked | filestream |",
        "| (instance) | assessment | instance: linked-server-provider | blocked | linked-server-provider |",
        "| HRDb | assessment | HRDb: tde-certificate | warning | tde-certificate |",
    ] {
        assert!(r.report_md.contains(row), "report.md lacks {row}");
    }
    for text in [
        "FactsFilestream: filestream",
        "FactsInMemory: in-memory-oltp",
        "instance: windows-login-unmapped",
        "blocked",
    ] {
        assert!(r.report_html.contains(text), "report.html lacks {text}");
    }
    // A row per rule and database; only the FILESTREAM database's (in both steps) found it.
    let found: Vec<Value> = r
        .rows("filestream")
        .into_iter()
        .filter(|x| x["status"] != "passed")
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|x| x["name"] == "FactsFilestream: filestream")
    );
}

// ---- instance rules ----

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

// ---- database rules ----

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

// ---- nothing against a clean database; a method per database ----

#[test]
fn a_clean_database_has_no_blocker_and_no_warning() {
    let r = main_run();
    for db in [CLEAN_DB, "SalesDb"] {
        let out = database_output(r, db);
        for tier in [
            "general-purpose",
            "business-critical",
            "next-gen-general-purpose",
        ] {
            assert_eq!(out["readiness"][tier]["ready"], true, "{db} {tier}: {out}");
            assert_eq!(out["readiness"][tier]["blockers"], json!([]), "{db}: {out}");
            assert_eq!(out["readiness"][tier]["warnings"], json!([]), "{db}: {out}");
        }
        let mut rows = Vec::new();
        common::assess_rig::collect_rows(&r.report_json, &mut rows);
        let own: Vec<&Value> = rows
            .iter()
            .filter(|x| {
                x["name"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&format!("{db}: "))
            })
            .collect();
        assert!(!own.is_empty());
        assert!(own.iter().all(|x| x["status"] == "passed"), "{db}: {own:?}");
    }
}

#[test]
fn each_database_gets_a_method_with_its_reason() {
    let out = main_run().instance_output();
    let pick = |db: &str| {
        let d = out["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["database"] == db)
            .unwrap_or_else(|| panic!("{db} not assessed: {out}"));
        (
            d["choice"]["pick"].clone(),
            d["choice"]["rationale"].as_str().unwrap().to_owned(),
        )
    };
    // Small and minimal downtime: LRS first.
    let (m, why) = pick(CLEAN_DB);
    assert_eq!(m, "lrs");
    assert!(
        why.contains("minimal downtime") && why.contains("lrs is the first"),
        "{why}"
    );
    // SIMPLE recovery: only native restore.
    let (m, why) = pick(SIMPLE_DB);
    assert_eq!(m, "native");
    assert!(why.contains("lrs cannot (recovery-model"), "{why}");
    // A blocker on the tier: nothing moves it.
    for db in [
        facts::FILESTREAM_DATABASE,
        facts::IN_MEMORY_DATABASE,
        "InventoryDb",
        RESTORING_DB,
    ] {
        let (m, why) = pick(db);
        assert_eq!(m, Value::Null, "{db}: {why}");
    }
    // The drafts hold each database under its method, and none of the blocked ones.
    let drafts = out["drafts"].as_array().unwrap();
    let draft = |method: &str| {
        drafts
            .iter()
            .find(|d| d["method"] == method)
            .unwrap_or_else(|| panic!("no {method} draft: {drafts:?}"))
    };
    let lrs = draft("lrs");
    assert!(
        lrs["databases"]
            .as_array()
            .unwrap()
            .contains(&json!(CLEAN_DB))
    );
    assert!(
        !lrs["databases"]
            .as_array()
            .unwrap()
            .contains(&json!(RESTORING_DB))
    );
    assert_eq!(draft("native")["databases"], json!([SIMPLE_DB]));
    for d in drafts {
        let text = d["text"].as_str().unwrap();
        let parsed: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        // A migration.toml: its wave is the method's databases, its step runs a bundled plugin.
        let wave: Vec<&str> = parsed["waves"][0]["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let listed: Vec<&str> = d["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(wave, listed, "{text}");
        let plugin = parsed["steps"][0]["plugin"].as_str().unwrap();
        assert!(parsed["plugins"][plugin]["bundled"].is_str(), "{text}");
        assert!(
            text.contains("Not in any draft until their blockers are fixed"),
            "{text}"
        );
        assert!(
            !d["databases"]
                .as_array()
                .unwrap()
                .contains(&json!(facts::FILESTREAM_DATABASE))
        );
    }
}
