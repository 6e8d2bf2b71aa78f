//! The emulated ARM front end held to an outside client: Microsoft's own Python SDK
//! (`azure-mgmt-sql`, pinned in tests/arm_sdk/requirements.txt) drives the whole LRS flow over
//! HTTPS — listing managed instances, the start as a long-running operation, restoreDetails
//! read through its typed models, completeRestore, a failure with an unrestorable file, and
//! delete — and fails on any answer its models cannot take (tests/arm_sdk/lrs_flow.py).

mod common;

use std::time::Duration;

use common::lrs_rig::{Rig, TOKEN};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_mgmt_sql_runs_the_lrs_flow_against_the_emulator() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import azure.mgmt.sql"])
        .output()
        .expect("python3 must be installed");
    assert!(
        probe.status.success(),
        "azure-mgmt-sql is not installed: `python3 -m pip install -r emulator/tests/arm_sdk/requirements.txt` (scripts/test does): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let rig = Rig::with(false, true).await;
    let dir = tempfile::tempdir().unwrap();

    rig.seed("Good");
    let good = rig.folder("Good");
    rig.backup("DATABASE", "Good", &good, "good_full.bak");
    rig.source("INSERT INTO [Good].dbo.T VALUES (2)");
    rig.backup("LOG", "Good", &good, "good_log1.trn");

    // Broken/ holds a full backup, its first log and a note; the second log is taken
    // elsewhere and the third staged, so that copying the third in leaves a gap.
    rig.seed("Broken");
    let broken = rig.folder("Broken");
    let stage = rig.folder("Stage");
    rig.backup("DATABASE", "Broken", &broken, "broken_full.bak");
    rig.source("INSERT INTO [Broken].dbo.T VALUES (2)");
    rig.backup("LOG", "Broken", &broken, "broken_log1.trn");
    rig.source("INSERT INTO [Broken].dbo.T VALUES (3)");
    rig.backup("LOG", "Broken", &stage, "broken_log2.trn");
    rig.source("INSERT INTO [Broken].dbo.T VALUES (4)");
    rig.backup("LOG", "Broken", &stage, "broken_log3.trn");
    rig.put_text_blob(&broken, "notes.txt").await;

    let rwl = ferry_emulator::azurite::devstore_container_sas("migration", "racwl").unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &rig.certs.ca_pem).unwrap();
    let config = json!({
        "endpoint": rig.arm.endpoint(),
        "token": TOKEN,
        "ca": ca,
        "subscription": "s1",
        "resource_group": "rg",
        "instance": "mi",
        "location": "westeurope",
        "good": { "db": "Good", "folder": good, "sas": rig.rl, "last": "good_log1.trn" },
        "broken": {
            "db": "Broken", "folder": broken, "sas": rig.rl, "last": "broken_log1.trn",
            "unrestorable": "notes.txt",
            "copy_from": format!("{stage}/broken_log3.trn?{}", rig.rl),
            "copy_to": format!("{broken}/broken_log3.trn?{rwl}"),
        },
    });
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    assert!(rig.arm.endpoint().starts_with("https://"));

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/arm_sdk/lrs_flow.py");
    let run = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(&config_path)
        .kill_on_drop(true)
        .output();
    // A hang guard only: the flow takes seconds.
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the SDK flow hung")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("CONFORMANT"),
        "azure-mgmt-sql against the emulator:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("failed BrokenRestorePlanGapInLogBackups"),
        "{stdout}"
    );
}
