//! A database validated on a scripted pair of servers (FakeHost): identical copies pass, each
//! kind of difference is found and reported, and the source is only ever read.

mod common;

use common::*;
use ferry_sdk::{ObjectStatus, SqlValue};
use serde_json::json;
use validate::Validate;

fn run(
    source: &Shared,
    target: &Shared,
    config: serde_json::Value,
) -> (
    ferry_sdk::fake::FakeHost,
    ferry_sdk::Result<serde_json::Value>,
) {
    let mut host = host(source, target);
    let out = host.run_item::<Validate>(config, DB);
    (host, out)
}

#[test]
fn identical_databases_pass_with_a_row_per_check() {
    let (s, t) = (shared(database()), shared(database()));
    let (host, out) = run(&s, &t, json!({"depth": "full"}));
    let out = out.unwrap_or_else(|e| panic!("{}", e.describe()));
    assert!(failed(&host.rows).is_empty(), "{:?}", failed(&host.rows));
    for kind in [
        "property",
        "object-count",
        "object",
        "module",
        "index",
        "constraint",
        "principal",
        "orphaned-user",
        "role-member",
        "permission",
        "table-count",
        "table-data",
        "compatibility-level",
    ] {
        assert!(!rows_of(&host.rows, kind).is_empty(), "no {kind} row");
    }
    let data = &rows_of(&host.rows, "table-data")[0];
    assert_eq!(data.status, ObjectStatus::Passed);
    assert!(
        data.notes
            .as_deref()
            .unwrap()
            .contains("2000 rows the same"),
        "{:?}",
        data.notes
    );
    // Equal tables: a hash per side, nothing else, after the counts, columns and key.
    assert_eq!(out["data"]["round_trips"], 7);
    assert!(
        host.progress
            .iter()
            .any(|p| p.phase == "data" && p.current.as_deref() == Some("dbo.Orders"))
    );
}

#[test]
fn each_kind_of_difference_is_a_failed_row_and_the_failure_names_them() {
    let s = shared(database());
    let mut target = database();
    target
        .catalogs
        .get_mut("FROM sys.databases WHERE name = @db")
        .unwrap()
        .1[0][0] = t("Latin1_General_CI_AS");
    target
        .rows_mut("sys.objects AS o JOIN")
        .retain(|r| !eq(&r[1], &t("vOrders")));
    target.rows_mut("sys.sql_modules AS m")[0][2] = SqlValue::Binary(vec![0xCD; 32]);
    target.rows_mut("sys.indexes AS i")[0][6] = i(1);
    target.rows_mut("sys.database_role_members").clear();
    target.rows_mut("sys.database_permissions")[0][2] = t("DENY");
    target
        .catalogs
        .get_mut("sys.database_principals WHERE")
        .unwrap()
        .1
        .push(vec![
            t("intruder"),
            t("S"),
            t("SQL_USER"),
            t("NONE"),
            SqlValue::Binary(vec![9]),
        ]);
    let (host, out) = run(&s, &shared(target), json!({"depth": "counts"}));
    let e = out.unwrap_err().describe();
    let failed = failed(&host.rows);
    let has = |kind: &str, name: &str, code: &str| {
        failed
            .iter()
            .any(|(k, n, c)| k == kind && n == name && c == code)
    };
    assert!(has("property", "collation_name", "different"), "{failed:?}");
    assert!(
        has("object", "dbo.vOrders", "missing-on-target"),
        "{failed:?}"
    );
    assert!(
        has("object-count", "VIEW", "missing-on-target"),
        "{failed:?}"
    );
    assert!(has("module", "dbo.vOrders", "different"), "{failed:?}");
    assert!(
        has("index", "dbo.Orders.PK_Orders", "different"),
        "{failed:?}"
    );
    assert!(
        has("role-member", "app in db_datareader", "missing-on-target"),
        "{failed:?}"
    );
    assert!(
        has(
            "permission",
            "GRANT SELECT on OBJECT_OR_COLUMN dbo.Orders to app",
            "missing-on-target"
        ),
        "{failed:?}"
    );
    assert!(
        has(
            "permission",
            "DENY SELECT on OBJECT_OR_COLUMN dbo.Orders to app",
            "only-on-target"
        ),
        "{failed:?}"
    );
    assert!(has("principal", "intruder", "only-on-target"), "{failed:?}");
    assert!(
        e.contains("property collation_name") && e.contains("object dbo.vOrders"),
        "{e}"
    );
    assert!(e.contains("run the validation again"), "{e}");
}

