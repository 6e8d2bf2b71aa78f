//! The `ferry` command line.

/// `println!` that ignores a closed stdout (`ferry status | head` must not panic).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

mod commands;
mod cutover;
mod plan;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0    success (for apply: every work item done)
  1    the run finished, but some work items failed or were skipped (see `ferry status`)
  2    invalid input: a config file, a plugin, or the command line (the message names the file and key)
  3    refused: the migration changed since its run started, or a plugin needs a newer ferry
  4    internal error: the journal or the state directory could not be used
  130  interrupted (Ctrl-C); run `ferry apply` again to resume";

/// ferry moves SQL Server databases to Azure SQL Managed Instance through sandboxed plugins.
///
/// A migration is two files: migration.toml (what to do: plugins, steps, databases, grants; no
/// secrets) and environment.toml (where: servers, storage, secret references). `ferry check`
/// validates them, `ferry plan` lists every change each step would make without making any,
/// `ferry apply` runs them (or a reviewed plan) with live progress and resumes after a crash,
/// `ferry cutover` tells a migration that keeps a target in sync to finish, and `ferry status`
/// shows where every database is. Each apply writes a report (Markdown, HTML, JSON).
#[derive(Parser, Debug)]
#[command(name = "ferry", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// Print machine-readable JSON instead of text (events as JSON lines for `apply`).
    #[arg(long, global = true)]
    json: bool,
    /// More detail: -v shows plugin debug lines and host notices, -vv host tracing.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Where compiled plugins are cached [default: $FERRY_CACHE_DIR, else ~/.cache/ferry].
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile plugins every time instead of using the cache.
    #[arg(long, global = true)]
    no_cache: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List or describe plugins (bundled ones, or a component file).
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Check a migration without running anything: files, plugins, grants, labels, secrets, configs.
    Check(MigrationArgs),
    /// Run a migration, or resume its unfinished run.
    ///
    /// Every step call is journaled in the state directory; if ferry is killed or interrupted,
    /// running `apply` again resumes: finished work items are skipped, and a call that was under
    /// way is made again (with its attempt number raised). A resume is refused if the migration's
    /// inputs changed, and the message says what changed.
    ///
    /// Give a plan (the .plan.json `ferry plan` wrote) instead of the migration to run exactly
    /// that plan: refused if anything changed since it was made, and any change it does not
    /// list fails its work item instead of running.
    Apply(ApplyArgs),
    /// Show the runs of a migration and where each work item is.
    Status(StatusArgs),
    /// Write a reviewable plan: every change each step would make, per database.
    ///
    /// Runs each step against the real servers, but only reads: every statement that would
    /// change something (and every storage write, delete or upload) is recorded instead of run,
    /// with secret values shown as ***. Writes the plan as JSON (for `ferry apply plan.json`)
    /// and as text beside it, and prints the text. `ferry apply plan.json` then runs exactly
    /// that plan: it refuses if the migration, environment or plugins changed since, and a
    /// change the plan does not list fails its work item instead of running. Exit code 1 if a
    /// database would stop (its reason is in the plan).
    Plan(PlanArgs),
    /// Cut over: tell a running migration's databases to finish (all, or those named).
    ///
    /// For methods that keep a target in sync until told (the `lrs` plugin in continuous
    /// mode), this is the go: the plugin takes the tail-log backup (or, with `tail_log =
    /// "none"`, uses yours), waits for it to be restored and completes the restore. The signal
    /// is kept in the journal, so a `ferry apply` started later still sees it. Stop the
    /// applications first. A step's `cutover_after` setting is the same go at a set time.
    Cutover(CutoverArgs),
}

#[derive(Subcommand, Debug)]
enum PluginsCommand {
    /// List the bundled plugins: name, version, WIT version, sha256 and what they need.
    List,
    /// Describe one plugin: a bundled name, or a path to a component (.wasm).
    Describe {
        /// Bundled plugin name or path to a .wasm component.
        plugin: String,
    },
}

#[derive(Args, Debug, Clone)]
struct MigrationArgs {
    /// The migration file.
    #[arg(value_name = "MIGRATION", default_value = "migration.toml")]
    migration: PathBuf,
    /// The environment file [default: environment.toml beside the migration].
    #[arg(short, long, value_name = "FILE")]
    environment: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct ApplyArgs {
    #[command(flatten)]
    files: MigrationArgs,
    /// Where the journal and scratch directories live [default: .ferry/<name> beside the migration].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Start a new run even though one exists (the old run stays in the journal).
    #[arg(long)]
    fresh: bool,
}

#[derive(Args, Debug, Clone)]
struct PlanArgs {
    #[command(flatten)]
    files: MigrationArgs,
    /// Where to write the plan [default: <migration>.plan.json beside the migration; the text
    /// form goes beside it as .txt].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct CutoverArgs {
    /// The migration file.
    #[arg(value_name = "MIGRATION", default_value = "migration.toml")]
    migration: PathBuf,
    /// Only these databases [default: every database of the run].
    #[arg(long = "database", value_name = "NAME")]
    database: Vec<String>,
    /// Where the journal lives [default: .ferry/<name> beside the migration].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct StatusArgs {
    /// The migration file.
    #[arg(value_name = "MIGRATION", default_value = "migration.toml")]
    migration: PathBuf,
    /// Where the journal lives [default: .ferry/<name> beside the migration].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// A run id [default: the latest run].
    #[arg(long)]
    run: Option<String>,
}

/// Exit codes, as documented in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    ItemsFailed = 1,
    InvalidInput = 2,
    Refused = 3,
    Internal = 4,
    Interrupted = 130,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Internal as u8);
        }
    };
    let code = runtime.block_on(commands::run(cli));
    ExitCode::from(code as u8)
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "ferry_host=info,warn",
        _ => "ferry_host=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
