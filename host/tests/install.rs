//! Getting ferry as the README says: `cargo install --locked --path host` and `--path
//! emulator`, into a temporary root. The installed `ferry` names its WIT, carries the bundled
//! plugins and writes a plugin project against the SDK of the checkout it was built from.
//!
//! The README's commands build in release; this test adds `--debug` and the test run's own
//! target directory, so the install reuses what the tests built (a release build of wasmtime
//! alone takes over 20 minutes here) and checks the same packages, lockfile and build script.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Finish, text};

fn install(package: &str, root: &Path) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`, wherever CARGO_TARGET_DIR put it.
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_owned();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["install", "--locked", "--debug", "--path"])
        .arg(workspace.join(package))
        .arg("--root")
        .arg(root)
        .env("CARGO_TARGET_DIR", target)
        .finish();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "cargo install {package}:\n{stdout}\n{stderr}"
    );
}

#[test]
fn cargo_install_gives_a_ferry_and_an_emulator_that_work() {
    let root = tempfile::tempdir().unwrap();
    install("host", root.path());
    install("emulator", root.path());
    let bin = root.path().join("bin");

    let out = Command::new(bin.join("ferry")).arg("--version").finish();
    assert!(text(&out).0.contains("ferry:plugin@0.1.0"), "{out:?}");
    let out = Command::new(bin.join("ferry"))
        .args(["plugins", "list"])
        .finish();
    let (listed, _) = text(&out);
    for plugin in [
        "native-restore",
        "lrs",
        "mi-link",
        "dms",
        "assess",
        "validate",
    ] {
        assert!(listed.contains(plugin), "{plugin} bundled:\n{listed}");
    }
    let out = Command::new(bin.join("ferry-emulator"))
        .args(["serve", "--help"])
        .finish();
    assert!(text(&out).0.contains("--source-sql"), "{out:?}");

    // `plugin new` finds the SDK of the checkout the install was built from.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(bin.join("ferry"))
        .current_dir(home.path())
        .args(["plugin", "new", "gate"])
        .finish();
    assert!(out.status.success(), "{out:?}");
    let manifest = std::fs::read_to_string(home.path().join("gate/Cargo.toml")).unwrap();
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("sdk")
        .canonicalize()
        .unwrap();
    assert!(
        manifest.contains(&format!("ferry-sdk = {{ path = \"{}\" }}", sdk.display())),
        "{manifest}"
    );
}