#[test]
fn what_managed_instance_changes_on_purpose_is_explained_not_failed() {
    let mut source = database();
    {
        let p = &mut source
            .catalogs
            .get_mut("FROM sys.databases WHERE name = @db")
            .unwrap()
            .1[0];
        p[1] = t("SIMPLE");
        p[9] = i(0);
    }
    let mut target = database();
    target
        .catalogs
        .get_mut("FROM sys.databases WHERE name = @db")
        .unwrap()
        .1[0][8] = i(1);
    let (host, out) = run(&shared(source), &shared(target), json!({"data": false}));
    out.unwrap_or_else(|e| panic!("{}", e.describe()));
    let warned: Vec<&str> = host
        .rows
        .iter()
        .filter(|r| r.status == ObjectStatus::Warning)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        warned,
        [
            "is_accelerated_database_recovery_on",
            "is_encrypted",
            "recovery_model_desc"
        ]
    );
    let tde = host.rows.iter().find(|r| r.name == "is_encrypted").unwrap();
    assert!(
        tde.notes.as_deref().unwrap().contains("on by default"),
        "{:?}",
        tde.notes
    );
}

#[test]
fn an_orphaned_user_is_reported_with_its_fix() {
    let s = shared(database());
    let mut target = database();
    // The login exists on the MI with another sid (made by hand, not moved with its sid).
    target.rows_mut("SELECT name, sid FROM master.sys.server_principals")[0][1] =
        SqlValue::Binary(vec![7, 7]);
    let (host, out) = run(&s, &shared(target), json!({"data": false}));
    assert!(out.is_err());
    let row = rows_of(&host.rows, "orphaned-user");
    assert_eq!(row.len(), 1);
    assert_eq!(row[0].name, "app");
    assert_eq!(row[0].status, ObjectStatus::Failed);
    let notes = row[0].notes.as_deref().unwrap();
    assert!(notes.contains("0x010203"), "{notes}");
    assert!(
        notes.contains("Login `app_login` exists on the target"),
        "{notes}"
    );
    assert!(
        notes.ends_with("Fix: ALTER USER [app] WITH LOGIN = [app_login];"),
        "{notes}"
    );
}

#[test]
fn an_untrusted_constraint_is_reported_with_its_fix() {
    let s = shared(database());
    let mut target = database();
    target.rows_mut("sys.foreign_keys AS c")[0][5] = i(1);
    let (host, out) = run(&s, &shared(target), json!({"data": false}));
    assert!(
        out.unwrap_err()
            .describe()
            .contains("constraint dbo.Orders.FK_Orders_Customers")
    );
    let row = rows_of(&host.rows, "constraint")
        .into_iter()
        .find(|r| r.status == ObjectStatus::Failed)
        .unwrap();
    assert_eq!(row.reason_code.as_deref(), Some("constraint-not-trusted"));
    assert!(
        row.notes.as_deref().unwrap().ends_with(
            "Fix: ALTER TABLE [dbo].[Orders] WITH CHECK CHECK CONSTRAINT [FK_Orders_Customers];"
        ),
        "{:?}",
        row.notes
    );
}

#[test]
fn a_missing_target_database_stops_with_what_to_do() {
    let s = shared(database());
    let mut target = database();
    target
        .rows_mut("FROM sys.databases WHERE name = @db")
        .clear();
    let (host, out) = run(&s, &shared(target), json!({}));
    assert!(out.unwrap_err().describe().contains("database Sales"));
    assert_eq!(
        failed(&host.rows),
        [(
            "database".to_owned(),
            "Sales".to_owned(),
            "missing-on-target".to_owned()
        )]
    );
    // Nothing else was read on the target.
    assert!(!host.rows.iter().any(|r| r.object_type == "object"));
}

#[test]
fn the_source_is_only_read_even_when_the_target_is_changed() {
    let (s, t) = (shared(database()), shared(database()));
    let cfg = json!({
        "depth": "full",
        "checkdb": "physical_only",
        "compatibility_level": "raise",
        "update_statistics": "fullscan",
    });
    let (host, out) = run(&s, &t, cfg);
    out.unwrap_or_else(|e| panic!("{}", e.describe()));
    assert!(
        host.executed.iter().all(|(label, _)| label == "target"),
        "{:?}",
        host.executed
    );
    let sent: Vec<&str> = host.executed.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        sent,
        [
            "DBCC CHECKDB ([Sales]) WITH NO_INFOMSGS, ALL_ERRORMSGS, PHYSICAL_ONLY",
            "ALTER DATABASE [Sales] SET COMPATIBILITY_LEVEL = 160",
            "UPDATE STATISTICS [Sales].[dbo].[Orders] WITH FULLSCAN;",
        ]
    );
    // CHECKDB and the statistics update are host operations the step waits for.
    let waited: Vec<&str> = host.waits.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        waited,
        [
            "DBCC CHECKDB on the target",
            "updating statistics on the target"
        ]
    );
    let compat = &rows_of(&host.rows, "compatibility-level")[0];
    assert_eq!(compat.status, ObjectStatus::Migrated);
    assert!(compat.notes.as_deref().unwrap().contains("from 150 to 160"));
    assert!(
        s.borrow().seen.iter().all(|q| q.starts_with("SELECT")),
        "a statement other than a SELECT went to the source"
    );
}

