//! The `storage` capability for share labels, for real: a plugin in the real host, through
//! `ferry apply`, reading and writing a directory by label — with escapes, read-only grants,
//! ungranted labels and blob labels (not supported yet) each refused with a reason.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn a_plugin_uses_a_share_through_its_label() {
    let share = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(share.path().join("Sales")).unwrap();
    std::fs::write(share.path().join("Sales/full.bak"), "0123456789").unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(outside.path(), share.path().join("out")).unwrap();

    let files = [
        r#"{ label = "backups", op = "read", name = "Sales/full.bak", offset = 2, length = 3 }"#,
        r#"{ label = "backups", op = "write", name = "Sales/log/1.trn", data = "log-1" }"#,
        r#"{ label = "backups", op = "list", name = "Sales/" }"#,
        r#"{ label = "backups", op = "stat", name = "Sales/log/1.trn" }"#,
        r#"{ label = "backups", op = "read", name = "../escape", length = 10 }"#,
        r#"{ label = "backups", op = "read", name = "out/secret.txt", length = 10 }"#,
        r#"{ label = "readonly", op = "write", name = "x.txt", data = "x" }"#,
        r#"{ label = "readonly", op = "read", name = "Sales/full.bak", length = 4 }"#,
        r#"{ label = "elsewhere", op = "list" }"#,
        r#"{ label = "blobs", op = "list" }"#,
        r#"{ label = "backups", op = "delete", name = "Sales/log/1.trn" }"#,
    ];
    let wasm = fixture("sql_probe");
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"files\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nfiles = [{}]\n[steps.grants]\nstorage = [\"backups\", \"readonly:read\", \"blobs\"]\nsql = [\"src\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        files.join(", ")
    );
    let env = format!(
        "[sql.src]\nserver = \"localhost\"\nuser = \"sa\"\npassword = \"env:UNUSED_PASSWORD\"\n[storage.backups]\nkind = \"share\"\npath = \"{0}\"\n[storage.readonly]\nkind = \"share\"\npath = \"{0}\"\n[storage.elsewhere]\nkind = \"share\"\npath = \"{1}\"\n[storage.blobs]\nkind = \"blob\"\nurl = \"https://acct.blob.core.windows.net/backups\"\n",
        share.path().display(),
        outside.path().display()
    );
    let site = Site::new(&migration, &env);
    let out = site.run(
        &["apply", "--json", "migration.toml"],
        &[("UNUSED_PASSWORD", "not-used")],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let done: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "item-done")
        .expect("item-done");
    let r = &done["output"]["results"];
    assert_eq!(r[0]["ok"], "234", "{}", r[0]);
    assert_eq!(r[1]["ok"], "written", "{}", r[1]);
    assert_eq!(
        r[2]["ok"],
        serde_json::json!(["Sales/full.bak", "Sales/log/1.trn"])
    );
    assert_eq!(r[3]["ok"], 5);
    let error = |i: usize| r[i]["error"].as_str().unwrap_or_default().to_owned();
    assert!(error(4).contains("not a plain relative name"), "{}", r[4]);
    assert!(
        error(5).contains("leads outside share `backups`"),
        "{}",
        r[5]
    );
    assert!(
        error(6).contains("readonly"),
        "a read grant does not allow writes: {}",
        r[6]
    );
    assert_eq!(r[7]["ok"], "0123", "a read grant allows reads: {}", r[7]);
    assert!(
        error(8).contains("elsewhere"),
        "an ungranted label is denied: {}",
        r[8]
    );
    assert!(error(9).contains("not supported yet"), "{}", r[9]);
    assert_eq!(r[10]["ok"], true, "{}", r[10]);
    assert!(
        !share.path().join("Sales/log/1.trn").exists(),
        "the delete happened on disk"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
        "outside"
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "nothing written outside"
    );
}
