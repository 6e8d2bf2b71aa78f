//! The Agent families on a scripted msdb (FakeHost): what each Managed Instance rule does to
//! an operator or a job, that a second pass finds everything unchanged, and conflicts.

mod msdb_fake;

use std::cell::RefCell;
use std::rc::Rc;

use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use msdb_fake::agent::{JOBS, SCHEDULES, STEPS, apply};
use msdb_fake::*;

fn base(db: &mut Db) {
    db.login(1, "sa", &[1], "S");
    for (id, class, kind, name) in [
        (0, 1, 1, "[Uncategorized (Local)]"),
        (3, 1, 1, "Database Maintenance"),
        (99, 3, 3, "[Uncategorized]"),
    ] {
        db.add(
            "msdb.dbo.syscategories",
            row(&[
                ("category_id", i(id)),
                ("category_class", i(class)),
                ("category_type", i(kind)),
                ("name", t(name)),
            ]),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn job(
    db: &mut Db,
    id: &str,
    name: &str,
    owner: &[u8],
    category: i64,
    origin: i64,
    notify: [i64; 4],
    start: i64,
) {
    db.add(
        JOBS,
        row(&[
            ("job_id", t(id)),
            ("name", t(name)),
            ("enabled", i(1)),
            ("description", t("")),
            ("start_step_id", i(start)),
            ("category_id", i(category)),
            ("owner_sid", SqlValue::Binary(owner.to_vec())),
            ("originating_server_id", i(origin)),
            ("notify_level_eventlog", i(notify[0])),
            ("notify_level_email", i(notify[1])),
            ("notify_level_page", i(notify[2])),
            ("notify_email_operator_id", i(notify[3])),
            ("delete_level", i(0)),
        ]),
    );
    db.add(
        "msdb.dbo.sysjobservers",
        row(&[("job_id", t(id)), ("server_id", i(0))]),
    );
}

fn step(
    db: &mut Db,
    job: &str,
    id: i64,
    name: &str,
    subsystem: &str,
    output: &str,
    proxy: Option<i64>,
) {
    db.add(
        STEPS,
        row(&[
            ("job_id", t(job)),
            ("step_id", i(id)),
            ("step_name", t(name)),
            ("subsystem", t(subsystem)),
            ("command", t("EXEC dbo.nightly 'it''s'")),
            ("database_name", t("Sales")),
            ("on_success_action", i(1)),
            ("on_success_step_id", i(0)),
            ("on_fail_action", i(2)),
            ("on_fail_step_id", i(0)),
            ("retry_attempts", i(1)),
            ("retry_interval", i(5)),
            ("flags", i(if output.is_empty() { 0 } else { 2 })),
            (
                "output_file_name",
                if output.is_empty() {
                    SqlValue::Null
                } else {
                    t(output)
                },
            ),
            ("proxy_id", proxy.map_or(SqlValue::Null, i)),
        ]),
    );
}

fn schedule(db: &mut Db, job: &str, id: i64, name: &str, freq_type: i64) {
    db.add(
        SCHEDULES,
        row(&[
            ("schedule_id", i(id)),
            ("name", t(name)),
            ("enabled", i(1)),
            ("freq_type", i(freq_type)),
            ("freq_interval", i(1)),
            ("freq_subday_type", i(1)),
            ("freq_subday_interval", i(0)),
            ("freq_relative_interval", i(0)),
            ("freq_recurrence_factor", i(0)),
            ("active_start_date", i(20240101)),
            ("active_end_date", i(99991231)),
            ("active_start_time", i(10000)),
            ("active_end_time", i(235959)),
        ]),
    );
    db.add(
        "msdb.dbo.sysjobschedules",
        row(&[("job_id", t(job)), ("schedule_id", i(id))]),
    );
}

fn source() -> Db {
    let mut db = Db::default();
    base(&mut db);
    db.login(260, "app", &[0xAA; 16], "S");
    db.login(262, "CONTOSO\\bob", &[0xCC; 28], "U");
    db.login(263, "FABRIKAM\\eve", &[0xDD; 28], "U");
    db.add(
        "msdb.dbo.syscategories",
        row(&[
            ("category_id", i(100)),
            ("category_class", i(1)),
            ("category_type", i(1)),
            ("name", t("ETL")),
        ]),
    );
    db.add(
        "msdb.dbo.syscategories",
        row(&[
            ("category_id", i(101)),
            ("category_class", i(1)),
            ("category_type", i(2)),
            ("name", t("MSX jobs")),
        ]),
    );
    db.add(
        "msdb.dbo.syscategories",
        row(&[
            ("category_id", i(102)),
            ("category_class", i(3)),
            ("category_type", i(3)),
            ("name", t("On call")),
        ]),
    );
    db.add(
        "msdb.dbo.sysoperators",
        row(&[
            ("id", i(1)),
            ("name", t("DBA Team")),
            ("enabled", i(1)),
            ("email_address", t("dba@contoso.com")),
            ("pager_address", t("555-0100")),
            ("pager_days", i(62)),
            ("category_id", i(102)),
        ]),
    );
    db.add(
        "msdb.dbo.sysoperators",
        row(&[
            ("id", i(2)),
            ("name", t("Night Ops")),
            ("enabled", i(1)),
            ("netsend_address", t("OPS01")),
            ("category_id", i(99)),
        ]),
    );
    db.add(
        "msdb.dbo.sysproxies",
        row(&[("proxy_id", i(1)), ("name", t("ETL proxy"))]),
    );

    job(&mut db, "J1", "Nightly backup", &[1], 3, 0, [2, 2, 0, 1], 1);
    step(
        &mut db,
        "J1",
        1,
        "backup",
        "TSQL",
        "D:\\logs\\backup.txt",
        None,
    );
    schedule(&mut db, "J1", 1, "Daily", 4);
    job(
        &mut db,
        "J2",
        "ETL load",
        &[0xCC; 28],
        100,
        0,
        [0, 0, 0, 0],
        2,
    );
    step(&mut db, "J2", 1, "extract", "SSIS", "", Some(1));
    step(&mut db, "J2", 2, "shell", "PowerShell", "", None);
    schedule(&mut db, "J2", 2, "At start", 64);
    job(
        &mut db,
        "J3",
        "Merge agent",
        &[0xAA; 16],
        0,
        0,
        [0, 0, 0, 0],
        1,
    );
    step(&mut db, "J3", 1, "check", "TSQL", "", None);
    step(&mut db, "J3", 2, "merge", "Merge", "", None);
    job(&mut db, "J4", "Idle cleanup", &[1], 0, 0, [0, 0, 0, 0], 1);
    step(&mut db, "J4", 1, "cleanup", "TSQL", "", None);
    schedule(&mut db, "J4", 3, "When idle", 128);
    job(
        &mut db,
        "J5",
        "Eve's job",
        &[0xDD; 28],
        0,
        0,
        [0, 0, 0, 0],
        1,
    );
    job(&mut db, "J6", "From master", &[1], 0, 1, [0, 0, 0, 0], 1);
    job(&mut db, "J7", "Paged", &[0xAA; 16], 0, 0, [0, 0, 2, 0], 1);
    step(&mut db, "J7", 1, "work", "TSQL", "", None);
    job(&mut db, "J8", "Orphan", &[0xEE; 28], 0, 0, [0, 0, 0, 0], 1);
    db.add(
        "msdb.dbo.sysalerts",
        row(&[
            ("id", i(1)),
            ("name", t("Severity 017")),
            ("job_id", t("J1")),
        ]),
    );
    db.add(
        "msdb.dbo.sysnotifications",
        row(&[("alert_id", i(1)), ("operator_id", i(1))]),
    );
    db
}

fn target() -> Rc<RefCell<Db>> {
    let mut db = Db::default();
    base(&mut db);
    db.login(300, "app", &[0xAA; 16], "S");
    db.login(301, "bob@contoso.com", &[0x11; 16], "E");
    for name in ["master", "msdb", "Sales"] {
        db.add("sys.databases", row(&[("name", t(name))]));
    }
    Rc::new(RefCell::new(db))
}

/// A statement without its comment lines (the decision's notes).
fn calls_only(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn families() -> serde_json::Value {
    config(&["agent_operators", "agent_jobs"])
}

fn status(
    h: &ferry_sdk::fake::FakeHost,
    kind: &str,
    name: &str,
) -> (ObjectStatus, Option<String>, String) {
    let r = h
        .rows
        .iter()
        .find(|r| r.object_type == kind && r.name == name)
        .unwrap_or_else(|| panic!("no {kind} row for {name}: {:#?}", h.rows));
    (
        r.status,
        r.reason_code.clone(),
        r.notes.clone().unwrap_or_default(),
    )
}

#[test]
fn each_managed_instance_rule_is_a_note_or_a_refusal_and_a_second_pass_changes_nothing() {
    let dst = target();
    let mut h = host(source(), dst.clone(), apply);
    let out = h
        .run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();

    let (s, _, notes) = status(&h, "agent-operator", "DBA Team");
    assert_eq!(s, ObjectStatus::Migrated);
    assert!(notes.contains("pager `555-0100` dropped"), "{notes}");
    let (s, _, notes) = status(&h, "agent-operator", "Night Ops");
    assert_eq!(s, ObjectStatus::Migrated);
    assert!(
        notes.contains("net send `OPS01` dropped") && notes.contains("no e-mail address"),
        "{notes}"
    );
    assert_eq!(
        status(&h, "agent-category", "ETL").0,
        ObjectStatus::Migrated
    );
    assert_eq!(
        status(&h, "agent-category", "On call").0,
        ObjectStatus::Migrated
    );
    assert_eq!(
        status(&h, "agent-category", "MSX jobs").1.as_deref(),
        Some("multi-server")
    );

    let (s, _, notes) = status(&h, "agent-job", "Nightly backup");
    assert_eq!(s, ObjectStatus::Migrated, "{notes}");
    assert!(
        notes.contains("output file `D:\\logs\\backup.txt` dropped"),
        "{notes}"
    );
    assert!(notes.contains("event log notification dropped"), "{notes}");
    assert!(
        notes.contains("AzureManagedInstance_dbmail_profile"),
        "{notes}"
    );
    let (s, _, notes) = status(&h, "agent-job", "ETL load");
    assert_eq!(s, ObjectStatus::Migrated, "{notes}");
    assert!(
        notes.contains("owner `CONTOSO\\bob` becomes `bob@contoso.com`"),
        "{notes}"
    );
    assert!(notes.contains("proxy `ETL proxy` dropped"), "{notes}");
    assert!(
        notes.contains("PowerShell step") && notes.contains("verify"),
        "{notes}"
    );
    assert!(notes.contains("after every failover"), "{notes}");
    let (s, code, notes) = status(&h, "agent-job", "Merge agent");
    assert_eq!(
        (s, code.as_deref()),
        (ObjectStatus::Refused, Some("unsupported-subsystem"))
    );
    assert!(
        notes.contains("step 2 `merge` uses the Merge subsystem"),
        "{notes}"
    );
    assert_eq!(
        status(&h, "agent-job", "Idle cleanup").1.as_deref(),
        Some("cpu-idle-schedule")
    );
    let (_, code, notes) = status(&h, "agent-job", "Eve's job");
    assert_eq!(code.as_deref(), Some("windows-unmapped"));
    assert!(notes.contains("FABRIKAM\\eve"), "{notes}");
    assert_eq!(
        status(&h, "agent-job", "From master").1.as_deref(),
        Some("multi-server-job")
    );
    let (s, _, notes) = status(&h, "agent-job", "Paged");
    assert_eq!(s, ObjectStatus::Migrated);
    assert!(notes.contains("pager notification dropped"), "{notes}");
    let (s, code, notes) = status(&h, "agent-alert", "Severity 017");
    assert_eq!(
        (s, code.as_deref()),
        (ObjectStatus::Skipped, Some("alerts-unsupported"))
    );
    assert!(
        notes.contains("runs job `Nightly backup`") && notes.contains("notifies DBA Team"),
        "{notes}"
    );

    let sent: Vec<String> = h.executed.iter().map(|(_, s)| calls_only(s)).collect();
    let backup = sent
        .iter()
        .find(|s| s.contains("sp_add_job @job_name = N'Nightly backup'"))
        .unwrap();
    // Database Maintenance is msdb's own category: the default needs no name.
    assert!(
        backup.contains("@owner_login_name = N'sa'")
            && backup.contains("@notify_level_eventlog = 0")
            && !backup.contains("@category_name"),
        "{backup}"
    );
    assert!(
        sent.iter().any(
            |s| s.contains("sp_add_jobstep @job_name = N'Nightly backup'")
                && s.contains("@command = N'EXEC dbo.nightly ''it''''s'''")
                && s.contains("@flags = 0")
        ),
        "{sent:#?}"
    );
    assert!(
        sent.iter().any(|s| s.contains("DECLARE @schedule_id int;")
            && s.contains(
                "sp_attach_schedule @job_name = N'Nightly backup', @schedule_id = @schedule_id"
            )),
        "{sent:#?}"
    );
    assert!(sent.iter().any(|s| s.contains("sp_update_job @job_name = N'Nightly backup', @notify_level_email = 2, @notify_email_operator_name = N'DBA Team'")));
    assert!(
        sent.iter()
            .any(|s| s.contains("sp_update_job @job_name = N'ETL load', @start_step_id = 2"))
    );
    assert!(
        sent.iter()
            .any(|s| s.contains("@owner_login_name = N'bob@contoso.com'"))
    );
    assert!(
        !sent.iter().any(|s| s.contains("output_file")
            || s.contains("proxy")
            || s.contains("Merge agent")
            || s.contains("pager")),
        "{sent:#?}"
    );
    // Every batch is one call (the schedule's is its add and its attach), so the .sql file runs
    // top to bottom.
    for s in &sent {
        let n = calls(s).len();
        assert!(
            n == 1 || (n == 2 && s.contains("DECLARE @schedule_id")),
            "{s}"
        );
    }
    assert_eq!(out["refused"], 6, "{out}");
    let (_, code, notes) = status(&h, "agent-job", "Orphan");
    assert_eq!(code.as_deref(), Some("owner-unknown"));
    assert!(notes.contains("0xEEEE"), "{notes}");

    let mut again = host(source(), dst, apply);
    let out = again
        .run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();
    assert!(again.executed.is_empty(), "{:#?}", again.executed);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert_eq!(out["unchanged"], 7, "{out}: {:#?}", again.rows);
}

#[test]
fn a_job_that_differs_is_a_conflict_and_replace_remakes_it() {
    let dst = target();
    let mut h = host(source(), dst.clone(), apply);
    h.run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();
    for r in dst.borrow_mut().rows_mut(STEPS) {
        if cell_text(r, "step_name") == "backup" {
            r.insert("command".into(), t("SELECT 1"));
        }
    }
    let mut h = host(source(), dst.clone(), apply);
    let out = h
        .run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();
    let (s, code, notes) = status(&h, "agent-job", "Nightly backup");
    assert_eq!(
        (s, code.as_deref()),
        (ObjectStatus::Conflict, Some("differs-on-target"))
    );
    assert!(notes.contains("its steps differ"), "{notes}");
    assert!(h.executed.is_empty());
    assert_eq!(out["conflict"], 1);

    let mut replace = families();
    replace["replace"] = serde_json::json!(true);
    let mut h = host(source(), dst.clone(), apply);
    h.run_item::<InstanceObjects>(replace, "(instance)")
        .unwrap();
    let sent: Vec<&str> = h.executed.iter().map(|(_, s)| s.as_str()).collect();
    assert!(
        sent[0]
            .contains("sp_delete_job @job_name = N'Nightly backup', @delete_unused_schedule = 1"),
        "{sent:#?}"
    );
    assert!(
        sent[1].contains("sp_add_job @job_name = N'Nightly backup'"),
        "{sent:#?}"
    );
    assert_eq!(
        dst.borrow().rows(SCHEDULES).len(),
        2,
        "the old schedule went with the job"
    );

    let mut h = host(source(), dst, apply);
    let out = h
        .run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();
    assert!(h.executed.is_empty(), "{:#?}", h.executed);
    assert_eq!(out["conflict"], 0, "{out}: {:#?}", h.rows);
}

#[test]
fn an_operator_that_differs_is_updated_in_place_with_replace() {
    let dst = target();
    host(source(), dst.clone(), apply)
        .run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();
    for r in dst.borrow_mut().rows_mut("msdb.dbo.sysoperators") {
        if cell_text(r, "name") == "DBA Team" {
            r.insert("email_address".into(), t("old@contoso.com"));
        }
    }
    let mut h = host(source(), dst.clone(), apply);
    h.run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();
    let (s, _, notes) = status(&h, "agent-operator", "DBA Team");
    assert_eq!(s, ObjectStatus::Conflict);
    assert!(
        notes.contains("its e-mail address there is `old@contoso.com`"),
        "{notes}"
    );

    let mut replace = families();
    replace["replace"] = serde_json::json!(true);
    let mut h = host(source(), dst.clone(), apply);
    h.run_item::<InstanceObjects>(replace, "(instance)")
        .unwrap();
    let sent: Vec<String> = h.executed.iter().map(|(_, s)| calls_only(s)).collect();
    assert_eq!(
        sent,
        [
            "EXEC msdb.dbo.sp_update_operator @name = N'DBA Team', @enabled = 1, \
          @email_address = N'dba@contoso.com', @category_name = N'On call'"
        ]
    );
    let mut h = host(source(), dst, apply);
    let out = h
        .run_item::<InstanceObjects>(families(), "(instance)")
        .unwrap();
    assert!(h.executed.is_empty(), "{:#?}", h.executed);
    assert_eq!(out["conflict"], 0, "{out}");
}
