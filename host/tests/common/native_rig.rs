//! The rig of the `native-restore` tests: a source SQL Server and a Managed Instance from the
//! emulator, a real Azurite, and a site whose labels point at them.

use std::sync::Arc;

use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Server, ServerTls};
use serde_json::Value;

use super::*;

pub const SA: &str = "Emul@tor-Pa55-native";

/// A source SQL Server, a Managed Instance and Azurite, with a site whose labels point at them.
pub struct Rig {
    pub az: Azurite,
    pub src: Server,
    pub mi: Server,
    pub site: Site,
    _data: tempfile::TempDir,
}

impl Rig {
    /// Source databases `dbs`, each with a table of three rows; `step_config` goes into the
    /// step's `[steps.config]`.
    pub async fn new(dbs: &[&str], step_config: &str) -> Rig {
        Rig::with_source(dbs, step_config, "2019").await
    }

    /// [`Rig::new`] with a source of SQL Server `release` ("2008" … "2022").
    pub async fn with_source(dbs: &[&str], step_config: &str, release: &str) -> Rig {
        let az = Azurite::start().unwrap();
        az.create_container("backups").await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let certs = Arc::new(ServerTls::generate(&[]).unwrap());
        let src = source_server(release, &data.path().join("src"), SA, certs.clone()).await;
        let mi = emulated_mi("mi-test", &data.path().join("mi"), SA, certs.clone()).await;
        mi.set_restore_time(Some(std::time::Duration::from_millis(1500)));
        tokio::task::block_in_place(|| {
            for db in dbs {
                src.run_sql(&format!(
                    "CREATE DATABASE [{db}]; CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY, Name nvarchar(20)); INSERT INTO [{db}].dbo.T VALUES (1, N'one'), (2, N'two'), (3, N'three')"
                ))
                .unwrap();
            }
        });
        let list = dbs
            .iter()
            .map(|d| format!("\"{d}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let migration = format!(
            "databases = [{list}]\n[migration]\nname = \"native\"\n[plugins.native]\nbundled = \"native-restore\"\n[[steps]]\nname = \"restore\"\nplugin = \"native\"\n[steps.config]\n{step_config}\n[steps.grants]\nsql = [\"source\", \"target\"]\nstorage = [\"backups\", \"share:read\"]\nsecrets = [\"bad-sas\"]\n"
        );
        let env = format!(
            "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
             [sql.target]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
             [storage.backups]\nkind = \"blob\"\nurl = \"{}\"\naccount_key = \"env:TEST_BLOB_KEY\"\n\n\
             [storage.share]\nkind = \"share\"\npath = \"share\"\n\n\
             [secrets]\nbad-sas = \"env:TEST_BAD_SAS\"\n",
            src.addr.port(),
            mi.addr.port(),
            az.container_url("backups"),
        );
        let site = Site::new(&migration, &env);
        std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
        std::fs::create_dir(site.path("share")).unwrap();
        // The share is writable by the source's service account, as a DBA sets it up.
        src.allow_backup_directory(&site.path("share")).unwrap();
        Rig {
            az,
            src,
            mi,
            site,
            _data: data,
        }
    }

    /// `ferry args` in the site, with its secrets in the environment.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.site.ferry(args);
        cmd.env("TEST_SA", SA)
            .env("TEST_BLOB_KEY", azurite::ACCOUNT_KEY)
            .env("TEST_BAD_SAS", BAD_SAS);
        cmd
    }

    /// Runs `ferry args` to its end (killed after [`RUN_LIMIT`]): its output, its `--json`
    /// events, and stdout and stderr as one text.
    pub async fn ferry(&self, args: &[&str]) -> (std::process::Output, Vec<Value>, String) {
        let mut cmd = self.command(args);
        eprintln!("ferry {args:?} in {}", self.site.dir.path().display());
        let out = tokio::task::spawn_blocking(move || cmd.finish())
            .await
            .unwrap();
        let (stdout, stderr) = text(&out);
        let events = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (out, events, format!("{stdout}\n{stderr}"))
    }

    /// A full backup of `db` into its folder on the share, as a DBA takes it: `WITH
    /// CHECKSUM`, or (`checksum` false) without.
    pub fn backup_to_share(&self, db: &str, checksum: bool) {
        let folder = self.site.path("share").join(db);
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join(format!("{db}_full.bak"));
        let with = if checksum { " WITH CHECKSUM" } else { "" };
        tokio::task::block_in_place(|| {
            self.src.run_sql(&format!(
                "BACKUP DATABASE [{db}] TO DISK = '{}'{with}",
                file.display()
            ))
        })
        .unwrap();
    }

