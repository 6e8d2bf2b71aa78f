//! The emulated ARM front end's Managed Instance link held to Microsoft's own Python SDK
//! (`azure-mgmt-sql` 4.0.0, api-version 2025-01-01, pinned in tests/arm_sdk/requirements.txt):
//! the source side is set up with T-SQL over TDS as "Configure link with scripts" gives it,
//! then tests/arm_sdk/link_flow.py uploads the trust certificate, reads the MI's endpoint
//! certificate, creates the link and follows it to LinkSynchronizing, switches it to Sync;
//! after SQL Server's side is switched too, fails it over (planned), meets setRole's refusals,
//! fails back with setRole and deletes it — failing on any answer the SDK's models cannot take.

mod common;

use std::time::Duration;

use common::link_rig::{LinkRig, MI, MI_FQDN, SRC, TOKEN, exec, finish_source, prepare_source};
use ferry_emulator::ServerTls;
use ferry_emulator::arm::{ArmOptions, https_config};
use serde_json::json;

async fn run_flow(config: &std::path::Path, phase: &str) -> String {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/arm_sdk/link_flow.py");
    let run = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(config)
        .arg(phase)
        .kill_on_drop(true)
        .output();
    // A hang guard only: each phase takes seconds.
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the SDK flow hung")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("CONFORMANT"),
        "azure-mgmt-sql ({phase}) against the emulator:\n{stdout}\n{stderr}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_mgmt_sql_runs_the_link_flow_against_the_emulator() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import azure.mgmt.sql"])
        .output()
        .expect("python3 must be installed");
    assert!(
        probe.status.success(),
        "azure-mgmt-sql is not installed: `python3 -m pip install -r emulator/tests/arm_sdk/requirements.txt` (scripts/test does): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let tls = ServerTls::generate(&[]).unwrap();
    let rig = LinkRig::with_options(|o| ArmOptions {
        tls: Some(https_config(&tls)),
        ..o
    })
    .await;
    assert!(rig.arm.endpoint().starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();

    // Source side (steps 1–4), with the MI's certificate as ARM gives it.
    let mut c = rig.source().await;
    let source_blob = prepare_source(&mut c, "Sales", rig.src._data.path()).await;
    let (mi_der, _) = rig.mi.server.endpoint_certificate().unwrap();
    let mi_blob: String = mi_der.iter().map(|b| format!("{b:02X}")).collect();
    finish_source(&mut c, "Sales", &mi_blob).await;

    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    let config = json!({
        "endpoint": rig.arm.endpoint(),
        "token": TOKEN,
        "ca": ca,
        "subscription": "s1",
        "resource_group": "rg",
        "instance": MI,
        "certificate_name": format!("Cert_{SRC}_endpoint"),
        "source_blob": source_blob,
        "mi_blob": mi_blob,
        "db": "Sales",
        "dag": "DAG_Sales",
        "partner_ag": "AG_Sales",
        "partner_endpoint": format!("TCP://{SRC}:5022"),
        "instance_ag": MI,
        "mi_fqdn": MI_FQDN,
    });
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();

    let out = run_flow(&config_path, "create").await;
    assert!(
        out.contains("synchronizing") && out.contains("replication Sync"),
        "{out}"
    );

    // "Failover a link": SQL Server's side of the DAG to synchronous commit as well.
    exec(
        &mut c,
        &format!(
            "ALTER AVAILABILITY GROUP [DAG_Sales] MODIFY AVAILABILITY GROUP ON \
             'AG_Sales' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), \
             '{MI}' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)"
        ),
    )
    .await;
    let out = run_flow(&config_path, "cutover").await;
    assert!(
        out.contains("failed over")
            && out.contains("failed back")
            && out.contains("deleted DAG_Sales"),
        "{out}"
    );
    // The link is broken: the MI's copy is independent and writable.
    let mut mi = common::connect(&rig.mi).await;
    exec(
        &mut mi,
        "INSERT INTO [Sales].dbo.T VALUES (3, N'after the link')",
    )
    .await;
}
