//! The command line as clap reads it, and the exit codes `--help` documents.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0    success (for apply: every work item done)
  1    the run finished, but some work items failed, were skipped, or were deferred after transient
       failures (see `ferry status`; `ferry apply` again retries deferred ones, --retry-failed failed ones)
  2    invalid input: a config file, a plugin, or the command line (the message names the file and key)
  3    refused: the migration changed since its run started, a plugin needs a newer ferry, or another
       `ferry apply` is running on the same state directory
  4    internal error: the journal or the state directory could not be used
  130  interrupted (Ctrl-C); run `ferry apply` again to resume";

/// `ferry --version`: the build, and the WIT package plugins are built against (a plugin made
/// for a newer one is refused). Kept equal to `HOST_WIT_VERSION` by a unit test.
pub(crate) const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nhosts plugins built for WIT ferry:plugin@0.1.0 (any 0.1.z)"
);

/// ferry moves SQL Server databases to Azure SQL Managed Instance through sandboxed plugins.
///
/// A migration is two files: migration.toml (what to do: plugins, steps, databases, grants; no
/// secrets) and environment.toml (where: servers, storage, secret references). `ferry check`
/// validates them, `ferry plan` lists every change each step would make without making any,
/// `ferry apply` runs them (or a reviewed plan) with live progress and resumes after a crash,
/// `ferry cutover` tells a migration that keeps a target in sync to finish, and `ferry status`
/// shows where every database is. Each apply writes a report (Markdown, HTML, JSON).
#[derive(Parser, Debug)]
#[command(
    name = "ferry",
    version,
    long_version = LONG_VERSION,
    after_long_help = EXIT_CODES,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct Global {
    /// Print machine-readable JSON instead of text (events as JSON lines for `apply`).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More detail: -v shows plugin debug lines and host notices, -vv host tracing.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Where compiled plugins are cached [default: $FERRY_CACHE_DIR, else ~/.cache/ferry].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Compile plugins every time instead of using the cache.
    #[arg(long, global = true)]
    pub(crate) no_cache: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// List or describe plugins (bundled ones, or a component file), or start a new one.
    #[command(subcommand, visible_alias = "plugin")]
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
    /// Print a shell completion script: `ferry completions bash > ~/.local/share/bash-completion/completions/ferry`
    /// (zsh: into a directory on $fpath as `_ferry`; fish: ~/.config/fish/completions/ferry.fish).
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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
    ///
    /// For the `mi-link` plugin it is the planned failover: both sides switched to synchronous
    /// commit, the last hardened LSNs compared until equal and stable, then the failover (or,
    /// for SQL Server 2016–2019, breaking the link). With --allow-data-loss it is a forced
    /// failover, for when the source is lost: committed transactions the MI had not hardened
    /// are lost, and the source must be repaired before it can be a secondary again.
    Cutover(CutoverArgs),
    /// Fail back: make SQL Server the primary again after a cutover (the `mi-link` plugin, with
    /// a two-way link the step keeps after its cutover: SQL Server 2022/2025 and an MI whose
    /// update policy matches).
    ///
    /// A planned failover the other way: the MI switched to synchronous commit, its last
    /// hardened LSN compared with SQL Server's until equal and stable, then the failover. The
    /// database's work item then ends (failed back); a new run moves it again.
    Failback(CutoverArgs),
    /// Finish: tell databases that wait after their cutover (a link kept for failback) that
    /// they are done; the step then ends as its settings say (for `mi-link`: once the MI has
    /// taken its first full backup, the link is removed and the source's availability groups
    /// dropped if `drop_source_ag` is set).
    Finish(CutoverArgs),
    /// Cancel: stop the Azure DMS migrations (the `dms` plugin) of the databases named (or all)
    /// that this run started; DMS leaves the target database as its cancel does. A migration
    /// this run did not start is never cancelled. With the step's `delete_on_cancel` the
    /// migration's record is deleted too.
    Cancel(CutoverArgs),
}

