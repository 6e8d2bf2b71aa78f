//! The rig of the `dms` tests: Azurite (the storage account DMS reads and uploads to), a source
//! SQL Server, a Managed Instance with its ARM front end serving Azure DMS, a file share the
//! emulated self-hosted integration runtime reads, and a site running the bundled `dms`
//! plugin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Server, ServerTls};
use serde_json::Value;

use super::lrs_rig::{Apply, MI_SA, SA, TOKEN};
use super::*;

/// The share as the runtime's host and DMS see it.
pub const SHARE: &str = r"\\fs01\sqlbackups";
/// The source SQL Server as DMS's `sourceSqlConnection.dataSource` names it.
pub const DATA_SOURCE: &str = "SRC01";
pub const ACCOUNT_ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1";
pub const DMS_VERSION: &str = "2025-06-30";
pub const SERVICE: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms1";

/// Where the backups are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backups {
    /// `\\fs01\sqlbackups\<db>\`, read and uploaded by the integration runtime.
    Share,
    /// A container per database (its name in lower case) in Azurite, no runtime.
    Blob,
}

pub struct DmsSite {
    pub az: Azurite,
    pub src: Arc<Server>,
    pub mi: Arc<Server>,
    pub front: ArmServer,
    pub site: Site,
    pub backups: Backups,
    pub dbs: Vec<String>,
    pub _data: tempfile::TempDir,
}

/// A source SQL Server 2019 with `dbs` (FULL recovery, a table `T` of 50 rows), a full and a
/// log backup of each where `backups` says, an MI with its ARM front end and DMS, and a site
/// running the bundled `dms` plugin with `config` added to its step.
pub async fn setup(dbs: &[&str], backups: Backups, config: &str) -> DmsSite {
    let az = Azurite::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let src = Arc::new(
        super::native_rig::source_server("2019", &data.path().join("src"), SA, certs.clone()).await,
    );
    let mi = Arc::new(emulated_mi("mi", &data.path().join("mi"), MI_SA, certs).await);
    mi.clock().set_speed(200.0);
    let front = ArmServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mi.clone(),
        ArmOptions::local("mi", TOKEN),
    )
    .await
    .unwrap();
    front.dms_storage_account(
        azurite::ACCOUNT,
        &az.endpoint(),
        "westeurope",
        "StorageV2",
        "Standard",
    );
    front.dms_source(DATA_SOURCE, src.clone());

    let list: Vec<String> = dbs.iter().map(|d| format!("{d:?}")).collect();
    let source_of_backups = match backups {
        Backups::Share => format!(
            "share = {{ path = '{SHARE}', folder = \"{{db}}\", user = 'CONTOSO\\svc-dms', password_secret = \"share-pw\", source_path = \"{{site}}/share\" }}\n\
             target_storage = {{ storage_account_id = \"{ACCOUNT_ID}\", account_key_secret = \"blob-key\" }}\n"
        ),
        Backups::Blob => format!(
            "blob = {{ storage_account_id = \"{ACCOUNT_ID}\", container = \"{{db}}\", account_key_secret = \"blob-key\" }}\n"
        ),
    };
    let migration = format!(
        "databases = [{}]\n[migration]\nname = \"dms\"\n[limits]\nconcurrency = 5\n\
         [plugins.dms]\nbundled = \"dms\"\n[[steps]]\nname = \"dms\"\nplugin = \"dms\"\n\
         [steps.config]\nservice_azure = \"rg\"\nservice_name = \"dms1\"\ncreate_service = true\nlocation = \"westeurope\"\n\
         source_data_source = \"{DATA_SOURCE}\"\nsource_user = \"sa\"\nsource_password_secret = \"src-pw\"\n\
         poll_seconds = 1\n{source_of_backups}{config}\n\
         [steps.grants]\nsql = [\"source\", \"target\"]\nazure = [\"mi\", \"rg\"]\nsecrets = [\"src-pw\", \"share-pw\", \"blob-key\"]\n",
        list.join(", ")
    );
    let env = format!(
        "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
         [sql.target]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_MI_SA\"\n\n\
         [azure.mi]\nendpoint = \"{e}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\nmanaged_instance = \"mi\"\ntoken = \"env:TEST_ARM_TOKEN\"\n\n\
         [azure.rg]\nendpoint = \"{e}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\ntoken = \"env:TEST_ARM_TOKEN\"\n\n\
         [secrets]\nsrc-pw = \"env:TEST_SA\"\nshare-pw = \"env:TEST_SHARE_PW\"\nblob-key = \"env:TEST_BLOB_KEY\"\n",
        src.addr.port(),
        mi.addr.port(),
        e = front.endpoint(),
    );
    let site = Site::new(&migration, &env);
    let migration = migration.replace("{site}", &site.dir.path().display().to_string());
    std::fs::write(site.migration(), migration).unwrap();
    std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
    front.dms_share(SHARE, site.path("share"));
    src.allow_backup_directory(site.dir.path()).unwrap();
    let s = DmsSite {
        az,
        src,
        mi,
        front,
        site,
        backups,
        dbs: dbs.iter().map(|d| (*d).to_owned()).collect(),
        _data: data,
    };
    for db in dbs {
        if backups == Backups::Blob {
            s.az.create_container(&db.to_ascii_lowercase())
                .await
                .unwrap();
        } else {
            std::fs::create_dir_all(s.site.path("share").join(db)).unwrap();
        }
        let rows: Vec<String> = (1..=50).map(|i| format!("({i})")).collect();
        s.sql(&format!(
            "CREATE DATABASE [{db}]; ALTER DATABASE [{db}] SET RECOVERY FULL; \
             CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); INSERT INTO [{db}].dbo.T VALUES {}",
            rows.join(", ")
        ));
        s.backup("DATABASE", db, "full.bak");
        s.sql(&format!("INSERT INTO [{db}].dbo.T VALUES (51)"));
        s.backup("LOG", db, "log1.trn");
    }
    s
}

