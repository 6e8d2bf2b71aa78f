//! The `tsql` capability for real: a plugin in the real host, through `ferry apply`, against the
//! emulator over TLS — SQL and token logins, the MI redirect, a dropped connection retried, and
//! a sealed SAS rendered into CREATE CREDENTIAL without reaching any log or journal row.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use ferry_emulator::{Fault, Personality, Server, ServerOptions, ServerTls, TlsMode};
use serde_json::{Value, json};

const SA_PASSWORD: &str = "Emul@tor-Pa55-host";
const TOKEN: &str = "token-for-ferry-tests-7f3a";
const SAS: &str = "sv=2022-11-02&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=SEALED%2Bvalue%3D";

async fn emulator(
    data: &std::path::Path,
    redirect: Option<(String, u16)>,
    certs: Arc<ServerTls>,
) -> Server {
    let options = ServerOptions {
        personality: Personality::ManagedInstance {
            name: "mi-test.database.windows.net".into(),
        },
        tls: TlsMode::Required,
        logins: HashMap::from([("sa".to_owned(), SA_PASSWORD.to_owned())]),
        access_tokens: HashMap::from([(TOKEN.to_owned(), "ferry@contoso.com".to_owned())]),
        redirect,
        data_dir: data.to_owned(),
    };
    Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap()
}

