//! The `storage` capability for real: a plugin in the real host, through
//! `ferry apply`, reading and writing a directory by label — with escapes, read-only grants,
//! ungranted labels each refused with a reason; and blob containers on Azurite by SAS or
//! account key, with prefixes, ranged reads, sealed SAS and no secret in any output.

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
    let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    let env = format!(
        "[storage.backups]\nkind = \"share\"\npath = \"{0}\"\n[storage.readonly]\nkind = \"share\"\npath = \"{0}\"\n[storage.elsewhere]\nkind = \"share\"\npath = \"{1}\"\n[storage.blobs]\nkind = \"blob\"\nurl = \"https://acct.blob.core.windows.net/backups\"\n",
        share.path().display(),
        outside.path().display()
    );
    let (results, _, _site) =
        run_files(&files, r#""backups", "readonly:read", "blobs""#, &env, &[]);
    let r = &results;
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
    assert!(
        error(9).contains("needs `sas` or `account_key`"),
        "a blob label without credentials says what to add: {}",
        r[9]
    );
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

/// Runs the probe with `files` against the given environment; returns the results and all
/// the output (for leak checks).
fn run_files(
    files: &[String],
    grants: &str,
    env: &str,
    vars: &[(&str, &str)],
) -> (Value, String, Site) {
    let wasm = fixture("sql_probe");
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"blobs\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nfiles = [{}]\n[steps.grants]\nstorage = [{grants}]\nsql = [\"src\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        files.join(", ")
    );
    let env = format!(
        "[sql.src]\nserver = \"localhost\"\nuser = \"sa\"\npassword = \"env:UNUSED_PASSWORD\"\n{env}"
    );
    let site = Site::new(&migration, &env);
    let mut all: Vec<(&str, &str)> = vec![("UNUSED_PASSWORD", "not-used")];
    all.extend_from_slice(vars);
    let out = site.run(&["apply", "--json", "-v", "migration.toml"], &all);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let done: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "item-done")
        .expect("item-done");
    let journal = std::fs::read(site.journal()).unwrap_or_default();
    let everything = format!("{stdout}\n{stderr}\n{}", String::from_utf8_lossy(&journal));
    (done["output"]["results"].clone(), everything, site)
}