impl DmsSite {
    pub fn sql(&self, sql: &str) {
        tokio::task::block_in_place(|| self.src.run_sql(sql)).unwrap();
    }

    /// Where `file` of `db`'s backups goes (a path on the share, or a blob URL).
    pub fn backup_target(&self, db: &str, file: &str) -> String {
        match self.backups {
            Backups::Share => self
                .site
                .path("share")
                .join(db)
                .join(format!("{db}_{file}"))
                .display()
                .to_string(),
            Backups::Blob => format!(
                "{}/{db}_{file}",
                self.az.container_url(&db.to_ascii_lowercase())
            ),
        }
    }

    /// `BACKUP DATABASE|LOG [db]` with CHECKSUM to `<db>_<file>` in the database's folder or
    /// container, as the DBA's backup jobs write them.
    pub fn backup(&self, kind: &str, db: &str, file: &str) {
        let target = self.backup_target(db, file);
        let to = match self.backups {
            Backups::Share => format!("DISK = '{target}'"),
            Backups::Blob => {
                let name = db.to_ascii_lowercase();
                let container = self.az.container_url(&name);
                self.sql(&format!(
                    "IF NOT EXISTS (SELECT 1 FROM sys.credentials WHERE name = '{container}') \
                     CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{}'",
                    azurite::devstore_container_sas(&name, "racwl").unwrap()
                ));
                format!("URL = '{target}'")
            }
        };
        self.sql(&format!("BACKUP {kind} [{db}] TO {to} WITH CHECKSUM"));
        let recorded = format!(
            "{:?}",
            tokio::task::block_in_place(|| {
                self.src.run_sql(&format!(
                "SELECT COUNT(*) FROM msdb.dbo.backupset b JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id WHERE m.physical_device_name = '{target}'"
            ))
            })
        );
        assert!(
            recorded.contains("Int(1)"),
            "BACKUP {kind} [{db}] to {target}: {recorded}"
        );
    }

    pub fn apply(&self) -> Apply {
        Apply::spawn(
            dms_cmd(&self.site, &["apply", "--json", "migration.toml"]),
            self.site.path("apply.log"),
        )
    }

    /// `ferry apply migration.plan.json`: only what the reviewed plan lists runs.
    pub fn apply_plan(&self) -> Apply {
        Apply::spawn(
            dms_cmd(&self.site, &["apply", "--json", "migration.plan.json"]),
            self.site.path("apply.log"),
        )
    }

    /// ARM `method` on `path` (absolute) with DMS's api-version, as an operator's `az` does.
    pub async fn arm(&self, method: reqwest::Method, path: &str) -> Value {
        let url = format!("{}{path}?api-version={DMS_VERSION}", self.front.endpoint());
        let r = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null)
    }

    /// Once ferry has made the service, registers runtime node `node` with its first auth key
    /// (an operator installing the self-hosted integration runtime).
    pub async fn register_runtime(&self, node: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let keys = self
                .arm(reqwest::Method::POST, &format!("{SERVICE}/listAuthKeys"))
                .await;
            if let Some(k) = keys["authKey1"].as_str() {
                self.front.dms_register_node(k, node).unwrap();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the service was never made: {keys}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The migration of `db` as ARM shows it, with its details.
    pub async fn migration(&self, db: &str) -> Value {
        let url = format!(
            "{}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi/providers/Microsoft.DataMigration/databaseMigrations/{db}?api-version={DMS_VERSION}&$expand=MigrationStatusDetails",
            self.front.endpoint()
        );
        let r = reqwest::Client::new()
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null)
    }

    /// Waits until every database's migration shows `status` (120 s at most).
    pub async fn until_all(&self, status: &str, apply: &Apply) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let mut states = Vec::new();
            for db in &self.dbs {
                let m = self.migration(db).await;
                states.push(
                    m["properties"]["migrationStatus"]
                        .as_str()
                        .unwrap_or("none")
                        .to_owned(),
                );
            }
            if states.iter().all(|s| s == status) {
                return;
            }
            let out = apply.output();
            assert!(
                !out.contains("\"run-finished\"") && !out.contains("\"exit_code\""),
                "ferry apply ended before every migration was {status}: {states:?}\n{out}"
            );
            assert!(
                Instant::now() < deadline,
                "never all {status}: {states:?}\n{}",
                apply.output()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `SELECT COUNT(*) FROM [db].dbo.T` on the MI.
    pub fn mi_rows(&self, db: &str) -> String {
        format!(
            "{:?}",
            tokio::task::block_in_place(|| self
                .mi
                .run_sql(&format!("SELECT COUNT(*) FROM [{db}].dbo.T")))
        )
    }
}

pub fn dms_cmd(site: &Site, args: &[&str]) -> std::process::Command {
    let mut cmd = site.ferry(args);
    cmd.env("TEST_SA", SA)
        .env("TEST_MI_SA", MI_SA)
        .env("TEST_ARM_TOKEN", TOKEN)
        .env("TEST_SHARE_PW", "Share#Pa55-w0rd")
        .env("TEST_BLOB_KEY", azurite::ACCOUNT_KEY);
    cmd
}

pub async fn run(site: &Site, args: &[&str]) -> std::process::Output {
    let mut cmd = dms_cmd(site, args);
    tokio::task::spawn_blocking(move || cmd.finish())
        .await
        .unwrap()
}
