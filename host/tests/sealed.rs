//! Sealed reads through the real host and the `ferry` binary, against the emulator: a login's
//! password hash read with `query-sealed` becomes a `CREATE LOGIN … PASSWORD = 0x… HASHED` the
//! server accepts (the copy then logs in with the original password), the reviewable `.sql`
//! file holds it and is owner-only, and neither the hash nor a vault secret comes back to the
//! plugin or into any output, journal or log, however the plugin asks.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls, TlsMode};
use serde_json::json;

const SA_PASSWORD: &str = "Emul@tor-Pa55-sealed";
const APP_PASSWORD: &str = "Old-App-Passw0rd!";
const SAS: &str = "sv=2022-11-02&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=SEALED%2Bsealed%3D";

fn scalar(server: &Server, sql: &str) -> String {
    format!("{:?}", tokio::task::block_in_place(|| server.run_sql(sql)))
}

fn find(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_password_hash_moves_into_ddl_and_a_script_and_nowhere_else() {
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let options = ServerOptions {
        personality: Personality::SqlServer {
            release: Release::Sql2019,
            edition: Edition::Enterprise,
            hadr: false,
            name: "SRC01".into(),
        },
        tls: TlsMode::Required,
        logins: HashMap::from([("sa".to_owned(), SA_PASSWORD.to_owned())]),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: data.path().join("src"),
    };
    let server = Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap();
    server
        .run_sql(&format!(
            "CREATE LOGIN [app] WITH PASSWORD = '{APP_PASSWORD}'"
        ))
        .unwrap();
    let hash = scalar(&server, "SELECT LOGINPROPERTY('app', 'PasswordHash')");
    // The hash's hex, as it would show in any text: e.g. `Binary([2, 0, …])` → "0200…".
    let hash_hex: String = hash
        .split("Binary([")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .map(|list| {
            list.split(',')
                .map(|b| format!("{:02X}", b.trim().parse::<u8>().unwrap()))
                .collect()
        })
        .unwrap_or_else(|| panic!("no hash in {hash}"));
    assert_eq!(hash_hex.len(), 140, "a SQL Server 2012+ hash: {hash_hex}");

    let read = "SELECT name, password_hash FROM sys.sql_logins WHERE name = 'app'";
    let statements = vec![
        json!({ "label": "src", "kind": "copy-sealed", "sql": read, "sealed_columns": ["password_hash"],
                "then": "CREATE LOGIN [app_copy] WITH PASSWORD = @password_hash HASHED, CHECK_POLICY = OFF",
                "then_kind": "execute", "then_label": "src", "script": "logins" }),
        json!({ "label": "src", "kind": "copy-sealed", "sql": read, "sealed_columns": ["password_hash"],
                "then": "SELECT @password_hash AS echoed, @name AS name", "then_kind": "query", "then_label": "src" }),
        json!({ "label": "src", "kind": "query", "sql": "SELECT @s AS s", "sealed": { "s": "sas" } }),
        json!({ "label": "src", "kind": "query", "sql": read }),
        json!({ "label": "copy", "kind": "query", "sql": "SELECT SUSER_SNAME() AS who" }),
    ];
    let migration = fixture_migration(
        "sealed",
        "sql-probe",
        &["one"],
        &format!(
            "[[steps]]\nname = \"probe\"\nplugin = \"sql-probe\"\n[steps.config]\nstatements = {}\n\
             [steps.grants]\nsql = [\"src:write\", \"copy\"]\nsecrets = [\"sas\"]\nscripts = true\n",
            toml_array(&statements)
        ),
    );
    let site = Site::new(&migration, "");
    std::fs::write(site.path("ca.pem"), server.ca_pem()).unwrap();
    let port = server.addr.port();
    std::fs::write(
        site.path("environment.toml"),
        format!(
            "[sql.src]\nserver = \"localhost\"\nport = {port}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\n\
             user = \"sa\"\npassword = \"env:TEST_SA_PASSWORD\"\n\n\
             [sql.copy]\nserver = \"localhost\"\nport = {port}\ntls = \"required\"\ntrust_ca_file = \"ca.pem\"\n\
             user = \"app_copy\"\npassword = \"env:TEST_APP_PASSWORD\"\n\n[secrets]\nsas = \"env:TEST_SAS\"\n"
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let site_dir = site.dir.path().to_owned();
        move || {
            std::process::Command::new(FERRY)
                .current_dir(&site_dir)
                .args(["apply", "--json", "-v", "migration.toml"])
                .env("FERRY_CACHE_DIR", shared_cache())
                .env("FERRY_LOG", "ferry_host=debug")
                .env("TEST_SA_PASSWORD", SA_PASSWORD)
                .env("TEST_APP_PASSWORD", APP_PASSWORD)
                .env("TEST_SAS", SAS)
                .finish()
        }
    })
    .await
    .unwrap();
    let (r, stdout, stderr) = probe_results(&out);

    // The copy was made from the sealed hash and logs in with the original password.
    assert_eq!(r[0]["rows"][0]["cells"][1], "sealed", "{}", r[0]);
    assert_eq!(r[0]["rows"][0]["then"], 0, "{}", r[0]);
    assert_eq!(r[4]["sets"][0]["rows"][0][0], "app_copy", "{}", r[4]);
    // Echoing a sealed value back through a query gives the mask, never the value…
    assert_eq!(r[1]["rows"][0]["then"][0][0], "***", "{}", r[1]);
    assert_eq!(r[1]["rows"][0]["then"][0][1], "app", "{}", r[1]);
    assert_eq!(r[2]["sets"][0]["rows"][0][0], "***", "{}", r[2]);
    // …and so does reading the hash plainly once the host knows it as a secret.
    assert_eq!(r[3]["sets"][0]["rows"][0][1], "***", "{}", r[3]);

    // The script holds the hash, once, and is its owner's alone.
    let script = find(site.dir.path(), "logins.sql").expect("logins.sql written");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains(&format!("PASSWORD = 0x{hash_hex} HASHED")),
        "{text}"
    );
    assert!(
        text.contains("readable by its owner only") && text.contains("\nGO\n"),
        "{text}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", script.display());
    }

    // Nowhere else: not in the output, the log, or the journal.
    let journal = std::fs::read(site.journal()).unwrap();
    let journal = String::from_utf8_lossy(&journal);
    for (what, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("journal", &journal.to_string()),
    ] {
        for needle in [
            hash_hex.as_str(),
            &hash_hex.to_lowercase(),
            "SEALED%2Bsealed",
        ] {
            assert!(!text.contains(needle), "{what} holds a sealed value");
        }
    }
    assert!(
        stderr.contains("@password_hash = ***"),
        "statements are logged masked"
    );
}