/// Asserts result `i` is an error that mentions `phrase`.
fn refused(r: &Value, i: usize, phrase: &str, why: &str) {
    let error = r[i]["error"].as_str().unwrap_or_default();
    assert!(error.contains(phrase), "{why}: result {i} is {}", r[i]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_uses_blob_containers_on_azurite() {
    use ferry_emulator::azurite::{self, Azurite};
    let az = Azurite::start().unwrap();
    az.create_container("backups").await.unwrap();
    let signed =
        |permissions: &str| azurite::devstore_container_sas("backups", permissions).unwrap();
    let (sas, read_only) = (signed("racwdl"), signed("rl"));
    let expired = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "backups",
        "rl",
        "2001-01-01T00:00:00Z",
    )
    .unwrap();
    let url = az.container_url("backups");
    let env = format!(
        "[storage.blobs]\nkind = \"blob\"\nurl = \"{url}\"\nsas = \"env:BLOB_SAS\"\n\
         [storage.keyed]\nkind = \"blob\"\nurl = \"{url}/Sales\"\naccount_key = \"env:BLOB_KEY\"\n\
         [storage.whole]\nkind = \"blob\"\nurl = \"{url}\"\naccount_key = \"env:BLOB_KEY\"\n\
         [storage.weak]\nkind = \"blob\"\nurl = \"{url}\"\nsas = \"env:WEAK_SAS\"\n\
         [storage.expired]\nkind = \"blob\"\nurl = \"{url}\"\nsas = \"env:OLD_SAS\"\n"
    );
    let files: Vec<String> = [
        r#"{ label = "blobs", op = "write", name = "Sales/full.bak", data = "0123456789" }"#,
        r#"{ label = "blobs", op = "read", name = "Sales/full.bak", offset = 2, length = 3 }"#,
        r#"{ label = "keyed", op = "write", name = "log/1.trn", data = "log-1" }"#,
        r#"{ label = "keyed", op = "list", name = "" }"#,
        r#"{ label = "blobs", op = "list", name = "Sales/" }"#,
        r#"{ label = "keyed", op = "stat", name = "full.bak" }"#,
        r#"{ label = "keyed", op = "stat", name = "missing.bak" }"#,
        r#"{ label = "keyed", op = "read", name = "../outside", length = 4 }"#,
        r#"{ label = "weak", op = "write", name = "x", data = "x" }"#,
        r#"{ label = "whole", op = "sas", data = "rl", length = 60 }"#,
        r#"{ label = "keyed", op = "sas", data = "rl", length = 60 }"#,
        r#"{ label = "blobs", op = "sas", data = "rl", length = 60 }"#,
        r#"{ label = "keyed", op = "delete", name = "log/1.trn" }"#,
        r#"{ label = "keyed", op = "delete", name = "log/1.trn" }"#,
        r#"{ label = "expired", op = "read", name = "Sales/full.bak", length = 4 }"#,
        r#"{ label = "whole", op = "sas", data = "rl", length = 44640 }"#,
        r#"{ label = "whole", op = "sas", data = "rl", length = 44641 }"#,
        r#"{ label = "whole", op = "sas", data = "racwl", length = 10081 }"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (r, everything, _site) = run_files(
        &files,
        r#""blobs", "keyed", "whole", "weak", "expired""#,
        &env,
        &[
            ("BLOB_SAS", &sas),
            ("BLOB_KEY", azurite::ACCOUNT_KEY),
            ("WEAK_SAS", &read_only),
            ("OLD_SAS", &expired),
        ],
    );
    assert_eq!(r[0]["ok"], "written", "{}", r[0]);
    assert_eq!(r[1]["ok"], "234", "a ranged read: {}", r[1]);
    assert_eq!(
        r[2]["ok"], "written",
        "signed from the account key: {}",
        r[2]
    );
    assert_eq!(
        r[3]["ok"],
        serde_json::json!(["full.bak", "log/1.trn"]),
        "names are relative to the label's prefix"
    );
    assert_eq!(
        r[4]["ok"],
        serde_json::json!(["Sales/full.bak", "Sales/log/1.trn"])
    );
    assert_eq!(r[5]["ok"], 10, "{}", r[5]);
    assert!(r[6]["ok"].is_null(), "{}", r[6]);
    refused(&r, 7, "not a blob name", "");
    refused(&r, 8, "access denied", "a read-only SAS cannot write");
    assert_eq!(r[9]["ok"], "sealed", "{}", r[9]);
    refused(&r, 10, "covers only", "no container SAS for a prefix label");
    refused(&r, 11, "account_key", "a fixed-SAS label cannot sign");
    assert_eq!(r[12]["ok"], true);
    assert_eq!(r[13]["ok"], false, "deleting twice says it was not there");
    refused(&r, 14, "access denied", "an expired SAS");
    assert_eq!(
        r[15]["ok"], "sealed",
        "a Read+List SAS lasts the 31 days an LRS job may need: {}",
        r[15]
    );
    refused(&r, 16, "only reads lasts 1 to 44640 minutes", "");
    refused(&r, 17, "can write lasts 1 to 10080 minutes", "");
    for (what, secret) in [
        ("account key", azurite::ACCOUNT_KEY),
        ("SAS", sas.as_str()),
        ("read-only SAS", read_only.as_str()),
        ("expired SAS", expired.as_str()),
    ] {
        let sig = secret.rsplit("sig=").next().unwrap();
        assert!(
            !everything.contains(sig),
            "the {what} leaked into output or journal"
        );
    }
    assert!(!everything.contains(azurite::ACCOUNT_KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_from_share_copies_a_folder_and_a_rerun_skips_what_is_there() {
    use ferry_emulator::azurite::{self, Azurite};
    let az = Azurite::start().unwrap();
    az.create_container("backups").await.unwrap();
    let share = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(share.path().join("Sales/log")).unwrap();
    // 5 MiB and a bit, so 1 MiB blocks give a short last block.
    let full: Vec<u8> = (0..(5 << 20) + 123u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(share.path().join("Sales/full.bak"), &full).unwrap();
    std::fs::write(share.path().join("Sales/log/1.trn"), b"log one").unwrap();
    std::fs::create_dir_all(share.path().join("Hr")).unwrap();
    std::fs::write(share.path().join("Hr/hr-full.bak"), &full[..3 << 20]).unwrap();
    let url = az.container_url("backups");
    let env = format!(
        "[storage.blobs]\nkind = \"blob\"\nurl = \"{url}\"\naccount_key = \"env:BLOB_KEY\"\n\
         [storage.share]\nkind = \"share\"\npath = \"{}\"\n",
        share.path().display()
    );
    let files: Vec<String> = [
        r#"{ label = "blobs", op = "upload", data = "share", name = "Sales", length = 1048576 }"#,
        r#"{ label = "blobs", op = "list", name = "copied/" }"#,
        r#"{ label = "blobs", op = "upload", data = "share", name = "../etc" }"#,
        r#"{ label = "blobs", op = "upload", data = "share", name = "Sales/log", checksum = "none" }"#,
        r#"{ label = "blobs", op = "read", name = "copied/1.trn", length = 100 }"#,
        r#"{ label = "blobs", op = "upload", data = "share", name = "Hr", checksum = "crc64", length = 1048576 }"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // An upload killed halfway: block 1 of full.bak is staged but nothing is committed. Its
    // bytes are a marker, so the blob shows whether the rerun sent that block again.
    let sas = azurite::devstore_container_sas("backups", "racwl").unwrap();
    let container = azure_storage_blob::BlobContainerClient::new(
        azure_core::http::Url::parse(&format!("{url}?{sas}")).unwrap(),
        None,
        None,
    )
    .unwrap();
    let marker = vec![0xABu8; 1 << 20];
    container
        .blob_client("copied/full.bak")
        .block_blob_client()
        .stage_block(
            &ferry_host::storage::upload::block_id(full.len() as u64, 1 << 20, 1),
            marker.len() as u64,
            azure_core::http::RequestContent::from(marker.clone()),
            None,
        )
        .await
        .unwrap();
    let vars = [("BLOB_KEY", azurite::ACCOUNT_KEY)];
    let (r, everything, _site) = run_files(&files, r#""blobs", "share:read""#, &env, &vars);
    assert_eq!(r[0]["operation"], "succeeded", "{}", r[0]);
    let result: Value = serde_json::from_str(r[0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["uploaded"], 2, "{result}");
    assert_eq!(
        result["resumed_blocks"], 1,
        "the staged block was found: {result}"
    );
    assert_eq!(result["bytes"], full.len() as u64 + 7);
    assert_eq!(
        r[1]["ok"],
        serde_json::json!(["copied/full.bak", "copied/log/1.trn"])
    );
    refused(
        &r,
        2,
        "not a plain relative name",
        "a path leaving the share",
    );
    assert_eq!(
        r[3]["operation"], "succeeded",
        "a small file as one Put Blob: {}",
        r[3]
    );
    assert_eq!(r[4]["ok"], "log one", "{}", r[4]);
    assert_eq!(r[5]["operation"], "succeeded", "CRC64 per block: {}", r[5]);
    let loc = ferry_emulator::blob::locate(&format!("{url}/copied/hr-full.bak")).unwrap();
    let hr = ferry_emulator::blob::download(&loc, &sas).await.unwrap();
    assert!(hr == full[..3 << 20], "the CRC64 upload arrived whole");
    let loc = ferry_emulator::blob::locate(&format!("{url}/copied/full.bak")).unwrap();
    let copied = ferry_emulator::blob::download(&loc, &sas).await.unwrap();
    assert_eq!(copied.len(), full.len());
    assert!(copied[..1 << 20] == full[..1 << 20], "block 0 was sent");
    assert!(
        copied[1 << 20..2 << 20] == marker[..],
        "block 1 was committed from the earlier upload, not sent again"
    );
    assert!(
        copied[2 << 20..] == full[2 << 20..],
        "the rest was sent, in order"
    );
    assert!(!everything.contains(azurite::ACCOUNT_KEY));

    // The same upload again finds both blobs complete and sends nothing.
    let (r, _, _site) = run_files(&files[..1], r#""blobs", "share:read""#, &env, &vars);
    let result: Value = serde_json::from_str(r[0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        (result["uploaded"].clone(), result["skipped"].clone()),
        (0.into(), 2.into()),
        "{result}"
    );
}

/// `ferry plan` checks a storage change's grant before recording it: a plan must not list a
/// write or delete its apply would be denied, and planning changes nothing on disk.
#[test]
fn a_plan_lists_only_the_storage_changes_the_grants_allow() {
    let share = tempfile::tempdir().unwrap();
    std::fs::write(share.path().join("keep.txt"), "kept").unwrap();
    let wasm = fixture("sql_probe");
    let files = [
        r#"{ label = "backups", op = "write", name = "granted.txt", data = "x" }"#,
        r#"{ label = "readonly", op = "write", name = "refused.txt", data = "x" }"#,
        r#"{ label = "readonly", op = "delete", name = "keep.txt" }"#,
    ];
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"plan-grants\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nfiles = [{}]\n[steps.grants]\nstorage = [\"backups\", \"readonly:read\"]\nsql = [\"src\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        files.join(", ")
    );
    let env = format!(
        "[sql.src]\nserver = \"localhost\"\nuser = \"sa\"\npassword = \"env:UNUSED_PASSWORD\"\n[storage.backups]\nkind = \"share\"\npath = \"{0}\"\n[storage.readonly]\nkind = \"share\"\npath = \"{0}\"\n",
        share.path().display()
    );
    let site = Site::new(&migration, &env);
    let out = site.run(
        &["plan", "migration.toml"],
        &[("UNUSED_PASSWORD", "not-used")],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("granted.txt"),
        "the granted write is planned:\n{stdout}"
    );
    assert!(
        !stdout.contains("refused.txt") && !stdout.contains("keep.txt"),
        "a change through a read grant is not planned:\n{stdout}"
    );
    assert!(
        !share.path().join("granted.txt").exists(),
        "planning wrote nothing"
    );
    assert!(
        share.path().join("keep.txt").exists(),
        "planning deleted nothing"
    );
}
