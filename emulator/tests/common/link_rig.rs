//! A SQL Server 2022 and a Managed Instance on one emulated network, the MI's link engine and
//! its ARM front end: what the Managed Instance link's ARM tests drive. The source side is set
//! up with T-SQL over TDS as "Configure link with scripts" (learn.microsoft.com) gives it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::hadr::Network;
use ferry_emulator::hadr::link::Links;
use ferry_emulator::{Edition, Personality, Release, TlsMode};
use serde_json::{Value, json};

use super::{C, Running, connect, start};

pub const TOKEN: &str = "link-test-token";
/// The MI's short name (ARM's instance name) and its FQDN (its server name).
pub const MI: &str = "mi-link";
pub const MI_FQDN: &str = "mi-link.abc123.database.windows.net";
pub const SRC: &str = "SRC01";
pub const MI_PATH: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi-link";
pub const VERSION: &str = "2025-01-01";

pub struct LinkRig {
    pub src: Running,
    pub mi: Running,
    pub network: Arc<Network>,
    pub links: Arc<Links>,
    pub arm: ArmServer,
    pub http: reqwest::Client,
}

/// An answer: status, headers and the JSON body (Null when there is none).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

impl LinkRig {
    pub async fn new() -> LinkRig {
        Self::with_options(|o| o).await
    }

    pub async fn with_options(f: impl FnOnce(ArmOptions) -> ArmOptions) -> LinkRig {
        let src = start(
            Personality::SqlServer {
                release: Release::Sql2022,
                edition: Edition::Enterprise,
                hadr: true,
                name: SRC.into(),
            },
            TlsMode::Optional,
        )
        .await;
        let mi = start(
            Personality::ManagedInstance {
                name: MI_FQDN.into(),
            },
            TlsMode::Optional,
        )
        .await;
        // Seeding and the link's checks run on the servers' virtual clocks.
        for s in [&src.server, &mi.server] {
            s.clock().set_speed(600.0);
        }
        let network = Network::new();
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        network.register(&names(&[SRC, "127.0.0.1", "localhost"]), src.server.clone());
        network.register(&names(&[MI_FQDN]), mi.server.clone());
        let links = Links::new(mi.server.clone(), network.clone(), None);
        let options = f(ArmOptions {
            operation_time: Duration::from_millis(50),
            links: Some(links.clone()),
            ..ArmOptions::local(MI, TOKEN)
        });
        let arm = ArmServer::start("127.0.0.1:0".parse().unwrap(), mi.server.clone(), options)
            .await
            .unwrap();
        LinkRig {
            src,
            mi,
            network,
            links,
            arm,
            http: super::fresh_connections(),
        }
    }

    pub async fn source(&self) -> C {
        connect(&self.src).await
    }

    pub async fn send(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, url).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn call_at(
        &self,
        version: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let url = format!(
            "{}{MI_PATH}/{path}?api-version={version}",
            self.arm.endpoint()
        );
        self.send(method, &url, body).await
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        self.call_at(VERSION, method, path, body).await
    }

