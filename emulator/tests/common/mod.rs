//! Helpers: start an emulated server on a free port and connect tiberius to it with TLS.
#![allow(dead_code)]

pub mod catalog;
pub mod catalog_rows;
pub mod dms_rig;
pub mod link_rig;
pub mod lrs_rig;
pub mod serving;

use std::collections::HashMap;
use std::sync::Arc;

use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls, TlsMode};
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

pub const PASSWORD: &str = "Emul@tor-Pa55";
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-token";

pub fn sql2019() -> Personality {
    Personality::SqlServer {
        release: Release::Sql2019,
        edition: Edition::Enterprise,
        hadr: true,
        name: "SRC01".into(),
    }
}

/// A SQL Server `release`, Enterprise edition, without Always On.
pub fn sql_server(release: Release) -> Personality {
    Personality::SqlServer {
        release,
        edition: Edition::Enterprise,
        hadr: false,
        name: "SRC".into(),
    }
}

pub fn mi() -> Personality {
    Personality::ManagedInstance {
        name: "mi-target.public.abc123.database.windows.net".into(),
    }
}

pub struct Running {
    pub server: Arc<Server>,
    pub ca: tempfile::NamedTempFile,
    pub _data: tempfile::TempDir,
}

pub async fn start_with(
    personality: Personality,
    tls: TlsMode,
    redirect: Option<(String, u16)>,
) -> Running {
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let mut logins = HashMap::new();
    logins.insert("sa".to_owned(), PASSWORD.to_owned());
    let mut access_tokens = HashMap::new();
    access_tokens.insert(TOKEN.to_owned(), "admin@contoso.com".to_owned());
    let data = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        personality,
        tls,
        logins,
        access_tokens,
        redirect,
        data_dir: data.path().to_owned(),
    };
    let server = Arc::new(
        Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
            .await
            .unwrap(),
    );
    let ca = tempfile::Builder::new().suffix(".pem").tempfile().unwrap();
    std::fs::write(ca.path(), server.ca_pem()).unwrap();
    Running {
        server,
        ca,
        _data: data,
    }
}

pub async fn start(personality: Personality, tls: TlsMode) -> Running {
    start_with(personality, tls, None).await
}

pub fn config(r: &Running, auth: AuthMethod, encryption: EncryptionLevel) -> Config {
    let mut c = Config::new();
    c.host("localhost");
    c.port(r.server.addr.port());
    c.authentication(auth);
    c.encryption(encryption);
    c.trust_cert_ca(r.ca.path().to_str().unwrap());
    c
}

pub async fn connect_with(
    r: &Running,
    auth: AuthMethod,
    encryption: EncryptionLevel,
) -> tiberius::Result<Client<Compat<TcpStream>>> {
    let tcp = TcpStream::connect(r.server.addr).await?;
    tcp.set_nodelay(true)?;
    Client::connect(config(r, auth, encryption), tcp.compat_write()).await
}

pub async fn connect(r: &Running) -> Client<Compat<TcpStream>> {
    connect_with(
        r,
        AuthMethod::sql_server("sa", PASSWORD),
        EncryptionLevel::Required,
    )
    .await
    .unwrap()
}

pub async fn scalar_string(c: &mut Client<Compat<TcpStream>>, sql: &str) -> String {
    let row = c
        .simple_query(sql)
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    row.get::<&str, _>(0).unwrap().to_owned()
}

/// A tiberius client connected to an emulated server.
pub type C = Client<Compat<TcpStream>>;

/// Runs a batch and drains its results, panicking with the statement on error.
pub async fn exec(c: &mut C, sql: &str) {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_results()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The SQL Server error number a batch fails with.
pub async fn error_code(c: &mut C, sql: &str) -> u32 {
    let err = match c.simple_query(sql).await {
        Err(e) => e,
        Ok(s) => s.into_results().await.map(|_| ()).expect_err(sql),
    };
    match err {
        tiberius::error::Error::Server(e) => e.code(),
        other => panic!("{sql}: {other:?}"),
    }
}

/// The first row of a query.
pub async fn one_row(c: &mut C, sql: &str) -> tiberius::Row {
    c.simple_query(sql)
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no row: {sql}"))
}

/// Logs in without TLS (a server with TLS off or optional) and checks `SELECT 41 + 1`: the
/// server still serves.
pub async fn still_serves_in_the_clear(server: &Server, user: &str, password: &str) {
    let mut config = Config::new();
    config.host("127.0.0.1");
    config.port(server.addr.port());
    config.authentication(AuthMethod::sql_server(user, password));
    config.encryption(EncryptionLevel::NotSupported);
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut c = Client::connect(config, tcp.compat_write()).await.unwrap();
    let row = one_row(&mut c, "SELECT 41 + 1").await;
    assert_eq!(row.get::<i32, _>(0), Some(42));
}

/// An HTTP client that keeps no idle connection: tests that stop or restart the ARM server
/// must not send their next request down a connection the old server still holds open (it
/// answers, or fails with IncompleteMessage, depending on how busy the machine is).
pub fn fresh_connections() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a reqwest client")
}

/// POSTs a JSON body: (status, body text).
pub async fn post_json(client: &reqwest::Client, url: &str, body: &str) -> (u16, String) {
    let r = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The control API of `r`'s server on a free port: its base URL and a client.
pub async fn control_api(r: &Running) -> (String, reqwest::Client) {
    let app = ferry_emulator::control_http::router(r.server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, reqwest::Client::new())
}
