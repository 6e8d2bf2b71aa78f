//! `ferry plugin new`: a plugin project written from the examples in `examples/plugins/`, which
//! the test suite builds, tests and runs through ferry as they are generated, so a new project
//! starts from one that works.

use std::path::{Path, PathBuf};

use super::args::{Exit, Global, PluginLang, PluginNewArgs};
use super::common::error;

/// A template: (path in the project, contents). `ticket-gate`, `ticket_gate` and `TicketGate`
/// are replaced by the new plugin's name in each of its spellings.
type Files = &'static [(&'static str, &'static str)];

macro_rules! example {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../../../examples/plugins/", $dir, "/", $file)))),+]
    };
}

const RUST: Files = example!("ticket-gate-rust":
    "Cargo.toml", "Cargo.lock", ".gitignore", "README.md", "src/lib.rs", "tests/gate.rs",
    "migration.toml", "environment.toml", "tickets.sql", "approve.json",
);

const JS: Files = example!("ticket-gate-js":
    "gate.js", "package.json", "package-lock.json", "tsconfig.json", "build.sh", ".gitignore",
    "README.md", "test/gate.test.js", "test/loader.mjs", "test/fake-host.js",
    "test/fakes/tsql.js", "test/fakes/report.js", "test/fakes/progress.js",
    "test/fakes/planning.js", "test/fakes/log.js",
);

const PYTHON: Files = example!("ticket-gate-python":
    "app.py", "test_app.py", "requirements.txt", "build.sh", ".gitignore", "README.md",
);

/// What a project in any language runs against the emulator with, from the Rust example.
const EMULATOR: Files = example!("ticket-gate-rust":
    "environment.toml", "tickets.sql", "approve.json",
);

/// The WIT package, the contract a plugin in another language is built against: written into
/// its project, so the project builds without a ferry checkout.
const WIT: Files = &[
    ("wit/azure.wit", include_str!("../../../wit/azure.wit")),
    ("wit/log.wit", include_str!("../../../wit/log.wit")),
    (
        "wit/operations.wit",
        include_str!("../../../wit/operations.wit"),
    ),
    (
        "wit/planning.wit",
        include_str!("../../../wit/planning.wit"),
    ),
    ("wit/plugin.wit", include_str!("../../../wit/plugin.wit")),
    (
        "wit/progress.wit",
        include_str!("../../../wit/progress.wit"),
    ),
    ("wit/report.wit", include_str!("../../../wit/report.wit")),
    ("wit/scripts.wit", include_str!("../../../wit/scripts.wit")),
    ("wit/secrets.wit", include_str!("../../../wit/secrets.wit")),
    ("wit/signals.wit", include_str!("../../../wit/signals.wit")),
    ("wit/storage.wit", include_str!("../../../wit/storage.wit")),
    ("wit/tsql.wit", include_str!("../../../wit/tsql.wit")),
    ("wit/types.wit", include_str!("../../../wit/types.wit")),
];

/// Where an example finds the WIT package, relative to it; in a project it is `wit`.
const EXAMPLE_WIT: &str = "../../../wit";

/// The Rust example's component, as its migration.toml loads it.
const RUST_WASM: &str = "target/wasm32-wasip2/release/ticket_gate.wasm";

/// Where the Rust template's `ferry-sdk` dependency points in the example, relative to it.
const EXAMPLE_SDK: &str = r#"ferry-sdk = { path = "../../../sdk" }"#;

/// The SDK of the checkout this `ferry` was built from (`cargo install --path host` keeps it).
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk");

/// Names that would not build as a crate, or would shadow one the plugin needs.
const RESERVED: &[&str] = &[
    "core",
    "std",
    "alloc",
    "test",
    "proc-macro",
    "ferry",
    "ferry-sdk",
    "ferry-tsql",
    "serde",
    "schemars",
];

pub(super) fn plugin_new(g: &Global, args: &PluginNewArgs) -> Exit {
    match write_project(args) {
        Ok((dir, files)) => {
            if g.json {
                outln!(
                    "{}",
                    serde_json::json!({ "directory": dir, "files": files, "lang": args.lang.as_str() })
                );
            } else {
                print_next_steps(&dir, args);
            }
            Exit::Ok
        }
        Err((exit, message)) => error(g, exit, &message),
    }
}

