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
    // A PATH without `azurite-blob`, whatever this machine has installed globally.
    let out = serve_in(dir.path(), &[], None)
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(CHECKOUT_BINARY)
            && err.contains("FERRY_AZURITE")
            && err.contains("--azurite-bin")
            && err.contains("npm install -g azurite"),
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
    let serve = serve_in(dir.path(), &["--azurite-bin", bin.to_str().unwrap()], None);
    assert!(
        starts_azurite(serve),
        "Azurite was started from --azurite-bin"
    );
}

#[test]
fn outside_a_checkout_an_azurite_on_path_is_found() {
    // As `npm install -g azurite` leaves it: `azurite-blob` in a directory on PATH.
    let dir = tempfile::tempdir().unwrap();
    let global = dir.path().join("bin");
    std::fs::create_dir(&global).unwrap();
    std::os::unix::fs::symlink(checkout_azurite(), global.join("azurite-blob")).unwrap();
    let path = std::env::join_paths(
        std::iter::once(global).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut serve = serve_in(dir.path(), &[], None);
    serve.env("PATH", path);
    assert!(starts_azurite(serve), "Azurite was started from PATH");
}

#[test]
fn source_sql_runs_on_a_new_data_directory_and_a_refused_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tickets.sql"),
        "CREATE DATABASE Tickets; CREATE TABLE Tickets.dbo.t (id int)",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.sql"), "SELECT * FROM dbo.nowhere").unwrap();
    let bin = checkout_azurite();
    let mut serve = serve_in(dir.path(), &["--azurite-bin", bin.to_str().unwrap()], None);
    serve.args(["--source-sql", "tickets.sql"]);
    assert!(starts_azurite(serve), "served with tickets.sql run");
    // Serving the same data directory again keeps it as it was: the file does not run twice
    // (it would fail: the database exists).
    let mut serve = serve_in(dir.path(), &["--azurite-bin", bin.to_str().unwrap()], None);
    serve.args(["--source-sql", "tickets.sql"]);
    assert!(starts_azurite(serve), "served again without running it");

    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let mut serve = serve_in(&other, &[], None);
    serve.args(["--source-sql", "../bad.sql"]);
    let out = serve.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--source-sql ../bad.sql: the source refused it: error 208"),
        "{err}"
    );
}

/// Runs `serve` until it says it is serving, stops it with Ctrl-C, and says whether it
/// started Azurite.
fn starts_azurite(mut serve: Command) -> bool {
    let mut child = serve
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
    container.is_some()
}
