//! The Always On T-SQL surface the MI link uses on SQL Server, through TDS: the
//! DATABASE_MIRRORING endpoint, availability groups and distributed availability groups, their
//! catalog views, and the errors a misuse gets ("Configure link with T-SQL").

mod common;

use common::*;
use ferry_emulator::hadr::{HadrRequest, ReplicaRole};
use ferry_emulator::{Edition, Personality, Release, TlsMode};

fn sql(release: Release, hadr: bool) -> Personality {
    Personality::SqlServer {
        release,
        edition: Edition::Enterprise,
        hadr,
        name: "SRC01".into(),
    }
}

const CERT: &str = "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd';
    CREATE CERTIFICATE [Cert_SRC01_endpoint] WITH SUBJECT = 'Certificate for Cert_SRC01_endpoint', EXPIRY_DATE = '2045-01-01';";

const ENDPOINT: &str = "CREATE ENDPOINT database_mirroring_endpoint STATE = STARTED
    AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL)
    FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [Cert_SRC01_endpoint], ENCRYPTION = REQUIRED ALGORITHM AES)";

#[tokio::test(flavor = "multi_thread")]
async fn the_mirroring_endpoint_is_created_shown_altered_and_dropped() {
    let r = start(sql(Release::Sql2019, true), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert_eq!(
        error_code(&mut c, ENDPOINT).await,
        15151,
        "certificate must exist"
    );
    exec(&mut c, CERT).await;
    exec(&mut c, ENDPOINT).await;
    let row = one_row(
        &mut c,
        "SELECT name, type_desc, state_desc, role_desc, connection_auth_desc, is_encryption_enabled,
                encryption_algorithm_desc, protocol_desc, certificate_id
         FROM sys.database_mirroring_endpoints",
    )
    .await;
    assert_eq!(row.get::<&str, _>(0), Some("database_mirroring_endpoint"));
    assert_eq!(row.get::<&str, _>(1), Some("DATABASE_MIRRORING"));
    assert_eq!(row.get::<&str, _>(2), Some("STARTED"));
    assert_eq!(row.get::<&str, _>(3), Some("ALL"));
    assert_eq!(row.get::<&str, _>(4), Some("CERTIFICATE"));
    assert_eq!(row.get::<bool, _>(5), Some(true));
    assert_eq!(row.get::<&str, _>(6), Some("AES"));
    assert_eq!(row.get::<&str, _>(7), Some("TCP"));
    assert!(row.get::<i32, _>(8).unwrap() > 0);
    let port = one_row(
        &mut c,
        "SELECT t.port FROM sys.tcp_endpoints t JOIN sys.endpoints e ON e.endpoint_id = t.endpoint_id WHERE e.type_desc = 'DATABASE_MIRRORING'",
    )
    .await;
    assert_eq!(port.get::<i32, _>(0), Some(5022));
    let model = r
        .server
        .mirroring_endpoint()
        .expect("endpoint in the model");
    assert!(model.started && model.encryption_required);
    assert_eq!((model.port, model.algorithm.as_str()), (5022, "AES"));
    assert_eq!(model.certificate.as_deref(), Some("Cert_SRC01_endpoint"));

    // One DATABASE_MIRRORING endpoint per instance.
    let second = ENDPOINT.replace("database_mirroring_endpoint", "another");
    assert_eq!(error_code(&mut c, &second).await, 7862);

    exec(
        &mut c,
        "ALTER ENDPOINT database_mirroring_endpoint STATE = STARTED
         AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL)
         FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = WINDOWS NEGOTIATE CERTIFICATE [Cert_SRC01_endpoint],
             ENCRYPTION = REQUIRED ALGORITHM AES RC4)",
    )
    .await;
    let row = one_row(
        &mut c,
        "SELECT connection_auth_desc, encryption_algorithm_desc FROM sys.database_mirroring_endpoints",
    )
    .await;
    assert_eq!(row.get::<&str, _>(0), Some("NEGOTIATE, CERTIFICATE"));
    assert_eq!(row.get::<&str, _>(1), Some("AES, RC4"));
    assert!(r.server.mirroring_endpoint().unwrap().windows_auth);

    exec(
        &mut c,
        "ALTER ENDPOINT database_mirroring_endpoint STATE = STOPPED",
    )
    .await;
    assert!(!r.server.mirroring_endpoint().unwrap().started);
    assert_eq!(
        error_code(&mut c, "ALTER ENDPOINT database_mirroring_endpoint").await,
        7863
    );
    exec(&mut c, "DROP ENDPOINT database_mirroring_endpoint").await;
    assert!(r.server.mirroring_endpoint().is_none());
    assert_eq!(
        error_code(&mut c, "DROP ENDPOINT database_mirroring_endpoint").await,
        15151
    );
    assert_eq!(
        error_code(&mut c, "DROP ENDPOINT [TSQL Default TCP]").await,
        7873
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_managed_instance_takes_no_endpoint_or_availability_group_ddl() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert_eq!(error_code(&mut c, ENDPOINT).await, 40517);
    assert_eq!(
        error_code(&mut c, "CREATE AVAILABILITY GROUP [ag] WITH (CLUSTER_TYPE = NONE) FOR REPLICA ON N'x' WITH (ENDPOINT_URL = 'TCP://x:5022')").await,
        40517
    );
}

