//! Facts a server's version or a read grant makes harder to read, through the plugin on
//! FakeHost: each is read another documented way, or said to be unknown.

mod common;

use common::{Source, row, run};
use ferry_sdk::Level;
use serde_json::json;

#[test]
fn trace_flags_come_from_the_startup_parameters_when_dbcc_is_refused() {
    let s = Source {
        dbcc_denied: true,
        startup_args: vec![
            "-dC:\\data\\master.mdf".into(),
            "-T1117".into(),
            "-T3226".into(),
        ],
        ..Source::default()
    };
    let (out, h) = run(s, "(instance)", json!({"databases": ["Sales"]}));
    let out = out.unwrap();
    let notes = row(&h.rows, "instance: trace-flags")
        .unwrap()
        .notes
        .clone()
        .unwrap();
    assert!(
        notes.contains("1117, 3226") && notes.contains("sys.dm_server_registry"),
        "{notes}"
    );
    assert!(
        out["instance"]["trace_flags_source"]
            .as_str()
            .unwrap()
            .contains("startup parameters")
    );
}

#[test]
fn sql_server_2008_s_sys_info_still_gives_the_cpu_count() {
    let s = Source {
        sys_info_2008: true,
        version: "10.50.6000.34".into(),
        ..Source::default()
    };
    let (out, _) = run(s, "(instance)", json!({"databases": ["Sales"]}));
    let out = out.unwrap();
    assert_eq!(out["sizing"]["measured"]["cpu_count"], 8);
}

#[test]
fn module_text_cut_to_the_limit_is_said() {
    let mut s = Source::default();
    s.db_mut("Sales").modules_truncated = true;
    let (out, h) = run(s, "Sales", json!({}));
    let out = out.unwrap();
    assert_eq!(out["modules_truncated"], true);
    assert!(
        h.logs
            .iter()
            .any(|(l, m)| *l == Level::Warn && m.contains("[Sales]'s module text was cut"))
    );
}

#[test]
fn the_instance_step_reports_each_database_s_rows_as_it_assesses_it() {
    let mut s = Source::default();
    s.db_mut("Hr").filegroups.push("FD".into());
    let (out, h) = run(s, "(instance)", json!({}));
    out.unwrap();
    assert!(row(&h.rows, "Hr: filestream").is_some());
    assert!(row(&h.rows, "Hr: method").is_some());
    assert!(row(&h.rows, "Sales: method").is_some());
}

#[test]
fn a_database_whose_catalog_refuses_the_login_is_assessed_from_the_instance_s_views() {
    let mut s = Source::default();
    s.db_mut("Hr").refuses = true;
    let (out, h) = run(s, "(instance)", json!({}));
    let out = out.unwrap();
    let notes = row(&h.rows, "Hr: database-not-read")
        .unwrap()
        .notes
        .clone()
        .unwrap();
    assert!(
        notes.contains("916") || notes.contains("not able to access"),
        "{notes}"
    );
    // Its size still comes from sys.master_files, and it still gets a method.
    let hr = out["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["database"] == "Hr")
        .unwrap();
    assert_eq!(hr["choice"]["size_gb"], 201);
    assert_eq!(hr["choice"]["pick"], "mi-link");
}

#[test]
fn text_ntext_and_image_columns_are_deprecated_features() {
    let mut s = Source::default();
    s.db_mut("Sales")
        .deprecated_columns
        .push(("Notes".into(), "Body".into(), "ntext".into()));
    let (out, h) = run(s, "Sales", json!({}));
    out.unwrap();
    let notes = row(&h.rows, "Sales: deprecated-features")
        .unwrap()
        .notes
        .clone()
        .unwrap();
    assert!(
        notes.contains("Sales.dbo.Notes.Body: ntext column (deprecated: use nvarchar(max))"),
        "{notes}"
    );
}