fn write_project(args: &PluginNewArgs) -> Result<(PathBuf, Vec<String>), (Exit, String)> {
    let invalid = |m: String| (Exit::InvalidInput, m);
    let name = args.name.as_str();
    if let Some(problem) = name_problem(name) {
        return Err(invalid(format!("plugin name `{name}` {problem}")));
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(invalid(format!(
            "{} already exists and is not empty; nothing was written (choose another --dir, or \
             remove it)",
            dir.display()
        )));
    }
    let files = project_files(args)?;
    let mut written = Vec::new();
    for (path, text) in files {
        let target = dir.join(&path);
        let io = |e: std::io::Error| {
            (
                Exit::Internal,
                format!(
                    "cannot write {}: {e} (files written so far stay in {})",
                    target.display(),
                    dir.display()
                ),
            )
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&target, rename(&text, name)).map_err(io)?;
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                .map_err(io)?;
        }
        written.push(path);
    }
    Ok((dir, written))
}

/// The project's files for its language, before the name is put in: the example's own, with
/// what points into the ferry checkout pointed at the SDK (Rust) or at the project's copy of
/// the WIT package (other languages).
fn project_files(args: &PluginNewArgs) -> Result<Vec<(String, String)>, (Exit, String)> {
    let invalid = |m: String| (Exit::InvalidInput, m);
    let owned = |files: Files| {
        files
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect::<Vec<_>>()
    };
    let (mut files, wasm, build) = match args.lang {
        PluginLang::Rust => {
            let sdk = sdk_dir(args.sdk.as_deref()).map_err(invalid)?;
            let dependency = format!("ferry-sdk = {{ path = {} }}", toml_string(&sdk));
            let mut files = owned(RUST);
            for (path, text) in &mut files {
                if path == "Cargo.toml" {
                    *text = text.replace(EXAMPLE_SDK, &dependency);
                }
            }
            return Ok(files);
        }
        PluginLang::Js => (owned(JS), "ticket_gate.wasm", "./build.sh"),
        PluginLang::Python => (owned(PYTHON), "ticket_gate.wasm", "./build.sh"),
    };
    for (path, text) in &mut files {
        *text = text.replace(EXAMPLE_WIT, "wit");
        if path == "README.md" {
            // An example's README that does not already say how to run it on the emulator
            // gets the Rust project's instructions.
            let runs_on_emulator = text.contains("--source-sql");
            *text = checkout_links(text);
            if !runs_on_emulator {
                text.push_str(&run_section(wasm, build));
            }
        }
    }
    files.extend(owned(WIT));
    files.extend(owned(EMULATOR));
    let migration = template_file(RUST, "migration.toml");
    files.push(("migration.toml".into(), migration.replace(RUST_WASM, wasm)));
    Ok(files)
}

/// Markdown links into the ferry checkout (`[guide](../../../docs/plugins.md#x)`), which do not
/// resolve in a project elsewhere, as text that names the file in the checkout.
fn checkout_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("](../../../") {
        let Some(open) = rest[..at].rfind('[') else {
            break;
        };
        let Some(close) = rest[at..].find(')') else {
            break;
        };
        let target = &rest[at + "](../../../".len()..at + close];
        let file = target.split('#').next().unwrap_or(target);
        out.push_str(&rest[..open]);
        out.push_str(&format!(
            "{} (`{file}` in the ferry checkout)",
            &rest[open + 1..at]
        ));
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A template's file by its path ("" for one it does not have; the tables are constants and
/// the unit tests read every file this module asks for).
fn template_file(files: Files, path: &str) -> &'static str {
    files.iter().find(|(p, _)| *p == path).map_or("", |f| f.1)
}

/// The Rust project's "run it against the emulator" and "development loop" sections, for a
/// project that builds with `build` into `wasm`.
fn run_section(wasm: &str, build: &str) -> String {
    let readme = template_file(RUST, "README.md");
    let from = readme
        .find("## Run it against the emulator")
        .unwrap_or(readme.len());
    let section = readme[from..]
        .replace("cargo build --release --target wasm32-wasip2", build)
        .replace(RUST_WASM, wasm);
    format!("\n# In this project\n\n{section}")
}

/// Why `name` cannot name a plugin, or None. Plugins, crates and TOML keys all take it, so it
/// is the strictest of them: lowercase ASCII words joined by single hyphens.
fn name_problem(name: &str) -> Option<&'static str> {
    let words_ok = name.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if name.is_empty() || name.len() > 64 {
        Some("must be 1 to 64 characters")
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) || !words_ok {
        Some(
            "must be lowercase letters and digits in words joined by single hyphens, starting \
             with a letter (e.g. `change-gate`)",
        )
    } else if RESERVED.contains(&name) {
        Some("is the name of a crate the plugin builds with; choose another")
    } else {
        None
    }
}

/// The template's name replaced by `name` in the spellings it appears in.
fn rename(text: &str, name: &str) -> String {
    let camel: String = name
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    text.replace("TicketGate", &camel)
        .replace("ticket-gate", name)
        .replace("ticket_gate", &name.replace('-', "_"))
}