/// A database ready for an AG: FULL recovery and a full backup.
async fn prepared_database(r: &Running, c: &mut C, name: &str) {
    exec(c, &format!("CREATE DATABASE [{name}]")).await;
    exec(c, &format!("ALTER DATABASE [{name}] SET RECOVERY FULL")).await;
    let file = r._data.path().join(format!("{name}.bak"));
    exec(
        c,
        &format!("BACKUP DATABASE [{name}] TO DISK = N'{}'", file.display()),
    )
    .await;
}

const AG: &str = "CREATE AVAILABILITY GROUP [AG_sales] WITH (CLUSTER_TYPE = NONE) FOR DATABASE [sales]
    REPLICA ON N'SRC01' WITH (ENDPOINT_URL = 'TCP://SRC01:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT,
        FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)";

const DAG: &str = "CREATE AVAILABILITY GROUP [DAG_sales] WITH (DISTRIBUTED) AVAILABILITY GROUP ON
    N'AG_sales' WITH (LISTENER_URL = 'TCP://SRC01:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT,
        FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC, SESSION_TIMEOUT = 20),
    N'mi-target' WITH (LISTENER_URL = 'tcp://mi-target.public.abc123.database.windows.net:5022;Server=[mi-target]',
        AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)";

#[tokio::test(flavor = "multi_thread")]
async fn availability_groups_need_always_on_enabled() {
    let r = start(sql(Release::Sql2019, false), TlsMode::Required).await;
    let mut c = connect(&r).await;
    prepared_database(&r, &mut c, "sales").await;
    assert_eq!(error_code(&mut c, AG).await, 35221);
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_server_2016_has_no_cluster_type() {
    let r = start(sql(Release::Sql2016AzureConnect, true), TlsMode::Required).await;
    let mut c = connect(&r).await;
    prepared_database(&r, &mut c, "sales").await;
    assert_eq!(error_code(&mut c, AG).await, 102);
    exec(&mut c, &AG.replace("WITH (CLUSTER_TYPE = NONE) ", "")).await;
    assert_eq!(
        scalar_string(
            &mut c,
            "SELECT cluster_type_desc FROM sys.availability_groups"
        )
        .await,
        "NONE"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_joins_an_availability_group_only_when_ready() {
    let r = start(sql(Release::Sql2019, true), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert_eq!(error_code(&mut c, AG).await, 35238, "database missing");
    exec(&mut c, "CREATE DATABASE [sales]").await;
    assert_eq!(
        error_code(&mut c, AG).await,
        1475,
        "SIMPLE recovery, no backup"
    );
    exec(&mut c, "ALTER DATABASE [sales] SET RECOVERY FULL").await;
    assert_eq!(error_code(&mut c, AG).await, 1475, "no full backup");
    let copy = r._data.path().join("copy.bak");
    exec(
        &mut c,
        &format!(
            "BACKUP DATABASE [sales] TO DISK = N'{}' WITH COPY_ONLY",
            copy.display()
        ),
    )
    .await;
    assert_eq!(
        error_code(&mut c, AG).await,
        1475,
        "a COPY_ONLY backup does not count"
    );
    let full = r._data.path().join("full.bak");
    exec(
        &mut c,
        &format!("BACKUP DATABASE [sales] TO DISK = N'{}'", full.display()),
    )
    .await;
    assert_eq!(
        error_code(&mut c, &AG.replace("N'SRC01'", "N'OTHER'")).await,
        35237,
        "no replica on this server"
    );
    assert_eq!(
        error_code(&mut c, &AG.replace("'TCP://SRC01:5022'", "'SRC01'")).await,
        35232
    );
    exec(&mut c, AG).await;
    assert_eq!(error_code(&mut c, AG).await, 41106, "name taken");
    assert_eq!(
        error_code(&mut c, &AG.replace("[AG_sales]", "[AG_two]")).await,
        35244,
        "already in an AG"
    );
    let row = one_row(
        &mut c,
        "SELECT ag.name, ag.is_distributed, ar.replica_server_name, ar.endpoint_url, ar.availability_mode_desc,
                ar.failover_mode_desc, ar.seeding_mode_desc, adc.database_name
         FROM sys.availability_groups ag
         JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id
         JOIN sys.availability_databases_cluster adc ON adc.group_id = ag.group_id",
    )
    .await;
    assert_eq!(row.get::<&str, _>(0), Some("AG_sales"));
    assert_eq!(row.get::<bool, _>(1), Some(false));
    assert_eq!(row.get::<&str, _>(2), Some("SRC01"));
    assert_eq!(row.get::<&str, _>(3), Some("TCP://SRC01:5022"));
    assert_eq!(row.get::<&str, _>(4), Some("SYNCHRONOUS_COMMIT"));
    assert_eq!(row.get::<&str, _>(5), Some("MANUAL"));
    assert_eq!(row.get::<&str, _>(6), Some("AUTOMATIC"));
    assert_eq!(row.get::<&str, _>(7), Some("sales"));
    let joined = one_row(
        &mut c,
        "SELECT d.name FROM sys.databases d JOIN sys.availability_replicas ar ON ar.replica_id = d.replica_id
         WHERE d.group_database_id IS NOT NULL",
    )
    .await;
    assert_eq!(joined.get::<&str, _>(0), Some("sales"));
    assert_eq!(
        scalar_string(
            &mut c,
            "SELECT log_reuse_wait_desc FROM sys.databases WHERE name = 'sales'"
        )
        .await,
        "NOTHING"
    );
    r.server
        .set_log_reuse_wait("sales", "AVAILABILITY_REPLICA")
        .unwrap();
    assert_eq!(
        scalar_string(
            &mut c,
            "SELECT log_reuse_wait_desc FROM sys.databases WHERE name = 'sales'"
        )
        .await,
        "AVAILABILITY_REPLICA"
    );
    assert_eq!(
        error_code(&mut c, "DROP DATABASE [sales]").await,
        3752,
        "still in the AG"
    );
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE [sales] SET RECOVERY SIMPLE").await,
        1468,
        "an availability database stays FULL"
    );
    exec(&mut c, "ALTER DATABASE [sales] SET RECOVERY FULL").await;
    exec(&mut c, "DROP AVAILABILITY GROUP [AG_sales]").await;
    assert!(r.server.availability_groups().is_empty());
    assert_eq!(
        error_code(&mut c, "DROP AVAILABILITY GROUP [AG_sales]").await,
        15151
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_distributed_availability_group_is_created_modified_and_failed_over() {
    let r = start(sql(Release::Sql2019, true), TlsMode::Required).await;
    let mut c = connect(&r).await;
    prepared_database(&r, &mut c, "sales").await;
    assert_eq!(
        error_code(&mut c, DAG).await,
        35237,
        "no local member AG yet"
    );
    exec(&mut c, AG).await;
    exec(&mut c, DAG).await;
    let dag = r.server.availability_group("DAG_sales").unwrap();
    assert!(dag.distributed);
    assert_eq!(dag.replicas.len(), 2);
    assert_eq!(dag.local_role, ReplicaRole::Primary);
    assert!(
        dag.replicas[1]
            .endpoint_url
            .ends_with(";Server=[mi-target]")
    );
    let n = one_row(&mut c, "SELECT COUNT(*) FROM sys.availability_groups").await;
    assert_eq!(n.get::<i32, _>(0), Some(2));

    exec(
        &mut c,
        "ALTER AVAILABILITY GROUP [DAG_sales] MODIFY AVAILABILITY GROUP ON
           'AG_sales' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),
           'mi-target' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)",
    )
    .await;
    let modes = one_row(
        &mut c,
        "SELECT COUNT(*) FROM sys.availability_replicas ar JOIN sys.availability_groups ag ON ag.group_id = ar.group_id
         WHERE ag.name = 'DAG_sales' AND ar.availability_mode_desc = 'SYNCHRONOUS_COMMIT'",
    )
    .await;
    assert_eq!(modes.get::<i32, _>(0), Some(2));
    assert_eq!(
        r.server.take_hadr_requests(),
        vec![HadrRequest::ModeChanged {
            ag: "DAG_sales".into()
        }]
    );
    assert!(r.server.take_hadr_requests().is_empty(), "handed out once");
    assert_eq!(
        error_code(&mut c, "ALTER AVAILABILITY GROUP [DAG_sales] MODIFY AVAILABILITY GROUP ON 'nope' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)").await,
        15151
    );
    // A planned DAG failover by T-SQL needs 2022 CU13.
    assert_eq!(
        error_code(&mut c, "ALTER AVAILABILITY GROUP [DAG_sales] FAILOVER").await,
        50000
    );
    exec(
        &mut c,
        "ALTER AVAILABILITY GROUP [DAG_sales] SET (ROLE = SECONDARY)",
    )
    .await;
    assert_eq!(
        r.server.availability_group("DAG_sales").unwrap().local_role,
        ReplicaRole::Secondary
    );
    // The forwarder sets modes too (failback needs both sides synchronous).
    exec(
        &mut c,
        "ALTER AVAILABILITY GROUP [DAG_sales] MODIFY AVAILABILITY GROUP ON 'AG_sales' WITH (AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT)",
    )
    .await;
    exec(
        &mut c,
        "ALTER AVAILABILITY GROUP [DAG_sales] FORCE_FAILOVER_ALLOW_DATA_LOSS",
    )
    .await;
    assert_eq!(
        r.server.take_hadr_requests(),
        vec![
            HadrRequest::SetRoleSecondary {
                ag: "DAG_sales".into()
            },
            HadrRequest::ModeChanged {
                ag: "DAG_sales".into()
            },
            HadrRequest::ForceFailover {
                ag: "DAG_sales".into()
            },
        ]
    );
    exec(&mut c, "DROP AVAILABILITY GROUP [DAG_sales]").await;
    assert_eq!(
        r.server.take_hadr_requests(),
        vec![HadrRequest::Dropped {
            ag: "DAG_sales".into()
        }]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_server_2022_cu13_queues_a_planned_dag_failover() {
    let r = start(sql(Release::Sql2022Cu13, true), TlsMode::Required).await;
    let mut c = connect(&r).await;
    prepared_database(&r, &mut c, "sales").await;
    exec(&mut c, AG).await;
    exec(&mut c, DAG).await;
    exec(&mut c, "ALTER AVAILABILITY GROUP [DAG_sales] FAILOVER").await;
    assert_eq!(
        r.server.take_hadr_requests(),
        vec![HadrRequest::Failover {
            ag: "DAG_sales".into()
        }]
    );
    assert_eq!(
        error_code(&mut c, "ALTER AVAILABILITY GROUP [AG_sales] FAILOVER").await,
        41122
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_availability_group_without_databases_takes_create_any_database() {
    let r = start(sql(Release::Sql2022, true), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE AVAILABILITY GROUP [AG_mi] WITH (CLUSTER_TYPE = NONE) FOR REPLICA ON N'SRC01' WITH (
            ENDPOINT_URL = 'TCP://SRC01:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)",
    )
    .await;
    exec(
        &mut c,
        "ALTER AVAILABILITY GROUP [AG_mi] GRANT CREATE ANY DATABASE",
    )
    .await;
    let ag = r.server.availability_group("AG_mi").unwrap();
    assert!(ag.databases.is_empty() && ag.create_any_database);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_s_releases_report_their_builds() {
    for (name, release, version) in [
        ("2016-acp", Release::Sql2016AzureConnect, "13.0.7000.253"),
        ("2017-acp", Release::Sql2017AzureConnect, "14.0.3490.10"),
        ("2022-cu13", Release::Sql2022Cu13, "16.0.4125.3"),
        ("2025", Release::Sql2025, "17.0.1000.7"),
    ] {
        assert_eq!(Release::parse(name), Some(release));
        let r = start(sql(release, true), TlsMode::Required).await;
        let mut c = connect(&r).await;
        assert_eq!(
            scalar_string(
                &mut c,
                "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(30))"
            )
            .await,
            version
        );
    }
}
