//! Builds the bundled plugins (and the test-fixture plugins) as wasm32-wasip2 components, so
//! the `ferry` binary carries its plugins inside it and needs no install step.
//!
//! The nested cargo uses its own target directory: sharing the outer one deadlocks on cargo's
//! build-directory lock. Fixture plugins are built here too so every test binary finds them
//! ready (built once per build, not once per test process); they are not embedded.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Bundled plugins: (name users write in `bundled = "…"`, cargo package).
const BUNDLED: &[(&str, &str)] = &[
    ("hello-steps", "hello-steps"),
    ("native-restore", "native-restore"),
    ("lrs", "lrs"),
    ("instance-objects", "instance-objects"),
    ("mi-link", "mi-link"),
    ("dms", "dms"),
    ("validate", "validate"),
    ("baseline", "baseline"),
    ("assess", "assess"),
];
/// Plugins only tests load, by path.
const FIXTURES: &[&str] = &["hostile", "sql-probe"];
const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    // Relative to the package (cargo resolves them against the checkout being built): cargo
    // keys a build script's last run by a hash that is the same for every checkout of this
    // workspace, so with a shared CARGO_TARGET_DIR absolute paths would be another
    // checkout's, and this one's plugin changes would not rebuild its plugins.
    for dir in [
        "plugins",
        "sdk",
        "wit",
        "tests/plugins",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed=../{dir}");
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let outer_target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let guest_target = outer_target.join("guests");
    ensure_wasm_target();

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--locked",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            "--target-dir",
        ])
        .arg(&guest_target);
    for (_, package) in BUNDLED {
        cmd.args(["-p", package]);
    }
    for package in FIXTURES {
        cmd.args(["-p", package]);
    }
    // The outer build's flags are for the host target; the guests must not inherit them.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the bundled plugins: {e}"));
    if !status.success() {
        panic!("building the bundled plugins for {TARGET} failed (see the cargo output above)");
    }

    let wasm_dir = guest_target.join(TARGET).join(PROFILE);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut code = String::from(
        "/// Plugins built into this binary: (name, component bytes).\npub static BUNDLED: &[(&str, &[u8])] = &[\n",
    );
    for (name, package) in BUNDLED {
        let file = wasm_file(&wasm_dir, package);
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    std::fs::write(out.join("bundled.rs"), code).unwrap();
    println!(
        "cargo:rustc-env=FERRY_FIXTURE_PLUGINS={}",
        wasm_dir.display()
    );
}

fn wasm_file(dir: &Path, package: &str) -> PathBuf {
    let file = dir.join(format!("{}.wasm", package.replace('-', "_")));
    if !file.is_file() {
        panic!("expected {} after building the plugins", file.display());
    }
    file
}

/// Installs the wasm32-wasip2 standard library through rustup if it is missing, so a fresh
/// machine needs no manual step.
fn ensure_wasm_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    if let Ok(out) = installed {
        if String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == TARGET)
        {
            return;
        }
        let added = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status();
        if matches!(added, Ok(s) if s.success()) {
            return;
        }
    }
    println!(
        "cargo:warning=could not confirm the {TARGET} target is installed; if the build fails, run `rustup target add {TARGET}`"
    );
}
