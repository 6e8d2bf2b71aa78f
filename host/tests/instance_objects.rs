//! The bundled `instance-objects` plugin through the `ferry` binary, with the example
//! migration (`examples/full-instance`: objects, then native-restore, then user remapping)
//! against a seeded source instance (`ferry_emulator::seed`), an emulated Managed Instance
//! with its ARM front end, and Azurite: what lands, every refusal with its reason, a TDE
//! database restored with no manual step, a second apply that changes nothing, secrets in no
//! output, and a kill mid-way that a second apply resumes.

mod common;

use std::sync::Arc;

use common::native_rig::source_server;
use common::*;
use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::{Server, ServerTls};
use serde_json::Value;

const SA: &str = "Emul@tor-Pa55-objects";
const MI_SA: &str = "Mi#Pa55-objects";
const TOKEN: &str = "objects-arm-token";
const SMTP: &str = "Smtp#Secret-for-ferry";
const REMOTE: &str = "Remote#Secret-for-ferry";
const BACKUP_SAS: &str = "sv=2022-11-02&sr=c&sp=rl&sig=QmFja3VwU2Fz%3D";
const DATABASES: [&str; 3] = ["SalesDb", "HRDb", "InventoryDb"];

struct Rig {
    _az: Azurite,
    src: Server,
    mi: Arc<Server>,
    _front: ArmServer,
    site: Site,
    _data: tempfile::TempDir,
}

async fn rig() -> Rig {
    let az = Azurite::start().unwrap();
    az.create_container("backups").await.unwrap();
    az.create_container("audits").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let src = source_server("2019", &data.path().join("src"), SA, certs.clone()).await;
    let mi = Arc::new(emulated_mi("ferry-target", &data.path().join("mi"), MI_SA, certs).await);
    mi.set_restore_time(Some(std::time::Duration::from_millis(500)));
    let (users, groups) = ferry_emulator::seed::entra_directory();
    mi.set_entra_directory(&users, &groups).unwrap();
    let front = ArmServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mi.clone(),
        ArmOptions::local("ferry-target", TOKEN),
    )
    .await
    .unwrap();
    src.set_windows_groups(&ferry_emulator::seed::windows_groups())
        .unwrap();
    tokio::task::block_in_place(|| {
        for db in DATABASES {
            src.run_sql(&format!(
                "CREATE DATABASE [{db}]; CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); \
                 INSERT INTO [{db}].dbo.T VALUES (1), (2)"
            ))
            .unwrap();
        }
        for batch in ferry_emulator::seed::instance_objects(&DATABASES) {
            src.run_sql(&batch).unwrap();
        }
    });
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/full-instance");
    let migration = std::fs::read_to_string(example.join("migration.toml")).unwrap();
    let env = format!(
        "[sql.source]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA\"\n\n\
         [sql.target]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_MI_SA\"\n\n\
         [azure.mi]\nendpoint = \"{}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\nmanaged_instance = \"ferry-target\"\ntoken = \"env:TEST_ARM_TOKEN\"\n\n\
         [storage.backups]\nkind = \"blob\"\nurl = \"{}\"\naccount_key = \"env:TEST_BLOB_KEY\"\n\n\
         [storage.audits]\nkind = \"blob\"\nurl = \"{}\"\naccount_key = \"env:TEST_BLOB_KEY\"\n\n\
         [secrets]\nbackup-sas = \"env:TEST_BACKUP_SAS\"\nsmtp-password = \"env:TEST_SMTP\"\nsales-remote = \"env:TEST_REMOTE\"\n",
        src.addr.port(),
        mi.addr.port(),
        front.endpoint(),
        az.container_url("backups"),
        az.container_url("audits"),
    );
    let site = Site::new(&migration, &env);
    std::fs::copy(example.join("entra-map.toml"), site.path("entra-map.toml")).unwrap();
    std::fs::write(site.path("ca.pem"), src.ca_pem()).unwrap();
    Rig {
        _az: az,
        src,
        mi,
        _front: front,
        site,
        _data: data,
    }
}