#[derive(Subcommand, Debug)]
pub(crate) enum PluginsCommand {
    /// List the bundled plugins: name, version, WIT version, sha256 and what they need.
    List,
    /// Describe one plugin: a bundled name, or a path to a component (.wasm).
    Describe {
        /// Bundled plugin name or path to a .wasm component.
        plugin: String,
    },
    /// Start a plugin of your own: a project that builds, passes its tests and runs in a
    /// migration against `ferry-emulator serve` as generated.
    ///
    /// The project is a copy of the change-ticket gate from the plugin author's guide
    /// (docs/plugins.md): a typed config and state, a parameterised query on a read-only SQL
    /// label, report rows, a wait and its re-check, plan mode, its own tests (FakeHost in Rust,
    /// the host's imports faked in JavaScript and Python), and a migration.toml +
    /// environment.toml that gate a native restore on the emulator, with the
    /// plugin loaded as a development build (`dev = true`, `ferry apply --dev`). Nothing is
    /// written if the directory exists and is not empty.
    New(PluginNewArgs),
    /// Build the SDK's API documentation (`cargo doc` of ferry-sdk) and print where it is.
    ///
    /// Every public item of ferry-sdk is documented; this builds those pages from the SDK a
    /// new plugin depends on (the checkout this ferry was built from, or --sdk) into the
    /// compile cache directory, without touching the checkout. The guide, docs/plugins.md,
    /// has a recipe for each `Context` method. Needs cargo (rustup).
    Docs(PluginDocsArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct PluginDocsArgs {
    /// The ferry checkout's sdk/ directory [default: the checkout this ferry was built from].
    #[arg(long, value_name = "DIR")]
    pub(crate) sdk: Option<PathBuf>,
    /// Where cargo builds them [default: sdk-docs in ferry's cache directory].
    #[arg(long, value_name = "DIR")]
    pub(crate) target_dir: Option<PathBuf>,
    /// Open them in a browser when built (cargo doc --open).
    #[arg(long)]
    pub(crate) open: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct PluginNewArgs {
    /// The plugin's name: lowercase words joined by hyphens (`change-gate`); the crate, the
    /// type and the component file are named after it.
    pub(crate) name: String,
    /// The language of the project.
    #[arg(long, value_enum, default_value = "rust")]
    pub(crate) lang: PluginLang,
    /// Where to write it [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Rust: the ferry checkout's sdk/ directory the project depends on (ferry-sdk is not on
    /// crates.io yet) [default: the checkout this ferry was built from].
    #[arg(long, value_name = "DIR")]
    pub(crate) sdk: Option<PathBuf>,
}

/// The languages `ferry plugin new` writes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PluginLang {
    /// A Rust crate on ferry-sdk.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with jco (componentize-js).
    Js,
}

impl PluginLang {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PluginLang::Rust => "rust",
            PluginLang::Python => "python",
            PluginLang::Js => "js",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub(crate) struct MigrationArgs {
    /// The migration file.
    #[arg(value_name = "MIGRATION", default_value = "migration.toml")]
    pub(crate) migration: PathBuf,
    /// The environment file [default: environment.toml beside the migration].
    #[arg(short, long, value_name = "FILE")]
    pub(crate) environment: Option<PathBuf>,
    /// Development mode: load plugins marked `dev = true` (by path, without a sha256 pin). A
    /// plugin rebuilt since the last `apply --dev` has its unfinished work items started again
    /// from the beginning of their step; finished ones stay finished. Without --dev such a
    /// plugin is refused, so a migration run for real only runs pinned builds.
    #[arg(long)]
    pub(crate) dev: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) files: MigrationArgs,
    /// Where the journal and scratch directories live [default: .ferry/<name> beside the migration].
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// Start a new run even though one exists (the old run stays in the journal).
    #[arg(long, conflicts_with = "retry_failed")]
    pub(crate) fresh: bool,
    /// Call the last run's failed work items again (and the steps skipped behind them), from
    /// the start of their step; done items stay done. Without it, a failed item stays failed;
    /// items deferred after transient failures are always retried by the next apply.
    #[arg(long)]
    pub(crate) retry_failed: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) files: MigrationArgs,
    /// Where to write the plan [default: <migration>.plan.json beside the migration; the text
    /// form goes beside it as .txt].
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// The state directory `apply` will use: the plan's reviewable script files go in its
    /// scripts/plan/ [default: .ferry/<name> beside the migration]. Planning never writes the
    /// journal there (it keeps a throwaway one), so a plan cannot look like a run.
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct CutoverArgs {
    /// The migration file.
    #[arg(value_name = "MIGRATION", default_value = "migration.toml")]
    pub(crate) migration: PathBuf,
    /// Cutover only: force the failover even though the MI may not have every committed
    /// transaction (the `mi-link` plugin's forced failover). Only when the source is lost.
    #[arg(long)]
    pub(crate) allow_data_loss: bool,
    /// Only these databases [default: every database of the run].
    #[arg(long = "database", value_name = "NAME")]
    pub(crate) database: Vec<String>,
    /// Where the journal lives [default: .ferry/<name> beside the migration].
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct StatusArgs {
    /// The migration file.
    #[arg(value_name = "MIGRATION", default_value = "migration.toml")]
    pub(crate) migration: PathBuf,
    /// Where the journal lives [default: .ferry/<name> beside the migration].
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// A run id [default: the latest run].
    #[arg(long)]
    pub(crate) run: Option<String>,
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

#[cfg(test)]
mod tests {
    #[test]
    fn ferry_version_names_the_wit_version_this_host_speaks() {
        let (major, minor, patch) = crate::runtime::plugin::HOST_WIT_VERSION;
        let expected = format!("ferry:plugin@{major}.{minor}.{patch} (any {major}.{minor}.z)");
        assert!(
            super::LONG_VERSION.contains(&expected),
            "{}",
            super::LONG_VERSION
        );
    }
}
