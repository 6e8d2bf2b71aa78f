//! The emulated ARM front end's Managed Instance link, held to the Microsoft.Sql specs
//! (ServerTrustCertificates.json, EndpointCertificates.json, DistributedAvailabilityGroups.json)
//! with a plain HTTP client: shapes per api-version, the spec's refusals, and the
//! long-running operations' headers and answers.

mod common;

use common::link_rig::{
    LinkRig, MI, MI_PATH, Reply, cert_hex, exec, finish_source, link_body, prepare_source,
};
use reqwest::Method;
use serde_json::{Value, json};

fn hex_bytes(s: &str) -> Vec<u8> {
    let s = s.trim_start_matches("0x");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A 202 with the operation URLs the SQL resource provider hands out for `segment`.
fn assert_accepted(r: &Reply, segment: &str) {
    assert_eq!(r.status, 202, "{}", r.body);
    let location = r.header("location").expect("Location");
    assert!(
        location.contains(&format!(
            "/providers/Microsoft.Sql/locations/westeurope/{segment}/"
        )) && location.ends_with("api-version=2025-01-01"),
        "{location}"
    );
    assert!(r.header("azure-asyncoperation").is_some());
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_certificates_are_uploaded_listed_refused_and_deleted() {
    let rig = LinkRig::new().await;
    let mut c = rig.source().await;
    let blob = prepare_source(&mut c, "Trust", rig.src._data.path()).await;
    exec(
        &mut c,
        "CREATE CERTIFICATE [Other] WITH SUBJECT = 'another'",
    )
    .await;
    let other = cert_hex(&mut c, "Other").await;
    let path = "serverTrustCertificates/SRC01cert";

    for (body, code) in [
        (json!({ "properties": {} }), "MissingPublicBlob"),
        (
            json!({ "properties": { "publicBlob": "" } }),
            "MissingPublicBlob",
        ),
        (
            json!({ "properties": { "publicBlob": "0xZZ" } }),
            "InvalidPublicBlob",
        ),
        (
            json!({ "properties": { "publicBlob": "0x3082" } }),
            "InvalidPublicBlob",
        ),
    ] {
        let r = rig.call(Method::PUT, path, Some(body.clone())).await;
        assert_eq!(
            (r.status, r.code()),
            (400, Some(code)),
            "{body}: {}",
            r.body
        );
    }
    assert_eq!(rig.call(Method::GET, path, None).await.status, 404);

    // Without `0x` and in lower case: the spec's example has no prefix, the docs' PowerShell has.
    let bare = blob.trim_start_matches("0x").to_ascii_lowercase();
    let put = rig
        .call(
            Method::PUT,
            path,
            Some(json!({ "properties": { "publicBlob": bare } })),
        )
        .await;
    assert_accepted(&put, "serverTrustCertificatesOperationResults");
    assert_eq!(rig.follow(&put).await["status"], "Succeeded");
    let got = rig.call(Method::GET, path, None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["name"], "SRC01cert");
    assert_eq!(
        got.body["type"],
        "Microsoft.Sql/managedInstances/serverTrustCertificates"
    );
    assert_eq!(
        got.body["id"],
        format!("{MI_PATH}/serverTrustCertificates/SRC01cert")
    );
    assert_eq!(got.body["properties"]["certificateName"], "SRC01cert");
    assert_eq!(got.body["properties"]["publicBlob"], blob);
    let thumbprint = got.body["properties"]["thumbprint"].as_str().unwrap();
    assert_eq!(thumbprint.len(), 40, "SHA-1 in hex: {thumbprint}");
    // The Location URL answers the certificate once the operation is done.
    let done = rig
        .send(Method::GET, &put.header("location").unwrap(), None)
        .await;
    assert_eq!(
        (done.status, &done.body["name"]),
        (200, &json!("SRC01cert"))
    );

    // The same again is the certificate (200); another blob under the name, or the same blob
    // under another name, is refused.
    let again = rig
        .call(
            Method::PUT,
            path,
            Some(json!({ "properties": { "publicBlob": blob } })),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    for (p, b) in [(path, &other), ("serverTrustCertificates/Copy", &blob)] {
        let r = rig
            .call(
                Method::PUT,
                p,
                Some(json!({ "properties": { "publicBlob": b } })),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (400, Some("CertificateAlreadyExists")),
            "{}",
            r.body
        );
    }
    let list = rig.call(Method::GET, "serverTrustCertificates", None).await;
    assert_eq!(
        list.body["value"].as_array().map(Vec::len),
        Some(1),
        "{}",
        list.body
    );

    let del = rig.call(Method::DELETE, path, None).await;
    assert_accepted(&del, "serverTrustCertificatesOperationResults");
    assert_eq!(rig.follow(&del).await["status"], "Succeeded");
    assert_eq!(rig.call(Method::GET, path, None).await.status, 404);
    assert_eq!(rig.call(Method::DELETE, path, None).await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_certificate_is_the_mis_and_imports_on_sql_server() {
    let rig = LinkRig::new().await;
    let list = rig.call(Method::GET, "endpointCertificates", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let value = list.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["name"], "DATABASE_MIRRORING");
    let one = rig
        .call(Method::GET, "endpointcertificates/database_mirroring", None)
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(
        one.body["type"],
        "Microsoft.Sql/managedInstances/endpointCertificates"
    );
    assert_eq!(
        one.body["id"],
        format!("{MI_PATH}/endpointCertificates/DATABASE_MIRRORING")
    );
    let blob = one.body["properties"]["publicBlob"].as_str().unwrap();
    assert!(!blob.starts_with("0x"), "{blob}");
    // The same key T-SQL gives on the MI, and SQL Server imports it as the docs do.
    let (der, _) = rig.mi.server.endpoint_certificate().unwrap();
    assert_eq!(hex_bytes(blob), der);
    let mut c = rig.source().await;
    exec(
        &mut c,
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Link#Master2026'",
    )
    .await;
    exec(
        &mut c,
        &format!("CREATE CERTIFICATE [{MI}.imported] FROM BINARY = 0x{blob}"),
    )
    .await;
    let r = rig
        .call(Method::GET, "endpointCertificates/SERVICE_BROKER", None)
        .await;
    assert_eq!((r.status, r.code()), (404, Some("ResourceNotFound")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_requests_are_checked_before_anything_runs() {
    let rig = LinkRig::new().await;
    let path = "distributedAvailabilityGroups/DAG_Sales";
    let invalid = |r: &Reply, property: &str| {
        assert_eq!(
            (r.status, r.code()),
            (400, Some("InvalidParameterValue")),
            "{}",
            r.body
        );
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(property), "{property}: {message}");
    };
    let mut cases: Vec<(Value, &str)> = Vec::new();
    for (key, bad) in [
        ("partnerEndpoint", json!("10.0.0.4:5022")),
        ("partnerEndpoint", json!("TCP://10.0.0.4")),
        ("failoverMode", json!("Automatic")),
        ("instanceLinkRole", Value::Null),
        ("seedingMode", json!(7)),
        ("partnerAvailabilityGroupName", json!("  ")),
        ("databases", json!([])),
        ("databases", json!([{ "name": "Sales" }])),
    ] {
        let mut b = link_body("Sales", "Manual");
        b["properties"][key] = bad;
        cases.push((b, key));
    }
    for (body, property) in &cases {
        invalid(
            &rig.call(Method::PUT, path, Some(body.clone())).await,
            property,
        );
    }
    invalid(
        &rig.call(Method::PUT, path, Some(json!([1]))).await,
        "properties",
    );
    // The newer body under the stable 2023-08-01 shape misses its names.
    let old = rig
        .call_at(
            "2023-08-01",
            Method::PUT,
            path,
            Some(link_body("Sales", "Manual")),
        )
        .await;
    invalid(&old, "primaryAvailabilityGroupName");

    // Nothing by that name yet.
    assert_eq!(
        rig.call(Method::GET, path, None).await.code(),
        Some("ResourceNotFound")
    );
    assert_eq!(rig.call(Method::DELETE, path, None).await.status, 204);
    let patch = json!({ "properties": { "replicationMode": "Sync" } });
    assert_eq!(rig.call(Method::PATCH, path, Some(patch)).await.status, 404);
    let failover = json!({ "failoverType": "Planned" });
    let r = rig
        .call(
            Method::POST,
            &format!("{path}/failover"),
            Some(failover.clone()),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // The stable 2023-08-01 spec has no failover.
    let r = rig
        .call_at(
            "2023-08-01",
            Method::POST,
            &format!("{path}/failover"),
            Some(failover),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("NoRegisteredProviderFound")),
        "{}",
        r.body
    );
    let r = rig
        .call_at(
            "2099-01-01",
            Method::GET,
            "distributedAvailabilityGroups",
            None,
        )
        .await;
    assert_eq!(r.code(), Some("NoRegisteredProviderFound"));
    let listed = rig
        .call(Method::GET, "distributedAvailabilityGroups", None)
        .await;
    assert_eq!(listed.body, json!({ "value": [] }));

    // A database the MI already has cannot be the link's secondary.
    let mut mi = common::connect(&rig.mi).await;
    exec(&mut mi, "CREATE DATABASE [Sales]").await;
    let r = rig
        .call(Method::PUT, path, Some(link_body("Sales", "Manual")))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("ManagedDatabaseNameInUse")),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_link_engine_the_link_is_refused_by_name() {
    let rig = LinkRig::with_options(|o| ferry_emulator::arm::ArmOptions { links: None, ..o }).await;
    let r = rig
        .call(Method::GET, "distributedAvailabilityGroups", None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("LinkEngineNotRunning")),
        "{}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--hadr")
    );
}

/// Trust both ways and the source's AG and DAG, then the link created over ARM; the DAG's
/// name.
async fn linked(rig: &LinkRig, db: &str, failover_mode: &str) -> String {
    let (dag, r) = link_started(rig, db, failover_mode).await;
    assert_eq!(rig.follow(&r).await["status"], "Succeeded");
    dag
}

/// As `linked`, without waiting for the PUT's operation: the DAG's name and the 202.
async fn link_started(rig: &LinkRig, db: &str, failover_mode: &str) -> (String, Reply) {
    let mut c = rig.source().await;
    let blob = prepare_source(&mut c, db, rig.src._data.path()).await;
    let put = rig
        .call(
            Method::PUT,
            "serverTrustCertificates/Cert_SRC01_endpoint",
            Some(json!({ "properties": { "publicBlob": blob } })),
        )
        .await;
    if put.status == 202 {
        assert_eq!(rig.follow(&put).await["status"], "Succeeded");
    }
    let mi = rig
        .call(Method::GET, "endpointCertificates/DATABASE_MIRRORING", None)
        .await;
    finish_source(
        &mut c,
        db,
        mi.body["properties"]["publicBlob"].as_str().unwrap(),
    )
    .await;
    let dag = format!("DAG_{db}");
    let r = rig
        .call(
            Method::PUT,
            &format!("distributedAvailabilityGroups/{dag}"),
            Some(link_body(db, failover_mode)),
        )
        .await;
    assert_accepted(&r, "distributedAvailabilityGroupsOperationResults");
    (dag, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_created_shaped_per_version_synchronised_failed_over_and_deleted() {
    let rig = LinkRig::new().await;
    let dag = linked(&rig, "Sales", "Manual").await;
    let path = format!("distributedAvailabilityGroups/{dag}");

    let new = rig.call(Method::GET, &path, None).await;
    assert_eq!(new.status, 200, "{}", new.body);
    assert_eq!(
        new.body["type"],
        "Microsoft.Sql/managedInstances/distributedAvailabilityGroups"
    );
    let p = &new.body["properties"];
    assert_eq!(p["distributedAvailabilityGroupName"], dag);
    assert_eq!(p["partnerAvailabilityGroupName"], "AG_Sales");
    assert_eq!(p["instanceAvailabilityGroupName"], MI);
    assert_eq!(p["instanceLinkRole"], "Secondary");
    assert_eq!(p["partnerLinkRole"], "Primary");
    assert_eq!(p["failoverMode"], "Manual");
    assert_eq!(p["replicationMode"], "Async");
    assert_eq!(p["databases"][0]["databaseName"], "Sales");
    assert!(p.get("targetDatabase").is_none());
    // The same body again is the link; another under the name is refused.
    let same = rig
        .call(Method::PUT, &path, Some(link_body("Sales", "Manual")))
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    let other = rig
        .call(Method::PUT, &path, Some(link_body("Sales", "None")))
        .await;
    assert_eq!(other.code(), Some("NameAlreadyExists"), "{}", other.body);

    let db = rig
        .until_db(&dag, |d| d["replicaState"] == "LinkSynchronizing")
        .await;
    assert_eq!(db["connectedState"], "CONNECTED");
    assert!(
        db["lastHardenedLsn"]
            .as_str()
            .is_some_and(|l| l.parse::<u128>().is_ok()),
        "{db}"
    );

    // The stable 2023-08-01 shape of the same link.
    let old = rig.call_at("2023-08-01", Method::GET, &path, None).await;
    let p = &old.body["properties"];
    assert_eq!(p["targetDatabase"], "Sales");
    assert_eq!(p["sourceEndpoint"], "TCP://SRC01:5022");
    assert_eq!(p["primaryAvailabilityGroupName"], "AG_Sales");
    assert_eq!(p["secondaryAvailabilityGroupName"], MI);
    assert_eq!(p["linkState"], "LinkSynchronizing");
    assert!(p.get("databases").is_none());

    // PATCH: only replicationMode changes.
    let r = rig
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "properties": { "failoverMode": "None", "replicationMode": "Sync" } })),
        )
        .await;
    assert_eq!(r.code(), Some("InvalidParameterValue"), "{}", r.body);
    let r = rig
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "properties": { "replicationMode": "Sync" } })),
        )
        .await;
    assert_accepted(&r, "distributedAvailabilityGroupsOperationResults");
    assert_eq!(rig.follow(&r).await["status"], "Succeeded");
    let got = rig.call(Method::GET, &path, None).await;
    assert_eq!(got.body["properties"]["replicationMode"], "Sync");

    // setRole's documented refusals.
    let role = |r: &str, t: &str| json!({ "instanceRole": r, "roleChangeType": t });
    let set_role = format!("{path}/setRole");
    let r = rig
        .call(Method::POST, &set_role, Some(role("Primary", "Planned")))
        .await;
    assert_eq!(
        r.code(),
        Some("DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported")
    );
    let r = rig
        .call(Method::POST, &set_role, Some(role("Secondary", "Forced")))
        .await;
    assert_eq!(
        r.code(),
        Some("DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole")
    );
    let r = rig
        .call(
            Method::POST,
            &set_role,
            Some(json!({ "instanceRole": "Primary" })),
        )
        .await;
    assert_eq!(r.code(), Some("InvalidParameterValue"), "{}", r.body);

    // Planned failover: its Location answers the DAG with the MI primary.
    let mut src = rig.source().await;
    exec(
        &mut src,
        &format!("ALTER AVAILABILITY GROUP [{dag}] MODIFY AVAILABILITY GROUP ON 'AG_Sales' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), '{MI}' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)"),
    )
    .await;
    let r = rig
        .call(
            Method::POST,
            &format!("{path}/failover"),
            Some(json!({ "failoverType": "planned" })),
        )
        .await;
    assert_accepted(&r, "distributedAvailabilityGroupsOperationResults");
    let status = rig.follow(&r).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let done = rig
        .send(Method::GET, &r.header("location").unwrap(), None)
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["properties"]["instanceLinkRole"], "Primary");
    assert_eq!(done.body["properties"]["partnerLinkRole"], "Secondary");

    let del = rig.call(Method::DELETE, &path, None).await;
    assert_accepted(&del, "distributedAvailabilityGroupsOperationResults");
    assert_eq!(rig.follow(&del).await["status"], "Succeeded");
    let gone = rig
        .send(Method::GET, &del.header("location").unwrap(), None)
        .await;
    assert_eq!(gone.status, 204);
    assert_eq!(rig.call(Method::GET, &path, None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_trust_certificate_shows_in_the_link_not_as_an_http_error() {
    let rig = LinkRig::new().await;
    let mut c = rig.source().await;
    prepare_source(&mut c, "NoTrust", rig.src._data.path()).await;
    let mi = rig
        .call(Method::GET, "endpointCertificates/DATABASE_MIRRORING", None)
        .await;
    finish_source(
        &mut c,
        "NoTrust",
        mi.body["properties"]["publicBlob"].as_str().unwrap(),
    )
    .await;
    let r = rig
        .call(
            Method::PUT,
            "distributedAvailabilityGroups/DAG_NoTrust",
            Some(link_body("NoTrust", "Manual")),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    rig.follow(&r).await;
    // "Troubleshoot link": 41973, SQL Server's certificate not imported into the MI.
    let db = rig
        .until_db("DAG_NoTrust", |d| {
            d["replicaState"]
                .as_str()
                .is_some_and(|s| s.contains("Error"))
        })
        .await;
    assert!(
        db["mostRecentLinkError"]
            .as_str()
            .is_some_and(|e| e.contains("41973")),
        "{db}"
    );
    // A planned failover of a link that is not synchronizing is the spec's 409.
    let r = rig
        .call(
            Method::POST,
            "distributedAvailabilityGroups/DAG_NoTrust/failover",
            Some(json!({ "failoverType": "Planned" })),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (
            409,
            Some("DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing")
        ),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_operation_cut_short_by_a_restart_is_carried_out_after_it() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_owned();
    let rig = LinkRig::with_options(|o| ferry_emulator::arm::ArmOptions {
        data_dir: Some(dir),
        operation_time: std::time::Duration::from_millis(500),
        ..o
    })
    .await;
    let mut c = rig.source().await;
    let blob = prepare_source(&mut c, "Restart", rig.src._data.path()).await;
    let path = "serverTrustCertificates/Restarted";
    let put = rig
        .call(
            Method::PUT,
            path,
            Some(json!({ "properties": { "publicBlob": blob } })),
        )
        .await;
    assert_eq!(put.status, 202, "{}", put.body);
    rig.arm.restart().await.unwrap();
    assert_eq!(rig.follow(&put).await["status"], "Succeeded");
    assert_eq!(rig.call(Method::GET, path, None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stable_2023_08_01_shape_creates_a_one_way_link() {
    let rig = LinkRig::new().await;
    let mut c = rig.source().await;
    let blob = prepare_source(&mut c, "Old", rig.src._data.path()).await;
    let put = rig
        .call(
            Method::PUT,
            "serverTrustCertificates/Cert_SRC01_endpoint",
            Some(json!({ "properties": { "publicBlob": blob } })),
        )
        .await;
    assert_eq!(rig.follow(&put).await["status"], "Succeeded");
    let mi = rig
        .call(Method::GET, "endpointCertificates/DATABASE_MIRRORING", None)
        .await;
    finish_source(
        &mut c,
        "Old",
        mi.body["properties"]["publicBlob"].as_str().unwrap(),
    )
    .await;
    let body = json!({ "properties": {
        "targetDatabase": "Old",
        "sourceEndpoint": "TCP://SRC01:5022",
        "primaryAvailabilityGroupName": "AG_Old",
        "secondaryAvailabilityGroupName": MI,
        "replicationMode": "Async",
    }});
    let r = rig
        .call_at(
            "2023-08-01",
            Method::PUT,
            "distributedAvailabilityGroups/DAG_Old",
            Some(body),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(
        r.header("location")
            .unwrap()
            .ends_with("api-version=2023-08-01")
    );
    assert_eq!(rig.follow(&r).await["status"], "Succeeded");
    let old = rig
        .call_at(
            "2023-08-01",
            Method::GET,
            "distributedAvailabilityGroups",
            None,
        )
        .await;
    let p = &old.body["value"][0]["properties"];
    assert_eq!(p["targetDatabase"], "Old", "{}", old.body);
    assert!(p["distributedAvailabilityGroupId"].is_string(), "{p}");
    // The newer shape of the same link: one-way (these versions have no failoverMode).
    let new = rig
        .call(Method::GET, "distributedAvailabilityGroups/DAG_Old", None)
        .await;
    assert_eq!(
        new.body["properties"]["failoverMode"], "None",
        "{}",
        new.body
    );
    assert_eq!(new.body["properties"]["instanceLinkRole"], "Secondary");
    // 2023-02-01-preview answers the newer names without the modes; 2023-05-01-preview has
    // no failover action.
    let preview = rig
        .call_at(
            "2023-02-01-preview",
            Method::GET,
            "distributedAvailabilityGroups/DAG_Old",
            None,
        )
        .await;
    let p = &preview.body["properties"];
    assert_eq!(
        p["partnerAvailabilityGroupName"], "AG_Old",
        "{}",
        preview.body
    );
    assert!(
        p.get("failoverMode").is_none() && p.get("targetDatabase").is_none(),
        "{p}"
    );
    let r = rig
        .call_at(
            "2023-05-01-preview",
            Method::POST,
            "distributedAvailabilityGroups/DAG_Old/failover",
            Some(json!({ "failoverType": "Planned" })),
        )
        .await;
    assert_eq!(r.code(), Some("NoRegisteredProviderFound"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_operation_on_a_link_waits_for_the_first() {
    // Operations long enough that the second request surely meets the first still running.
    let rig = LinkRig::with_options(|o| ferry_emulator::arm::ArmOptions {
        operation_time: std::time::Duration::from_secs(3),
        ..o
    })
    .await;
    let dag = linked(&rig, "Busy", "Manual").await;
    let path = format!("distributedAvailabilityGroups/{dag}");
    let sync = json!({ "properties": { "replicationMode": "Sync" } });
    let first = rig.call(Method::PATCH, &path, Some(sync.clone())).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let second = rig.call(Method::PATCH, &path, Some(sync)).await;
    assert_eq!(
        (second.status, second.code()),
        (409, Some("ConflictingDatabaseOperation")),
        "{}",
        second.body
    );
    let delete = rig.call(Method::DELETE, &path, None).await;
    assert_eq!(delete.code(), Some("ConflictingDatabaseOperation"));
    assert_eq!(rig.follow(&first).await["status"], "Succeeded");
    let again = rig.call(Method::DELETE, &path, None).await;
    assert_eq!(again.status, 202, "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_shows_from_its_put_on_and_the_same_put_again_is_answered_with_it() {
    let rig = LinkRig::with_options(|o| ferry_emulator::arm::ArmOptions {
        operation_time: std::time::Duration::from_secs(3),
        ..o
    })
    .await;
    let (dag, put) = link_started(&rig, "Early", "Manual").await;
    let path = format!("distributedAvailabilityGroups/{dag}");
    let got = rig.call(Method::GET, &path, None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["properties"]["databases"][0]["databaseName"],
        "Early"
    );
    // A client that lost the 202 and sends the PUT again meets the link, not a second one.
    let again = rig
        .call(Method::PUT, &path, Some(link_body("Early", "Manual")))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(rig.follow(&put).await["status"], "Succeeded");
}
