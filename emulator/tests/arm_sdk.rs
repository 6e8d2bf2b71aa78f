//! The emulated ARM front end held to an outside client: Microsoft's own Python SDK
//! (`azure-mgmt-sql`, pinned in tests/arm_sdk/requirements.txt) drives the whole LRS flow over
//! HTTPS — listing managed instances, the start as a long-running operation, restoreDetails
//! read through its typed models, completeRestore, a failure with an unrestorable file, and
//! delete, then a TDE certificate upload (`managed_instance_tde_certificates.begin_create`: its
//! refusals and its long-running operation) — and fails on any answer its models cannot take
//! (tests/arm_sdk/lrs_flow.py).

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

    let (pfx, pfx_password) = tde_pfx(&rig, dir.path());

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
        "tde": { "pfx": pfx, "password": pfx_password },
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
    assert!(stdout.contains("tde certificate uploaded"), "{stdout}");
}

/// A certificate made on the source, exported with CERTENCODED and CERTPRIVATEKEY and turned
/// into a PFX by the openssl CLI: (base64 PFX, its password).
fn tde_pfx(rig: &Rig, dir: &std::path::Path) -> (String, String) {
    use base64::Engine as _;
    rig.source("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; CREATE CERTIFICATE SdkTde WITH SUBJECT = 'TDE for the SDK check'");
    let out = tokio::task::block_in_place(|| {
        rig.src.run_sql(
            "SELECT CERTENCODED(CERT_ID('SdkTde')), CERTPRIVATEKEY(CERT_ID('SdkTde'), 'Export#2026')",
        )
    })
    .unwrap();
    let row = out
        .into_iter()
        .find_map(|o| match o {
            ferry_emulator::sql::Outcome::Rows { rows, .. } => rows.into_iter().next(),
            _ => None,
        })
        .unwrap();
    let bytes = |v: &ferry_emulator::protocol::types::Value| match v {
        ferry_emulator::protocol::types::Value::Binary(b) => b.clone(),
        other => panic!("not bytes: {other:?}"),
    };
    let path = |f: &str| dir.join(f).to_str().unwrap().to_owned();
    std::fs::write(path("sdk.cer"), bytes(&row[0])).unwrap();
    std::fs::write(path("sdk.pvk"), bytes(&row[1])).unwrap();
    for args in [
        vec![
            "x509",
            "-inform",
            "DER",
            "-in",
            &path("sdk.cer"),
            "-out",
            &path("sdk.pem"),
        ],
        vec![
            "rsa",
            "-provider",
            "legacy",
            "-provider",
            "default",
            "-inform",
            "PVK",
            "-passin",
            "pass:Export#2026",
            "-in",
            &path("sdk.pvk"),
            "-out",
            &path("sdk.key"),
        ],
        vec![
            "pkcs12",
            "-export",
            "-in",
            &path("sdk.pem"),
            "-inkey",
            &path("sdk.key"),
            "-passout",
            "pass:Pfx#2026",
            "-out",
            &path("sdk.pfx"),
        ],
    ] {
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .expect("the openssl command-line tool must be installed for this test");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    }
    let pfx =
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(path("sdk.pfx")).unwrap());
    (pfx, "Pfx#2026".into())
}
