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
    /// SQL Server version of the source: 2008, 2008r2, 2012, 2014, 2016, 2017, 2019 or 2022
    /// (2012 is SP2, from before ProductMajorVersion existed); for the link also 2016-acp and
    /// 2017-acp (with the Azure Connect pack), 2022-cu13 and 2025.
    #[arg(long, default_value = "2019")]
    source_version: String,
    /// Edition of the source: enterprise, developer, standard or express.
    #[arg(long, default_value = "enterprise")]
    source_edition: String,
    /// Whether the source has Always On (HADR) enabled. Also runs the Managed Instance link:
    /// both servers on one emulated network (the source answers to FERRY-SOURCE, 127.0.0.1
    /// and localhost, the MI to its FQDN), the MI's link engine behind the ARM front end's
    /// link resources, and its control routes (/target/link/…, /source/workload).
    #[arg(long)]
    hadr: bool,
    /// TLS mode of both servers.
    #[arg(long, value_enum, default_value = "required")]
    tls: Tls,
    /// The `sa` password of both servers, read from this environment variable.
    #[arg(long, default_value = "FERRY_EMULATOR_SA_PASSWORD", value_name = "VAR")]
    password_env: String,
    /// Where the emulator keeps everything (one subdirectory per server, the ARM front end's
    /// state, Azurite's blobs). Serving again with the same directory comes back as it was:
    /// logins, credentials, databases, history, backups, restores and LRS jobs in flight.
    #[arg(long, default_value = "ferry-emulator-data")]
    data_dir: PathBuf,
    /// Port of the HTTP control API (faults, statements, clock, seeding; see control_http.rs).
    #[arg(long, default_value_t = 14339)]
    control_port: u16,
    /// Do not create the sample databases and logins on the source (they are created only
    /// when the data directory is new anyway).
    #[arg(long)]
    no_seed: bool,
    /// Also seed the source as a whole instance (ferry_emulator::seed: ~50 logins, roles,
    /// permissions, credentials, Agent jobs, Database Mail, linked servers, a trigger, an
    /// audit, a TDE-protected HRDb) and give the MI's Entra directory the names
    /// examples/full-instance/entra-map.toml maps them to. For `examples/full-instance`.
    #[arg(long)]
    instance_objects: bool,
    /// A file of T-SQL to run on the source when the data directory is new, after the sample
    /// databases: your own rehearsal data (a `ferry plugin new` project's tickets.sql). Repeat
    /// for more files; they run in order, each as one batch.
    #[arg(long, value_name = "FILE")]
    source_sql: Vec<PathBuf>,
    /// Also start Azurite (installed by `npm ci --prefix tools/azurite`) with a `backups`
    /// container, and print its URL and SAS tokens (Azurite's public development key).
    #[arg(long)]
    azurite: bool,
    /// The Azurite blob executable to run with --azurite (else $FERRY_AZURITE, else
    /// tools/azurite/node_modules/.bin/azurite-blob in the current directory or one above it, else
    /// `azurite-blob` on PATH).
    #[arg(long, value_name = "PATH")]
    azurite_bin: Option<PathBuf>,
    /// Azurite's blob port (10000 is Azurite's usual one; 0 picks a free port).
    #[arg(long, default_value_t = 10000)]
    azurite_port: u16,
    /// Port of the fault proxy in front of Azurite (with --azurite): point a blob label at it
    /// to meet 503 ServerBusy when the control API asks for it (0 picks a free port).
    #[arg(long, default_value_t = 14333)]
    blob_proxy_port: u16,
    /// Port of the Managed Instance's Azure Resource Manager front end (LRS and databases).
    #[arg(long, default_value_t = 14332)]
    arm_port: u16,
    /// Serve the ARM front end over HTTPS with the emulator's CA (--ca-file), as Azure's SDKs
    /// require before they send a bearer token.
    #[arg(long)]
    arm_tls: bool,
    /// A user principal name in the target MI's emulated Microsoft Entra directory (repeat
    /// for more); with --entra-group, replaces the default directory.
    #[arg(long = "entra-user", value_name = "UPN")]
    entra_users: Vec<String>,
    /// A group display name in the target MI's emulated Microsoft Entra directory (repeat).
    #[arg(long = "entra-group", value_name = "NAME")]
    entra_groups: Vec<String>,
    /// The bearer token the ARM front end accepts, read from this environment variable; the
    /// front end is not started when it is unset.
    #[arg(long, default_value = "FERRY_EMULATOR_ARM_TOKEN", value_name = "VAR")]
    arm_token_env: String,
    /// Also answer as Azure Database Migration Service (Microsoft.DataMigration) on the ARM
    /// front end, with an emulated self-hosted integration runtime driven through the control
    /// API's /dms/… routes (register, node offline/online, shares, storage accounts). With
    /// --azurite, Azurite's account is the storage account `devstoreaccount1` in westeurope.
    #[arg(long)]
    dms: bool,
    /// With --dms: a share the runtime's host sees, as `\\host\share=/local/dir` (repeat);
    /// the source may back up TO DISK into the folder.
    #[arg(long = "dms-share", value_name = "UNC=DIR")]
    dms_shares: Vec<String>,
    /// Where to write the CA certificate clients must trust.
    #[arg(long, default_value = "ferry-emulator-ca.pem")]
    ca_file: PathBuf,
}

