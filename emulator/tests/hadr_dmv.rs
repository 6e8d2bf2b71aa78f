//! The DMVs the link engine feeds through `Server`'s hadr API, read through TDS with the
//! monitoring queries of "Configure link with T-SQL" / "Troubleshoot link", and the emulated
//! network with its control API.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::*;
use ferry_emulator::TlsMode;
use ferry_emulator::hadr::fabric::Fabric;
use ferry_emulator::hadr::{
    AvailabilityGroup, AvailabilityMode, DatabaseRuntime, Network, Replica, ReplicaRole,
    ReplicaRuntime, SeedingRuntime, Unreachable,
};

const SETUP: &str = "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd';
    CREATE CERTIFICATE ep WITH SUBJECT = 'ep', EXPIRY_DATE = '2045-01-01';
    CREATE ENDPOINT e STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL)
        FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE ep, ENCRYPTION = REQUIRED ALGORITHM AES);
    CREATE DATABASE sales; ALTER DATABASE sales SET RECOVERY FULL;";

async fn source_with_dag(r: &Running, c: &mut C) {
    exec(c, SETUP).await;
    let bak = r._data.path().join("sales.bak");
    exec(
        c,
        &format!("BACKUP DATABASE sales TO DISK = N'{}'", bak.display()),
    )
    .await;
    exec(
        c,
        "CREATE AVAILABILITY GROUP [AG_sales] WITH (CLUSTER_TYPE = NONE) FOR DATABASE [sales]
           REPLICA ON N'SRC01' WITH (ENDPOINT_URL = 'TCP://SRC01:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT,
             FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)",
    )
    .await;
    exec(
        c,
        "CREATE AVAILABILITY GROUP [DAG_sales] WITH (DISTRIBUTED) AVAILABILITY GROUP ON
           N'AG_sales' WITH (LISTENER_URL = 'TCP://SRC01:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
             FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC),
           N'mi-target' WITH (LISTENER_URL = 'tcp://mi-target.public.abc123.database.windows.net:5022;Server=[mi-target]',
             AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_s_state_shows_in_the_documented_monitoring_queries() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    source_with_dag(&r, &mut c).await;
    // Before the engine reports anything the DMVs are empty.
    let n = one_row(
        &mut c,
        "SELECT COUNT(*) FROM sys.dm_hadr_availability_replica_states",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(0));

    let s = &r.server;
    s.set_replica_runtime(
        "DAG_sales",
        "AG_sales",
        ReplicaRuntime {
            connected: true,
            role: ReplicaRole::Primary,
            healthy: true,
            last_connect_error: None,
        },
    );
    s.set_replica_runtime(
        "DAG_sales",
        "mi-target",
        ReplicaRuntime {
            connected: false,
            role: ReplicaRole::Secondary,
            healthy: false,
            last_connect_error: Some((41962, "link not initiated".into())),
        },
    );
    // "Health of the link from the primary": the DAG's remote secondary.
    let row = one_row(
        &mut c,
        "SELECT ag.name, ar.replica_server_name, rs.connected_state_desc, rs.synchronization_health_desc,
                rs.last_connect_error_number, rs.last_connect_error_description, rs.role_desc
         FROM sys.dm_hadr_availability_replica_states rs
         JOIN sys.availability_replicas ar ON ar.replica_id = rs.replica_id
         JOIN sys.availability_groups ag ON ag.group_id = rs.group_id
         WHERE ag.is_distributed = 1 AND rs.is_local = 0 AND rs.role = 2",
    )
    .await;
    assert_eq!(row.get::<&str, _>(0), Some("DAG_sales"));
    assert_eq!(row.get::<&str, _>(1), Some("mi-target"));
    assert_eq!(row.get::<&str, _>(2), Some("DISCONNECTED"));
    assert_eq!(row.get::<&str, _>(3), Some("NOT_HEALTHY"));
    assert_eq!(row.get::<i32, _>(4), Some(41962));
    assert_eq!(row.get::<&str, _>(5), Some("link not initiated"));
    assert_eq!(row.get::<&str, _>(6), Some("SECONDARY"));
    let local = one_row(
        &mut c,
        "SELECT rs.role_desc, rs.operational_state_desc FROM sys.dm_hadr_availability_replica_states rs
         JOIN sys.availability_groups ag ON ag.group_id = rs.group_id WHERE ag.name = 'DAG_sales' AND rs.is_local = 1",
    )
    .await;
    assert_eq!(local.get::<&str, _>(0), Some("PRIMARY"));
    assert_eq!(local.get::<&str, _>(1), Some("ONLINE"));

    let db = |is_local, state: &str, hardened| DatabaseRuntime {
        synchronization_state: state.into(),
        healthy: true,
        end_of_log_lsn: 71_000_009_407_900_001,
        last_hardened_lsn: hardened,
        last_commit_lsn: hardened,
        log_send_queue_kb: 12,
        redo_queue_kb: 3,
        is_local,
        is_primary: is_local,
    };
    s.set_database_runtime(
        "DAG_sales",
        "sales",
        db(true, "SYNCHRONIZED", 71_000_009_407_900_001),
    );
    s.set_database_runtime(
        "DAG_sales",
        "sales",
        db(false, "SYNCHRONIZING", 71_000_009_407_800_001),
    );
    let rows = c
        .simple_query(
            "SELECT DB_NAME(drs.database_id), drs.is_local, drs.synchronization_state_desc, drs.last_hardened_lsn,
                    drs.log_send_queue_size, drs.redo_queue_size, ar.replica_server_name
             FROM sys.dm_hadr_database_replica_states drs
             JOIN sys.availability_replicas ar ON ar.replica_id = drs.replica_id
             JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
             WHERE ag.name = 'DAG_sales' ORDER BY drs.is_local DESC",
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<&str, _>(0), Some("sales"));
    assert_eq!(rows[0].get::<&str, _>(2), Some("SYNCHRONIZED"));
    assert_eq!(rows[0].get::<&str, _>(6), Some("AG_sales"));
    assert_eq!(rows[1].get::<&str, _>(2), Some("SYNCHRONIZING"));
    assert_eq!(rows[1].get::<&str, _>(6), Some("mi-target"));
    let lsn = rows[1].get::<tiberius::numeric::Numeric, _>(3).unwrap();
    assert_eq!(lsn.value(), 71_000_009_407_800_001);
    assert_eq!(rows[1].get::<i64, _>(4), Some(12));

    // Seeding shows in both seeding DMVs, joined as "Troubleshoot link" joins them.
    // The engine reports seeding on the local AG; the DAG holding it names the partner.
    s.set_seeding(
        "AG_sales",
        Some(SeedingRuntime {
            database: "sales".into(),
            state: "READING_DATABASE_FILES".into(),
            size_bytes: 1 << 30,
            transferred_bytes: 1 << 28,
            rate_bytes_per_second: 1 << 20,
            start_utc: SystemTime::now() - Duration::from_secs(60),
            estimate_complete_utc: Some(SystemTime::now() + Duration::from_secs(600)),
            attempts: 1,
            failed: None,
        }),
    );
    let seed = one_row(
        &mut c,
        "SELECT s.local_database_name, s.internal_state_desc, s.transferred_size_bytes, s.database_size_bytes,
                a.current_state, a.is_source, a.number_of_attempts, s.role_desc, s.remote_machine_name
         FROM sys.dm_hadr_physical_seeding_stats s
         JOIN sys.dm_hadr_automatic_seeding a ON s.local_physical_seeding_id = a.operation_id",
    )
    .await;
    assert_eq!(seed.get::<&str, _>(0), Some("sales"));
    assert_eq!(seed.get::<&str, _>(1), Some("READING_DATABASE_FILES"));
    assert_eq!(seed.get::<i64, _>(2), Some(1 << 28));
    assert_eq!(seed.get::<&str, _>(4), Some("SEEDING"));
    assert_eq!(seed.get::<bool, _>(5), Some(true));
    assert_eq!(seed.get::<&str, _>(7), Some("Source"));
    assert_eq!(
        seed.get::<&str, _>(8),
        Some("mi-target.public.abc123.database.windows.net")
    );
    s.set_seeding("AG_sales", None);
    let n = one_row(
        &mut c,
        "SELECT COUNT(*) FROM sys.dm_hadr_physical_seeding_stats",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(0));

    // The DMVs are runtime state: a restart empties them, the catalog views stay.
    s.restart().await.unwrap();
    let mut c = connect(&r).await;
    let n = one_row(
        &mut c,
        "SELECT COUNT(*) FROM sys.dm_hadr_database_replica_states",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(0));
    let n = one_row(&mut c, "SELECT COUNT(*) FROM sys.availability_groups").await;
    assert_eq!(n.get::<i32, _>(0), Some(2));
    assert!(r.server.mirroring_endpoint().is_some_and(|e| e.started));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_managed_instance_side_is_put_by_the_engine() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let ag = AvailabilityGroup {
        name: "DAG_sales".into(),
        group_id: String::new(),
        distributed: true,
        databases: vec!["sales".into()],
        replicas: vec![
            Replica {
                server_name: "AG_sales".into(),
                endpoint_url: "TCP://SRC01:5022".into(),
                mode: AvailabilityMode::AsynchronousCommit,
                failover_manual: true,
                seeding_automatic: true,
                replica_id: String::new(),
            },
            Replica {
                server_name: "mi-target".into(),
                endpoint_url: "tcp://mi-target.public.abc123.database.windows.net:5022".into(),
                mode: AvailabilityMode::AsynchronousCommit,
                failover_manual: true,
                seeding_automatic: true,
                replica_id: String::new(),
            },
        ],
        local_role: ReplicaRole::Secondary,
        create_any_database: false,
    };
    r.server.put_availability_group(ag.clone()).unwrap();
    let stored = r.server.availability_group("dag_sales").unwrap();
    assert!(
        !stored.group_id.is_empty() && stored.replicas.iter().all(|x| !x.replica_id.is_empty())
    );
    // Putting it again keeps its ids.
    let mut again = ag;
    again.replicas[0].mode = AvailabilityMode::SynchronousCommit;
    r.server.put_availability_group(again).unwrap();
    let after = r.server.availability_group("DAG_sales").unwrap();
    assert_eq!(after.group_id, stored.group_id);
    assert_eq!(after.replicas[0].replica_id, stored.replicas[0].replica_id);
    assert_eq!(after.replicas[0].mode, AvailabilityMode::SynchronousCommit);
    r.server
        .set_local_role("DAG_sales", ReplicaRole::Primary)
        .unwrap();
    assert_eq!(
        scalar_string(&mut c, "SELECT availability_mode_desc FROM sys.availability_replicas WHERE replica_server_name = 'AG_sales'").await,
        "SYNCHRONOUS_COMMIT"
    );
    assert_eq!(
        r.server.availability_group("DAG_sales").unwrap().local_role,
        ReplicaRole::Primary
    );
    assert_eq!(
        r.server
            .set_local_role("nope", ReplicaRole::Primary)
            .unwrap_err()
            .number,
        15151
    );
    r.server.drop_availability_group("DAG_sales").unwrap();
    assert!(r.server.availability_groups().is_empty());
    assert_eq!(
        r.server
            .drop_availability_group("DAG_sales")
            .unwrap_err()
            .number,
        15151
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_network_resolves_names_and_answers_on_listening_ports_only() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mi_r = start(mi(), TlsMode::Required).await;
    let net = Network::new();
    net.register(&["SRC01".into(), "10.0.0.4".into()], src.server.clone());
    net.register(
        &["mi-target.public.abc123.database.windows.net".into()],
        mi_r.server.clone(),
    );
    let probe = |net: &Arc<Network>, host: &str, port| {
        let (net, host) = (net.clone(), host.to_owned());
        let s = src.server.clone();
        tokio::task::spawn_blocking(move || net.reachable(&s, &host, port).map(|_| ()))
    };
    // Nothing listens on 5022 of the source until its endpoint is STARTED.
    assert!(matches!(
        probe(&net, "10.0.0.4", 5022).await.unwrap(),
        Err(Unreachable::NotListening { .. })
    ));
    let mut c = connect(&src).await;
    exec(&mut c, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd';
        CREATE CERTIFICATE ep WITH SUBJECT = 'ep', EXPIRY_DATE = '2045-01-01';
        CREATE ENDPOINT e STATE = STOPPED AS TCP (LISTENER_PORT = 5022)
          FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE ep, ENCRYPTION = REQUIRED ALGORITHM AES)").await;
    assert!(
        probe(&net, "SRC01", 5022).await.unwrap().is_err(),
        "a stopped endpoint does not listen"
    );
    exec(&mut c, "ALTER ENDPOINT e STATE = STARTED").await;
    assert_eq!(probe(&net, "src01", 5022).await.unwrap(), Ok(()));
    assert!(probe(&net, "SRC01", 5023).await.unwrap().is_err());

    // The MI answers on 5022 and its HADR ports, under its FQDN and its fabric node's.
    let mi_name = "mi-target.public.abc123.database.windows.net";
    let node = Fabric::of(mi_name).node_fqdn();
    assert_eq!(probe(&net, mi_name, 5022).await.unwrap(), Ok(()));
    assert_eq!(
        probe(&net, &node, Fabric::of(mi_name).hadr_port)
            .await
            .unwrap(),
        Ok(())
    );
    assert!(probe(&net, mi_name, 1434).await.unwrap().is_err());
    assert!(matches!(
        probe(&net, "nowhere", 5022).await.unwrap(),
        Err(Unreachable::UnknownHost(_))
    ));

    // Faults over the control API.
    let app = ferry_emulator::control_http::network_router(net.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let post = |path: &str, body: &str| {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    assert_eq!(
        post("/block", r#"{"server": "10.0.0.4", "port": 5022}"#)
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert!(
        matches!(
            probe(&net, "SRC01", 5022).await.unwrap(),
            Err(Unreachable::Blocked { .. })
        ),
        "blocked under every name"
    );
    let text = post("/probe", r#"{"host": "SRC01", "port": 5022}"#)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["reachable"], false);
    assert!(answer["reason"].as_str().unwrap().contains("blocked"));
    assert_eq!(
        post("/break-dns", &format!(r#"{{"name": "{mi_name}"}}"#))
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert!(net.resolve(mi_name).is_none());
    assert_eq!(
        post("/block", r#"{"server": "", "port": 5022}"#)
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    assert_eq!(post("/heal", "").await.unwrap().status().as_u16(), 204);
    assert_eq!(probe(&net, "SRC01", 5022).await.unwrap(), Ok(()));
    assert!(net.resolve(mi_name).is_some());
}
