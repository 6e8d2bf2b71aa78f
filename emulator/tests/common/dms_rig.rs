//! The LRS rig (an emulated SQL Server backing up into Azurite, an MI and its ARM front end)
//! with the emulated Database Migration Service on it: a storage account for Azurite, a
//! service, and the calls a DMS client makes.

use std::time::{Duration, Instant};

use ferry_emulator::azurite;
use serde_json::{Value, json};

use super::lrs_rig::{MI_PATH, Reply, Rig};

pub const DMS_VERSION: &str = "2025-06-30";
pub const GROUP: &str = "/subscriptions/s1/resourceGroups/rg";
pub const ACCOUNT_ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1";

pub struct Dms {
    pub rig: Rig,
}

impl Dms {
    /// The rig, with Azurite's account known to DMS as a standard account in West Europe.
    pub async fn new() -> Dms {
        Self::with(false).await
    }

    /// With `tls`, the front end serves HTTPS with the rig's CA (as Microsoft's SDK needs).
    pub async fn with(tls: bool) -> Dms {
        let rig = Rig::with(false, tls).await;
        rig.arm.dms_storage_account(
            azurite::ACCOUNT,
            &rig.az.endpoint(),
            "westeurope",
            "StorageV2",
            "Standard",
        );
        Dms { rig }
    }

    pub async fn at(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{path}{sep}api-version={DMS_VERSION}",
            self.rig.arm.endpoint()
        );
        self.rig.send(method, &url, body).await
    }

    pub fn service_path(name: &str) -> String {
        format!("{GROUP}/providers/Microsoft.DataMigration/sqlMigrationServices/{name}")
    }

    pub fn migration_path(db: &str) -> String {
        format!("{MI_PATH}/providers/Microsoft.DataMigration/databaseMigrations/{db}")
    }

    /// Creates service `name` and waits for its operation.
    pub async fn service(&self, name: &str) -> Reply {
        let r = self
            .at(
                reqwest::Method::PUT,
                &Self::service_path(name),
                Some(json!({ "location": "westeurope", "tags": {} })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(self.rig.follow(&r).await["status"], "Succeeded");
        r
    }

    /// The body of a blob migration of `source_db` into `db` from container `container`.
    pub fn blob_body(&self, source_db: &str, container: &str, offline: Option<&str>) -> Value {
        let mut p = json!({
            "kind": "SqlMi",
            "scope": MI_PATH,
            "migrationService": Self::service_path("dms1"),
            "sourceDatabaseName": source_db,
            "sourceSqlConnection": { "dataSource": "SRC", "authentication": "SqlAuthentication",
                "userName": "sa", "password": "Src#Pa55", "encryptConnection": true, "trustServerCertificate": true },
            "backupConfiguration": { "sourceLocation": { "azureBlob": {
                "storageAccountResourceId": ACCOUNT_ID,
                "accountKey": azurite::ACCOUNT_KEY,
                "blobContainerName": container,
                "authType": "AccountKey",
            }}},
            "offlineConfiguration": { "offline": offline.is_some() },
        });
        if let Some(last) = offline {
            p["offlineConfiguration"]["lastBackupName"] = json!(last);
        }
        json!({ "properties": p })
    }

    pub async fn start(&self, db: &str, body: Value) -> Reply {
        self.at(reqwest::Method::PUT, &Self::migration_path(db), Some(body))
            .await
    }

    pub async fn get(&self, db: &str) -> Reply {
        self.at(
            reqwest::Method::GET,
            &format!(
                "{}?$expand=MigrationStatusDetails",
                Self::migration_path(db)
            ),
            None,
        )
        .await
    }

    /// Polls the migration (expanded) until `done` says so of its properties (or 30 s).
    pub async fn until(&self, db: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.get(db).await;
            assert_eq!(r.status, 200, "{}", r.body);
            if done(&r.body["properties"]) {
                return r.body["properties"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "migration never got there: {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn until_status(&self, db: &str, status: &str) -> Value {
        self.until(db, |p| p["migrationStatus"] == status).await
    }

    pub async fn action(&self, db: &str, action: &str, operation: &str) -> Reply {
        self.at(
            reqwest::Method::POST,
            &format!("{}/{action}", Self::migration_path(db)),
            Some(json!({ "migrationOperationId": operation })),
        )
        .await
    }

    /// A backup of `db` WITH CHECKSUM into the root of container `container`.
    pub fn backup(&self, kind: &str, db: &str, container: &str, file: &str) {
        let url = self.rig.az.container_url(container);
        self.rig.source(&format!(
            "BACKUP {kind} [{db}] TO URL = '{url}/{file}' WITH CHECKSUM"
        ));
    }
}
