//! The whole link against a scripted world: setup in the documented order, the body shapes,
//! the versions' differences, re-entry that creates nothing twice, plan mode, rotation.

mod common;

use common::*;

use mi_link::MiLink;
use serde_json::json;

#[test]
fn a_2022_cu13_link_is_set_up_seeded_and_failed_over_with_tsql() {
    let w = world();
    let (h, out) = run(&w, config());
    let out = out.unwrap();
    let sql = statements(&h);
    let arm = arm_changes(&h);
    // Trust, endpoint, AG, DAG in the documented order.
    let cert = position(
        &sql,
        "CREATE CERTIFICATE [Cert_SQL01_endpoint] WITH SUBJECT = N'Certificate for Cert_SQL01_endpoint', EXPIRY_DATE = N'",
    );
    let mi_cert = position(
        &sql,
        "CREATE CERTIFICATE [mi1.zone.database.windows.net] FROM BINARY = 0x308201AB",
    );
    let endpoint = position(
        &sql,
        "CREATE ENDPOINT [database_mirroring_endpoint] STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [Cert_SQL01_endpoint], ENCRYPTION = REQUIRED ALGORITHM AES)",
    );
    let ag = position(
        &sql,
        "CREATE AVAILABILITY GROUP [AG_Sales] WITH (CLUSTER_TYPE = NONE) FOR DATABASE [Sales] REPLICA ON N'SQL01' WITH (ENDPOINT_URL = N'TCP://10.0.0.4:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)",
    );
    let dag = position(
        &sql,
        "CREATE AVAILABILITY GROUP [DAG_Sales] WITH (DISTRIBUTED) AVAILABILITY GROUP ON N'AG_Sales' WITH (LISTENER_URL = N'TCP://10.0.0.4:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC, SESSION_TIMEOUT = 20), N'mi1' WITH (LISTENER_URL = N'tcp://mi1.zone.database.windows.net:5022;Server=[mi1]'",
    );
    assert!(cert < mi_cert && mi_cert < endpoint && endpoint < ag && ag < dag);
    // Cutover: sync on both sides, then the T-SQL failover, then the drops.
    let sync = position(
        &sql,
        "ALTER AVAILABILITY GROUP [DAG_Sales] MODIFY AVAILABILITY GROUP ON N'AG_Sales' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), N'mi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)",
    );
    let failover = position(&sql, "ALTER AVAILABILITY GROUP [DAG_Sales] FAILOVER");
    let drop_dag = position(&sql, "DROP AVAILABILITY GROUP [DAG_Sales]");
    let drop_ag = position(&sql, "DROP AVAILABILITY GROUP [AG_Sales]");
    assert!(dag < sync && sync < failover && failover < drop_dag && drop_dag < drop_ag);
    assert_eq!(w.borrow().failovers, 1, "one failover");
    assert_eq!(
        arm,
        vec![
            "PUT serverTrustCertificates/Cert_SQL01_endpoint",
            "PUT distributedAvailabilityGroups/DAG_Sales",
            "PATCH distributedAvailabilityGroups/DAG_Sales",
            "DELETE distributedAvailabilityGroups/DAG_Sales",
        ]
    );
    let put = h
        .arm
        .iter()
        .find(|(_, r)| r.method == "PUT" && r.path.starts_with("distributed"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(put.1.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["properties"]["failoverMode"], "Manual");
    assert_eq!(body["properties"]["instanceLinkRole"], "Secondary");
    assert_eq!(
        body["properties"]["partnerAvailabilityGroupName"],
        "AG_Sales"
    );
    assert_eq!(put.1.api_version, "2024-05-01-preview");
    // The report: seeding time, peak lag, LSNs compared, downtime.
    assert_eq!(out["lsn_source"], "71000009407900001");
    assert_eq!(out["lsn_mi"], "71000009407900001");
    assert_eq!(out["peak_send_queue_kb"], 12);
    assert!(out["downtime_ms"].is_u64() && out["seeding_ms"].is_u64());
    let row = h.rows.iter().find(|r| r.object_type == "database").unwrap();
    assert!(
        row.notes
            .as_deref()
            .unwrap()
            .contains("last_hardened_lsn source 71000009407900001 = MI 71000009407900001")
    );
    // The held log was warned about (85% ≥ 70%).
    assert!(
        h.logs
            .iter()
            .any(|(_, m)| m.contains("AVAILABILITY_REPLICA"))
    );
}

#[test]
fn a_2019_source_breaks_the_link_instead_of_failing_over() {
    let w = world();
    w.borrow_mut().version = "15.0.4312.2".into();
    let (h, out) = run(&w, config());
    let out = out.unwrap();
    let sql = statements(&h);
    assert!(!sql.iter().any(|s| s.ends_with("FAILOVER")), "{sql:#?}");
    let arm = arm_changes(&h);
    assert!(arm.contains(&"DELETE distributedAvailabilityGroups/DAG_Sales".to_owned()));
    assert!(!arm.iter().any(|a| a.ends_with("/failover")));
    assert_eq!(out["broken"], true);
    let put = h
        .arm
        .iter()
        .find(|(_, r)| r.method == "PUT" && r.path.starts_with("distributed"))
        .unwrap();
    assert!(
        put.1
            .body
            .as_deref()
            .unwrap()
            .contains("\"failoverMode\":\"None\"")
    );
    assert_eq!(w.borrow().failovers, 0);
}

#[test]
fn a_2016_source_gets_no_cluster_type_and_2022_rtm_fails_over_through_arm() {
    let w = world();
    w.borrow_mut().version = "13.0.7000.253".into();
    let (h, out) = run(&w, config());
    out.unwrap();
    let ag = statements(&h)
        .into_iter()
        .find(|s| s.starts_with("CREATE AVAILABILITY GROUP [AG_Sales]"))
        .unwrap();
    assert!(!ag.contains("CLUSTER_TYPE"), "{ag}");

    let w = world();
    w.borrow_mut().version = "16.0.1000.6".into();
    let (h, out) = run(&w, config());
    out.unwrap();
    assert!(!statements(&h).iter().any(|s| s.ends_with("] FAILOVER")));
    let post = h
        .arm
        .iter()
        .find(|(_, r)| r.path.ends_with("/failover"))
        .unwrap();
    assert_eq!(
        post.1.body.as_deref(),
        Some(r#"{"failoverType":"Planned"}"#)
    );
}

#[test]
fn the_older_api_version_sends_the_target_database_shape() {
    let w = world();
    let mut cfg = config();
    cfg["api_version"] = json!("2023-08-01");
    let (h, out) = run(&w, cfg);
    out.unwrap();
    let put = h
        .arm
        .iter()
        .find(|(_, r)| r.method == "PUT" && r.path.starts_with("distributed"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(put.1.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["properties"]["targetDatabase"], "Sales");
    assert_eq!(body["properties"]["sourceEndpoint"], "TCP://10.0.0.4:5022");
    assert_eq!(
        body["properties"]["primaryAvailabilityGroupName"],
        "AG_Sales"
    );
    assert_eq!(body["properties"]["secondaryAvailabilityGroupName"], "mi1");
}

#[test]
fn a_half_made_link_is_finished_and_nothing_is_made_twice() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.certs.push(Cert {
            name: "Cert_SQL01_endpoint".into(),
            id: 300,
            thumbprint: "ABCD".into(),
            expiry: "2099-01-01 00:00:00".into(),
            der: vec![0x30, 1],
        });
        w.certs.push(Cert {
            name: "mi1.zone.database.windows.net".into(),
            id: 301,
            thumbprint: "EF".into(),
            expiry: "2099-01-01".into(),
            der: vec![0x30, 0x82, 0x01, 0xAB],
        });
        w.trust.push(("Cert_SQL01_endpoint".into(), "abcd".into()));
        w.endpoint = Some((
            "database_mirroring_endpoint".into(),
            "STARTED".into(),
            "CERTIFICATE".into(),
            300,
            true,
            "AES".into(),
            5022,
        ));
        w.ags = vec!["AG_Sales".into(), "DAG_Sales".into()];
        w.in_ag = None;
        w.link = Some(
            json!({"properties": {"databases": [{"databaseName": "Sales", "replicaState": "CreatingLink"}]}}),
        );
    }
    let (h, out) = run(&w, config());
    out.unwrap();
    let sql = statements(&h);
    assert!(
        !sql.iter().any(|s| s.starts_with("CREATE")),
        "nothing created again: {sql:#?}"
    );
    let arm = arm_changes(&h);
    assert!(
        !arm.iter().any(|a| a.starts_with("PUT")),
        "no PUT again: {arm:?}"
    );
}

#[test]
fn a_plan_lists_every_change_with_the_master_key_password_sealed() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.master_key = false;
        w.planning = true;
    }
    let mut cfg = config();
    cfg["create_master_key"] = json!(true);
    let mut h = host(&w);
    h.planning = true;
    let out = h.run_item::<MiLink>(cfg, "Sales").unwrap();
    assert_eq!(out["planned"], true);
    let sql = statements(&h);
    assert_eq!(
        sql[0],
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = @password"
    );
    assert!(h.reveals.is_empty(), "the password is never revealed");
    for needle in [
        "CREATE CERTIFICATE [Cert_SQL01_endpoint]",
        "CREATE CERTIFICATE [mi1.zone.database.windows.net]",
        "CREATE ENDPOINT",
        "CREATE AVAILABILITY GROUP [AG_Sales]",
        "CREATE AVAILABILITY GROUP [DAG_Sales]",
    ] {
        position(&sql, needle);
    }
    assert_eq!(
        arm_changes(&h),
        vec![
            "PUT serverTrustCertificates/Cert_SQL01_endpoint",
            "PUT distributedAvailabilityGroups/DAG_Sales",
            // What cutover would send: synchronous commit, then (one way) the break.
            "PATCH distributedAvailabilityGroups/DAG_Sales",
            "DELETE distributedAvailabilityGroups/DAG_Sales",
        ]
    );
    for needle in [
        "DROP AVAILABILITY GROUP [DAG_Sales]",
        "DROP AVAILABILITY GROUP [AG_Sales]",
    ] {
        position(&sql, needle);
    }
    assert!(
        w.borrow().link.is_none() && w.borrow().ags.is_empty(),
        "nothing was made"
    );
}

#[test]
fn the_endpoint_certificate_close_to_expiry_is_rotated_and_the_endpoint_switched() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.certs.push(Cert {
            name: "Cert_SQL01_endpoint".into(),
            id: 300,
            thumbprint: "ABCD".into(),
            expiry: "2001-01-01 00:00:00".into(),
            der: vec![0x30, 1],
        });
        w.endpoint = Some((
            "ep".into(),
            "STARTED".into(),
            "CERTIFICATE".into(),
            300,
            true,
            "AES".into(),
            5022,
        ));
    }
    let (h, out) = run(&w, config());
    out.unwrap();
    let sql = statements(&h);
    let new = sql
        .iter()
        .find(|s| s.starts_with("CREATE CERTIFICATE [Cert_SQL01_endpoint_"))
        .expect("a new certificate");
    let name = new.split('[').nth(1).unwrap().split(']').next().unwrap();
    position(
        &sql,
        &format!(
            "ALTER ENDPOINT [ep] STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [{name}]"
        ),
    );
    assert!(arm_changes(&h).contains(&format!("PUT serverTrustCertificates/{name}")));
}