impl Rig {
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.site.ferry(args);
        cmd.env("TEST_SA", SA)
            .env("TEST_MI_SA", MI_SA)
            .env("TEST_ARM_TOKEN", TOKEN)
            .env("TEST_BLOB_KEY", azurite::ACCOUNT_KEY)
            .env("TEST_BACKUP_SAS", BACKUP_SAS)
            .env("TEST_SMTP", SMTP)
            .env("TEST_REMOTE", REMOTE);
        cmd
    }

    async fn ferry(&self, args: &[&str]) -> (std::process::Output, String) {
        let mut cmd = self.command(args);
        let out = tokio::task::spawn_blocking(move || cmd.finish())
            .await
            .unwrap();
        let (stdout, stderr) = text(&out);
        (out, format!("{stdout}\n{stderr}"))
    }

    fn report(&self) -> Value {
        let state = self.site.path(".ferry/migration");
        serde_json::from_str(&std::fs::read_to_string(state.join("report.json")).unwrap()).unwrap()
    }

    fn rows(&self) -> Vec<Value> {
        let r = self.report();
        let mut rows = Vec::new();
        collect_rows(&r, &mut rows);
        rows
    }
}

fn row<'a>(rows: &'a [Value], kind: &str, name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["object_type"] == kind && r["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} row for {name}"))
}

fn scalar(server: &Server, sql: &str) -> String {
    format!(
        "{:?}",
        tokio::task::block_in_place(|| server.run_sql(sql)).unwrap()
    )
}

/// Logs in to `server` over TDS as `user` and returns SUSER_SNAME(), or the error.
async fn login(server: &Server, user: &str, password: &str) -> Result<String, String> {
    use tokio_util::compat::TokioAsyncWriteCompatExt;
    let mut config = tiberius::Config::new();
    config.host("127.0.0.1");
    config.port(server.addr.port());
    config.authentication(tiberius::AuthMethod::sql_server(user, password));
    config.trust_cert();
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut client = tiberius::Client::connect(config, tcp.compat_write())
        .await
        .map_err(|e| e.to_string())?;
    let row = client
        .simple_query("SELECT SUSER_SNAME() AS who")
        .await
        .map_err(|e| e.to_string())?
        .into_row()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no row")?;
    Ok(row.get::<&str, _>(0).unwrap_or_default().to_owned())
}

/// The password hash of `login` on `server`, as upper-case hex.
fn hash_hex(server: &Server, login: &str) -> String {
    let out = scalar(
        server,
        &format!("SELECT LOGINPROPERTY('{login}', 'PasswordHash')"),
    );
    let list = out
        .split("Binary([")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .unwrap_or_else(|| panic!("no hash in {out}"));
    list.split(',')
        .map(|b| format!("{:02X}", b.trim().parse::<u8>().unwrap()))
        .collect()
}

