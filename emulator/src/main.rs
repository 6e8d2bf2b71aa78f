//! `ferry-emulator serve`: a source SQL Server and a target Managed Instance on loopback.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use ferry_emulator::{Edition, Personality, Release, Server, ServerOptions, ServerTls, TlsMode};

/// A stand-in for SQL Server and Azure SQL Managed Instance that speaks real TDS on loopback,
/// for tests and for rehearsing a migration without Azure.
#[derive(Parser)]
#[command(name = "ferry-emulator", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a source SQL Server and a target Managed Instance and print how to connect.
    Serve(Serve),
}

#[derive(Clone, Copy, ValueEnum)]
enum Tls {
    /// TDS 7.4 TLS for the whole connection, wrapped in PRELOGIN (what MI requires).
    Required,
    /// TLS when the client asks; the login packet only when it does not.
    Optional,
    /// TDS 8.0: TLS before PRELOGIN only.
    Strict,
    /// No TLS (clients must not ask for it). For protocol tests only.
    Off,
}

#[derive(Parser)]
struct Serve {
    /// Address to bind (loopback by default; the emulator is not meant for a network).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// Port of the source SQL Server (0 picks a free port).
    #[arg(long, default_value_t = 14330)]
    source_port: u16,
    /// Port of the target Managed Instance (0 picks a free port).
    #[arg(long, default_value_t = 14331)]
    target_port: u16,
    /// SQL Server version of the source: 2016, 2017, 2019 or 2022.
    #[arg(long, default_value = "2019")]
    source_version: String,
    /// Edition of the source: enterprise, developer or standard.
    #[arg(long, default_value = "enterprise")]
    source_edition: String,
    /// Whether the source has Always On (HADR) enabled.
    #[arg(long)]
    hadr: bool,
    /// TLS mode of both servers.
    #[arg(long, value_enum, default_value = "required")]
    tls: Tls,
    /// The `sa` password of both servers, read from this environment variable.
    #[arg(long, default_value = "FERRY_EMULATOR_SA_PASSWORD", value_name = "VAR")]
    password_env: String,
    /// Where the databases' files live (one subdirectory per server).
    #[arg(long, default_value = "ferry-emulator-data")]
    data_dir: PathBuf,
    /// Where to write the CA certificate clients must trust.
    #[arg(long, default_value = "ferry-emulator-ca.pem")]
    ca_file: PathBuf,
}

fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(4);
        }
    };
    match cli.command {
        Command::Serve(s) => match rt.block_on(serve(s)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

async fn serve(s: Serve) -> anyhow::Result<()> {
    let release = Release::parse(&s.source_version)
        .ok_or_else(|| anyhow::anyhow!("--source-version must be 2016, 2017, 2019 or 2022"))?;
    let edition = Edition::parse(&s.source_edition).ok_or_else(|| {
        anyhow::anyhow!("--source-edition must be enterprise, developer or standard")
    })?;
    let password = std::env::var(&s.password_env).map_err(|_| {
        anyhow::anyhow!(
            "set {} to the sa password the emulator should accept (it is never printed)",
            s.password_env
        )
    })?;
    let tls = match s.tls {
        Tls::Required => TlsMode::Required,
        Tls::Optional => TlsMode::Optional,
        Tls::Strict => TlsMode::Strict,
        Tls::Off => TlsMode::Off,
    };
    let certs = Arc::new(ServerTls::generate(&[])?);
    std::fs::write(&s.ca_file, &certs.ca_pem)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", s.ca_file.display()))?;
    let logins = HashMap::from([("sa".to_owned(), password)]);
    let source = ServerOptions {
        personality: Personality::SqlServer {
            release,
            edition,
            hadr: s.hadr,
            name: "FERRY-SOURCE".into(),
        },
        tls,
        logins: logins.clone(),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: s.data_dir.join("source"),
    };
    let target = ServerOptions {
        personality: Personality::ManagedInstance {
            name: "ferry-target.emulated.database.windows.net".into(),
        },
        data_dir: s.data_dir.join("target"),
        ..source.clone()
    };
    let src = Server::start(
        SocketAddr::new(s.bind, s.source_port),
        source,
        certs.clone(),
    )
    .await?;
    let dst = Server::start(SocketAddr::new(s.bind, s.target_port), target, certs).await?;
    let ca = s.ca_file.display();
    println!(
        "ferry-emulator is serving (Ctrl-C stops it). The sa password is in ${}.",
        s.password_env
    );
    println!(
        "  source SQL Server {}: Server=tcp:localhost,{};User ID=sa;Encrypt=True;TrustServerCertificate=False  (trust {ca})",
        s.source_version,
        src.addr.port()
    );
    println!(
        "  target Managed Instance: Server=tcp:localhost,{};User ID=sa;Encrypt=True;TrustServerCertificate=False  (trust {ca})",
        dst.addr.port()
    );
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    Ok(())
}
