//! Bad input gets one clear message naming the file, the key and the fix — never a panic.

mod common;

use common::*;

const HELLO_ENV: &str = "[secrets]\ndemo-token = \"file:token.txt\"\n";

fn hello(extra_step: &str, plugin: &str) -> String {
    format!(
        r#"databases = ["Sales"]

[migration]
name = "bad input"

[plugins.hello]
{plugin}

[[steps]]
name = "greet"
plugin = "hello"
config = {{ greeting = "hi" }}
{extra_step}
[steps.grants]
secrets = ["demo-token"]
scratch = true
"#
    )
}

fn site(migration: &str, env: &str) -> Site {
    let s = Site::new(migration, env);
    write_secret(&s.path("token.txt"), "tok-value\n");
    s
}

fn check(site: &Site) -> std::process::Output {
    site.run(&["check", "migration.toml"], &[])
}

#[test]
fn the_good_case_passes() {
    let s = site(&hello("", "bundled = \"hello-steps\""), HELLO_ENV);
    let out = check(&s);
    assert!(out.status.success(), "{}", text(&out).1);
}

#[test]
fn malformed_toml_names_file_and_line() {
    let s = site("[migration]\nname = \"x\"\n[[steps]\n", HELLO_ENV);
    assert_clean_error(&check(&s), 2, &["migration.toml:3"]);
}

#[test]
fn unknown_key_names_the_key_and_line() {
    let m = hello("", "bundled = \"hello-steps\"")
        .replace("name = \"greet\"", "name = \"greet\"\ncolour = \"blue\"");
    let s = site(&m, HELLO_ENV);
    assert_clean_error(
        &check(&s),
        2,
        &["migration.toml:11", "unknown field `colour`"],
    );
    let s = site(
        &hello("", "bundled = \"hello-steps\""),
        "[secrets]\ndemo-token = \"file:token.txt\"\n[sql.src]\nserver = \"x\"\npasword = \"env:X\"\n",
    );
    assert_clean_error(
        &check(&s),
        2,
        &["environment.toml:5", "unknown field `pasword`"],
    );
}

#[test]
fn unknown_plugin_lists_the_bundled_ones() {
    let s = site(&hello("", "bundled = \"nope\""), HELLO_ENV);
    assert_clean_error(
        &check(&s),
        2,
        &[
            "migration.toml:6",
            "no bundled plugin is called `nope`",
            "hello-steps",
        ],
    );
    let m =
        hello("", "bundled = \"hello-steps\"").replace("plugin = \"hello\"", "plugin = \"hullo\"");
    let s = site(&m, HELLO_ENV);
    assert_clean_error(
        &check(&s),
        2,
        &["step `greet` uses plugin `hullo`", "defined: hello"],
    );
}