fn count(server: &Server, sql: &str) -> String {
    let out = scalar(server, sql);
    out.split("Int(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("no count in {out}"))
        .to_owned()
}

/// Every file under `dir`, as text.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            let bytes = std::fs::read(&p).unwrap_or_default();
            out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_instance_moves_to_the_mi_with_every_refusal_explained() {
    let rig = rig().await;
    let hash = hash_hex(&rig.src, "app_05");

    // Plan first: every statement, the hash as ***, nothing changed on the MI.
    // `--state-dir` puts the plan's script files where that apply would keep its own.
    let (out, all) = rig
        .ferry(&["plan", "--state-dir", "plan-state", "migration.toml"])
        .await;
    assert!(out.status.success(), "{all}");
    let planned_scripts = all_files(&rig.site.path("plan-state/scripts/plan"));
    assert!(
        planned_scripts
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "sql")),
        "the plan's scripts are under --state-dir: {planned_scripts:?}"
    );
    assert!(!rig.site.path(".ferry/migration/scripts/plan").exists());
    let plan = std::fs::read_to_string(rig.site.path("migration.plan.txt")).unwrap();
    assert!(
        plan.contains("CREATE LOGIN [app_05] WITH PASSWORD = @hash HASHED, SID = 0x")
            && plan.contains("@hash = ***"),
        "{plan}"
    );
    assert!(
        plan.contains("CREATE LOGIN [anna@contoso.com] FROM EXTERNAL PROVIDER"),
        "{plan}"
    );
    assert!(plan.contains("tdeCertificates"), "{plan}");
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.server_principals WHERE name = 'app_05'"
        ),
        "0"
    );

    let (out, all) = rig.ferry(&["apply", "migration.toml"]).await;
    let rows = rig.rows();
    for r in rows.iter().filter(|r| r["status"] == "failed") {
        eprintln!(
            "{} {} {} {}",
            r["object_type"], r["name"], r["reason_code"], r["notes"]
        );
    }
    assert!(out.status.success(), "{all}");

    // A SQL login logs in to the MI with its old password; the disabled and denied ones don't.
    let pw = ferry_emulator::seed::SQL_LOGIN_PASSWORD;
    assert_eq!(login(&rig.mi, "app_05", pw).await.unwrap(), "app_05");
    assert!(
        login(&rig.mi, "legacy_app", pw)
            .await
            .unwrap_err()
            .contains("18470")
    );
    assert!(login(&rig.mi, "old_vendor", pw).await.is_err());
    // Windows logins became Entra ones, and each database's Windows user is remapped to its.
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.server_principals WHERE name = 'anna@contoso.com' AND type = 'E'"
        ),
        "1"
    );
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.server_principals WHERE name = 'SQL Administrators' AND type = 'X'"
        ),
        "1"
    );
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM SalesDb.sys.database_principals dp JOIN sys.server_principals sp ON sp.sid = dp.sid WHERE dp.name = 'CONTOSO\\anna' AND sp.name = 'anna@contoso.com'"
        ),
        "1"
    );
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM HRDb.sys.database_principals dp JOIN sys.server_principals sp ON sp.sid = dp.sid WHERE dp.name = 'CONTOSO\\Report Readers' AND sp.name = 'Report Readers'"
        ),
        "1"
    );
    // The TDE database restored with its certificate uploaded through ARM, no manual step.
    let row_of = |kind: &str, name: &str| row(&rows, kind, name).clone();
    assert_eq!(
        row_of("tde-certificate", "TdeCert_HR")["status"],
        "migrated"
    );
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.databases WHERE name = 'HRDb' AND state_desc = 'ONLINE'"
        ),
        "1"
    );
    // Jobs, with what Managed Instance cannot run refused and what it rewrote noted.
    assert_eq!(
        count(&rig.mi, "SELECT COUNT(*) FROM msdb.dbo.sysjobs"),
        "27"
    );
    // A job whose step runs in a user database waits for the objects step after the restores.
    let waited = rows
        .iter()
        .find(|r| r["name"] == "Refresh reporting" && r["status"] == "skipped")
        .expect("the first objects step leaves it for later");
    assert_eq!(waited["reason_code"], "database-not-on-target", "{waited}");
    assert!(
        rows.iter()
            .any(|r| r["name"] == "Refresh reporting" && r["status"] == "migrated"),
        "the objects step after the restores makes it"
    );
    let etl = row_of("agent-job", "ETL load");
    assert_eq!(etl["status"], "migrated", "{etl}");
    assert!(
        etl["notes"]
            .as_str()
            .unwrap()
            .contains("proxy `ETL proxy` dropped"),
        "{etl}"
    );
    // Every object Managed Instance cannot take has a row with its reason.
    for (kind, name, status, code) in [
        (
            "login",
            "FABRIKAM\\legacy_admin",
            "refused",
            "windows-unmapped",
        ),
        (
            "credential",
            "etl_proxy_cred",
            "refused",
            "windows-identity",
        ),
        (
            "agent-job",
            "Merge sync",
            "refused",
            "unsupported-subsystem",
        ),
        (
            "agent-job",
            "Export files",
            "refused",
            "unsupported-subsystem",
        ),
        (
            "agent-job",
            "Idle compaction",
            "refused",
            "cpu-idle-schedule",
        ),
        (
            "agent-alert",
            "Severity 17",
            "skipped",
            "alerts-unsupported",
        ),
        ("linked-server", "ORAFIN", "refused", "unsupported-provider"),
        ("login", "sa", "skipped", "system-principal"),
        (
            "configuration",
            "remote access",
            "skipped",
            "option-not-supported",
        ),
    ] {
        let r = row_of(kind, name);
        assert_eq!(
            (r["status"].as_str(), r["reason_code"].as_str()),
            (Some(status), Some(code)),
            "{r}"
        );
        assert!(
            r["notes"].as_str().is_some_and(|n| n.len() > 40),
            "a reason to act on: {r}"
        );
    }
    // Resource Governor and extended events: made, with MI's rewrites noted.
    let pool = row_of("resource-pool", "reporting_pool");
    assert_eq!(pool["status"], "migrated", "{pool}");
    assert_eq!(
        row_of("workload-group", "reporting_group")["status"],
        "migrated"
    );
    let xe = row_of("event-session", "Long queries");
    assert_eq!(xe["status"], "migrated", "{xe}");
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.dm_xe_sessions WHERE name = 'Long queries'"
        ),
        "1",
        "started on the MI as it runs on the source"
    );
    let audit = row_of("server-audit", "Compliance");
    assert_eq!(audit["status"], "migrated", "{audit}");
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.server_audits WHERE name = 'Compliance' AND type = 'UL'"
        ),
        "1"
    );

    // Secrets: the hash, the SMTP and remote passwords and the SAS reached the MI (and the
    // owner-only .sql files) and nothing else ferry wrote.
    let scripts = rig.site.path(".ferry/migration/scripts");
    let files = all_files(&scripts);
    let logins_sql = files
        .iter()
        .find(|(p, _)| p.ends_with("logins.sql"))
        .expect("logins.sql");
    assert!(
        logins_sql
            .1
            .contains(&format!("PASSWORD = 0x{hash} HASHED")),
        "{}",
        logins_sql.1
    );
    {
        use std::os::unix::fs::PermissionsExt;
        for (p, _) in &files {
            let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
    assert!(
        files.iter().any(|(_, t)| t.contains(SMTP)),
        "the mail script holds the SMTP password"
    );
    let state = rig.site.path(".ferry/migration");
    let mut outputs: Vec<(String, String)> =
        vec![("output".into(), all.clone()), ("plan".into(), plan)];
    for (p, t) in all_files(&state) {
        if !p.starts_with(&scripts) {
            outputs.push((p.display().to_string(), t));
        }
    }
    for (what, text) in &outputs {
        for secret in [
            hash.as_str(),
            &hash.to_lowercase(),
            SMTP,
            REMOTE,
            BACKUP_SAS,
        ] {
            assert!(!text.contains(secret), "{what} holds a secret");
        }
    }

    // A second apply changes nothing: every object is found unchanged on the MI.
    let before = rig.mi.statements().len();
    let (out, all) = rig.ferry(&["apply", "--fresh", "migration.toml"]).await;
    let _ = (out, all);
    let changed: Vec<String> = rig.mi.statements()[before..]
        .iter()
        .map(|s| s.text.clone())
        .filter(|t| t.starts_with("-- "))
        .collect();
    assert!(changed.is_empty(), "the second apply changed: {changed:#?}");
    let rows = rig.rows();
    let migrated: Vec<&Value> = rows
        .iter()
        .filter(|r| r["status"] == "migrated" && r["object_type"] != "database")
        .collect();
    assert!(migrated.is_empty(), "{migrated:#?}");
}

/// `ferry apply` SIGKILLed while the logins are being made; the next `apply` resumes the same
/// run: the logins already made are found unchanged, the rest are made once, and the run ends
/// with every database migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_way_is_resumed_by_the_next_apply() {
    let rig = rig().await;
    let cmd = rig.command(&["apply", "migration.toml"]);
    let mi = rig.mi.clone();
    kill_when(cmd, &rig.site.path("killed.log"), move || {
        received(&mi, "CREATE LOGIN [app_15]") > 0
    })
    .await;
    assert_eq!(
        count(
            &rig.mi,
            "SELECT COUNT(*) FROM sys.server_principals WHERE name = 'app_30'"
        ),
        "0",
        "killed before the last login"
    );
    let (out, all) = rig.ferry(&["apply", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("already done") || all.contains("resum"),
        "{all}"
    );
    for i in 1..=30 {
        assert_eq!(
            count(
                &rig.mi,
                &format!("SELECT COUNT(*) FROM sys.server_principals WHERE name = 'app_{i:02}'")
            ),
            "1",
            "app_{i:02}"
        );
    }
    // Each login was sent once: the resumed run found the earlier ones made.
    assert_eq!(received(&rig.mi, "CREATE LOGIN [app_01]"), 1);
    assert_eq!(received(&rig.mi, "CREATE LOGIN [app_30]"), 1);
    // Each of the two instance steps (before and after the databases) done once.
    assert_eq!(times_done(&rig.site, "(instance)"), 2);
    for db in DATABASES {
        assert_eq!(
            count(
                &rig.mi,
                &format!(
                    "SELECT COUNT(*) FROM sys.databases WHERE name = '{db}' AND state_desc = 'ONLINE'"
                )
            ),
            "1",
            "{db}"
        );
    }
}