/// The emulated network between the two servers and the MI's link engine (`--hadr`), its
/// links kept with the MI (`data_dir/target/links.json`) so they survive a restart.
fn hadr_links(
    src: &Arc<Server>,
    dst: &Arc<Server>,
    data_dir: &std::path::Path,
) -> (
    Arc<ferry_emulator::hadr::Network>,
    Arc<ferry_emulator::hadr::link::Links>,
) {
    let network = ferry_emulator::hadr::Network::new();
    let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    network.register(
        &names(&["FERRY-SOURCE", "127.0.0.1", "localhost"]),
        src.clone(),
    );
    network.register(&names(&[dst.personality().server_name()]), dst.clone());
    let links = ferry_emulator::hadr::link::Links::new(
        dst.clone(),
        network.clone(),
        Some(data_dir.join("target")),
    );
    (network, links)
}

/// The target's name in its ARM scope.
const ARM_INSTANCE: &str = "ferry-target";

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

/// Sample databases for rehearsals: three databases, a table of 20,000 rows in each, and two
/// SQL logins, three Agent jobs and an operator.
fn seed(src: &Server) -> Result<(), ferry_emulator::protocol::tokens::ServerMessage> {
    for (db, table) in [
        ("SalesDb", "Orders"),
        ("HRDb", "Employees"),
        ("InventoryDb", "Items"),
    ] {
        src.run_sql(&format!(
            "CREATE DATABASE [{db}]; CREATE TABLE [{db}].dbo.[{table}] (Id int NOT NULL PRIMARY KEY, Name nvarchar(100) NOT NULL, Amount decimal(12,2), Created datetime2); \
             CREATE TABLE [{db}].dbo.Notes (Id int PRIMARY KEY, Body nvarchar(max))"
        ))?;
        for chunk in (0..20_000).collect::<Vec<i32>>().chunks(1000) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| {
                    format!(
                        "({i}, N'{table} {i}', {}.{:02}, '2026-01-{:02} 08:00:00')",
                        i * 3 % 10_000,
                        i % 100,
                        i % 28 + 1
                    )
                })
                .collect();
            src.run_sql(&format!(
                "INSERT INTO [{db}].dbo.[{table}] VALUES {}",
                rows.join(", ")
            ))?;
        }
        src.run_sql(&format!(
            "INSERT INTO [{db}].dbo.Notes VALUES (1, N'sample database for ferry rehearsals')"
        ))?;
    }
    // A few SQL Server Agent jobs and an operator, created through msdb's procedures.
    src.run_sql(concat!(
        "EXEC msdb.dbo.sp_add_operator @name = N'DBA Team', @email_address = N'dba@contoso.example'; ",
        "EXEC msdb.dbo.sp_add_job @job_name = N'Nightly index maintenance', @description = N'Rebuilds fragmented indexes', @category_name = N'Database Maintenance', @notify_level_email = 2, @notify_email_operator_name = N'DBA Team'; ",
        "EXEC msdb.dbo.sp_add_jobstep @job_name = N'Nightly index maintenance', @step_name = N'Rebuild', @command = N'ALTER INDEX ALL ON dbo.Orders REBUILD', @database_name = N'SalesDb'; ",
        "EXEC msdb.dbo.sp_add_jobschedule @job_name = N'Nightly index maintenance', @name = N'Nightly 02:00', @freq_type = 4, @freq_interval = 1, @active_start_time = 20000; ",
        "EXEC msdb.dbo.sp_add_jobserver @job_name = N'Nightly index maintenance'; ",
        "EXEC msdb.dbo.sp_add_job @job_name = N'SalesDb log backup', @description = N'Every 15 minutes', @category_name = N'Database Maintenance'; ",
        "EXEC msdb.dbo.sp_add_jobstep @job_name = N'SalesDb log backup', @step_name = N'Backup log', @command = N'BACKUP LOG SalesDb TO DISK = ''/backups/SalesDb.trn''', @database_name = N'master'; ",
        "EXEC msdb.dbo.sp_add_jobschedule @job_name = N'SalesDb log backup', @name = N'Every 15 minutes', @freq_type = 4, @freq_interval = 1, @freq_subday_type = 4, @freq_subday_interval = 15; ",
        "EXEC msdb.dbo.sp_add_jobserver @job_name = N'SalesDb log backup'; ",
        "EXEC msdb.dbo.sp_add_job @job_name = N'Purge HR audit', @enabled = 0, @description = N'Disabled'; ",
        "EXEC msdb.dbo.sp_add_jobstep @job_name = N'Purge HR audit', @step_name = N'Purge', @subsystem = N'CmdExec', @command = N'purge-audit.exe --older-than 90'; ",
        "EXEC msdb.dbo.sp_add_jobserver @job_name = N'Purge HR audit'",
    ))?;
    src.run_sql("CREATE LOGIN [app_reader] WITH PASSWORD = N'Reader#2026', CHECK_POLICY = OFF; CREATE LOGIN [etl_writer] WITH PASSWORD = N'Writer#2026', CHECK_POLICY = OFF")?;
    Ok(())
}