#[test]
fn a_file_that_is_not_a_component_is_named() {
    let s = site(&hello("", ""), HELLO_ENV);
    std::fs::write(s.path("text.wasm"), "just text").unwrap();
    std::fs::write(s.path("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    for (file, phrase) in [
        ("text.wasm", "not a WebAssembly file"),
        ("core.wasm", "core WebAssembly module, not a component"),
    ] {
        let sha = sha256_file(&s.path(file));
        let m = hello("", &format!("path = \"{file}\"\nsha256 = \"{sha}\""));
        std::fs::write(s.migration(), m).unwrap();
        assert_clean_error(&check(&s), 2, &[file, phrase]);
    }
}

#[test]
fn a_wrong_sha256_shows_both_hashes() {
    let wasm = fixture("hostile");
    let actual = sha256_file(&wasm);
    let pinned = "0".repeat(64);
    let s = site(
        &hello(
            "",
            &format!("path = \"{}\"\nsha256 = \"{pinned}\"", wasm.display()),
        ),
        HELLO_ENV,
    );
    assert_clean_error(&check(&s), 2, &[&actual, &pinned, "update `sha256`"]);
    let s = site(
        &hello("", &format!("path = \"{}\"", wasm.display())),
        HELLO_ENV,
    );
    assert_clean_error(&check(&s), 2, &["needs `sha256"]);
}

#[test]
fn a_label_missing_from_the_environment_is_named() {
    let m = hello("", "bundled = \"hello-steps\"")
        .replace("scratch = true", "scratch = true\nsql = [\"src:read\"]");
    let s = site(&m, HELLO_ENV);
    assert_clean_error(
        &check(&s),
        2,
        &[
            "migration.toml:17",
            "grants sql label `src`",
            "has no [sql.src]",
        ],
    );
}

#[test]
fn an_ungranted_need_says_what_to_grant() {
    let m = hello("", "bundled = \"hello-steps\"").replace("secrets = [\"demo-token\"]\n", "");
    let s = site(&m, HELLO_ENV);
    assert_clean_error(
        &check(&s),
        2,
        &[
            "needs secrets `demo-token`",
            "add \"demo-token\" to `secrets = [...]`",
        ],
    );
}

#[test]
fn a_config_that_fails_the_schema_names_the_key() {
    let m = hello("", "bundled = \"hello-steps\"")
        .replace("greeting = \"hi\"", "greeting = \"hi\", wait_ms = \"soon\"");
    let s = site(&m, HELLO_ENV);
    assert_clean_error(
        &check(&s),
        2,
        &["step `greet`", "`config.wait_ms`", "\"soon\""],
    );
    let m = hello("", "bundled = \"hello-steps\"").replace("greeting = \"hi\"", "greting = \"hi\"");
    let s = site(&m, HELLO_ENV);
    assert_clean_error(&check(&s), 2, &["greeting", "required"]);
}

#[test]
fn secrets_in_config_files_are_refused_without_echoing_them() {
    let env = "[secrets]\ndemo-token = \"hunter2-literal\"\n";
    let s = site(&hello("", "bundled = \"hello-steps\""), env);
    let out = check(&s);
    assert_clean_error(&out, 2, &["environment.toml:2", "must be references"]);
    assert!(!text(&out).1.contains("hunter2"));
    let env = "[sql.src]\nconnection_string = \"Server=x;User ID=sa;Password=hunter2-literal\"\n";
    let s = site(&hello("", "bundled = \"hello-steps\""), env);
    let out = check(&s);
    assert_clean_error(&out, 2, &["holds a password"]);
    assert!(!text(&out).1.contains("hunter2"));
}

#[test]
fn a_plugin_built_for_a_newer_wit_is_refused_with_a_sentence() {
    let bytes = std::fs::read(fixture("hostile")).unwrap();
    let section = b"ferry:wit-version0.1.0";
    let at = bytes
        .windows(section.len())
        .position(|w| w == section)
        .expect("the SDK wrote its WIT version");
    let mut newer = bytes.clone();
    newer[at + section.len() - 5..at + section.len()].copy_from_slice(b"0.2.0");
    let s = site(&hello("", ""), HELLO_ENV);
    std::fs::write(s.path("newer.wasm"), &newer).unwrap();
    let sha = sha256_file(&s.path("newer.wasm"));
    std::fs::write(
        s.migration(),
        hello("", &format!("path = \"newer.wasm\"\nsha256 = \"{sha}\"")),
    )
    .unwrap();
    assert_clean_error(
        &check(&s),
        3,
        &[
            "built for ferry WIT 0.2.0, newer than the 0.1.0 this ferry speaks",
            "upgrade ferry",
        ],
    );
    let out = s.run(&["plugins", "describe", "newer.wasm"], &[]);
    assert_clean_error(&out, 3, &["newer than the 0.1.0"]);
}

#[test]
fn a_world_readable_secret_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let s = site(&hello("", "bundled = \"hello-steps\""), HELLO_ENV);
    std::fs::set_permissions(s.path("token.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = check(&s);
    assert_clean_error(
        &out,
        2,
        &["token.txt is readable by every user", "chmod 600"],
    );
    assert!(!text(&out).1.contains("tok-value"));
}

#[test]
fn status_without_a_journal_says_what_to_do() {
    let s = site(&hello("", "bundled = \"hello-steps\""), HELLO_ENV);
    assert_clean_error(
        &s.run(&["status", "migration.toml"], &[]),
        2,
        &["no journal", "has not run here yet"],
    );
}

#[test]
fn a_closed_stdout_does_not_panic() {
    use std::io::{BufRead, BufReader};
    let s = site(&hello("", "bundled = \"hello-steps\""), HELLO_ENV);
    let mut child = s
        .ferry(&["apply", "--json", "migration.toml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("run-started"));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The run itself went on and finished.
    assert_eq!(s.status()["run"]["status"], "finished");
}

#[test]
fn entra_sign_in_is_checked_before_anything_runs() {
    let env = |extra: &str| format!("{HELLO_ENV}[sql.src]\nserver = \"x\"\n{extra}");
    let case = |extra: &str, expect: &[&str]| {
        let s = site(&hello("", "bundled = \"hello-steps\""), &env(extra));
        assert_clean_error(&check(&s), 2, expect);
    };
    case(
        "entra = \"azure-cli\"\nuser = \"sa\"\npassword = \"env:X\"\n",
        &["environment.toml:3", "choose one way to sign in"],
    );
    case(
        "entra = \"azure-cli\"\nentra_client_id = \"1234\"\n",
        &["entra_client_id", "managed-identity"],
    );
    case(
        "entra = \"az-cli\"\n",
        &["unknown variant `az-cli`", "azure-cli", "managed-identity"],
    );
    let s = site(
        &hello("", "bundled = \"hello-steps\""),
        &format!(
            "{HELLO_ENV}[storage.backups]\nkind = \"blob\"\nurl = \"http://127.0.0.1:10000/devstoreaccount1/backups\"\nentra = \"managed-identity\"\n"
        ),
    );
    assert_clean_error(
        &check(&s),
        2,
        &["storage label `backups`", "needs an https `url`"],
    );
}
