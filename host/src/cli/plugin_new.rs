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
    let files = match args.lang {
        PluginLang::Rust => RUST,
        PluginLang::Python | PluginLang::Js => {
            return Err(invalid(format!(
                "`--lang {}` is not supported yet: only `--lang rust` has a template so far",
                args.lang.as_str()
            )));
        }
    };
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(invalid(format!(
            "{} already exists and is not empty; nothing was written (choose another --dir, or \
             remove it)",
            dir.display()
        )));
    }
    let sdk = match args.lang {
        PluginLang::Rust => Some(sdk_dir(args.sdk.as_deref()).map_err(invalid)?),
        _ => None,
    };
    let mut written = Vec::new();
    for (path, text) in files {
        let mut text = rename(text, name);
        if let (Some(sdk), "Cargo.toml") = (&sdk, *path) {
            let dependency = format!("ferry-sdk = {{ path = {} }}", toml_string(sdk));
            text = text.replace(EXAMPLE_SDK, &dependency);
        }
        let target = dir.join(path);
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
        std::fs::write(&target, text).map_err(io)?;
        written.push((*path).to_owned());
    }
    Ok((dir, written))
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
    outln!("  cargo test                                     # its FakeHost tests");
    outln!("  cargo build --release --target wasm32-wasip2   # the component");
    outln!("  ferry plugins describe target/wasm32-wasip2/release/{crate_name}.wasm");
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
        let cargo = RUST.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
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
        let file = |p: &str| RUST.iter().find(|(path, _)| *path == p).unwrap().1;
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
}