/// The whole-instance seed on the source and the matching Entra names on the MI.
fn seed_instance(src: &Server, dst: &Server) -> anyhow::Result<()> {
    use ferry_emulator::seed;
    let fail = |e: ferry_emulator::protocol::tokens::ServerMessage| {
        anyhow::anyhow!(
            "seeding the instance objects failed: {} ({})",
            e.text,
            e.number
        )
    };
    src.set_windows_groups(&seed::windows_groups())
        .map_err(fail)?;
    for batch in seed::instance_objects(&["SalesDb", "HRDb", "InventoryDb"]) {
        src.run_sql(&batch).map_err(fail)?;
    }
    let (users, groups) = seed::entra_directory();
    dst.set_entra_directory(&users, &groups).map_err(fail)?;
    Ok(())
}

async fn start_azurite(
    bin: Option<&std::path::Path>,
    port: u16,
    location: &std::path::Path,
) -> anyhow::Result<ferry_emulator::azurite::Azurite> {
    use ferry_emulator::azurite;
    let bin = azurite::Azurite::binary(bin)?;
    let az = azurite::Azurite::start_persistent_with(&bin, port, location)?;
    az.ensure_container("backups").await?;
    let rw = azurite::devstore_container_sas("backups", "racwl")?;
    let rl = azurite::devstore_container_sas("backups", "rl")?;
    // LRS reserves `backup` and `backups` in the container name: its rehearsals use another.
    az.ensure_container("migration").await?;
    // Where examples/full-instance sends the MI's server audits (TO URL).
    az.ensure_container("audits").await?;
    println!("  Azurite blob container: {}", az.container_url("backups"));
    println!("    SAS for BACKUP (read/add/create/write/list): {rw}");
    println!("    SAS for RESTORE (read/list):                 {rl}");
    println!(
        "  Azurite blob container for LRS: {}",
        az.container_url("migration")
    );
    println!("    (Azurite's development account key is public; these are not secrets)");
    Ok(az)
}

