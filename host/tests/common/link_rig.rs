//! The rig of the `mi-link` tests: a source SQL Server with Always On enabled and a Managed
//! Instance on one emulated network, the MI's link engine behind its ARM front end, a site
//! running the bundled `mi-link` plugin, and write workloads on the source.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::hadr::Network;
use ferry_emulator::hadr::link::{LinkStatus, Links};
use ferry_emulator::hadr::workload::Workload;
use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls};

use super::lrs_rig::Apply;
use super::*;

pub const TOKEN: &str = "link-arm-token";
pub const SA: &str = "Link#Src-Pa55";
pub const MI_SA: &str = "Link#Mi-Pa55";
/// The ARM instance name; the MI's server name is the FQDN ARM shows for it.
pub const MI: &str = "mi";
pub const MI_FQDN: &str = "mi.emulated.database.windows.net";
pub const SRC: &str = "SRC01";

pub struct LinkSite {
    pub src: Arc<Server>,
    pub mi: Arc<Server>,
    pub network: Arc<Network>,
    pub links: Arc<Links>,
    pub front: ArmServer,
    pub site: Site,
    pub dbs: Vec<String>,
    pub _data: tempfile::TempDir,
}

/// A source SQL Server `release` (as `ferry-emulator serve --source-version` names it) with
/// Always On enabled, each of `dbs` in FULL recovery with a table `T` of 100 rows and a full
/// backup in msdb; a Managed Instance with its link engine and ARM front end; a site running
/// the bundled `mi-link` plugin with `config` added to its step.
pub async fn setup(release: &str, dbs: &[&str], config: &str) -> LinkSite {
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let personality = Personality::SqlServer {
        release: Release::parse(release)
            .unwrap_or_else(|| panic!("the emulator imitates no SQL Server {release}")),
        edition: Edition::Enterprise,
        hadr: true,
        name: SRC.into(),
    };
    let options = ServerOptions::local(personality, &data.path().join("src"), SA);
    let src = Arc::new(
        Server::start("127.0.0.1:0".parse().unwrap(), options, certs.clone())
            .await
            .unwrap(),
    );
    let options = ServerOptions::local(
        Personality::ManagedInstance {
            name: MI_FQDN.into(),
        },
        &data.path().join("mi"),
        MI_SA,
    );
    let mi = Arc::new(
        Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
            .await
            .unwrap(),
    );
    // Seeding and the MI's first full backup run on the MI's virtual clock.
    mi.clock().set_speed(200.0);
    let network = Network::new();
    let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    network.register(&names(&[SRC, "127.0.0.1", "localhost"]), src.clone());
    network.register(&names(&[MI_FQDN]), mi.clone());
    let links = Links::new(mi.clone(), network.clone(), Some(data.path().join("links")));
    let front = ArmServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mi.clone(),
        ArmOptions {
            links: Some(links.clone()),
            ..ArmOptions::local(MI, TOKEN)
        },
    )
    .await
    .unwrap();

    let site = Site::new("", "");
    src.allow_backup_directory(site.dir.path()).unwrap();
    tokio::task::block_in_place(|| {
        for db in dbs {
            let rows: Vec<String> = (1..=100).map(|i| format!("({i}, N'row {i}')")).collect();
            src.run_sql(&format!(
                "CREATE DATABASE [{db}]; ALTER DATABASE [{db}] SET RECOVERY FULL; \
                 CREATE TABLE [{db}].dbo.T (Id int NOT NULL PRIMARY KEY, Note nvarchar(100)); \
                 INSERT INTO [{db}].dbo.T VALUES {}; \
                 BACKUP DATABASE [{db}] TO DISK = '{}' WITH CHECKSUM",
                rows.join(", "),
                site.path(&format!("{db}.bak")).display()
            ))
            .unwrap();
        }
    });
    let list: Vec<String> = dbs.iter().map(|d| format!("{d:?}")).collect();
    let migration = format!(
        "databases = [{}]\n[migration]\nname = \"link\"\n[limits]\nconcurrency = 4\n\
         [plugins.link]\nbundled = \"mi-link\"\n[[steps]]\nname = \"link\"\nplugin = \"link\"\n\
         [steps.config]\nsource_address = \"127.0.0.1\"\ncreate_master_key = true\n\
         poll_seconds = 1\nstable_seconds = 2\n{config}\n\
         [steps.grants]\nsql = [\"source\", \"target\"]\nazure = [\"mi\"]\n",
        list.join(", ")
    );
    let env = format!(
        "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
         [sql.target]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_MI_SA\"\n\n\
         [azure.mi]\nendpoint = \"{}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\nmanaged_instance = \"{MI}\"\ntoken = \"env:TEST_ARM_TOKEN\"\n",
        src.addr.port(),
        mi.addr.port(),
        front.endpoint(),
    );
    std::fs::write(site.migration(), migration).unwrap();
    std::fs::write(site.path("environment.toml"), env).unwrap();
    std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
    LinkSite {
        src,
        mi,
        network,
        links,
        front,
        site,
        dbs: dbs.iter().map(|d| (*d).to_owned()).collect(),
        _data: data,
    }
}