    /// The first column of the first row of `sql` run on `server`.
    pub fn scalar(server: &Server, sql: &str) -> Option<ferry_emulator::protocol::types::Value> {
        let out = tokio::task::block_in_place(|| server.run_sql(sql)).unwrap();
        out.into_iter().find_map(|o| match o {
            ferry_emulator::sql::Outcome::Rows { rows, .. } => {
                rows.into_iter().next().and_then(|r| r.into_iter().next())
            }
            _ => None,
        })
    }

    pub fn count(&self, server: &Server, sql: &str) -> i64 {
        match Self::scalar(server, sql) {
            Some(ferry_emulator::protocol::types::Value::Int(n)) => n,
            other => panic!("no count from {sql}: {other:?}"),
        }
    }

    pub fn state(&self, db: &str) -> String {
        match Self::scalar(
            &self.mi,
            &format!("SELECT state_desc FROM sys.databases WHERE name = N'{db}'"),
        ) {
            Some(ferry_emulator::protocol::types::Value::Text(t)) => t,
            _ => String::new(),
        }
    }
}

/// A SAS whose signature is wrong: Azurite refuses it, as Azure would.
pub const BAD_SAS: &str =
    "sv=2022-11-02&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=d3JvbmcgYnV0IHdlbGwtZm9ybWVk";

pub fn item<'a>(events: &'a [Value], kind: &str, db: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["event"] == kind && e["item"] == db)
}

pub fn all_journal(site: &Site) -> String {
    let mut all = String::new();
    for f in ["journal.db", "journal.db-wal"] {
        if let Ok(b) = std::fs::read(site.path(".ferry/migration").join(f)) {
            all.push_str(&String::from_utf8_lossy(&b));
        }
    }
    all
}

/// Asserts that `db` failed with an error containing `words` and a report row with reason
/// `code`.
pub fn failed_with(events: &[Value], all: &str, db: &str, code: &str, words: &str) {
    let failed = item(events, "item-failed", db).unwrap_or_else(|| panic!("{db}: {all}"));
    assert!(
        failed["error"].as_str().unwrap_or_default().contains(words),
        "{db}: {failed}"
    );
    let row = events
        .iter()
        .find(|e| e["event"] == "row" && e["name"] == db)
        .unwrap_or_else(|| panic!("a report row for {db}: {all}"));
    assert_eq!(row["status"], "failed");
    assert_eq!(row["reason_code"], code, "{row}");
}

/// An emulated source SQL Server of `release` ("2008" … "2022"), Enterprise edition, `sa` with `password`.
pub async fn source_server(
    release: &str,
    dir: &std::path::Path,
    password: &str,
    certs: Arc<ServerTls>,
) -> Server {
    let personality = ferry_emulator::Personality::SqlServer {
        release: ferry_emulator::Release::parse(release)
            .unwrap_or_else(|| panic!("the emulator imitates no SQL Server {release}")),
        edition: ferry_emulator::Edition::Enterprise,
        hadr: false,
        name: "SRC".into(),
    };
    let options = ferry_emulator::ServerOptions::local(personality, dir, password);
    Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap()
}

impl Rig {
    /// Runs `sql` on the source.
    pub fn on_source(&self, sql: &str) {
        tokio::task::block_in_place(|| self.src.run_sql(sql)).unwrap();
    }

    /// Gives `db` on the source a filegroup that `contains` FILESTREAM or
    /// MEMORY_OPTIMIZED_DATA, with one container in it.
    pub fn add_container_filegroup(&self, db: &str, contains: &str) {
        self.on_source(&format!(
            "ALTER DATABASE [{db}] ADD FILEGROUP ContainerData CONTAINS {contains}; \
             ALTER DATABASE [{db}] ADD FILE (NAME = Container1, FILENAME = '/var/opt/mssql/data/{db}_c1') TO FILEGROUP ContainerData"
        ));
    }

    /// Asserts that no BACKUP reached the source.
    pub fn nothing_backed_up(&self) {
        assert!(
            self.src
                .statements()
                .iter()
                .all(|s| !s.text.contains("BACKUP")),
            "nothing was backed up"
        );
    }
}