/// What `--dms` tells the emulated DMS: Azurite's account, the source server, and the shares
/// (which the source may back up into).
fn dms_setup(
    front: &ferry_emulator::arm::ArmServer,
    src: &Arc<Server>,
    azurite: Option<&ferry_emulator::azurite::Azurite>,
    shares: &[String],
) -> anyhow::Result<()> {
    // The names a `sourceSqlConnection.dataSource` may give the source by; the runtime reads
    // backup headers through it.
    let port = src.addr.port();
    for name in ["localhost", "127.0.0.1", "FERRY-SOURCE"] {
        front.dms_source(name, src.clone());
        front.dms_source(&format!("{name},{port}"), src.clone());
    }
    if let Some(az) = azurite {
        front.dms_storage_account(
            ferry_emulator::azurite::ACCOUNT,
            &az.endpoint(),
            "westeurope",
            "StorageV2",
            "Standard",
        );
    }
    for share in shares {
        let Some((prefix, dir)) = share.split_once('=') else {
            anyhow::bail!("--dms-share {share}: write it as \\\\host\\share=/local/dir");
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir)?;
        src.allow_backup_directory(&dir)?;
        front.dms_share(prefix, dir);
    }
    Ok(())
}

async fn serve(s: Serve) -> anyhow::Result<()> {
    let release = Release::parse(&s.source_version).ok_or_else(|| {
        anyhow::anyhow!(
            "--source-version must be 2008, 2008r2, 2012, 2014, 2016, 2016-acp, 2017, 2017-acp, 2019, 2022, 2022-cu13 or 2025"
        )
    })?;
    let edition = Edition::parse(&s.source_edition).ok_or_else(|| {
        anyhow::anyhow!("--source-edition must be enterprise, developer, standard or express")
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
    let arm_tls = s.arm_tls.then(|| ferry_emulator::arm::https_config(&certs));
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
    let fresh = !s.data_dir.join("source").join("catalog.sqlite").exists();
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
    if !s.entra_users.is_empty() || !s.entra_groups.is_empty() {
        dst.set_entra_directory(&s.entra_users, &s.entra_groups)
            .map_err(|e| anyhow::anyhow!("cannot set the Entra directory: {}", e.text))?;
    }
    if fresh && !s.no_seed {
        seed(&src).map_err(|e| {
            anyhow::anyhow!(
                "seeding the sample databases failed: {} ({})",
                e.text,
                e.number
            )
        })?;
        if s.instance_objects {
            seed_instance(&src, &dst)?;
        }
    }
    if fresh {
        for file in &s.source_sql {
            let sql = std::fs::read_to_string(file).map_err(|e| {
                anyhow::anyhow!("--source-sql {}: cannot read it: {e}", file.display())
            })?;
            src.run_sql(&sql).map_err(|e| {
                anyhow::anyhow!(
                    "--source-sql {}: the source refused it: error {}: {} (what came before the failing statement ran; \
                     fix the file and serve again with a new --data-dir)",
                    file.display(),
                    e.number,
                    e.text
                )
            })?;
        }
    }
    let _azurite = if s.azurite {
        Some(
            start_azurite(
                s.azurite_bin.as_deref(),
                s.azurite_port,
                &s.data_dir.join("azurite"),
            )
            .await?,
        )
    } else {
        None
    };
    let blob_proxy = match &_azurite {
        Some(az) => {
            let proxy = ferry_emulator::blob_proxy::BlobFaultProxy::start(
                SocketAddr::new(s.bind, s.blob_proxy_port),
                az.addr,
            )
            .await?;
            println!(
                "  the same containers through the fault proxy: {} (faults: POST /blob/faults)",
                proxy.endpoint()
            );
            Some(Arc::new(proxy))
        }
        None => None,
    };
    let (src, dst) = (Arc::new(src), Arc::new(dst));
    let hadr = s.hadr.then(|| hadr_links(&src, &dst, &s.data_dir));
    let links = hadr.as_ref().map(|(_, l)| l.clone());
    let arm = match std::env::var(&s.arm_token_env) {
        Ok(token) => {
            let options = ferry_emulator::arm::ArmOptions {
                data_dir: Some(s.data_dir.join("arm")),
                tls: arm_tls,
                links: links.clone(),
                ..ferry_emulator::arm::ArmOptions::local(ARM_INSTANCE, &token)
            };
            let front = ferry_emulator::arm::ArmServer::start(
                SocketAddr::new(s.bind, s.arm_port),
                dst.clone(),
                options,
            )
            .await?;
            if let Some(az) = &_azurite {
                // The target's managed identity may read both containers, as after a
                // "Storage Blob Data Reader" role assignment.
                for container in ["backups", "migration"] {
                    front.grant_managed_identity(
                        &az.container_url(container),
                        ferry_emulator::azurite::ACCOUNT,
                        ferry_emulator::azurite::ACCOUNT_KEY,
                    );
                }
            }
            if s.dms {
                dms_setup(&front, &src, _azurite.as_ref(), &s.dms_shares)?;
            }
            Some(Arc::new(front))
        }
        Err(_) => None,
    };
    let (mut source_api, mut target_api) = (
        ferry_emulator::control_http::router(src.clone()),
        ferry_emulator::control_http::router(dst.clone()),
    );
    let mut app = axum::Router::new();
    if let Some((network, l)) = &hadr {
        use ferry_emulator::control_http::{link_router, network_router, workload_router};
        source_api = source_api.nest("/workload", workload_router(src.clone()));
        target_api = target_api.nest("/link", link_router(l.clone()));
        app = app.nest("/network", network_router(network.clone()));
    }
    app = app.nest("/source", source_api).nest("/target", target_api);
    if let Some(front) = &arm {
        app = app.nest(
            "/arm",
            ferry_emulator::control_http::arm_router(front.clone()),
        );
    }
    if let (Some(front), true) = (&arm, s.dms) {
        app = app.nest(
            "/dms",
            ferry_emulator::control_http::dms_router(front.clone()),
        );
    }
    if let Some(proxy) = &blob_proxy {
        app = app.nest(
            "/blob",
            ferry_emulator::control_http::blob_router(proxy.clone()),
        );
    }
    let control = tokio::net::TcpListener::bind(SocketAddr::new(s.bind, s.control_port)).await?;
    let control_addr = control.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(control, app).await;
    });
    // Ctrl-C or SIGTERM (what `kill` and service managers send) stops the servers and, by
    // dropping it, the Azurite child, which would otherwise outlive the emulator. Listened for
    // before the lines below say it is serving: a signal sent as soon as a script reads them
    // must find the handler in place, not kill the process with the default action.
    #[cfg(unix)]
    let (mut interrupt, mut term) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    let ca = s.ca_file.display();
    println!(
        "ferry-emulator is serving (Ctrl-C stops it). The sa password is in ${}.",
        s.password_env
    );
    println!(
        "  data: {} ({})",
        s.data_dir.display(),
        if fresh {
            "new"
        } else {
            "as it was left; serve with another --data-dir for a fresh start"
        }
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
    match &arm {
        Some(front) => println!(
            "  target's ARM front end: {} (subscription s1, resource group rg, managed instance {ARM_INSTANCE}; bearer token in ${}{})",
            front.endpoint(),
            s.arm_token_env,
            if s.arm_tls {
                format!("; trust {ca}")
            } else {
                String::new()
            }
        ),
        None => println!(
            "  (no ARM front end: set {} to the bearer token it should accept, for LRS)",
            s.arm_token_env
        ),
    }
    println!(
        "  control API: http://{control_addr}/source/… and /target/… (statements, sql, faults, clock, restore-time, entra-directory, stop, restart), /arm/… (throttle, fail, garble, stop, restart), /blob/… (faults); with --dms /dms/… (ir/register, ir/nodes/{{node}}/offline|online, shares, storage-accounts); with --hadr /target/link/… (faults, lag, seeding-rate), /source/workload and /network/… (block, break-dns, heal, probe)"
    );
    #[cfg(unix)]
    {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    println!("stopping");
    Ok(())
}
