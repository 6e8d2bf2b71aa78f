//! The rig of the `lrs` tests: Azurite, a source SQL Server with `Sales`, a Managed Instance
//! with its ARM front end, a site running the bundled `lrs` plugin, and ways to run `ferry`
//! there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Server, ServerTls};

use super::*;

pub const TOKEN: &str = "lrs-arm-token";
pub const SA: &str = "Lrs#Src-Pa55";
pub const MI_SA: &str = "Mi#Pa55";
/// A Read+List SAS whose signature is wrong: Azurite refuses it, as Azure would.
pub const BAD_SAS: &str =
    "sv=2022-11-02&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=d3JvbmcgYnV0IHdlbGwtZm9ybWVk";

pub fn scalar(server: &Server, sql: &str) -> String {
    format!("{:?}", tokio::task::block_in_place(|| server.run_sql(sql)))
}

/// Azurite, a source SQL Server with `Sales` (FULL recovery, two rows), an MI with its ARM
/// front end, and a site running the bundled `lrs` plugin with `config` added to its step.
/// The site also has a share label `share` (its folder `share/`) and a secret `lrs-sas`.
pub async fn setup(config: &str) -> Rig {
    setup_with(config, ArmOptions::local("mi", TOKEN)).await
}

pub type Rig = (
    Azurite,
    Server,
    Arc<Server>,
    ArmServer,
    Site,
    tempfile::TempDir,
);

pub async fn setup_with(config: &str, options: ArmOptions) -> Rig {
    setup_databases(config, options, &["Sales"]).await
}

/// [`setup_with`] for the source databases `dbs` (each FULL recovery, two rows, a folder on
/// the share).
pub async fn setup_databases(config: &str, options: ArmOptions, dbs: &[&str]) -> Rig {
    setup_source(config, options, dbs, "2019").await
}

/// [`setup_databases`] with a source of SQL Server `release` ("2016" … "2022", or one the
/// emulator does not imitate yet, which fails the test saying so).
pub async fn setup_source(config: &str, options: ArmOptions, dbs: &[&str], release: &str) -> Rig {
    let az = Azurite::start().unwrap();
    az.create_container("migration").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let src =
        super::native_rig::source_server(release, &data.path().join("src"), SA, certs.clone())
            .await;
    let mi = Arc::new(emulated_mi("mi", &data.path().join("mi"), MI_SA, certs).await);
    mi.clock().set_speed(200.0);
    let front = ArmServer::start("127.0.0.1:0".parse().unwrap(), mi.clone(), options)
        .await
        .unwrap();
    tokio::task::block_in_place(|| {
        for db in dbs {
            src.run_sql(&format!(
                "CREATE DATABASE [{db}]; ALTER DATABASE [{db}] SET RECOVERY FULL; \
                 CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); INSERT INTO [{db}].dbo.T VALUES (1), (2)"
            ))
            .unwrap();
        }
    });
    let list: Vec<String> = dbs.iter().map(|d| format!("{d:?}")).collect();
    // The MI's own SQL label is granted to steps whose config names it (`target = "target"`).
    let sql = if config.contains("target = ") {
        "[\"source\", \"target\"]"
    } else {
        "[\"source\"]"
    };
    let migration = format!(
        "databases = [{}]\n[migration]\nname = \"lrs\"\n[plugins.lrs]\nbundled = \"lrs\"\n[[steps]]\nname = \"lrs\"\nplugin = \"lrs\"\n[steps.config]\npoll_seconds = 1\n{config}\n[steps.grants]\nsql = {sql}\nazure = [\"mi\"]\nstorage = [\"backups\", \"share:read\"]\nsecrets = [\"lrs-sas\", \"bad-sas\"]\n",
        list.join(", ")
    );
    let env = format!(
        "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
         [sql.target]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_MI_SA\"\n\n\
         [azure.mi]\nendpoint = \"{}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\nmanaged_instance = \"mi\"\ntoken = \"env:TEST_ARM_TOKEN\"\n\n\
         [storage.backups]\nkind = \"blob\"\nurl = \"{}\"\naccount_key = \"env:TEST_BLOB_KEY\"\n\n\
         [storage.share]\nkind = \"share\"\npath = \"share\"\n\n\
         [secrets]\nlrs-sas = \"env:TEST_LRS_SAS\"\nbad-sas = \"env:TEST_BAD_SAS\"\n",
        src.addr.port(),
        mi.addr.port(),
        front.endpoint(),
        az.container_url("migration")
    );
    let site = Site::new(&migration, &env);
    // `{site}` in the step's config is the site's directory (for paths the source writes to).
    let migration = migration.replace("{site}", &site.dir.path().display().to_string());
    std::fs::write(site.migration(), migration).unwrap();
    std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
    for db in dbs {
        std::fs::create_dir_all(site.path("share").join(db)).unwrap();
    }
    // The source's service account may write anywhere in the site (the share, and paths a
    // step's config names), as a DBA sets it up.
    src.allow_backup_directory(site.dir.path()).unwrap();
    (az, src, mi, front, site, data)
}

