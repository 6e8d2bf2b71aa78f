//! The `azure` capability for real: a plugin in the real host, through `ferry apply`, against
//! the emulator's ARM front end of a Managed Instance — the scope a label grants (MI "a"
//! cannot address MI "b"), throttling retried after `Retry-After`, ARM errors with their code,
//! and long-running operations (Azure-AsyncOperation for PUT, Location for DELETE) followed to
//! the end, with the database appearing and disappearing on the MI's TDS side.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::{Server, ServerTls};
use serde_json::{Value, json};

const TOKEN: &str = "arm-token-for-ferry-tests";

fn arm(method_path: &str) -> Value {
    json!({ "label": "mi-a", "kind": "arm", "sql": method_path })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_drives_arm_within_its_scope() {
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let (mi, front) = mi_with_arm(data.path(), certs).await;
    // Two throttled answers first: the host waits Retry-After and tries again.
    front.throttle(2, 1);
    let statements = vec![
        arm("GET "),
        json!({ "label": "mi-a", "kind": "arm-begin", "sql": "PUT databases/Created", "params": { "body": { "location": "westeurope", "properties": { "createMode": "Default" } } } }),
        arm("GET databases/Created"),
        json!({ "label": "mi-a", "kind": "arm-begin", "sql": "DELETE databases/Created" }),
        arm("GET databases/Created"),
        arm("GET ../mi-b"),
        arm("GET databases/%2e%2e/%2e%2e/mi-b"),
        json!({ "label": "mi-b", "kind": "arm", "sql": "GET " }),
        json!({ "label": "mi-a", "kind": "arm", "sql": "GET databases", "params": { "api_version": "bad version!" } }),
    ];
    let items: Vec<String> = statements.iter().map(toml_value).collect();
    let wasm = fixture("sql_probe");
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"arm\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nstatements = [{}]\n[steps.grants]\nsql = [\"src\"]\nazure = [\"mi-a\", \"mi-b\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        items.join(", ")
    );
    let scope = |mi: &str| {
        format!(
            "endpoint = \"{}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\nmanaged_instance = \"{mi}\"\ntoken = \"env:TEST_ARM_TOKEN\"\n",
            front.endpoint()
        )
    };
    let env = format!(
        "[sql.src]\nserver = \"localhost\"\nuser = \"sa\"\npassword = \"env:UNUSED\"\n\n[azure.mi-a]\n{}\n[azure.mi-b]\n{}",
        scope("mi-a"),
        scope("mi-b")
    );
    let site = Site::new(&migration, &env);
    let out = tokio::task::spawn_blocking({
        let cmd = site.ferry(&["apply", "--json", "migration.toml"]);
        move || {
            let mut cmd = cmd;
            cmd.env("TEST_ARM_TOKEN", TOKEN)
                .env("UNUSED", "unused")
                .finish()
        }
    })
    .await
    .unwrap();
    let (results, stdout, stderr) = probe_results(&out);
    let r = &results;

    assert_eq!(r[0]["status"], 200, "{}", r[0]);
    assert_eq!(r[0]["body"]["name"], "mi-a");
    let requests = front.requests();
    assert_eq!(
        requests
            .iter()
            .filter(|(m, p)| m == "GET" && p.ends_with("mi-a?api-version=2023-08-01"))
            .count(),
        3,
        "two throttled attempts, then the answer: {requests:?}"
    );
    assert_eq!(
        r[1]["operation"], "succeeded",
        "PUT followed to the end: {}",
        r[1]
    );
    let created: Value = serde_json::from_str(r[1]["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        created["name"], "Created",
        "the final resource is the result: {created}"
    );
    assert_eq!(r[2]["body"]["properties"]["status"], "Online", "{}", r[2]);
    assert_eq!(r[3]["operation"], "succeeded", "DELETE followed: {}", r[3]);
    let names = tokio::task::block_in_place(|| mi.run_sql("SELECT name FROM sys.databases"));
    assert!(
        !format!("{names:?}").contains("Created"),
        "gone from the MI's catalog too: {names:?}"
    );
    assert!(
        r[4]["error"].as_str().unwrap().contains("ResourceNotFound") && r[4]["code"] == 404,
        "ARM errors keep their code: {}",
        r[4]
    );
    for i in [5, 6] {
        let e = r[i]["error"].as_str().unwrap();
        assert!(
            e.contains("denied") || e.contains("relative to the label's scope"),
            "{i}: {e}"
        );
    }
    assert!(
        requests
            .iter()
            .all(|(_, p)| !p.contains("mi-b") || p.contains("managedInstances/mi-b")),
        "no escape reached the service: {requests:?}"
    );
    assert!(
        r[7]["error"].as_str().unwrap().contains("ResourceNotFound"),
        "mi-b is its own label's scope, answered by the service: {}",
        r[7]
    );
    assert!(
        r[8]["error"].as_str().unwrap().contains("api-version"),
        "{}",
        r[8]
    );
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token never shows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_lrs_start_carries_a_sealed_sas_that_nothing_ferry_writes_shows() {
    use ferry_emulator::azurite::{self, Azurite};
    let az = Azurite::start().unwrap();
    az.create_container("migration").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let src = emulated_sql2019(&data.path().join("src"), "Src#1", certs.clone()).await;
    let (mi, front) = mi_with_arm(&data.path().join("mi"), certs).await;
    mi.clock().set_speed(200.0);
    let rwl = azurite::devstore_container_sas("migration", "racwl").unwrap();
    let rl = azurite::devstore_container_sas("migration", "rl").unwrap();
    let folder = format!("{}/Sales", az.container_url("migration"));
    tokio::task::block_in_place(|| {
        src.run_sql(&format!(
            "CREATE CREDENTIAL [{}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{rwl}'; \
             CREATE DATABASE [Sales]; ALTER DATABASE [Sales] SET RECOVERY FULL; \
             CREATE TABLE [Sales].dbo.T (Id int PRIMARY KEY); INSERT INTO [Sales].dbo.T VALUES (1); \
             BACKUP DATABASE [Sales] TO URL = '{folder}/full.bak' WITH CHECKSUM",
            az.container_url("migration")
        ))
        .unwrap();
    });
    let start = json!({
        "label": "mi-a", "kind": "arm-sealed", "sql": "PUT databases/Sales",
        "sealed": { "sas": "lrs-sas" },
        "params": { "body": { "location": "westeurope", "properties": {
            "createMode": "RestoreExternalBackup", "collation": "SQL_Latin1_General_CP1_CI_AS",
            "storageContainerUri": folder, "storageContainerIdentity": "SharedAccessSignature",
            "storageContainerSasToken": "{{sas}}", "autoCompleteRestore": true, "lastBackupName": "full.bak" } } }
    });
    let wasm = fixture("sql_probe");
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"lrs\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nstatements = [{}]\n[steps.grants]\nsql = [\"src\"]\nazure = [\"mi-a\"]\nsecrets = [\"lrs-sas\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        toml_value(&start)
    );
    let env = format!(
        "[sql.src]\nserver = \"localhost\"\nuser = \"sa\"\npassword = \"env:UNUSED\"\n\n[azure.mi-a]\nendpoint = \"{}\"\nsubscription = \"s1\"\nresource_group = \"rg\"\nmanaged_instance = \"mi-a\"\ntoken = \"env:TEST_ARM_TOKEN\"\n\n[secrets]\nlrs-sas = \"env:TEST_LRS_SAS\"\n",
        front.endpoint()
    );
    let site = Site::new(&migration, &env);
    let run = |args: &'static [&'static str]| {
        let mut cmd = site.ferry(args);
        cmd.env("TEST_ARM_TOKEN", TOKEN)
            .env("UNUSED", "unused")
            .env("TEST_LRS_SAS", &rl);
        tokio::task::spawn_blocking(move || cmd.finish())
    };
    // The plan shows the body with its placeholder, not the SAS, and sends nothing.
    let out = run(&["plan", "migration.toml"]).await.unwrap();
    let plan = std::fs::read_to_string(site.path("migration.plan.txt")).unwrap();
    assert!(out.status.success(), "{plan}");
    assert!(
        plan.contains("\"storageContainerSasToken\":\"{{sas}}\""),
        "{plan}"
    );
    assert!(front.requests().is_empty(), "planning sent nothing to ARM");

    let out = run(&["apply", "--json", "migration.toml"]).await.unwrap();
    let (r, stdout, stderr) = probe_results(&out);
    assert_eq!(r[0]["status"], 202, "the LRS job started: {}", r[0]);
    // The MI read the folder with the sealed SAS and brought the database online.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = tokio::task::block_in_place(|| {
            mi.run_sql("SELECT state_desc FROM sys.databases WHERE name = N'Sales'")
        });
        if format!("{out:?}").contains("ONLINE") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never online: {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sig = rl.split("sig=").nth(1).unwrap();
    let mut all = format!("{stdout}{stderr}{plan}");
    for f in ["journal.db", "journal.db-wal"] {
        if let Ok(b) = std::fs::read(site.path(".ferry/migration").join(f)) {
            all.push_str(&String::from_utf8_lossy(&b));
        }
    }
    assert!(!all.contains(sig), "the SAS signature leaked");
}

