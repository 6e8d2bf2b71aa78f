//! The `ferry` command line.

/// `println!` that ignores a closed stdout (`ferry status | head` must not panic) and shows
/// any control character in what it prints as text ([`crate::escape::terminal_lines`]): a
/// name or message from outside cannot steer the terminal, whichever command prints it.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($t)*);
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            $crate::escape::terminal_lines(&text)
        );
    }};
}

/// `eprintln!` that ignores a closed stderr, with control characters shown as `outln!` does.
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($t)*);
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            $crate::escape::terminal_lines(&text)
        );
    }};
}

mod args;
mod commands;
mod common;
mod cutover;
mod plan;
mod plugin_docs;
mod plugin_new;
mod view;

use std::process::ExitCode;

use clap::Parser;

pub(crate) use args::{
    ApplyArgs, Command, CutoverArgs, Global, MigrationArgs, PlanArgs, PluginsCommand, StatusArgs,
};
pub use args::{Cli, Exit};

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
    let code = runtime.block_on(run(cli));
    ExitCode::from(code as u8)
}

/// Runs one subcommand.
async fn run(cli: Cli) -> Exit {
    let g = cli.global;
    match cli.command {
        Command::Plugins(PluginsCommand::List) => commands::plugins_list(&g).await,
        Command::Plugins(PluginsCommand::New(args)) => plugin_new::plugin_new(&g, &args),
        Command::Plugins(PluginsCommand::Docs(args)) => plugin_docs::plugin_docs(&g, &args),
        Command::Plugins(PluginsCommand::Describe { plugin }) => {
            commands::plugins_describe(&g, &plugin).await
        }
        Command::Check(args) => commands::check(&g, &args).await,
        Command::Apply(args) => commands::apply(&g, &args).await,
        Command::Plan(args) => plan::plan(&g, &args).await,
        Command::Cutover(args) => cutover::cutover(&g, &args),
        Command::Failback(args) => cutover::send(&g, &args, cutover::Signal::Failback),
        Command::Finish(args) => cutover::send(&g, &args, cutover::Signal::Finish),
        Command::Cancel(args) => cutover::send(&g, &args, cutover::Signal::Cancel),
        Command::Status(args) => commands::status(&g, &args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            // Into a buffer first: clap_complete panics on a failed write, and `ferry
            // completions bash | head` closes the pipe early.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "ferry", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &script);
            Exit::Ok
        }
    }
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
        // Colour codes only on a terminal: a log file or a CI pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