/// Starts `ferry apply` and returns once LRS has restored the full backup on the MI.
pub async fn apply_until_restoring(site: &Site, mi: &Server) -> Apply {
    let apply = Apply::start(site);
    until_answer(
        mi,
        "SELECT state_desc FROM sys.databases WHERE name = N'Sales'",
        "RESTORING",
    )
    .await;
    apply
}

/// Starts `ferry apply`, waits until LRS has restored the full backup on the MI, and kills
/// ferry while it monitors.
pub async fn apply_until_restoring_then_kill(site: &Site, mi: &Server) {
    let apply = apply_until_restoring(site, mi).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    apply.kill();
}

/// A `ferry apply --json` running in the background, its output going to `apply.log`.
pub struct Apply {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Apply {
    pub fn start(site: &Site) -> Apply {
        Apply::start_with(
            site,
            &["apply", "--json", "migration.toml"],
            "apply.log",
            false,
        )
    }

    /// `cmd` started with its stdout going to `log`.
    pub fn spawn(mut cmd: std::process::Command, log: std::path::PathBuf) -> Apply {
        let file = std::fs::File::create(&log).unwrap();
        cmd.stdout(file).stderr(std::process::Stdio::null());
        Apply {
            child: cmd.spawn().unwrap(),
            log,
        }
    }

