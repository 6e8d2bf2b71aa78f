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
    assert_clean_error(&check(&s), 2, &[&actual, &pinned, "update that `sha256`"]);
    // The file that holds the wrong pin is named, whatever it is called.
    std::fs::rename(s.migration(), s.path("prod.toml")).unwrap();
    let out = s.run(&["check", "prod.toml"], &[]);
    assert_clean_error(&out, 2, &["prod.toml:", &pinned]);
    assert!(!text(&out).1.contains("migration.toml"), "{}", text(&out).1);
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
    let out = check(&s);
    assert_clean_error(&out, 2, &["step `greet`", "`config.wait_ms`", "\"soon\""]);
    // Once: the schema's refusal, not the plugin's serde saying it again.
    let stderr = text(&out).1;
    let errors = stderr.lines().filter(|l| l.starts_with("error:")).count();
    assert_eq!(errors, 1, "{stderr}");
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
    // What counts is the version in the names of the ferry interfaces it imports and exports
    // (`ferry:plugin/tsql@0.1.0`), which every language's toolchain writes.
    let names = replace_all(&mut newer, b"@0.1.0", b"@0.2.0");
    assert!(names > 0, "the component names ferry:plugin interfaces");
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

/// `bytes` with every `from` replaced by `to` (same length); how many there were.
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len(), "a patch keeps every offset");
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn a_component_without_the_rust_sdks_section_loads_by_its_interface_names() {
    // Python (componentize-py) and JavaScript (jco) components carry no `ferry:wit-version`
    // section; the version in their import names is enough.
    let mut bytes = std::fs::read(fixture("hostile")).unwrap();
    assert_eq!(
        replace_all(&mut bytes, b"ferry:wit-version", b"other:wit-version"),
        1
    );
    let s = site(&hello("", ""), HELLO_ENV);
    std::fs::write(s.path("plain.wasm"), &bytes).unwrap();
    let out = s.run(&["plugins", "describe", "plain.wasm"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("hostile"), "{stdout}");
    // And one naming no ferry interface at all is not a ferry plugin, said so.
    assert!(replace_all(&mut bytes, b"ferry:plugin/", b"other:plugin/") > 0);
    std::fs::write(s.path("plain.wasm"), &bytes).unwrap();
    let out = s.run(&["plugins", "describe", "plain.wasm"], &[]);
    assert_clean_error(&out, 2, &["names no `ferry:plugin` interface"]);
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

/// A migration of `databases` (TOML strings, escapes allowed) through the hello step.
fn with_databases(list: &str) -> String {
    hello("", "bundled = \"hello-steps\"")
        .replace("databases = [\"Sales\"]", &format!("databases = [{list}]"))
}

/// No byte that would steer a terminal: ESC, CSI (U+009B), BEL, CR, NUL.
fn assert_no_raw_controls(what: &str, s: &str) {
    let bad: Vec<char> = s
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        .collect();
    assert!(
        bad.is_empty(),
        "{what} holds raw control characters {bad:?}:\n{s}"
    );
}

#[test]
fn database_names_sql_server_would_refuse_or_merge_fail_check() {
    let cases = [
        (
            "\"Sales\",\n\"Sales\\u001b]0;owned\\u0007\"",
            vec![
                "migration.toml:2",
                "`Sales\\u001b]0;owned\\u0007`",
                "control character U+001B",
            ],
        ),
        ("\"Sa\\u0000les\"", vec!["migration.toml:1", "U+0000"]),
        (
            &format!("\"{}\"", "d".repeat(129)),
            vec!["has 129 characters", "at most 128"],
        ),
        (
            "\"Sales\",\n\"HR\",\n\"SALES\"",
            vec![
                "migration.toml:3",
                "`SALES` and `Sales` (line 1) are one database",
            ],
        ),
    ];
    for (list, phrases) in cases {
        let s = site(&with_databases(list), HELLO_ENV);
        let out = check(&s);
        assert_clean_error(&out, 2, &phrases);
        assert_no_raw_controls("stderr", &text(&out).1);
    }
}

#[test]
fn a_migration_past_the_limits_is_refused_with_the_limit() {
    let list: Vec<String> = (0..=50_000).map(|i| format!("\"db{i}\"")).collect();
    let s = site(&with_databases(&list.join(",\n")), HELLO_ENV);
    assert_clean_error(
        &check(&s),
        2,
        &[
            "migration.toml:50001",
            "more than 50000 databases",
            "Limits",
        ],
    );
    let padded = format!(
        "{}{}",
        hello("", "bundled = \"hello-steps\""),
        "#".repeat(8 << 20)
    );
    std::fs::write(s.migration(), padded).unwrap();
    assert_clean_error(
        &check(&s),
        2,
        &["migration.toml", "larger than 8388608 bytes"],
    );
}

/// Strings from a plugin (a log line, a failure reason) reach plain output and the report as
/// text: escape sequences shown, never sent; a Markdown row stays one row; no colour codes
/// in a pipe or a file, even with debug logging.
#[test]
fn plugin_strings_are_shown_escaped_in_plain_output_and_the_report() {
    let hostile = fixture("hostile");
    let attack = "\\u001b]0;owned\\u0007\\u009b2J|cell\\nFAKE done\\r";
    // The good migration, greeting in red, then a step whose plugin fails naming `attack`.
    let migration = format!(
        "{}\n[plugins.hostile]\npath = \"{}\"\nsha256 = \"{}\"\n\n[[steps]]\nname = \"attack\"\n\
         plugin = \"hostile\"\nconfig = {{ attack = \"{attack}\" }}\n[steps.grants]\n\
         secrets = [\"leaky:reveal\"]\n",
        hello("", "bundled = \"hello-steps\"").replace(
            "greeting = \"hi\"",
            "greeting = \"\\u001b[31mred\\u001b[0m\", wait_ms = 0"
        ),
        hostile.display(),
        sha256_file(&hostile)
    );
    let s = site(
        &migration,
        &format!("{HELLO_ENV}leaky = \"file:token.txt\"\n"),
    );
    // Debug logging too: its lines must carry no colour codes into the pipe.
    let out = s.run(
        &["apply", "-v", "migration.toml"],
        &[("FERRY_LOG", "debug")],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_no_raw_controls("stdout", &stdout);
    assert_no_raw_controls("stderr", &stderr);
    assert!(
        stderr.contains("\\u001b[31mred\\u001b[0m, Sales"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown attack `\\u001b]0;owned\\u0007\\u009b2J|cell\\nFAKE done\\r`"),
        "{stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("FAKE")),
        "a reason cannot forge a line: {stderr}"
    );

    let md = std::fs::read_to_string(s.path(".ferry/migration/report.md")).unwrap();
    assert_no_raw_controls("report.md", &md);
    let row = md
        .lines()
        .find(|l| l.starts_with("| Sales |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        row.contains("\\\\u001b\\]0;owned\\\\u0007\\\\u009b2J\\|cell\\\\nFAKE"),
        "{row}"
    );
    assert_eq!(
        row.matches(" | ").count(),
        7,
        "eight cells, one line: {row}"
    );
    let html = std::fs::read_to_string(s.path(".ferry/migration/report.html")).unwrap();
    assert_no_raw_controls("report.html", &html);

    let out = s.run(&["apply", "--json", "--fresh", "migration.toml"], &[]);
    let (stdout, _) = text(&out);
    assert_no_raw_controls("--json", &stdout);
    let failed = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("each line is JSON"))
        .find(|e| e["event"] == "item-failed")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        failed
            .to_string()
            .contains("\\u001b]0;owned\\u0007\u{9b}2J|cell\\nFAKE done\\r"),
        "--json keeps the value exactly: {failed}"
    );
}

/// The good migration with `labels` added to its environment, from line 4 on.
fn with_labels(labels: &str) -> Site {
    site(
        &hello("", "bundled = \"hello-steps\""),
        &format!("{HELLO_ENV}\n{labels}"),
    )
}

#[test]
fn a_trust_ca_file_that_is_not_a_certificate_fails_check() {
    let s = with_labels(
        "[sql.src]\nserver = \"x\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:X\"\n",
    );
    std::fs::write(
        s.path("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = check(&s);
    assert_clean_error(
        &out,
        2,
        &[
            "environment.toml:4",
            "sql label `src`",
            "ca.pem",
            "not a valid X.509 certificate",
        ],
    );
    assert!(!text(&out).1.contains("transient"), "{}", text(&out).1);
}

#[test]
fn a_blob_url_that_is_not_https_fails_check_saying_what_is_accepted() {
    for url in ["file:///var/backups", "http://backup-host.corp/acct/c"] {
        let s = with_labels(&format!(
            "[storage.backups]\nkind = \"blob\"\nurl = \"{url}\"\naccount_key = \"env:K\"\n"
        ));
        let expect = ["environment.toml:4", "storage label `backups`", "https"];
        assert_clean_error(&check(&s), 2, &expect);
    }
}

#[test]
fn a_plugin_path_says_where_it_resolved_and_may_not_leave_the_directory() {
    let hostile = fixture("hostile");
    let sha = sha256_file(&hostile);
    let plugin = |path: &str| {
        format!(
            "databases = [\"none\"]\n[migration]\nname = \"p\"\n[plugins.h]\npath = \"{path}\"\nsha256 = \"{sha}\"\n\
             [[steps]]\nname = \"s\"\nplugin = \"h\"\nconfig = {{ attack = \"none\" }}\n[steps.grants]\nsecrets = [\"leaky:reveal\"]\n"
        )
    };
    let s = site(
        &plugin("plugins/h.wasm"),
        "[secrets]\nleaky = \"file:token.txt\"\n",
    );
    std::fs::create_dir(s.path("plugins")).unwrap();
    std::fs::copy(&hostile, s.path("plugins/h.wasm")).unwrap();
    let out = check(&s);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let resolved = std::path::absolute(s.path("plugins/h.wasm")).unwrap();
    assert!(
        stdout.contains(&format!("plugin `h`: {}", resolved.display())),
        "{stdout}"
    );

    std::fs::write(s.migration(), plugin("../h.wasm")).unwrap();
    assert_clean_error(
        &check(&s),
        2,
        &[
            "migration.toml:4",
            "leaves the migration's directory",
            "absolute path",
        ],
    );
}

#[test]
fn version_and_completions_come_from_the_binary() {
    let out = std::process::Command::new(FERRY)
        .arg("--version")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(env!("CARGO_PKG_VERSION")) && stdout.contains("ferry:plugin@0.1.0"),
        "--version names the build and the WIT it hosts: {stdout}"
    );
    for (shell, marker) in [
        ("bash", "_ferry()"),
        ("zsh", "#compdef ferry"),
        ("fish", "complete -c ferry"),
    ] {
        let out = std::process::Command::new(FERRY)
            .args(["completions", shell])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{shell}: {stderr}");
        assert!(stdout.contains(marker), "{shell}: {stdout}");
        for sub in ["apply", "plan", "cutover", "status"] {
            assert!(stdout.contains(sub), "{shell} completes `{sub}`");
        }
    }
    let out = std::process::Command::new(FERRY)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(text(&out).1.contains("bash"), "it lists the shells");
}