    /// Polls the `Azure-AsyncOperation` of a 202 until it ends; its final status body.
    pub async fn follow(&self, accepted: &Reply) -> Value {
        let url = accepted.header("azure-asyncoperation").unwrap_or_else(|| {
            panic!(
                "no Azure-AsyncOperation: {} {}",
                accepted.status, accepted.body
            )
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.send(reqwest::Method::GET, &url, None).await;
            assert_eq!(r.status, 200, "{url}: {}", r.body);
            if r.body["status"] != "InProgress" {
                return r.body;
            }
            assert!(Instant::now() < deadline, "{url} never ended: {}", r.body);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// GETs the DAG until `done` holds for its first database; that database.
    pub async fn until_db(&self, dag: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self
                .call(
                    reqwest::Method::GET,
                    &format!("distributedAvailabilityGroups/{dag}"),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let db = r.body["properties"]["databases"][0].clone();
            if done(&db) {
                return db;
            }
            assert!(
                Instant::now() < deadline,
                "the link never got there: {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Runs a batch on a client, failing the test on an error.
pub async fn exec(c: &mut C, sql: &str) {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_results()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// CERTENCODED of a certificate on the source, as hex with `0x`.
pub async fn cert_hex(c: &mut C, name: &str) -> String {
    let row = c
        .simple_query(format!("SELECT CERTENCODED(CERT_ID(N'{name}'))"))
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    let bytes: &[u8] = row
        .get(0)
        .unwrap_or_else(|| panic!("no certificate {name}"));
    format!(
        "0x{}",
        bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()
    )
}

/// The source's side of a link for `db` (methods.md §1.3 steps 1–4): a database in full
/// recovery with a full backup, a master key, the endpoint certificate, the MI's certificate
/// imported under its FQDN (`mi_blob`: hex without `0x`, as endpointCertificates answers
/// it), the mirroring endpoint, the AG and the DAG naming the MI. Returns the source
/// certificate's CERTENCODED (with `0x`). `dir` takes the backup (the source's data
/// directory, where it may write).
pub async fn prepare_source(c: &mut C, db: &str, dir: &std::path::Path) -> String {
    exec(
        c,
        &format!(
            "CREATE DATABASE [{db}]; ALTER DATABASE [{db}] SET RECOVERY FULL; \
             CREATE TABLE [{db}].dbo.T (id int PRIMARY KEY, v nvarchar(50)); \
             INSERT INTO [{db}].dbo.T VALUES (1, N'one'), (2, N'two')"
        ),
    )
    .await;
    let bak = dir.join(format!("{db}.bak"));
    exec(
        c,
        &format!("BACKUP DATABASE [{db}] TO DISK = N'{}'", bak.display()),
    )
    .await;
    exec(
        c,
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Link#Master2026'",
    )
    .await;
    exec(
        c,
        "CREATE CERTIFICATE [Cert_SRC01_endpoint] WITH SUBJECT = 'Certificate for Cert_SRC01_endpoint', EXPIRY_DATE = '2030-01-01'",
    )
    .await;
    cert_hex(c, "Cert_SRC01_endpoint").await
}

/// Steps 2 (import the MI's certificate) to 4 on the source, once the MI's endpoint
/// certificate (`mi_blob`, hex without `0x`) is known.
pub async fn finish_source(c: &mut C, db: &str, mi_blob: &str) {
    exec(
        c,
        &format!("CREATE CERTIFICATE [{MI_FQDN}] FROM BINARY = 0x{mi_blob}"),
    )
    .await;
    exec(
        c,
        "CREATE ENDPOINT database_mirroring_endpoint STATE = STARTED \
         AS TCP (LISTENER_PORT = 5022, LISTENER_IP = ALL) \
         FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [Cert_SRC01_endpoint], \
         ENCRYPTION = REQUIRED ALGORITHM AES)",
    )
    .await;
    exec(
        c,
        &format!(
            "CREATE AVAILABILITY GROUP [AG_{db}] WITH (CLUSTER_TYPE = NONE) FOR DATABASE [{db}] \
             REPLICA ON N'{SRC}' WITH (ENDPOINT_URL = 'TCP://{SRC}:5022', \
             AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)"
        ),
    )
    .await;
    exec(
        c,
        &format!(
            "CREATE AVAILABILITY GROUP [DAG_{db}] WITH (DISTRIBUTED) AVAILABILITY GROUP ON \
             N'AG_{db}' WITH (LISTENER_URL = 'TCP://{SRC}:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, \
             FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC, SESSION_TIMEOUT = 20), \
             N'{MI}' WITH (LISTENER_URL = 'tcp://{MI_FQDN}:5022;Server=[{MI}]', \
             AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)"
        ),
    )
    .await;
}

/// The ARM body (2025-01-01 shape) of a link for `db` from the source's `AG_{db}`.
pub fn link_body(db: &str, failover_mode: &str) -> Value {
    json!({ "properties": {
        "partnerAvailabilityGroupName": format!("AG_{db}"),
        "partnerEndpoint": format!("TCP://{SRC}:5022"),
        "instanceAvailabilityGroupName": MI,
        "instanceLinkRole": "Secondary",
        "failoverMode": failover_mode,
        "seedingMode": "Automatic",
        "databases": [{ "databaseName": db }],
    }})
}