    /// `ferry args`, with stdout (or, for `stderr`, stderr) going to `log` in the site.
    pub fn start_with(site: &Site, args: &[&str], log: &str, stderr: bool) -> Apply {
        let log = site.path(log);
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = ferry_cmd(site, args);
        if stderr {
            cmd.stderr(file).stdout(std::process::Stdio::null());
        } else {
            cmd.stdout(file).stderr(std::process::Stdio::null());
        }
        Apply {
            child: cmd.spawn().unwrap(),
            log,
        }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until a line of its output contains `needle` (60 s at most).
    pub async fn until(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = std::fs::read_to_string(&self.log).unwrap_or_default();
            if out.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never printed `{needle}`:\n{out}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for it to end by itself (RUN_LIMIT at most); returns its output.
    pub async fn finished(mut self) -> String {
        let deadline = Instant::now() + RUN_LIMIT;
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "ferry apply never finished:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Polls `sql` on `server` until its answer contains `wanted` (30 s at most).
pub async fn until_answer(server: &Server, sql: &str, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = scalar(server, sql);
        if answer.contains(wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql} never gave {wanted}: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the source's own backup jobs write to the share: a full backup `Sales_full.bak`, a row
/// (3), then a log backup `Sales_log1.trn` carrying it.
pub fn backups_on_the_share(src: &Server, site: &Site) {
    let disk = |file: &str| site.path("share/Sales").join(file).display().to_string();
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "BACKUP DATABASE [Sales] TO DISK = '{}' WITH CHECKSUM; \
             INSERT INTO [Sales].dbo.T VALUES (3); \
             BACKUP LOG [Sales] TO DISK = '{}' WITH CHECKSUM",
            disk("Sales_full.bak"),
            disk("Sales_log1.trn")
        ))
    })
    .unwrap();
}

/// A read/write SAS on the test container, for backups the tests take themselves.
pub fn write_sas() -> String {
    azurite::devstore_container_sas("migration", "racwl").unwrap()
}

/// Runs `ferry apply` to success, checks LRS ended with `last_file`; returns the output.
pub async fn applied(site: &Site, last_file: &str) -> String {
    let out = run(site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let wanted = format!("\"last_file\":\"{last_file}\"");
    assert!(stdout.contains(&wanted), "{wanted} in {stdout}");
    stdout
}

/// `state_desc` of Sales on `server`.
pub fn sales_state(server: &Server) -> String {
    scalar(
        server,
        "SELECT state_desc FROM sys.databases WHERE name = N'Sales'",
    )
}

/// Runs `ferry cutover` for every database.
pub async fn cutover(site: &Site) {
    let out = run(site, &["cutover", "migration.toml"]).await;
    assert!(out.status.success(), "{:?}", text(&out));
}

/// Runs `ferry apply`, checks its database failed with `reason`; returns the output.
pub async fn fails_with(site: &Site, reason: &str) -> String {
    let out = run(site, &["apply", "--json", "migration.toml"]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains(reason), "`{reason}` in: {stdout}");
    stdout
}

/// Runs `ferry args` in the site to the end (killed after [`RUN_LIMIT`]).
pub async fn run(site: &Site, args: &[&str]) -> std::process::Output {
    let mut cmd = ferry_cmd(site, args);
    tokio::task::spawn_blocking(move || cmd.finish())
        .await
        .unwrap()
}

pub fn ferry_cmd(site: &Site, args: &[&str]) -> std::process::Command {
    let mut cmd = site.ferry(args);
    cmd.env("TEST_SA", SA)
        .env("TEST_MI_SA", MI_SA)
        .env("TEST_ARM_TOKEN", TOKEN)
        .env("TEST_BLOB_KEY", azurite::ACCOUNT_KEY)
        .env("TEST_LRS_SAS", write_sas())
        .env("TEST_BAD_SAS", BAD_SAS);
    cmd
}

/// The database's own backups, as a DBA's jobs take them before ferry runs: a credential for
/// `credential_url`, a full backup to `full`, a row (3), then a log backup to `log`.
pub fn own_backups(src: &Server, credential_url: &str, full: &str, log: &str) {
    let rwl = write_sas();
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "CREATE CREDENTIAL [{credential_url}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'; \
             BACKUP DATABASE [Sales] TO URL = '{full}' WITH CHECKSUM; \
             INSERT INTO [Sales].dbo.T VALUES (3); \
             BACKUP LOG [Sales] TO URL = '{log}' WITH CHECKSUM"
        ))
    })
    .unwrap();
}

/// The first statement `server` received that contains `needle`.
pub fn statement(server: &Server, needle: &str) -> String {
    server
        .statements()
        .into_iter()
        .map(|s| s.text)
        .find(|t| t.contains(needle))
        .unwrap_or_else(|| panic!("no statement with `{needle}` reached the server"))
}

/// Nothing started: no backup on the source, nothing but reads through ARM.
pub fn nothing_started(src: &Server, front: &ArmServer) {
    assert!(
        src.statements().iter().all(|s| !s.text.contains("BACKUP")),
        "nothing was backed up"
    );
    assert!(
        front.requests().iter().all(|(m, _)| m == "GET"),
        "LRS was not started: {:?}",
        front.requests()
    );
}
