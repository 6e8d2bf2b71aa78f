//! An emulated SQL Server that backs up TO URL into Azurite, an emulated MI and its ARM front
//! end, and a client that speaks to the front end as a plain HTTP client would: what the LRS
//! and ARM contract tests drive.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls};
use serde_json::{Value, json};

pub const TOKEN: &str = "lrs-test-token";
pub const MI_PATH: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi";
/// The api-version the rig asks with unless a test says otherwise: the newest stable one,
/// which `azure-mgmt-sql` 4.0.0 uses.
pub const VERSION: &str = "2025-01-01";

pub struct Rig {
    pub az: Azurite,
    pub src: Arc<Server>,
    pub mi: Arc<Server>,
    pub arm: ArmServer,
    pub certs: Arc<ServerTls>,
    pub http: reqwest::Client,
    /// A Read+List SAS for the `migration` container.
    pub rl: String,
    _data: tempfile::TempDir,
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

    /// The error code of an error answer.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

impl Rig {
    pub async fn new() -> Rig {
        Self::with(false, false).await
    }

    /// With `persistent`, the ARM front end keeps its state in the rig's data directory; with
    /// `tls`, it serves HTTPS with the rig's CA (`certs.ca_pem`).
    pub async fn with(persistent: bool, tls: bool) -> Rig {
        let az = Azurite::start().unwrap();
        az.create_container("migration").await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let certs = Arc::new(ServerTls::generate(&[]).unwrap());
        let src = Server::start(
            "127.0.0.1:0".parse().unwrap(),
            ServerOptions::local(
                Personality::SqlServer {
                    release: Release::Sql2019,
                    edition: Edition::Enterprise,
                    hadr: false,
                    name: "SRC".into(),
                },
                &data.path().join("src"),
                "Src#Pa55",
            ),
            certs.clone(),
        )
        .await
        .unwrap();
        let mi = Arc::new(
            Server::start(
                "127.0.0.1:0".parse().unwrap(),
                ServerOptions::local(
                    Personality::ManagedInstance {
                        name: "mi.database.windows.net".into(),
                    },
                    &data.path().join("mi"),
                    "Mi#Pa55",
                ),
                certs.clone(),
            )
            .await
            .unwrap(),
        );
        // 5 s (virtual) per backup set becomes 25 ms.
        mi.clock().set_speed(200.0);
        let arm_options = ArmOptions {
            data_dir: persistent.then(|| data.path().join("arm")),
            tls: tls.then(|| ferry_emulator::arm::https_config(&certs)),
            ..ArmOptions::local("mi", TOKEN)
        };
        let arm = ArmServer::start("127.0.0.1:0".parse().unwrap(), mi.clone(), arm_options)
            .await
            .unwrap();
        let rwl = azurite::devstore_container_sas("migration", "racwl").unwrap();
        let rl = azurite::devstore_container_sas("migration", "rl").unwrap();
        let container = az.container_url("migration");
        tokio::task::block_in_place(|| {
            src.run_sql(&format!(
                "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'"
            ))
            .unwrap();
        });
        Rig {
            az,
            src: Arc::new(src),
            mi,
            arm,
            certs,
            http: super::fresh_connections(),
            rl,
            _data: data,
        }
    }

    pub fn folder(&self, db: &str) -> String {
        format!("{}/{db}", self.az.container_url("migration"))
    }

    /// A backup of `db` (`kind` DATABASE or LOG) WITH CHECKSUM into `folder/file`.
    pub fn backup(&self, kind: &str, db: &str, folder: &str, file: &str) {
        self.source(&format!(
            "BACKUP {kind} [{db}] TO URL = '{folder}/{file}' WITH CHECKSUM"
        ));
    }

    /// Runs T-SQL on the source (backups land in Azurite through its credential).
    pub fn source(&self, sql: &str) {
        tokio::task::block_in_place(|| self.src.run_sql(sql)).unwrap();
    }

    /// `CREATE DATABASE` on the source in FULL recovery, with a table `T` of one row.
    pub fn seed(&self, db: &str) {
        self.source(&format!(
            "CREATE DATABASE [{db}]; ALTER DATABASE [{db}] SET RECOVERY FULL; CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); INSERT INTO [{db}].dbo.T VALUES (1)"
        ));
    }

    /// Puts a blob that is not a backup into `folder` through Azurite's REST API.
    pub async fn put_text_blob(&self, folder: &str, name: &str) {
        let sas = azurite::devstore_container_sas("migration", "racwl").unwrap();
        let r = self
            .http
            .put(format!("{folder}/{name}?{sas}"))
            .header("x-ms-blob-type", "BlockBlob")
            .header("x-ms-version", "2021-12-02")
            .body("notes, not a backup")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }

    /// A request to `url` (absolute) with the rig's token.
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

    /// A request to `{MI}/{path}` with `api-version=version`.
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

    /// A request to `{MI}/{path}` with [`VERSION`].
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        self.call_at(VERSION, method, path, body).await
    }

    /// Starts LRS for `db` from `folder`: autocomplete after `last`, or continuous.
    pub async fn start(&self, db: &str, folder: &str, sas: &str, last: Option<&str>) -> Reply {
        let mut props = json!({
            "createMode": "RestoreExternalBackup",
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "storageContainerUri": folder,
            "storageContainerIdentity": "SharedAccessSignature",
            "storageContainerSasToken": sas,
            "autoCompleteRestore": last.is_some(),
        });
        if let Some(l) = last {
            props["lastBackupName"] = json!(l);
        }
        self.call(
            reqwest::Method::PUT,
            &format!("databases/{db}"),
            Some(json!({ "location": "westeurope", "properties": props })),
        )
        .await
    }

    pub async fn details(&self, db: &str) -> Reply {
        self.call(
            reqwest::Method::GET,
            &format!("databases/{db}/restoreDetails/Default"),
            None,
        )
        .await
    }

    /// Polls restoreDetails until `done` says so of its properties (or 30 s pass); every
    /// answer on the way must be 200.
    pub async fn until(&self, db: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.details(db).await;
            assert_eq!(r.status, 200, "restoreDetails of {db}: {}", r.body);
            if done(&r.body["properties"]) {
                return r.body["properties"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "restore details never got there: {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls restoreDetails until it stops answering 200 (or 30 s pass), and returns that
    /// answer: a failed job's error, or the expired details of a completed one.
    pub async fn until_not_restoring(&self, db: &str) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.details(db).await;
            if r.status != 200 {
                return r;
            }
            assert!(Instant::now() < deadline, "still restoring: {}", r.body);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `GET databases/{db}` until its status is `status`.
    pub async fn until_status(&self, db: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .call(reqwest::Method::GET, &format!("databases/{db}"), None)
                .await;
            if r.body["properties"]["status"] == status {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "{db} never became {status}: {} {}",
                r.status,
                r.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Follows the `Azure-AsyncOperation` URL of an accepted request until it ends, and
    /// returns its last status body.
    pub async fn follow(&self, accepted: &Reply) -> Value {
        let url = accepted.header("azure-asyncoperation").unwrap_or_else(|| {
            panic!(
                "no Azure-AsyncOperation: {} {}",
                accepted.status, accepted.body
            )
        });
        let deadline = Instant::now() + Duration::from_secs(30);
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

    /// `SELECT COUNT(*)` of `db.dbo.T` on the MI, as text.
    pub fn mi_count(&self, db: &str) -> String {
        let out = tokio::task::block_in_place(|| {
            self.mi
                .run_sql(&format!("SELECT COUNT(*) FROM [{db}].dbo.T"))
        });
        format!("{out:?}")
    }
}
