//! A SQL Server and a Managed Instance on one emulated network, with the MI's link engine, and
//! the source side of a link prepared by T-SQL as "Configure link with T-SQL" gives it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use ferry_emulator::hadr::link::{LinkRole, LinkSpec, LinkStatus, Links};
use ferry_emulator::hadr::network::Network;
use ferry_emulator::{Edition, Personality, Release, TlsMode};

use crate::common::{self, C, Running, exec};

pub const MI_FQDN: &str = "mi-target.public.abc123.database.windows.net";
pub const SOURCE: &str = "SRC01";
pub const SOURCE_CERT: &str = "Cert_SRC01_endpoint";

pub struct Rig {
    pub src: Running,
    pub mi: Running,
    pub network: Arc<Network>,
    pub links: Arc<Links>,
}

pub fn sql2022() -> Personality {
    Personality::SqlServer {
        release: Release::Sql2022,
        edition: Edition::Enterprise,
        hadr: true,
        name: SOURCE.into(),
    }
}

/// Both servers, registered on the network, clocks 600 times real time (5 virtual minutes
/// pass in half a second).
pub async fn rig(source: Personality) -> Rig {
    let src = common::start(source, TlsMode::Required).await;
    let mi = common::start(common::mi(), TlsMode::Required).await;
    for s in [&src.server, &mi.server] {
        s.clock().set_speed(600.0);
    }
    let network = Network::new();
    network.register(
        &[SOURCE.into(), "127.0.0.1".into(), "localhost".into()],
        src.server.clone(),
    );
    network.register(&[MI_FQDN.into()], mi.server.clone());
    let links = Links::new(mi.server.clone(), network.clone(), None);
    Rig {
        src,
        mi,
        network,
        links,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The database with a table and a full backup; the endpoint, certificates both ways, the AG
/// and the DAG on SQL Server; the source's certificate trusted on the MI.
pub async fn prepare(r: &Rig, db: &str) -> C {
    let mut c = common::connect(&r.src).await;
    let dir = r.src._data.path().display().to_string();
    exec(&mut c, &format!("CREATE DATABASE [{db}]")).await;
    exec(&mut c, &format!("ALTER DATABASE [{db}] SET RECOVERY FULL")).await;
    exec(&mut c, &format!("CREATE TABLE [{db}].dbo.t (id INT NOT NULL, note NVARCHAR(100)); INSERT INTO [{db}].dbo.t VALUES (1, N'before the link')")).await;
    exec(
        &mut c,
        &format!("BACKUP DATABASE [{db}] TO DISK = N'{dir}/{db}.bak'"),
    )
    .await;
    trust(r, &mut c).await;
    exec(&mut c, &format!(
        "CREATE AVAILABILITY GROUP [AG_{db}] WITH (CLUSTER_TYPE = NONE) FOR DATABASE [{db}] REPLICA ON N'{SOURCE}' WITH (ENDPOINT_URL = 'TCP://{SOURCE}:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)"
    )).await;
    exec(&mut c, &format!(
        "CREATE AVAILABILITY GROUP [DAG_{db}] WITH (DISTRIBUTED) AVAILABILITY GROUP ON N'AG_{db}' WITH (LISTENER_URL = 'TCP://{SOURCE}:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC), N'mi-target' WITH (LISTENER_URL = 'tcp://{MI_FQDN}:5022;Server=[mi-target]', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)"
    )).await;
    c
}

/// Master key, endpoint certificate and endpoint on SQL Server; the MI's certificate imported
/// under the MI's FQDN; SQL Server's certificate uploaded to the MI.
pub async fn trust(r: &Rig, c: &mut C) {
    exec(
        c,
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng-Passw0rd!'",
    )
    .await;
    exec(c, &format!("CREATE CERTIFICATE [{SOURCE_CERT}] WITH SUBJECT = 'Certificate for {SOURCE_CERT}', EXPIRY_DATE = '20300101'")).await;
    exec(c, &format!("CREATE ENDPOINT database_mirroring_endpoint STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [{SOURCE_CERT}], ENCRYPTION = REQUIRED ALGORITHM AES)")).await;
    let (mi_der, _) =
        r.mi.server
            .endpoint_certificate()
            .expect("the MI's endpoint certificate");
    exec(
        c,
        &format!(
            "CREATE CERTIFICATE [{MI_FQDN}] FROM BINARY = 0x{}",
            hex(&mi_der)
        ),
    )
    .await;
    let der = source_certificate(c).await;
    r.links.put_trust_certificate(SOURCE_CERT, &der).unwrap();
}

pub async fn source_certificate(c: &mut C) -> Vec<u8> {
    let row = common::one_row(c, &format!("SELECT CERTENCODED(CERT_ID(N'{SOURCE_CERT}'))")).await;
    row.get::<&[u8], _>(0).expect("CERTENCODED").to_vec()
}

pub fn spec(db: &str, two_way: bool) -> LinkSpec {
    LinkSpec {
        dag: format!("DAG_{db}"),
        partner_ag: format!("AG_{db}"),
        partner_endpoint: format!("TCP://{SOURCE}:5022"),
        instance_ag: "mi-target".into(),
        databases: vec![db.into()],
        failover_manual: two_way,
        seeding_automatic: true,
        instance_role: LinkRole::Secondary,
    }
}

/// Waits (up to 60 s real time) until the link's status satisfies `pred`; the last status.
pub async fn wait_for(
    links: &Links,
    dag: &str,
    what: &str,
    pred: impl Fn(&LinkStatus) -> bool,
) -> LinkStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = links.status(dag).expect("the link exists");
        if pred(&s) {
            return s;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("the link never reached {what}: {s:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn state(s: &LinkStatus) -> &str {
    &s.databases[0].replica_state
}

/// Waits until `sql` on `c` returns `want` as its first column of its first row (text).
pub async fn wait_sql(c: &mut C, sql: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = text(c, sql).await;
        if got.as_deref() == Some(want) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{sql} never answered {want:?}; last {got:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first column of the first row as text (numbers formatted), None for no row or NULL.
pub async fn text(c: &mut C, sql: &str) -> Option<String> {
    let row = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_row()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))?;
    if let Ok(Some(s)) = row.try_get::<&str, _>(0) {
        return Some(s.to_owned());
    }
    if let Ok(Some(n)) = row.try_get::<i32, _>(0) {
        return Some(n.to_string());
    }
    if let Ok(Some(n)) = row.try_get::<i64, _>(0) {
        return Some(n.to_string());
    }
    if let Ok(Some(n)) = row.try_get::<tiberius::numeric::Numeric, _>(0) {
        // numeric(25,0) LSNs as integers.
        let t = n.to_string();
        return Some(t.strip_suffix(".0").map(str::to_owned).unwrap_or(t));
    }
    None
}
