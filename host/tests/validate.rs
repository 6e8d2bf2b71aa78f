//! The bundled `validate` plugin through the real `ferry` binary, as its own step after the
//! native-restore step in the same wave: an untouched copy passes every check; rows changed on
//! the target through the emulator's tamper hook (past the change log) are found exactly, by
//! key, and fail the database's row with the keys in its reason.

mod common;

use common::native_rig::item;
use common::validate_rig::*;
use ferry_emulator::instance::Tamper;
use serde_json::Value;

fn show(rows: &[&Value]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {} {}: {}",
                r["status"], r["object_type"], r["name"], r["reason_code"], r["notes"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_copy_passes_every_check() {
    let v = ValidateRig::new(&["Sales"], r#"depth = "full", checkdb = "full""#).await;
    let (out, events, all) = v.apply().await;
    assert!(out.status.success(), "{all}");
    let rows = validate_rows(&events, "Sales");
    let listing = show(&rows);
    eprintln!("{listing}");
    assert!(!rows.is_empty(), "{all}");
    for r in &rows {
        assert!(
            r["status"] == "passed" || r["status"] == "warning",
            "every check passes (warnings are MI's deliberate differences):\n{listing}"
        );
    }
    let kinds: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["object_type"].as_str())
        .collect();
    for k in ["table-count", "table-data", "integrity"] {
        assert!(kinds.contains(&k), "a {k} row:\n{listing}");
    }
    assert!(item(&events, "item-done", "Sales").is_some(), "{all}");
}

/// The names of the failed `table-row` rows with reason `code`.
fn keys_with(rows: &[&Value], code: &str) -> Vec<String> {
    let mut k: Vec<String> = rows
        .iter()
        .filter(|r| r["object_type"] == "table-row" && r["reason_code"] == code)
        .map(|r| {
            assert_eq!(r["status"], "failed", "{r}");
            r["name"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    k.sort();
    k
}

fn row_of<'a>(rows: &[&'a Value], object_type: &str, name: &str) -> &'a Value {
    rows.iter()
        .copied()
        .find(|r| r["object_type"] == object_type && r["name"] == name)
        .unwrap_or_else(|| panic!("no {object_type} row for {name}:\n{}", show(rows)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_changed_on_the_target_are_found_exactly_by_key() {
    let v = ValidateRig::new(&["Sales"], r#"depth = "full""#).await;
    // The first, a middle and the last key changed; keys before the first and after the last
    // added; one inside and the one before the last removed; a value of the keyless table.
    let changes = vec![
        Change::Tamper(
            "Orders",
            Tamper::Update {
                set: "Qty = Qty + 1000".into(),
                filter: Some(format!("Id IN (1, 300, {ORDERS})")),
            },
        ),
        Change::Tamper(
            "Orders",
            Tamper::Insert("VALUES (0, 1, 'zero', 0.25), (9000, 2, 'beyond', 1.5)".into()),
        ),
        Change::Tamper(
            "Orders",
            Tamper::Delete(format!("Id IN (64, {})", ORDERS - 1)),
        ),
        Change::Tamper(
            "Notes",
            Tamper::Update {
                set: "Seq = 30".into(),
                filter: Some("Seq = 3".into()),
            },
        ),
    ];
    let (out, events, all) = v.apply_changing_target("Sales", changes).await;
    assert!(!out.status.success(), "a difference fails the run: {all}");
    let rows = validate_rows(&events, "Sales");
    let listing = show(&rows);
    eprintln!("{listing}");
    assert_eq!(
        keys_with(&rows, "row-changed"),
        [
            "dbo.Orders 1".to_owned(),
            "dbo.Orders 300".into(),
            format!("dbo.Orders {ORDERS}")
        ],
        "{listing}"
    );
    assert_eq!(
        keys_with(&rows, "row-only-on-target"),
        ["dbo.Orders 0", "dbo.Orders 9000"],
        "{listing}"
    );
    assert_eq!(
        keys_with(&rows, "row-missing-on-target"),
        [format!("dbo.Orders {}", ORDERS - 1), "dbo.Orders 64".into()],
        "{listing}"
    );
    // Nothing else differs, and the untouched tables pass.
    let failed: Vec<&&Value> = rows.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(
        failed.len(),
        7 + 2,
        "seven rows, Orders' data, Notes:\n{listing}"
    );
    let data = row_of(&rows, "table-data", "dbo.Orders");
    assert_eq!(data["reason_code"], "different-contents");
    assert!(
        data["notes"].as_str().unwrap().contains("7 row(s) differ"),
        "{data}"
    );
    // Two rows added and two removed: the counts agree, the contents do not.
    assert_eq!(
        row_of(&rows, "table-count", "dbo.Orders")["reason_code"],
        "same-count"
    );
    let notes = row_of(&rows, "table-data", "dbo.Notes");
    assert_eq!(notes["reason_code"], "checksum-differs", "{notes}");
    assert!(
        notes["notes"]
            .as_str()
            .unwrap()
            .contains("CHECKSUM_AGG(BINARY_CHECKSUM(*))"),
        "{notes}"
    );
    assert_eq!(row_of(&rows, "table-data", "dbo.T")["status"], "passed");

    // The database's row fails with the differing keys in its reason.
    let failed = item(&events, "item-failed", "Sales").unwrap_or_else(|| panic!("{all}"));
    let reason = failed["error"].as_str().unwrap();
    for key in [
        "table-row dbo.Orders 0",
        "table-row dbo.Orders 300",
        "table-data dbo.Notes",
    ] {
        assert!(reason.contains(key), "{key} in {reason}");
    }
    // The report lists each key.
    let md = std::fs::read_to_string(v.rig.site.path(".ferry/migration/report.md")).unwrap();
    for key in [
        "dbo.Orders 0 ",
        "dbo.Orders 1 ",
        "dbo.Orders 64 ",
        "dbo.Orders 9000 ",
    ] {
        assert!(
            md.contains(&format!("| table-row | {key}|")),
            "the report lists {key}:\n{md}"
        );
    }
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("validate-report.md"),
        &md,
    )
    .unwrap();
    // Fewer rows read than the table holds: the diff bisected rather than moved the table.
    let data_notes = data["notes"].as_str().unwrap();
    eprintln!("{data_notes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_counts_compares_counts_only_and_sampled_finds_a_change_in_its_ranges() {
    let v = ValidateRig::new(&["Sales"], r#"depth = "counts""#).await;
    // Key 1 is in the first sampled range (sampled ranges start at the first row).
    let note = Change::Tamper(
        "Orders",
        Tamper::Update {
            set: "Note = 'changed'".into(),
            filter: Some("Id = 1".into()),
        },
    );
    let (out, events, all) = v.apply_changing_target("Sales", vec![note]).await;
    assert!(
        out.status.success(),
        "counts alone cannot see a changed value: {all}"
    );
    let rows = validate_rows(&events, "Sales");
    let listing = show(&rows);
    assert_eq!(
        row_of(&rows, "table-count", "dbo.Orders")["status"],
        "passed"
    );
    assert!(
        rows.iter().all(|r| r["object_type"] != "table-data"),
        "no contents compared at depth counts:\n{listing}"
    );

    let (out, events, all) = v
        .revalidate(
            &["Sales"],
            r#"depth = "sampled", sample_ranges = 2, range_rows = 50"#,
        )
        .await;
    assert!(!out.status.success(), "{all}");
    let rows = validate_rows(&events, "Sales");
    let listing = show(&rows);
    assert_eq!(
        keys_with(&rows, "row-changed"),
        ["dbo.Orders 1"],
        "{listing}"
    );
    let data = row_of(&rows, "table-data", "dbo.Orders");
    assert!(
        data["notes"]
            .as_str()
            .unwrap()
            .starts_with("2 sampled range(s) of up to 50 rows"),
        "{data}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkdb_on_a_corrupted_table_fails_with_its_messages_and_an_orphaned_user_with_its_fix() {
    let v = ValidateRig::new(&["Sales"], r#"depth = "counts", checkdb = "physical_only""#).await;
    // A login and its user on the source; the login is not moved, so the user arrives orphaned.
    v.rig
        .on_source("CREATE LOGIN app_reader WITH PASSWORD = 'Str0ng!Passw0rd-x'");
    v.rig
        .on_source("USE [Sales]; CREATE USER app_reader FOR LOGIN app_reader");
    let (out, events, all) = v
        .apply_changing_target("Sales", vec![Change::Corrupt("Orders")])
        .await;
    assert!(!out.status.success(), "{all}");
    let rows = validate_rows(&events, "Sales");
    let listing = show(&rows);
    eprintln!("{listing}");
    let check = row_of(&rows, "integrity", "Sales");
    assert_eq!(check["reason_code"], "checkdb-errors", "{listing}");
    let notes = check["notes"].as_str().unwrap();
    for words in ["error 8939", "Table error: Object ID", "(physical_only)"] {
        assert!(notes.contains(words), "DBCC's message: {words} in {notes}");
    }
    let orphan = row_of(&rows, "orphaned-user", "app_reader");
    assert_eq!(orphan["status"], "failed");
    assert!(
        orphan["notes"]
            .as_str()
            .unwrap()
            .contains("ALTER USER [app_reader] WITH LOGIN = [app_reader];"),
        "{orphan}"
    );
    let failed = item(&events, "item-failed", "Sales").unwrap();
    let reason = failed["error"].as_str().unwrap();
    assert!(
        reason.contains("integrity Sales") && reason.contains("orphaned-user app_reader"),
        "{reason}"
    );
}