#[test]
fn checkdb_errors_fail_the_database_with_what_to_do() {
    let s = shared(database());
    let mut target = database();
    target.fail = Some((
        "DBCC CHECKDB",
        8928,
        "Object ID 581577110, index ID 1: Page (1:153) could not be processed.",
    ));
    let (host, out) = run(
        &s,
        &shared(target),
        json!({"data": false, "checkdb": "full"}),
    );
    assert!(out.unwrap_err().describe().contains("integrity Sales"));
    let row = &rows_of(&host.rows, "integrity")[0];
    assert_eq!(row.reason_code.as_deref(), Some("checkdb-errors"));
    let notes = row.notes.as_deref().unwrap();
    assert!(
        notes.contains("Page (1:153)") && notes.contains("no repair"),
        "{notes}"
    );
}

#[test]
fn a_kept_compatibility_level_that_changed_is_a_difference_with_its_fix() {
    let s = shared(database());
    let mut target = database();
    target.rows_mut("SELECT compatibility_level FROM sys.databases")[0][0] = i(160);
    let (host, out) = run(&s, &shared(target), json!({"data": false}));
    assert!(out.is_err());
    let row = &rows_of(&host.rows, "compatibility-level")[0];
    assert_eq!(row.status, ObjectStatus::Failed);
    assert!(
        row.notes
            .as_deref()
            .unwrap()
            .ends_with("ALTER DATABASE [Sales] SET COMPATIBILITY_LEVEL = 150;")
    );
    assert!(host.executed.is_empty());
}

#[test]
fn a_plan_says_what_will_be_compared_and_reads_nothing() {
    let (s, t) = (shared(database()), shared(database()));
    let mut host = host(&s, &t);
    host.planning = true;
    let cfg = json!({"depth": "full", "checkdb": "full", "update_statistics": "sampled"});
    host.run_item::<Validate>(cfg, DB)
        .unwrap_or_else(|e| panic!("{}", e.describe()));
    assert!(s.borrow().seen.is_empty() && t.borrow().seen.is_empty());
    assert!(host.executed.is_empty());
    let row = &rows_of(&host.rows, "validation")[0];
    let notes = row.notes.as_deref().unwrap();
    assert!(
        notes.contains("properties, objects, security, data (data: full)"),
        "{notes}"
    );
    assert!(notes.contains("DBCC CHECKDB ([Sales])"), "{notes}");
}

#[test]
fn a_windows_user_remapped_to_entra_is_explained() {
    let mut source = database();
    source
        .catalogs
        .get_mut("sys.database_principals WHERE")
        .unwrap()
        .1
        .push(vec![
            t("CONTOSO\\bob"),
            t("U"),
            t("WINDOWS_USER"),
            t("WINDOWS"),
            SqlValue::Binary(vec![5]),
        ]);
    let mut target = database();
    target
        .catalogs
        .get_mut("sys.database_principals WHERE")
        .unwrap()
        .1
        .push(vec![
            t("CONTOSO\\bob"),
            t("E"),
            t("EXTERNAL_USER"),
            t("EXTERNAL"),
            SqlValue::Binary(vec![6]),
        ]);
    let (host, out) = run(&shared(source), &shared(target), json!({"data": false}));
    out.unwrap_or_else(|e| panic!("{}", e.describe()));
    let row = rows_of(&host.rows, "principal")
        .into_iter()
        .find(|r| r.name == "CONTOSO\\bob")
        .unwrap();
    assert_eq!(row.status, ObjectStatus::Warning);
    assert!(
        row.notes
            .as_deref()
            .unwrap()
            .contains("remapped to Microsoft Entra")
    );
}

#[test]
fn a_checkdb_a_restarted_ferry_does_not_know_is_started_again() {
    let (s, t) = (shared(database()), shared(database()));
    let mut host = host(&s, &t);
    let state = json!({
        "phase": "integrity",
        "tally": {"passed": 0, "differences": 0, "expected": 0, "not_compared": 0, "named": []},
        "tables": [],
        "integrity": {"at": "checking-db", "op": "sql-from-before-the-restart"},
    })
    .to_string();
    let cfg = json!({"checkdb": "full"});
    let ctx = host.context(&cfg, DB, 2);
    let out = ferry_sdk::run_step::<Validate>(&mut host, ctx, Some(&state)).unwrap();
    let ferry_sdk::bindings::ferry::plugin::types::Outcome::Next(next) = out else {
        panic!("{out:?}");
    };
    assert!(next.contains("\"at\":\"checkdb\""), "{next}");
    assert!(host.executed.is_empty());
    let ctx = host.context(&cfg, DB, 1);
    ferry_sdk::run_step::<Validate>(&mut host, ctx, Some(&next)).unwrap();
    assert_eq!(host.executed.len(), 1, "{:?}", host.executed);
}
