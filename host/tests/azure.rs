//! The `azure` capability for real: a plugin in the real host, through `ferry apply`, against
//! the emulator's ARM front end of a Managed Instance — the scope a label grants (MI "a"
//! cannot address MI "b"), throttling retried after `Retry-After`, ARM errors with their code,
//! and long-running operations (Azure-AsyncOperation for PUT, Location for DELETE) followed to
//! the end, with the database appearing and disappearing on the MI's TDS side.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ferry_emulator::arm::{ArmOptions, ArmServer};
use ferry_emulator::{Personality, Server, ServerOptions, ServerTls};
use serde_json::{Value, json};

const TOKEN: &str = "arm-token-for-ferry-tests";

fn arm(method_path: &str) -> Value {
    json!({ "label": "mi-a", "kind": "arm", "sql": method_path })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_drives_arm_within_its_scope() {
    let data = tempfile::tempdir().unwrap();
    let mi = Arc::new(
        Server::start(
            "127.0.0.1:0".parse().unwrap(),
            ServerOptions::local(
                Personality::ManagedInstance {
                    name: "mi-a.database.windows.net".into(),
                },
                data.path(),
                "Unused#Pa55",
            ),
            Arc::new(ServerTls::generate(&[]).unwrap()),
        )
        .await
        .unwrap(),
    );
    let front = ArmServer::start(
        "127.0.0.1:0".parse().unwrap(),
        mi.clone(),
        ArmOptions {
            subscription: "s1".into(),
            resource_group: "rg".into(),
            instance: "mi-a".into(),
            location: "westeurope".into(),
            tokens: HashSet::from([TOKEN.to_owned()]),
            operation_time: Duration::from_millis(1500),
        },
    )
    .await
    .unwrap();
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
                .output()
                .unwrap()
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
