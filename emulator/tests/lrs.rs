//! The Log Replay Service through the emulated MI's ARM front end: backups taken TO URL by the
//! emulated SQL Server into Azurite, a job started with `createMode: RestoreExternalBackup`,
//! followed through `restoreDetails`, in autocomplete and continuous (completeRestore) modes,
//! and the documented refusals: a SAS that is not exactly Read+List, `backups` in the path, a
//! nested folder, a gap in the log chain, completing with a file that is not the last restored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls};
use serde_json::{Value, json};

const TOKEN: &str = "lrs-test-token";
const MI_PATH: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi";

struct Rig {
    az: Azurite,
    src: Server,
    mi: Arc<Server>,
    arm: ArmServer,
    http: reqwest::Client,
    rl: String,
    _data: tempfile::TempDir,
}

impl Rig {
    async fn new() -> Rig {
        Self::with_arm(false).await
    }

    /// With `persistent`, the ARM front end keeps its state in the rig's data directory.
    async fn with_arm(persistent: bool) -> Rig {
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
                certs,
            )
            .await
            .unwrap(),
        );
        // 5 s (virtual) per backup set becomes 25 ms.
        mi.clock().set_speed(200.0);
        let arm_options = ArmOptions {
            data_dir: persistent.then(|| data.path().join("arm")),
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
            src,
            mi,
            arm,
            http: reqwest::Client::new(),
            rl,
            _data: data,
        }
    }

    fn folder(&self, db: &str) -> String {
        format!("{}/{db}", self.az.container_url("migration"))
    }

    /// A backup of `db` (`kind` DATABASE or LOG) WITH CHECKSUM into `folder/file`.
    fn backup(&self, kind: &str, db: &str, folder: &str, file: &str) {
        self.source(&format!(
            "BACKUP {kind} [{db}] TO URL = '{folder}/{file}' WITH CHECKSUM"
        ));
    }

    /// Runs T-SQL on the source (backups land in Azurite through its credential).
    fn source(&self, sql: &str) {
        tokio::task::block_in_place(|| self.src.run_sql(sql)).unwrap();
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(
                method,
                format!(
                    "{}{MI_PATH}/{path}?api-version=2023-08-01",
                    self.arm.endpoint()
                ),
            )
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn start(&self, db: &str, folder: &str, sas: &str, last: Option<&str>) -> (u16, Value) {
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

    /// Polls restoreDetails until `done` says so (or 30 s pass).
    async fn until(&self, db: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, d) = self
                .call(
                    reqwest::Method::GET,
                    &format!("databases/{db}/restoreDetails/Default"),
                    None,
                )
                .await;
            if done(&d["properties"]) {
                return d["properties"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "restore details never got there: {d}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn mi_count(&self, db: &str) -> String {
        let out = tokio::task::block_in_place(|| {
            self.mi
                .run_sql(&format!("SELECT COUNT(*) FROM [{db}].dbo.T"))
        });
        format!("{out:?}")
    }
}

fn seed(rig: &Rig, db: &str) {
    rig.source(&format!(
        "CREATE DATABASE [{db}]; ALTER DATABASE [{db}] SET RECOVERY FULL; CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); INSERT INTO [{db}].dbo.T VALUES (1)"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_restores_the_chain_and_brings_the_database_online() {
    let rig = Rig::new().await;
    seed(&rig, "Sales");
    let f = rig.folder("Sales");
    rig.backup("DATABASE", "Sales", &f, "full.bak");
    rig.source("INSERT INTO [Sales].dbo.T VALUES (2)");
    rig.backup("LOG", "Sales", &f, "log1.trn");
    rig.source("INSERT INTO [Sales].dbo.T VALUES (3)");
    rig.backup("LOG", "Sales", &f, "log2.trn");

    let (status, body) = rig.start("Sales", &f, &rig.rl, Some("log2.trn")).await;
    assert_eq!(status, 202, "{body}");
    let (_, db) = rig
        .call(reqwest::Method::GET, "databases/Sales", None)
        .await;
    assert_eq!(db["properties"]["status"], "Restoring", "{db}");
    let d = rig
        .until("Sales", |p| {
            p["status"] == "Completed" || p["status"] == "Failed"
        })
        .await;
    assert_eq!(d["status"], "Completed", "{d}");
    assert_eq!(d["lastRestoredFileName"], "log2.trn");
    assert_eq!(d["numberOfFilesDetected"], 3);
    assert_eq!(d["numberOfFilesRestored"], 3, "{d}");
    assert_eq!(d["numberOfFilesQueued"], 0, "{d}");
    let logs: Vec<(&str, &str)> = d["logBackupSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["firstStripeName"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(logs, [("log1.trn", "Restored"), ("log2.trn", "Restored")]);
    assert_eq!(d["fullBackupSets"][0]["firstStripeName"], "full.bak");
    let (_, db) = rig
        .call(reqwest::Method::GET, "databases/Sales", None)
        .await;
    assert_eq!(db["properties"]["status"], "Online", "{db}");
    assert!(
        rig.mi_count("Sales").contains("Int(3)"),
        "{}",
        rig.mi_count("Sales")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_identity_reads_only_the_containers_granted_to_it() {
    let rig = Rig::new().await;
    seed(&rig, "Mi");
    let f = rig.folder("Mi");
    rig.backup("DATABASE", "Mi", &f, "full.bak");
    let start = |db: &str| {
        json!({ "location": "westeurope", "properties": {
            "createMode": "RestoreExternalBackup",
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "storageContainerUri": f,
            "storageContainerIdentity": "ManagedIdentity",
            "autoCompleteRestore": true,
            "lastBackupName": "full.bak",
        }, "name": db })
    };
    let (status, body) = rig
        .call(
            reqwest::Method::PUT,
            "databases/Denied",
            Some(start("Denied")),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let d = rig.until("Denied", |p| p["status"] == "Failed").await;
    assert_eq!(
        d["errorCode"], "ManagedIdentityIssueDetectedFromTheStart",
        "{d}"
    );

    rig.arm.grant_managed_identity(
        &rig.az.container_url("migration"),
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
    );
    let (status, body) = rig
        .call(reqwest::Method::PUT, "databases/Mi", Some(start("Mi")))
        .await;
    assert_eq!(status, 202, "{body}");
    let d = rig.until("Mi", |p| p["status"] != "Restoring").await;
    assert_eq!(d["status"], "Completed", "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tde_database_whose_certificate_is_not_on_the_mi_stops_with_missing_thumbprint() {
    let rig = Rig::new().await;
    seed(&rig, "Secure");
    rig.source(
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk#2026'; \
         CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE for Secure'; \
         USE Secure; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 \
         ENCRYPTION BY SERVER CERTIFICATE TdeCert; USE master; \
         ALTER DATABASE Secure SET ENCRYPTION ON",
    );
    let f = rig.folder("Secure");
    rig.backup("DATABASE", "Secure", &f, "full.bak");
    let (status, body) = rig.start("Secure", &f, &rig.rl, Some("full.bak")).await;
    assert_eq!(status, 202, "{body}");
    let d = rig.until("Secure", |p| p["status"] != "Restoring").await;
    assert_eq!(d["errorCode"], "MissingThumbprint", "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_mode_picks_up_new_logs_until_complete_restore() {
    let rig = Rig::new().await;
    seed(&rig, "Hr");
    let f = rig.folder("Hr");
    rig.backup("DATABASE", "Hr", &f, "hr_full.bak");
    rig.source("INSERT INTO [Hr].dbo.T VALUES (2)");
    rig.backup("LOG", "Hr", &f, "hr_log1.trn");
    let (status, body) = rig.start("Hr", &f, &rig.rl, None).await;
    assert_eq!(status, 202, "{body}");
    rig.until("Hr", |p| p["lastRestoredFileName"] == "hr_log1.trn")
        .await;
    // A log taken after the start is found on the next scan.
    rig.source("INSERT INTO [Hr].dbo.T VALUES (3)");
    rig.backup("LOG", "Hr", &f, "hr_tail.trn");
    rig.until("Hr", |p| p["lastRestoredFileName"] == "hr_tail.trn")
        .await;
    let (status, body) = rig
        .call(
            reqwest::Method::POST,
            "databases/Hr/completeRestore",
            Some(json!({ "lastBackupName": "hr_log1.trn" })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("RequiredBackupIsNotLastRestored")),
        "{body}"
    );
    let (status, _) = rig
        .call(
            reqwest::Method::POST,
            "databases/Hr/completeRestore",
            Some(json!({ "lastBackupName": "hr_tail.trn" })),
        )
        .await;
    assert_eq!(status, 202);
    let d = rig.until("Hr", |p| p["status"] == "Completed").await;
    assert_eq!(d["lastRestoredFileName"], "hr_tail.trn");
    assert!(
        rig.mi_count("Hr").contains("Int(3)"),
        "{}",
        rig.mi_count("Hr")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_refusals_have_their_codes() {
    let rig = Rig::new().await;
    seed(&rig, "Gap");
    let f = rig.folder("Gap");
    let elsewhere = rig.folder("Elsewhere");
    rig.backup("DATABASE", "Gap", &f, "full.bak");
    rig.source("INSERT INTO [Gap].dbo.T VALUES (2)");
    rig.backup("LOG", "Gap", &f, "log1.trn");
    rig.source("INSERT INTO [Gap].dbo.T VALUES (3)");
    // The second log goes to another folder: the chain in Gap/ has a hole.
    rig.backup("LOG", "Gap", &elsewhere, "log2.trn");
    rig.source("INSERT INTO [Gap].dbo.T VALUES (4)");
    rig.backup("LOG", "Gap", &f, "log3.trn");

    let (status, body) = rig.start("Gap", &f, &rig.rl, Some("log3.trn")).await;
    assert_eq!(status, 202, "{body}");
    let d = rig.until("Gap", |p| p["status"] == "Failed").await;
    assert_eq!(d["errorCode"], "BrokenRestorePlanGapInLogBackups", "{d}");

    let rwl = azurite::devstore_container_sas("migration", "racwl").unwrap();
    for (db, folder, sas, code) in [
        (
            "A",
            f.clone(),
            rwl.as_str(),
            "InvalidStorageContainerSasTokenPermissions",
        ),
        (
            "B",
            format!("{}/backups", rig.az.container_url("migration")),
            rig.rl.as_str(),
            "StorageContainerUriContainsReservedWord",
        ),
    ] {
        let (status, body) = rig.start(db, &folder, sas, Some("x.trn")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let (status, body) = rig
        .call(
            reqwest::Method::PUT,
            "databases/C",
            Some(json!({ "properties": { "createMode": "RestoreExternalBackup", "collation": "SQL_Latin1_General_CP1_CI_AS", "storageContainerUri": f, "storageContainerSasToken": rig.rl, "autoCompleteRestore": true } })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("AutoCompleteMissingLastBackupName"))
    );

    // A nested folder stops the job at its first scan.
    seed(&rig, "Nest");
    let n = rig.folder("Nest");
    rig.backup("DATABASE", "Nest", &n, "full.bak");
    rig.backup("LOG", "Nest", &n, "old/log1.trn");
    let (status, _) = rig.start("Nest", &n, &rig.rl, Some("full.bak")).await;
    assert_eq!(status, 202);
    let d = rig.until("Nest", |p| p["status"] == "Failed").await;
    assert_eq!(d["errorCode"], "NestedFoldersNotSupported", "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_older_than_thirty_days_is_cancelled_and_its_database_removed() {
    let rig = Rig::new().await;
    seed(&rig, "Old");
    let f = rig.folder("Old");
    rig.backup("DATABASE", "Old", &f, "full.bak");
    let (status, body) = rig.start("Old", &f, &rig.rl, None).await;
    assert_eq!(status, 202, "{body}");
    rig.until("Old", |p| p["lastRestoredFileName"] == "full.bak")
        .await;
    // Thirty days of virtual time pass in about three seconds.
    rig.mi.clock().set_speed(1_000_000.0);
    // The instance's limit on concurrent restores (100 on MI) refuses one more.
    rig.arm.limit_restores(1);
    seed(&rig, "More");
    let (status, body) = rig.start("More", &rig.folder("More"), &rig.rl, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("DatabaseNumberLimitReached")),
        "{body}"
    );
    let d = rig.until("Old", |p| p["status"] == "Failed").await;
    assert_eq!(d["errorCode"], "TimeoutDuringRestore", "{d}");
    let names = tokio::task::block_in_place(|| rig.mi.run_sql("SELECT name FROM sys.databases"));
    assert!(!format!("{names:?}").contains("\"Old\""), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_reply_comes_after_the_job_has_started() {
    let rig = Arc::new(Rig::new().await);
    seed(&rig, "Sales");
    let f = rig.folder("Sales");
    rig.backup("DATABASE", "Sales", &f, "full.bak");
    // Held far longer than the test runs: the caller is dropped while it waits.
    rig.arm
        .hold_reply("PUT", "/databases/Sales", Duration::from_secs(600));
    let starter = {
        let (rig, f) = (rig.clone(), f.clone());
        tokio::spawn(async move { rig.start("Sales", &f, &rig.rl, Some("full.bak")).await })
    };
    let d = rig.until("Sales", |p| p["status"] == "Completed").await;
    assert_eq!(d["lastRestoredFileName"], "full.bak", "{d}");
    assert!(
        !starter.is_finished(),
        "the job ran while the PUT's reply is still held"
    );
    starter.abort();
    // Used up: a second start is answered, not held, with LRS's refusal for a name in use.
    let (status, body) = rig.start("Sales", &f, &rig.rl, None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "ManagedDatabaseNameInUse", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_in_flight_carries_on_after_the_front_end_and_the_instance_restart() {
    let rig = Rig::with_arm(true).await;
    seed(&rig, "Ops");
    let f = rig.folder("Ops");
    rig.backup("DATABASE", "Ops", &f, "ops_full.bak");
    rig.source("INSERT INTO [Ops].dbo.T VALUES (2)");
    rig.backup("LOG", "Ops", &f, "ops_log1.trn");
    let (status, body) = rig.start("Ops", &f, &rig.rl, None).await;
    assert_eq!(status, 202, "{body}");
    rig.until("Ops", |p| p["lastRestoredFileName"] == "ops_log1.trn")
        .await;

    // The front end goes down: nothing answers; a log taken meanwhile waits in the folder.
    rig.arm.stop().await;
    let url = format!("{}{MI_PATH}?api-version=2023-08-01", rig.arm.endpoint());
    assert!(rig.http.get(&url).bearer_auth(TOKEN).send().await.is_err());
    rig.source("INSERT INTO [Ops].dbo.T VALUES (3)");
    rig.backup("LOG", "Ops", &f, "ops_log2.trn");
    // Back from its state file, the job goes on without restoring anything twice.
    rig.arm.restart().await.unwrap();
    let d = rig
        .until("Ops", |p| p["lastRestoredFileName"] == "ops_log2.trn")
        .await;
    assert_eq!(d["status"], "Restoring");

    // The instance restarts under a running job: ARM answers 503 while it is down, and the
    // job waits for it.
    rig.mi.stop().await;
    let (status, body) = rig.call(reqwest::Method::GET, "databases", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("ServiceUnavailable"))
    );
    rig.source("INSERT INTO [Ops].dbo.T VALUES (4)");
    rig.backup("LOG", "Ops", &f, "ops_log3.trn");
    rig.mi.restart().await.unwrap();
    rig.until("Ops", |p| p["lastRestoredFileName"] == "ops_log3.trn")
        .await;

    let (status, _) = rig
        .call(
            reqwest::Method::POST,
            "databases/Ops/completeRestore",
            Some(json!({ "lastBackupName": "ops_log3.trn" })),
        )
        .await;
    assert_eq!(status, 202);
    rig.until("Ops", |p| p["status"] == "Completed").await;
    assert!(
        rig.mi_count("Ops").contains("Int(4)"),
        "{}",
        rig.mi_count("Ops")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_server_errors_have_arms_shape_and_run_out() {
    let rig = Rig::new().await;
    rig.arm.fail(2, 503);
    for _ in 0..2 {
        let (status, body) = rig.call(reqwest::Method::GET, "databases", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("ServiceUnavailable"))
        );
    }
    let (status, _) = rig.call(reqwest::Method::GET, "databases", None).await;
    assert_eq!(status, 200);
}
