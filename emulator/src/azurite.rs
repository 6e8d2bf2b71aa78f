//! Azurite, the official Azure Storage emulator, as the blob store behind the emulator's
//! BACKUP TO URL and RESTORE FROM URL: a launcher for tests and `serve`, and an account-key SAS
//! signer (Microsoft's Rust SDK signs only user-delegation SAS; see reference/blob.md §5).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's published development key (not a secret: it is in Microsoft's documentation).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service, stopped when dropped.
pub struct Azurite {
    child: Child,
    pub addr: SocketAddr,
    /// Where it keeps its data; None when it keeps it in memory.
    location: Option<PathBuf>,
}

/// Where `npm ci --prefix tools/azurite` puts Azurite's blob service, relative to a checkout.
pub const CHECKOUT_BINARY: &str = "tools/azurite/node_modules/.bin/azurite-blob";
/// The environment variable that names the Azurite blob executable to run.
pub const AZURITE_ENV: &str = "FERRY_AZURITE";

/// How long a persistent Azurite gets to save its metadata and exit after SIGTERM.
const GRACEFUL_STOP: Duration = Duration::from_secs(15);

impl Azurite {
    /// The Azurite blob service to run: `explicit` (`serve --azurite-bin`), else the path in
    /// `FERRY_AZURITE`, else [`CHECKOUT_BINARY`] under the current directory or one of its
    /// ancestors (where `npm ci --prefix tools/azurite` installs it in a checkout), else
    /// `azurite-blob` on PATH (`npm install -g azurite`). Found at
    /// run time, not fixed when the emulator is built, so an installed `ferry-emulator` finds
    /// the Azurite of the checkout it is run from.
    pub fn binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
        let named = explicit
            .map(|p| (p.to_owned(), "--azurite-bin"))
            .or_else(|| std::env::var_os(AZURITE_ENV).map(|p| (PathBuf::from(p), AZURITE_ENV)));
        if let Some((path, source)) = named {
            if path.is_file() {
                return Ok(path);
            }
            anyhow::bail!(
                "{source} names {}, which is not a file; point it at Azurite's `azurite-blob` \
                 executable (tools/azurite/node_modules/.bin/azurite-blob after `npm ci --prefix tools/azurite`)",
                path.display()
            );
        }
        let cwd = std::env::current_dir().map_err(|e| {
            anyhow::anyhow!("cannot read the current directory to look for Azurite: {e}")
        })?;
        if let Some(found) = cwd
            .ancestors()
            .map(|dir| dir.join(CHECKOUT_BINARY))
            .find(|candidate| candidate.is_file())
        {
            return Ok(found);
        }
        // Last, `npm install -g azurite`'s: outside a checkout (a plugin author's project)
        // that is how Azurite is usually installed.
        if let Some(found) = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("azurite-blob"))
                .find(|candidate| candidate.is_file())
        }) {
            return Ok(found);
        }
        anyhow::bail!(
            "Azurite is not installed: no {CHECKOUT_BINARY} in {} or any directory above it, no \
             `azurite-blob` on PATH, and {AZURITE_ENV} is not set. Run `npm ci --prefix \
             tools/azurite` in the ferry checkout (scripts/test does) or `npm install -g \
             azurite`, or set {AZURITE_ENV} (or pass --azurite-bin) to an `azurite-blob` executable",
            cwd.display()
        )
    }

    /// Starts Azurite on a free loopback port with in-memory storage, and waits until it listens.
    pub fn start() -> anyhow::Result<Azurite> {
        Self::start_on(0)
    }

    /// Starts Azurite on `port` (0: a free one) with in-memory storage, and waits until it
    /// listens.
    pub fn start_on(port: u16) -> anyhow::Result<Azurite> {
        Self::launch(&Self::binary(None)?, port, None)
    }

    /// Starts Azurite on `port` (0: a free one) keeping its blobs and their metadata in
    /// `location` (Azurite's documented `--location` workspace), so that an Azurite started
    /// again there finds them; waits until it listens.
    pub fn start_persistent(port: u16, location: &Path) -> anyhow::Result<Azurite> {
        Self::start_persistent_with(&Self::binary(None)?, port, location)
    }

    /// [`Azurite::start_persistent`] running the blob service at `bin`.
    pub fn start_persistent_with(
        bin: &Path,
        port: u16,
        location: &Path,
    ) -> anyhow::Result<Azurite> {
        std::fs::create_dir_all(location).map_err(|e| {
            anyhow::anyhow!(
                "cannot create Azurite's directory {}: {e}",
                location.display()
            )
        })?;
        Self::launch(bin, port, Some(location.to_owned()))
    }

    /// Starts Azurite; with port 0 on a free port, tried again on another one (up to three
    /// times) if something else took the port before Azurite listened on it: a free port is
    /// only free until another process binds it, and tests start many servers at once.
    fn launch(bin: &Path, port: u16, location: Option<PathBuf>) -> anyhow::Result<Azurite> {
        if port != 0 {
            // Checked first: Azurite would exit, and the wait would find whatever already
            // listens there (often an Azurite left over from an earlier run).
            TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
                anyhow::anyhow!(
                    "port {port} is not free for Azurite ({e}); stop what listens there (an \
                     earlier Azurite?) or pick another port"
                )
            })?;
            return Self::launch_on(bin, port, location);
        }
        let mut tries = 0;
        loop {
            let free = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            match Self::launch_on(bin, free, location.clone()) {
                Err(e) if tries < 2 && e.to_string().contains(LOST_PORT) => tries += 1,
                r => return r,
            }
        }
    }

    fn launch_on(bin: &Path, port: u16, location: Option<PathBuf>) -> anyhow::Result<Azurite> {
        // --skipApiVersionCheck: the Rust SDK sends a newer x-ms-version than Azurite 3.35
        // knows; --loose ignores headers it does not implement; no telemetry from a sandbox.
        // Storage is Azurite's own: `--location DIR` on disk, or `--inMemoryPersistence`.
        let storage: Vec<std::ffi::OsString> = match &location {
            Some(dir) => vec!["--location".into(), dir.into()],
            None => vec!["--inMemoryPersistence".into()],
        };
        let child = Command::new(bin)
            .args(storage)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
                "--silent",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", bin.display()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut azurite = Azurite {
            child,
            addr,
            location,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready when Azurite itself answers there: a connection alone could reach another
        // process that took the port first.
        while !answers_as_azurite(addr) {
            if let Some(status) = azurite.child.try_wait()? {
                anyhow::bail!("Azurite exited at start ({status}); {LOST_PORT} {port}");
            }
            if Instant::now() > deadline {
                anyhow::bail!("Azurite did not answer on {addr} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(azurite)
    }

    /// The account's blob endpoint, path-style.
    pub fn endpoint(&self) -> String {
        format!("http://{}/{ACCOUNT}", self.addr)
    }

    /// A container's URL.
    pub fn container_url(&self, container: &str) -> String {
        format!("{}/{container}", self.endpoint())
    }

    /// Creates a container with a short-lived account-key SAS.
    pub async fn create_container(&self, container: &str) -> anyhow::Result<()> {
        self.container_client(container)?.create(None).await?;
        Ok(())
    }

    /// Creates a container unless it exists already (a persistent Azurite started again).
    pub async fn ensure_container(&self, container: &str) -> anyhow::Result<()> {
        match self.container_client(container)?.create(None).await {
            Ok(_) => Ok(()),
            Err(e) if e.http_status() == Some(azure_core::http::StatusCode::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn container_client(
        &self,
        container: &str,
    ) -> anyhow::Result<azure_storage_blob::BlobContainerClient> {
        let sas = account_sas(ACCOUNT, ACCOUNT_KEY, "2099-01-01T00:00:00Z")?;
        let mut url = azure_core::http::Url::parse(&self.container_url(container))?;
        url.set_query(Some(&sas));
        Ok(azure_storage_blob::BlobContainerClient::new(
            url, None, None,
        )?)
    }

    /// Where it keeps its data, when on disk.
    pub fn location(&self) -> Option<&Path> {
        self.location.as_deref()
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        // Azurite writes blob metadata to disk every few seconds and when it closes on SIGINT
        // or SIGTERM; a persistent one is asked to close so nothing written last is lost.
        #[cfg(unix)]
        if self.location.is_some() && terminate(&self.child) {
            let deadline = Instant::now() + GRACEFUL_STOP;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            tracing::warn!("Azurite did not close within {GRACEFUL_STOP:?} of SIGTERM; killing it");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM; false when it could not be sent.
#[cfg(unix)]
fn terminate(child: &Child) -> bool {
    let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
}

/// A container-scoped service SAS signed with the account key (see `ferry_sas`).
pub fn container_sas(
    account: &str,
    key: &str,
    container: &str,
    permissions: &str,
    expiry: &str,
) -> anyhow::Result<String> {
    Ok(ferry_sas::container_sas(
        account,
        key,
        container,
        permissions,
        expiry,
    )?)
}

/// A container SAS for Azurite's well-known account, valid until 2099: for tests and demos.
pub fn devstore_container_sas(container: &str, permissions: &str) -> anyhow::Result<String> {
    container_sas(
        ACCOUNT,
        ACCOUNT_KEY,
        container,
        permissions,
        "2099-01-01T00:00:00Z",
    )
}

/// An account SAS with every blob permission, for test set-up (creating containers).
pub fn account_sas(account: &str, key: &str, expiry: &str) -> anyhow::Result<String> {
    Ok(ferry_sas::account_sas(account, key, "racwdl", expiry)?)
}

/// Said when Azurite could not keep the port it was started on.
const LOST_PORT: &str = "another process may hold port";

/// Whether the blob service at `addr` is Azurite: any request (this one unauthenticated) is
/// answered with its `Server: Azurite-Blob/…` header. A plain HTTP/1.1 exchange over std's
/// TCP keeps this probe free of an async runtime (`start` is called from sync and async code).
fn answers_as_azurite(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut tcp) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
    else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /{ACCOUNT}?restype=service&comp=properties HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    if tcp.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 1024];
    let mut got = 0;
    while got < head.len() {
        match tcp.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
        if head[..got].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&head[..got])
        .to_ascii_lowercase()
        .contains("\r\nserver: azurite-blob/")
}