fn statement(label: &str, kind: &str, sql: &str) -> Value {
    json!({ "label": label, "kind": kind, "sql": sql })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_runs_tsql_against_the_emulator_through_its_labels() {
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let node = emulator(&data.path().join("node"), None, certs.clone()).await;
    let gateway = emulator(
        &data.path().join("gw"),
        Some(("localhost".into(), node.addr.port())),
        certs.clone(),
    )
    .await;
    node.inject(Fault::disconnect("select 42").times(1));

    let statements = vec![
        json!({ "label": "src", "kind": "query", "sql": "SELECT @@VERSION AS v, @n + 1 AS n, @s AS s", "params": { "n": 41, "s": "héllo" } }),
        statement(
            "src",
            "execute",
            "CREATE DATABASE Probe; CREATE TABLE Probe.dbo.T (Id int PRIMARY KEY, Name nvarchar(20))",
        ),
        json!({ "label": "src", "kind": "execute", "sql": "INSERT INTO Probe.dbo.T VALUES (@id, @name)", "params": { "id": 1, "name": "one" } }),
        json!({ "label": "src", "kind": "execute", "sql": "CREATE CREDENTIAL [https://acct.blob.core.windows.net/backups] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = @sas", "sealed": { "sas": "sas" } }),
        statement("token", "query", "SELECT SUSER_SNAME() AS who"),
        statement("entra", "query", "SELECT SUSER_SNAME() AS who"),
        statement("gateway", "query", "SELECT COUNT(*) AS n FROM Probe.dbo.T"),
        statement("src", "query", "SELECT 42 AS answer"),
        json!({ "label": "src", "kind": "query", "sql": "SELECT Name FROM Probe.dbo.T", "max_rows": 0 }),
        statement("src", "query", "SELECT * FROM Probe.dbo.Missing"),
    ];
    let wasm = fixture("sql_probe");
    let migration = format!(
        r#"databases = ["one"]
[migration]
name = "tsql"
[plugins.probe]
path = "{}"
sha256 = "{}"
[[steps]]
name = "probe"
plugin = "probe"
[steps.config]
statements = {}
[steps.grants]
sql = ["src", "token", "gateway", "entra"]
secrets = ["sas"]
"#,
        wasm.display(),
        sha256_file(&wasm),
        toml_array(&statements)
    );
    let site = Site::new(&migration, "");
    std::fs::write(site.path("ca.pem"), node.ca_pem()).unwrap();
    let env = format!(
        r#"[sql.src]
server = "localhost"
port = {node}
tls = "required"
trust_ca_file = "ca.pem"
user = "sa"
password = "env:TEST_SA_PASSWORD"

[sql.token]
server = "localhost"
port = {node}
trust_ca_file = "ca.pem"
tls = "required"
access_token = "env:TEST_TOKEN"

[sql.entra]
server = "localhost"
port = {node}
trust_ca_file = "ca.pem"
tls = "required"
entra = "azure-cli"

[sql.gateway]
server = "localhost"
port = {gw}
tls = "required"
trust_ca_file = "ca.pem"
user = "sa"
password = "env:TEST_SA_PASSWORD"

[secrets]
sas = "env:TEST_SAS"
"#,
        node = node.addr.port(),
        gw = gateway.addr.port()
    );
    std::fs::write(site.path("environment.toml"), env).unwrap();
    // A stand-in for the Azure CLI: `azure_identity` runs `az account get-access-token` through
    // the shell, so an `az` first on PATH answers as a signed-in CLI would, and records the
    // scope it was asked for.
    let bin = site.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    std::fs::write(
        bin.join("az"),
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nprintf '{{\"accessToken\":\"{TOKEN}\",\"expires_on\":{expires},\"tokenType\":\"Bearer\"}}'\n",
            site.path("az-calls").display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let out = tokio::task::spawn_blocking({
        let dir = site.dir.path().to_owned();
        move || {
            std::process::Command::new(FERRY)
                .current_dir(&dir)
                .args(["apply", "--json", "-v", "migration.toml"])
                .env("FERRY_CACHE_DIR", shared_cache())
                .env("FERRY_LOG", "ferry_host=debug")
                .env("TEST_SA_PASSWORD", SA_PASSWORD)
                .env("TEST_TOKEN", TOKEN)
                .env("TEST_SAS", SAS)
                .env("PATH", &path)
                .finish()
        }
    })
    .await
    .unwrap();
    let (results, stdout, stderr) = probe_results(&out);
    let r = &results;

    assert!(
        r[0]["sets"][0]["rows"][0][0]
            .as_str()
            .unwrap()
            .starts_with("Microsoft SQL Azure"),
        "{}",
        r[0]
    );
    assert_eq!(r[0]["sets"][0]["rows"][0][1], 42, "named parameters bound");
    assert_eq!(r[0]["sets"][0]["rows"][0][2], "héllo");
    assert_eq!(
        r[0]["sets"][0]["columns"][1][1], "bigint",
        "typed columns: an sql-value int is bound as bigint, and bigint + int is bigint"
    );
    assert_eq!(r[0]["sets"][0]["columns"][0][1], "nvarchar");
    assert_eq!(r[2]["affected"], 1);
    assert_eq!(r[3]["affected"], 0, "{}", r[3]);
    assert_eq!(
        r[4]["sets"][0]["rows"][0][0], "ferry@contoso.com",
        "token login"
    );
    assert_eq!(
        r[5]["sets"][0]["rows"][0][0], "ferry@contoso.com",
        "Entra login with the Azure CLI's token: {}",
        r[5]
    );
    let az = std::fs::read_to_string(site.path("az-calls")).unwrap();
    assert!(
        az.contains("get-access-token") && az.contains("https://database.windows.net/.default"),
        "{az}"
    );
    assert_eq!(r[6]["sets"][0]["rows"][0][0], 1, "through the redirect");
    assert_eq!(
        r[7]["sets"][0]["rows"][0][0], 42,
        "a dropped connection is retried: {}",
        r[7]
    );
    assert_eq!(r[8]["sets"][0]["truncated"], true, "row caps are reported");
    assert_eq!(
        r[9]["code"], 208,
        "server errors keep their number: {}",
        r[9]
    );

    // The sealed SAS reached the server, correctly quoted…
    let (identity, secret) = node
        .credential("https://acct.blob.core.windows.net/backups")
        .expect("credential created");
    assert_eq!(identity, "SHARED ACCESS SIGNATURE");
    assert_eq!(secret.as_deref(), Some(SAS));
    // …and nothing ferry wrote holds it: outputs, debug logs, the journal.
    let mut all = format!("{stdout}{stderr}");
    for f in ["journal.db", "journal.db-wal"] {
        if let Ok(b) = std::fs::read(site.path(".ferry/migration").join(f)) {
            all.push_str(&String::from_utf8_lossy(&b));
        }
    }
    assert!(!all.contains("SEALED%2Bvalue"), "the sealed value leaked");
    assert!(
        !all.contains(SA_PASSWORD) && !all.contains(TOKEN),
        "a connection secret leaked"
    );
    assert!(
        stderr.contains("SECRET = @sas") && stderr.contains("@sas = ***"),
        "statements are logged with sealed values masked: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_restore_runs_as_a_host_operation_with_rising_progress() {
    use ferry_emulator::azurite::{self, Azurite};
    let az = Azurite::start().unwrap();
    az.create_container("ops").await.unwrap();
    let container = az.container_url("ops");
    let sas = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "ops",
        "racwl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let mi = emulator(&data.path().join("mi"), None, certs.clone()).await;
    // The source's backup, made directly (SQL Server personality, in-process).
    let src_options = ServerOptions {
        personality: Personality::SqlServer {
            release: ferry_emulator::Release::Sql2019,
            edition: ferry_emulator::Edition::Enterprise,
            hadr: false,
            name: "SRC".into(),
        },
        tls: TlsMode::Required,
        logins: HashMap::from([("sa".to_owned(), SA_PASSWORD.to_owned())]),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: data.path().join("src"),
    };
    let src = Server::start("127.0.0.1:0".parse().unwrap(), src_options, certs.clone())
        .await
        .unwrap();
    let credential = format!(
        "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
    );
    tokio::task::block_in_place(|| {
        src.run_sql(&format!("CREATE DATABASE Ops; CREATE TABLE Ops.dbo.T (Id int); INSERT INTO Ops.dbo.T VALUES (1), (2); {credential}")).unwrap();
        src.run_sql(&format!(
            "BACKUP DATABASE Ops TO URL = '{container}/Ops.bak' WITH COPY_ONLY"
        ))
        .unwrap();
        mi.run_sql(&credential).unwrap();
    });
    mi.set_restore_time(Some(std::time::Duration::from_secs(3)));

    let statements = vec![
        json!({ "label": "src", "kind": "start", "sql": format!("RESTORE DATABASE Ops FROM URL = '{container}/Ops.bak'") }),
        statement(
            "src",
            "query",
            "SELECT state_desc FROM sys.databases WHERE name = N'Ops'",
        ),
        json!({ "label": "src", "kind": "start", "sql": format!("RESTORE DATABASE Ops FROM URL = '{container}/Ops.bak'") }),
        // The statement's connection drops once the restore has started: MI carries on, and
        // the operation follows it in sys.dm_operation_status to the end.
        json!({ "label": "src", "kind": "start", "sql": format!("RESTORE DATABASE [Ops Copy] FROM URL = '{container}/Ops.bak'") }),
        statement(
            "src",
            "query",
            "SELECT state_desc FROM sys.databases WHERE name = N'Ops Copy'",
        ),
    ];
    mi.inject(Fault::disconnect_during("RESTORE DATABASE [Ops Copy]").times(1));
    let wasm = fixture("sql_probe");
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"ops\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nstatements = {}\n[steps.grants]\nsql = [\"src\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        toml_array(&statements)
    );
    let site = Site::new(&migration, "");
    std::fs::write(site.path("ca.pem"), mi.ca_pem()).unwrap();
    let env = format!(
        "[sql.src]\nserver = \"localhost\"\nport = {}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:TEST_SA_PASSWORD\"\n",
        mi.addr.port()
    );
    std::fs::write(site.path("environment.toml"), env).unwrap();
    let out = tokio::task::spawn_blocking({
        let dir = site.dir.path().to_owned();
        move || {
            std::process::Command::new(FERRY)
                .current_dir(&dir)
                .args(["apply", "--json", "-v", "migration.toml"])
                .env("FERRY_CACHE_DIR", shared_cache())
                .env("TEST_SA_PASSWORD", SA_PASSWORD)
                .finish()
        }
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let done = events
        .iter()
        .find(|e| e["event"] == "item-done")
        .expect("item-done");
    let r = &done["output"]["results"];
    assert_eq!(r[0]["operation"], "succeeded", "{}", r[0]);
    assert_eq!(
        r[1]["sets"][0]["rows"][0][0], "ONLINE",
        "the database is online after the operation"
    );
    assert!(
        r[2]["operation"]
            .as_str()
            .unwrap()
            .starts_with("failed 1801"),
        "a second restore fails with the server's number: {}",
        r[2]
    );
    assert_eq!(
        r[3]["operation"], "succeeded",
        "followed after the connection was lost: {}",
        r[3]
    );
    assert_eq!(r[4]["sets"][0]["rows"][0][0], "ONLINE", "{}", r[4]);
    assert!(
        stderr.contains("connection lost during an MI restore"),
        "the follow is logged: {stderr}"
    );
    let fractions: Vec<f64> = events
        .iter()
        .filter(|e| {
            e["event"] == "progress"
                && e["phase"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("RESTORE DATABASE Ops FROM"))
        })
        .filter_map(|e| e["fraction"].as_f64())
        .collect();
    assert!(
        fractions.len() >= 3,
        "progress was reported while the restore ran: {fractions:?}"
    );
    assert!(
        fractions.windows(2).all(|w| w[0] <= w[1]) && fractions.last() > fractions.first(),
        "progress rises: {fractions:?}"
    );
}