#[test]
fn a_link_put_whose_operation_was_lost_is_read_back_and_sent_only_if_missing() {
    let link = mi_link::Link {
        db: "Sales".into(),
        ag: "AG_Sales".into(),
        dag: "DAG_Sales".into(),
        mi_name: "mi1".into(),
        mi_fqdn: "mi1.zone.database.windows.net".into(),
        source_url: "TCP://10.0.0.4:5022".into(),
        ..mi_link::Link::default()
    };
    let state = serde_json::to_string(&mi_link::State::Creating {
        link,
        op: Some("lost".into()),
    })
    .unwrap();
    // ARM has the link: followed.
    let w = world();
    w.borrow_mut().link = Some(json!({"properties": {"databases": [{"databaseName": "Sales"}]}}));
    let mut h = host(&w);
    let ctx = h.context(&config(), "Sales", 2);
    let out = ferry_sdk::run_step::<MiLink>(&mut h, ctx, Some(&state)).unwrap();
    assert!(format!("{out:?}").contains("Seeding"), "{out:?}");
    // ARM has none: the PUT never left, and the setup is taken up again.
    let w = world();
    let mut h = host(&w);
    let ctx = h.context(&config(), "Sales", 2);
    let out = ferry_sdk::run_step::<MiLink>(&mut h, ctx, Some(&state)).unwrap();
    assert!(format!("{out:?}").contains("Linking"), "{out:?}");
    assert!(arm_changes(&h).is_empty());
}

#[test]
fn an_endpoint_certificate_close_to_expiry_in_arm_is_warned_about_once() {
    let w = world();
    w.borrow_mut().partner_cert_expiry = Some("2000-01-01T00:00:00Z".into());
    w.borrow_mut().catchup_reads = 4;
    let (h, out) = run(&w, config());
    out.unwrap();
    let warned = h
        .logs
        .iter()
        .filter(|(_, m)| m.contains("endpoint certificate") && m.contains("expires in"))
        .count();
    assert_eq!(warned, 1, "{:?}", h.logs);
}
