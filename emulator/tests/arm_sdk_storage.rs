//! The emulated `Microsoft.Storage/storageAccounts` GET held to an outside client: Microsoft's
//! own Python SDK (`azure-mgmt-storage`, pinned in tests/arm_sdk/requirements.txt) reads an
//! account with `storage_accounts.get_properties` and fails on any answer its models cannot
//! take or do not know a field of, and on an unknown account that is not its 404
//! (tests/arm_sdk/storage_flow.py).

mod common;

use std::time::Duration;

use common::dms_rig::{ACCOUNT_ID, Dms};
use common::lrs_rig::TOKEN;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_mgmt_storage_reads_a_storage_account_from_the_emulator() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import azure.mgmt.storage"])
        .output()
        .expect("python3 must be installed");
    assert!(
        probe.status.success(),
        "azure-mgmt-storage is not installed: `python3 -m pip install -r emulator/tests/arm_sdk/requirements.txt` (scripts/test does): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let d = Dms::with(true).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &d.rig.certs.ca_pem).unwrap();
    let config = json!({
        "endpoint": d.rig.arm.endpoint(),
        "token": TOKEN,
        "ca": ca,
        "subscription": "s1",
        "resource_group": "rg",
        "account": ferry_emulator::azurite::ACCOUNT,
        "account_id": ACCOUNT_ID,
        "location": "westeurope",
        "kind": "StorageV2",
        "tier": "Standard",
        "blob": format!("{}/", d.rig.az.endpoint().trim_end_matches('/')),
    });
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/arm_sdk/storage_flow.py");
    let run = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(&config_path)
        .kill_on_drop(true)
        .output();
    // A hang guard only: the flow takes a second.
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the SDK flow hung")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("CONFORMANT"),
        "azure-mgmt-storage against the emulator:\n{stdout}\n{stderr}"
    );
}
