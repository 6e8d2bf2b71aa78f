//! `ferry-emulator serve --azurite` finds Azurite at run time: from the checkout it is run in
//! (or under), from `--azurite-bin`, or from `FERRY_AZURITE`; run anywhere else without
//! either, it says where it looked and what to do.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ferry_emulator::azurite::CHECKOUT_BINARY;

/// The checkout's Azurite (installed by `npm ci --prefix tools/azurite`).
fn checkout_azurite() -> PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(CHECKOUT_BINARY);
    assert!(
        bin.is_file(),
        "{} is missing: run `npm ci --prefix tools/azurite` (scripts/test does)",
        bin.display()
    );
    bin
}

/// `serve --azurite` with every port picked for it, run in `cwd`.
fn serve_in(cwd: &std::path::Path, extra: &[&str], azurite_env: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry-emulator"));
    cmd.current_dir(cwd)
        .args(["serve", "--azurite", "--no-seed", "--tls", "optional"])
        .args([
            "--source-port",
            "0",
            "--target-port",
            "0",
            "--control-port",
            "0",
        ])
        .args([
            "--arm-port",
            "0",
            "--azurite-port",
            "0",
            "--blob-proxy-port",
            "0",
        ])
        .args(["--data-dir", "data", "--ca-file", "ca.pem"])
        .args(extra)
        .env("FERRY_EMULATOR_SA_PASSWORD", "Serve#Test1")
        .env_remove("FERRY_EMULATOR_ARM_TOKEN")
        .env_remove("FERRY_AZURITE");
    if let Some(path) = azurite_env {
        cmd.env("FERRY_AZURITE", path);
    }
    cmd
}

#[test]
fn outside_a_checkout_without_a_flag_it_names_both_ways_to_find_azurite() {
    let dir = tempfile::tempdir().unwrap();
    let out = serve_in(dir.path(), &[], None).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(CHECKOUT_BINARY)
            && err.contains("FERRY_AZURITE")
            && err.contains("--azurite-bin"),
        "{err}"
    );

    let out = serve_in(dir.path(), &[], Some("/nonexistent/azurite-blob"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FERRY_AZURITE names /nonexistent/azurite-blob"),
        "{err}"
    );
}

#[test]
fn the_flag_finds_azurite_from_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let bin = checkout_azurite();
    let mut child = serve_in(dir.path(), &["--azurite-bin", bin.to_str().unwrap()], None)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut container = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("Azurite blob container:") {
            container = Some(line.clone());
        }
        if line.contains("control API:") {
            break;
        }
    }
    // Read on, so that what it prints when it stops finds the pipe open.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).count());
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    rest.join().unwrap();
    assert!(
        container.is_some(),
        "Azurite was started from --azurite-bin"
    );
}