/// `entra = "environment"`: a service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and
/// AZURE_CLIENT_SECRET. A missing variable is named; a failed sign-in says where from; the
/// client secret is in nothing ferry writes. (No peer issues real Entra tokens here, so the
/// sign-in is pointed at a closed port through the SDK's AZURE_AUTHORITY_HOST.)
#[test]
fn a_service_principal_from_the_environment_is_named_when_missing_and_its_secret_never_shows() {
    const SECRET: &str = "sp-Client-Secret-6f1d";
    let wasm = fixture("sql_probe");
    let call = json!({ "label": "sp", "kind": "arm", "sql": "GET " });
    let migration = format!(
        "databases = [\"one\"]\n[migration]\nname = \"sp\"\n[plugins.probe]\npath = \"{}\"\nsha256 = \"{}\"\n[[steps]]\nname = \"probe\"\nplugin = \"probe\"\n[steps.config]\nstatements = [{}]\n[steps.grants]\nsql = [\"src\"]\nazure = [\"sp\"]\n",
        wasm.display(),
        sha256_file(&wasm),
        toml_value(&call)
    );
    let env = "[sql.src]\nserver = \"localhost\"\nuser = \"sa\"\npassword = \"env:UNUSED\"\n\n\
               [azure.sp]\nendpoint = \"https://127.0.0.1:9\"\nsubscription = \"s1\"\nresource_group = \"rg\"\n\
               managed_instance = \"mi\"\nentra = \"environment\"\n";
    let apply = |secret: Option<&str>| {
        let site = Site::new(&migration, env);
        let mut cmd = site.ferry(&["apply", "--json", "-v", "migration.toml"]);
        cmd.env("UNUSED", "unused")
            .env("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000")
            .env("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111")
            .env("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9")
            .env_remove("AZURE_CLIENT_SECRET");
        if let Some(s) = secret {
            cmd.env("AZURE_CLIENT_SECRET", s);
        }
        let out = cmd.finish();
        let (results, stdout, stderr) = probe_results(&out);
        let mut written = format!("{stdout}{stderr}");
        let journal = std::fs::read(site.path(".ferry/migration/journal.db")).unwrap();
        written.push_str(&String::from_utf8_lossy(&journal));
        if let Ok(b) = std::fs::read(site.path(".ferry/migration/journal.db-wal")) {
            written.push_str(&String::from_utf8_lossy(&b));
        }
        (
            results[0]["error"].as_str().unwrap_or_default().to_owned(),
            written,
        )
    };
    let (error, _) = apply(None);
    assert!(
        error.contains("azure label `sp`: Entra ID (environment): AZURE_CLIENT_SECRET is not set"),
        "{error}"
    );
    let (error, written) = apply(Some(SECRET));
    assert!(
        error.contains("could not get an Entra ID token from environment"),
        "{error}"
    );
    assert!(!written.contains(SECRET), "the client secret leaked");
}

/// A Managed Instance (TDS) and its ARM front end as instance `mi-a`.
async fn mi_with_arm(dir: &std::path::Path, certs: Arc<ServerTls>) -> (Arc<Server>, ArmServer) {
    let mi = Arc::new(emulated_mi("mi-a", dir, "Mi#Pa55", certs).await);
    let front = ArmServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mi.clone(),
        ArmOptions {
            operation_time: Duration::from_millis(1500),
            ..ArmOptions::local("mi-a", TOKEN)
        },
    )
    .await
    .unwrap();
    (mi, front)
}