/// [`setup`], then `ferry apply` running until every database's link replicates.
pub async fn replicating(release: &str, dbs: &[&str], config: &str) -> (LinkSite, Apply) {
    let s = setup(release, dbs, config).await;
    let apply = s.apply();
    s.until_synchronizing(&apply, Duration::from_secs(120))
        .await;
    (s, apply)
}

pub fn ferry_cmd(site: &Site, args: &[&str]) -> std::process::Command {
    let mut cmd = site.ferry(args);
    cmd.env("TEST_SA", SA)
        .env("TEST_MI_SA", MI_SA)
        .env("TEST_ARM_TOKEN", TOKEN);
    cmd
}

/// Runs `ferry args` in the site to the end (killed after [`RUN_LIMIT`]).
pub async fn run(site: &Site, args: &[&str]) -> std::process::Output {
    let mut cmd = ferry_cmd(site, args);
    tokio::task::spawn_blocking(move || cmd.finish())
        .await
        .unwrap()
}

/// The rows `sql` answers on `server` (every result set), each cell as text.
pub fn rows(server: &Server, sql: &str) -> Vec<Vec<String>> {
    let out = tokio::task::block_in_place(|| server.run_sql(sql))
        .unwrap_or_else(|e| panic!("{sql}: Msg {}: {}", e.number, e.text));
    out.into_iter()
        .filter_map(|o| match o {
            ferry_emulator::sql::Outcome::Rows { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .map(|r| {
            r.iter()
                .map(ferry_emulator::protocol::types::text)
                .collect()
        })
        .collect()
}

/// One cell of `sql`'s first row on `server`, as text.
pub fn cell(server: &Server, sql: &str) -> String {
    rows(server, sql)
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .unwrap_or_default()
}

/// Every table's row count and a hash of its rows in key order, in `db` on `server`: what a
/// cutover must carry over unchanged. (Hashed here rather than with CHECKSUM_AGG, whose
/// algorithm Microsoft does not document and the emulator does not imitate.)
pub fn fingerprint(server: &Server, db: &str) -> Vec<(String, usize, u64)> {
    use std::hash::{Hash, Hasher};
    rows(
        server,
        &format!("SELECT name FROM [{db}].sys.tables ORDER BY name"),
    )
    .into_iter()
    .map(|t| {
        let table = t[0].clone();
        let content = rows(
            server,
            &format!("SELECT * FROM [{db}].dbo.[{table}] ORDER BY 1"),
        );
        let mut h = std::collections::hash_map::DefaultHasher::new();
        content.hash(&mut h);
        (table, content.len(), h.finish())
    })
    .collect()
}

impl LinkSite {
    pub fn apply(&self) -> Apply {
        Apply::start_link(&self.site)
    }

    /// `ferry apply --json migration.plan.json`: runs what `ferry plan` wrote, and only that.
    pub fn apply_plan(&self) -> Apply {
        Apply::spawn(
            ferry_cmd(&self.site, &["apply", "--json", "migration.plan.json"]),
            self.site.path("apply.log"),
        )
    }

    /// The link of `db` as the MI's ARM shows it.
    pub fn link(&self, db: &str) -> Option<LinkStatus> {
        self.links.status(&format!("DAG_{db}"))
    }

    /// Waits until every database's link replicates (`LinkSynchronizing`), `limit` at most.
    pub async fn until_synchronizing(&self, apply: &Apply, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let states: Vec<String> = self
                .dbs
                .iter()
                .map(|db| {
                    self.link(db)
                        .and_then(|l| l.databases.first().map(|d| d.replica_state.clone()))
                        .unwrap_or_else(|| "no link".into())
                })
                .collect();
            if states.iter().all(|s| s == "LinkSynchronizing") {
                return;
            }
            let out = apply.output();
            assert!(
                !out.contains("\"run-finished\""),
                "ferry apply ended before the links synchronized: {states:?}\n{out}"
            );
            assert!(
                Instant::now() < deadline,
                "the links never all synchronized: {:?} {states:?}\n{}",
                self.dbs,
                apply.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts a write workload on each database's `W` table; stop them with [`stop`].
    pub fn workloads(&self, rows_per_second: f64) -> Vec<Workload> {
        self.dbs
            .iter()
            .map(|db| {
                let w = Workload::default();
                w.start(self.src.clone(), db, "W", rows_per_second).unwrap();
                w
            })
            .collect()
    }
}

/// Stops `workloads`; how many rows each committed.
pub async fn stop(workloads: &[Workload]) -> Vec<u64> {
    let mut committed = Vec::new();
    for w in workloads {
        committed.push(w.stop().await.map(|r| r.rows_committed).unwrap_or(0));
    }
    committed
}

impl Apply {
    /// `ferry apply --json` in a link site.
    pub fn start_link(site: &Site) -> Apply {
        Apply::spawn(
            ferry_cmd(site, &["apply", "--json", "migration.toml"]),
            site.path("apply.log"),
        )
    }
}
