//! The emulated Database Migration Service held to an outside client: Microsoft's own Python
//! SDK (`azure-mgmt-datamigration`, pinned in tests/arm_sdk/requirements.txt) creates the
//! service, reads and regenerates its keys, starts an online blob migration, polls it with
//! `$expand=MigrationStatusDetails`, cuts over and deletes the service, and fails on any
//! answer its models cannot take or would lose a field of (tests/arm_sdk/dms_flow.py).

mod common;

use std::time::Duration;

use common::dms_rig::{ACCOUNT_ID, Dms};
use common::lrs_rig::{MI_PATH, TOKEN};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_mgmt_datamigration_runs_the_dms_flow_against_the_emulator() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import azure.mgmt.datamigration"])
        .output()
        .expect("python3 must be installed");
    assert!(
        probe.status.success(),
        "azure-mgmt-datamigration is not installed: `python3 -m pip install -r emulator/tests/arm_sdk/requirements.txt` (scripts/test does): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let d = Dms::with(true).await;
    let dir = tempfile::tempdir().unwrap();
    d.rig.seed("Sales");
    d.backup("DATABASE", "Sales", "migration", "full.bak");
    d.rig.source("INSERT INTO [Sales].dbo.T VALUES (2)");
    d.backup("LOG", "Sales", "migration", "log1.trn");

    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &d.rig.certs.ca_pem).unwrap();
    let config = json!({
        "endpoint": d.rig.arm.endpoint(),
        "token": TOKEN,
        "ca": ca,
        "subscription": "s1",
        "resource_group": "rg",
        "instance": "mi",
        "location": "westeurope",
        "scope": MI_PATH,
        "db": "Sales",
        "account_id": ACCOUNT_ID,
        "account_key": ferry_emulator::azurite::ACCOUNT_KEY,
        "container": "migration",
    });
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/arm_sdk/dms_flow.py");
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
        "azure-mgmt-datamigration against the emulator:\n{stdout}\n{stderr}"
    );
    assert!(
        d.rig.mi_count("Sales").contains("Int(2)"),
        "{}",
        d.rig.mi_count("Sales")
    );
}