/// The SDK directory the project depends on: `--sdk`, else the checkout ferry was built from.
pub(super) fn sdk_dir(given: Option<&Path>) -> Result<PathBuf, String> {
    let (dir, from) = match given {
        Some(d) => (d.to_owned(), "--sdk"),
        None => (
            PathBuf::from(BUILT_FROM_SDK),
            "the checkout this ferry was built from",
        ),
    };
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    if !manifest.contains("name = \"ferry-sdk\"") {
        return Err(format!(
            "no ferry-sdk crate at {} ({from}); pass --sdk with the sdk/ directory of a ferry \
             checkout (ferry-sdk is not on crates.io yet)",
            dir.display()
        ));
    }
    dir.canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
}

/// A TOML basic string (a Windows path's backslashes escaped).
fn toml_string(path: &Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}

fn print_next_steps(dir: &Path, args: &PluginNewArgs) {
    let crate_name = args.name.replace('-', "_");
    outln!(
        "created {} ({}), a copy of the change-ticket gate to start from:",
        dir.display(),
        args.lang.as_str()
    );
    outln!("  cd {}", dir.display());
    match args.lang {
        PluginLang::Rust => {
            outln!("  cargo test                                     # its FakeHost tests");
            outln!("  cargo build --release --target wasm32-wasip2   # the component");
            outln!("  ferry plugins describe target/wasm32-wasip2/release/{crate_name}.wasm");
        }
        PluginLang::Python => {
            outln!("  ./build.sh                                     # the component");
            outln!("  .venv/bin/python -m unittest                   # its tests");
            outln!("  ferry plugins describe {crate_name}.wasm");
        }
        PluginLang::Js => {
            outln!(
                "  ./build.sh                                     # type-checked, the component"
            );
            outln!("  ferry plugins describe {crate_name}.wasm");
        }
    }
    outln!("then run it against `ferry-emulator serve`: see README.md there.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_anything_is_written() {
        for good in ["gate", "change-gate", "gate2", "a-b-c"] {
            assert_eq!(name_problem(good), None, "{good}");
        }
        for bad in [
            "", "Gate", "2gate", "-gate", "gate-", "ch--gate", "gate_x", "gäte", "std",
        ] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn every_spelling_of_the_template_name_is_replaced() {
        let text = "name = \"ticket-gate\"\nuse ticket_gate::TicketGate;\nticket_gate.wasm";
        assert_eq!(
            rename(text, "change-window"),
            "name = \"change-window\"\nuse change_window::ChangeWindow;\nchange_window.wasm"
        );
    }

    #[test]
    fn the_rust_template_points_its_sdk_dependency_where_it_is_replaced() {
        let cargo = template_file(RUST, "Cargo.toml");
        assert!(cargo.contains(EXAMPLE_SDK), "{cargo}");
    }

    /// The guide's worked example is the Rust template, so what it shows is what is tested.
    #[test]
    fn the_guide_shows_the_rust_template_as_it_is() {
        let guide = include_str!("../../../docs/plugins.md");
        let section = &guide[guide.find("### 5.1 The plugin").unwrap()..];
        let blocks: Vec<&str> = section
            .split("```rust\n")
            .skip(1)
            .map(|b| &b[..b.find("```").unwrap()])
            .collect();
        let file = |p: &str| template_file(RUST, p);
        assert_eq!(
            blocks[0],
            file("src/lib.rs"),
            "docs/plugins.md 5.1 vs src/lib.rs"
        );
        assert_eq!(
            blocks[1],
            file("tests/gate.rs"),
            "docs/plugins.md 5.3 vs tests/gate.rs"
        );
    }

    #[test]
    fn every_generated_readme_says_how_to_run_on_the_emulator_once() {
        for lang in [PluginLang::Rust, PluginLang::Js, PluginLang::Python] {
            let args = PluginNewArgs {
                name: "gate".into(),
                lang,
                dir: None,
                sdk: None,
            };
            let files = project_files(&args).unwrap();
            let readme = &files.iter().find(|(p, _)| p == "README.md").unwrap().1;
            assert_eq!(
                readme.matches("--source-sql tickets.sql").count(),
                1,
                "{}: {readme}",
                lang.as_str()
            );
            assert!(
                !readme.contains("](../../../"),
                "{}: a link into the checkout",
                lang.as_str()
            );
            let migration = &files.iter().find(|(p, _)| p == "migration.toml").unwrap().1;
            assert!(migration.contains("dev = true"), "{}", lang.as_str());
        }
    }
}
