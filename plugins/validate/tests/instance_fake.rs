//! The instance comparison (`scope = "instance"`): logins, roles, jobs with their steps,
//! operators, linked servers, credentials and audits; every difference a row.

mod common;

use common::*;
use ferry_sdk::ObjectStatus;
use serde_json::json;
use validate::{INSTANCE_ITEM, Validate};

fn instance() -> Server {
    Server::default()
        .catalog(
            "WHERE type IN ('S'",
            &["name", "type_desc", "is_disabled"],
            vec![
                vec![t("app_login"), t("SQL_LOGIN"), i(0)],
                vec![t("##MS_PolicyEventProcessingLogin##"), t("SQL_LOGIN"), i(1)],
                vec![t("NT SERVICE\\SQLSERVERAGENT"), t("WINDOWS_LOGIN"), i(0)],
            ],
        )
        .catalog("WHERE type = 'R'", &["name"], vec![vec![t("auditors")]])
        .catalog(
            "msdb.dbo.sysjobs",
            &["job_name", "enabled", "step_id", "subsystem"],
            vec![
                vec![t("nightly"), i(1), i(1), t("TSQL")],
                vec![t("nightly"), i(1), i(2), t("CmdExec")],
                vec![
                    t("empty"),
                    i(0),
                    ferry_sdk::SqlValue::Null,
                    ferry_sdk::SqlValue::Null,
                ],
            ],
        )
        .catalog(
            "msdb.dbo.sysoperators",
            &["name", "enabled"],
            vec![vec![t("dba"), i(1)]],
        )
        .catalog(
            "master.sys.servers",
            &["name", "product", "provider"],
            vec![vec![t("REPORTS"), t("SQL Server"), t("MSOLEDBSQL")]],
        )
}

#[test]
fn the_same_instance_passes() {
    let (s, t) = (shared(instance()), shared(instance()));
    let mut host = host(&s, &t);
    host.run_item::<Validate>(json!({}), INSTANCE_ITEM)
        .unwrap_or_else(|e| panic!("{}", e.describe()));
    assert!(failed(&host.rows).is_empty());
    let jobs = rows_of(&host.rows, "agent-job");
    assert_eq!(jobs.len(), 1);
    assert!(
        jobs[0]
            .notes
            .as_deref()
            .unwrap()
            .starts_with("2 of 2 Agent jobs")
    );
    // No database was looked at.
    assert!(rows_of(&host.rows, "table-count").is_empty());
}

#[test]
fn each_difference_is_a_row_and_builtin_logins_are_left_out() {
    let s = shared(instance());
    let mut target = instance();
    target
        .rows_mut("WHERE type IN ('S'")
        .retain(|r| eq(&r[0], &t("app_login")));
    target
        .rows_mut("msdb.dbo.sysjobs")
        .retain(|r| !eq(&r[2], &i(2)));
    target.rows_mut("msdb.dbo.sysoperators").clear();
    target.rows_mut("master.sys.servers")[0][2] = t("SQLNCLI11");
    let mut host = host(&s, &shared(target));
    let e = host
        .run_item::<Validate>(json!({}), INSTANCE_ITEM)
        .unwrap_err()
        .describe();
    let failed = failed(&host.rows);
    assert_eq!(
        failed,
        [
            (
                "agent-operator".into(),
                "dba".into(),
                "missing-on-target".into()
            ),
            ("linked-server".into(), "REPORTS".into(), "different".into()),
            ("agent-job".into(), "nightly".into(), "different".into()),
        ],
    );
    let job = rows_of(&host.rows, "agent-job")
        .into_iter()
        .find(|r| r.status == ObjectStatus::Failed)
        .unwrap();
    assert_eq!(
        job.notes.as_deref().unwrap(),
        "Source: 2 step(s): TSQL, CmdExec, enabled; target: 1 step(s): TSQL, enabled."
    );
    assert!(e.contains("3 difference(s)"), "{e}");
}

#[test]
fn a_family_a_server_lacks_is_reported_not_compared() {
    let s = shared(instance());
    let mut target = instance();
    target.fail = Some((
        "msdb.dbo.sysoperators",
        208,
        "Invalid object name 'msdb.dbo.sysoperators'.",
    ));
    let mut host = host(&s, &shared(target));
    host.run_item::<Validate>(json!({}), INSTANCE_ITEM)
        .unwrap_or_else(|e| panic!("{}", e.describe()));
    let row = &rows_of(&host.rows, "agent-operator")[0];
    assert_eq!(row.status, ObjectStatus::Skipped);
    assert!(
        row.notes
            .as_deref()
            .unwrap()
            .starts_with("The target has no msdb.dbo.sysoperators")
    );
}

#[test]
fn excluded_logins_are_left_out_and_windows_ones_say_where_they_went() {
    let mut source = instance();
    source
        .rows_mut("WHERE type IN ('S'")
        .push(vec![t("CONTOSO\\bob"), t("WINDOWS_LOGIN"), i(0)]);
    let mut target = instance();
    target
        .rows_mut("WHERE type IN ('S'")
        .push(vec![t("miadmin"), t("SQL_LOGIN"), i(0)]);
    let (s, tg) = (shared(source), shared(target));
    let mut host = host(&s, &tg);
    let cfg = json!({"exclude_logins": ["MIADMIN"]});
    assert!(host.run_item::<Validate>(cfg, INSTANCE_ITEM).is_err());
    let failed = failed(&host.rows);
    assert_eq!(
        failed,
        [(
            "login".into(),
            "CONTOSO\\bob".into(),
            "missing-on-target".into()
        )]
    );
    let row = rows_of(&host.rows, "login")
        .into_iter()
        .find(|r| r.status == ObjectStatus::Failed)
        .unwrap();
    assert!(row.notes.as_deref().unwrap().contains("no Windows logins"));
    let mut host = common::host(&s, &tg);
    let cfg = json!({"exclude_logins": ["miadmin", "contoso\\*"]});
    host.run_item::<Validate>(cfg, INSTANCE_ITEM)
        .unwrap_or_else(|e| panic!("{}", e.describe()));
}
